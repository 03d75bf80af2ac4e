"""The served-name check: pure logic on canned `kubectl get -o json` items, plus a live run
when a cluster is reachable."""

from __future__ import annotations

import copy
import subprocess
import sys
import uuid
from typing import Any

import pytest

from modelservice_tool import lifecycle
from modelservice_tool.cluster_checks import name_conflicts, served_models
from support import (
    CHART,
    REPO,
    cluster_problem,
    default_helm,
    one,
    render,
    sample_files,
    samples,
)


def sim_objects() -> list[dict[str, Any]]:
    sample = next(s for s in samples() if s["name"] == "qwen3-0.6b-cpu-sim")
    return render(*sample_files(sample), release="qwen-sim")


def test_served_models_come_from_the_model_pods() -> None:
    assert served_models(sim_objects()) == {"Qwen-Qwen3-0.6B"}


def test_another_release_serving_the_same_name_conflicts() -> None:
    objects = sim_objects()
    other = copy.deepcopy(one(objects, "Deployment", "qwen-sim-decode"))
    other["metadata"]["name"] = "other-decode"
    other["metadata"]["labels"]["app.kubernetes.io/instance"] = "other"
    findings = name_conflicts("qwen-sim", served_models(objects), [other])
    assert [str(f) for f in findings] == [
        "Deployment/other-decode: release other already serves model 'Qwen-Qwen3-0.6B' in "
        "this namespace; set model.name to a different served name or remove that release "
        "[served-name]"
    ]


def test_the_release_itself_and_other_models_do_not_conflict() -> None:
    objects = sim_objects()
    own = copy.deepcopy(one(objects, "Deployment", "qwen-sim-decode"))
    different = copy.deepcopy(own)
    different["metadata"]["labels"]["app.kubernetes.io/instance"] = "other"
    different["spec"]["template"]["metadata"]["labels"]["llm-d.ai/model"] = "llama"
    assert name_conflicts("qwen-sim", served_models(objects), [own, different]) == []


@pytest.mark.e2e
@pytest.mark.skipif(cluster_problem() is not None, reason=cluster_problem() or "")
def test_live_cluster_refuses_a_second_release_with_the_same_served_name() -> None:
    """Install the simulator sample as `first`, then `mst validate --cluster` a second
    release of the same model in the same namespace: exit 1 with the served-name finding."""
    namespace = f"mst-e2e-names-{uuid.uuid4().hex[:6]}"
    preset, model = sample_files(next(s for s in samples() if s["name"] == "qwen3-0.6b-cpu-sim"))
    kubectl = lifecycle.find_kubectl()
    subprocess.run([kubectl, "create", "namespace", namespace], check=True)
    try:
        install = subprocess.run(
            [str(default_helm()), "install", "first", str(CHART), "-n", namespace,
             "-f", str(preset), "-f", str(model), "--set", "routing.inferencePool.create=false",
             "--set", "routing.epp.enabled=false"],
            capture_output=True, text=True, check=False)
        assert install.returncode == 0, install.stderr
        result = subprocess.run(
            [sys.executable, "-m", "modelservice_tool", "validate", "-p", "cpu-sim", "-f",
             str(model), "--release", "second", "-n", namespace, "--cluster"],
            capture_output=True, text=True, check=False, cwd=REPO)
        assert result.returncode == 1
        assert "release first already serves model 'Qwen-Qwen3-0.6B'" in result.stderr
    finally:
        subprocess.run([kubectl, "delete", "namespace", namespace, "--wait=false"], check=False)
