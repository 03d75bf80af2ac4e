"""The llm-d-benchmark-standup-parameters ConfigMap on a real API server: plain `helm
install` creates it in the release namespace and `helm uninstall` removes it with the release.
Skips without a cluster (docs/e2e.md)."""

from __future__ import annotations

import json
import subprocess

import pytest

from modelservice_tool import lifecycle
from support import CHART, EXAMPLES, PRESETS, default_helm

pytestmark = pytest.mark.e2e
NAME = "llm-d-benchmark-standup-parameters"


def run(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True,
                          timeout=300).stdout


def test_configmap_lives_and_dies_with_the_release(live_namespace: str) -> None:
    kubectl, helm, namespace = lifecycle.find_kubectl(), str(default_helm()), live_namespace
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
