"""The llm-d-benchmark-standup-parameters ConfigMap on a real API server: plain `helm
install` creates it in the release namespace and `helm uninstall` removes it with the release.
Skips without a cluster (docs/e2e.md)."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from modelservice_tool import lifecycle
from support import CHART, EXAMPLES, PRESETS, cluster_problem, default_helm

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(cluster_problem() is not None, reason=cluster_problem() or ""),
]
NAME = "llm-d-benchmark-standup-parameters"


def run(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True,
                          timeout=300).stdout


@pytest.fixture
def namespace() -> Iterator[str]:
    name = f"bench-llmd-{uuid.uuid4().hex[:8]}"
    kubectl = lifecycle.find_kubectl()
    run(kubectl, "create", "namespace", name)
    yield name
    subprocess.run([kubectl, "delete", "namespace", name, "--wait=false",
                    "--ignore-not-found"], capture_output=True, check=False, timeout=120)


def test_configmap_lives_and_dies_with_the_release(namespace: str) -> None:
    kubectl, helm = lifecycle.find_kubectl(), str(default_helm())
    served = run(kubectl, "api-resources", "--no-headers")
    if "InferencePool" not in served:
        pytest.skip("the cluster does not serve InferencePool: apply ../shared/crds "
                    "(docs/e2e.md)")
    run(helm, "install", "qwen", str(CHART), "-n", namespace,
        "-f", str(PRESETS / "cpu-sim.yaml"), "-f", str(EXAMPLES / "qwen3-0.6b-cpu-sim.yaml"),
        "--set", "llmdBenchmark.standupParameters.enabled=true")
    live = json.loads(run(kubectl, "get", "configmap", NAME, "-n", namespace, "-o", "json"))
    assert live["data"]["namespace"] == namespace
    assert live["data"]["release"] == "qwen"
    decode = json.loads(run(kubectl, "get", "deployment", "qwen-decode", "-n", namespace,
                            "-o", "json"))
    assert live["data"]["decode_replicas"] == str(decode["spec"]["replicas"])
    assert live["data"]["prefill_replicas"] == "0"
    assert live["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    run(helm, "uninstall", "qwen", "-n", namespace)
    left = run(kubectl, "get", "configmap", NAME, "-n", namespace, "--ignore-not-found")
    assert left.strip() == ""
