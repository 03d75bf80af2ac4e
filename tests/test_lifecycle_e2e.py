"""Release lifecycle on a real API server, through `mst` (modelservice_tool.lifecycle) and
through plain helm alike, once per helm binary (helm 4 and helm 3), each in a fresh
namespace (marker `e2e`; fixtures in tests/conftest.py, helpers in tests/live.py).

Nothing here waits for pods to become ready (on ../shared/k8s they never run): installs and
upgrades are checked by what the API server stored and by the pods being scheduled onto the
preset's node pool. `--atomic` / `--rollback-on-failure` makes helm wait for readiness, so
that test scales the workloads to zero replicas (ready at once) and makes the upgrade fail
on the API server itself, with an object it rejects.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from live import get_json, kubectl, left_in_namespace, wait_scheduled

from modelservice_tool import lifecycle
from modelservice_tool.commands import main as mst
from modelservice_tool.errors import UserError
from modelservice_tool.layering import merge_maps
from modelservice_tool.lifecycle import Target
from support import CHART, EXAMPLES, PRESETS, helm_binaries

Obj = dict[str, Any]
pytestmark = pytest.mark.e2e
MODEL = EXAMPLES / "llama-3.1-8b.yaml"  # one L4 GPU per pod; the upgrade moves it to A100s
RELEASE = "llama-8b"
DECODE = f"Deployment/{RELEASE}-decode"
# An object the API server rejects (a ConfigMap key with spaces): the chart and the schema
# let it through, so only a real server makes the upgrade fail.
REJECTED = {"extraObjects": {"broken": {"apiVersion": "v1", "kind": "ConfigMap",
                                        "metadata": {"name": "broken"},
                                        "data": {"not a valid key!": "x"}}}}


def layered(*files: Path, extra: Obj | None = None) -> Obj:
    """The files' values, maps merged like helm (one values document)."""
    values: Obj = {}
    for path in files:
        merge_maps(values, yaml.safe_load(path.read_text()) or {})
    return merge_maps(values, copy.deepcopy(extra or {}))


def preset(name: str) -> Path:
    return PRESETS / f"{name}.yaml"


def decode(namespace: str) -> Obj:
    return get_json("deployment", f"{RELEASE}-decode", "-n", namespace)


def engine_args(namespace: str) -> list[str]:
    return decode(namespace)["spec"]["template"]["spec"]["containers"][0]["args"]


def gpu_product(namespace: str) -> list[str]:
    """The accelerator models the decode pods' required node affinity accepts."""
    affinity = decode(namespace)["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]
    terms = affinity["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    return [value for term in terms for expression in term["matchExpressions"]
            if expression["key"] == "nvidia.com/gpu.product"
            for value in expression["values"]]


def scheduled_on(namespace: str) -> set[str]:
    """The GPU models of the nodes the decode pods of the Deployment's current revision are
    bound to (the old ReplicaSet's pods stay: its replacements never become ready here)."""
    deployment = decode(namespace)
    revision = deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
    replica_sets = get_json("replicasets", "-n", namespace, "--selector",
                            f"app.kubernetes.io/instance={RELEASE},llm-d.ai/role=decode")
    current = next(rs for rs in replica_sets["items"] if rs["metadata"]["annotations"][
        "deployment.kubernetes.io/revision"] == revision)
    selector = f"pod-template-hash={current['metadata']['labels']['pod-template-hash']}"
    pods = wait_scheduled(namespace, 1, selector=selector)
    assert pods and all(pod["spec"].get("nodeName") for pod in pods), pods
    return {get_json("node", pod["spec"]["nodeName"])["metadata"]["labels"][
        "nvidia.com/gpu.product"] for pod in pods}


@pytest.fixture(params=sorted(helm_binaries()))
def helm(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The helm binary under test (also the one mst uses, via MST_HELM)."""
    path = str(helm_binaries()[request.param])
    monkeypatch.setenv("MST_HELM", path)
    return path


def run_helm(helm: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([helm, *args], capture_output=True, text=True, check=False,
                            timeout=300)
    assert not check or result.returncode == 0, result.stderr
    return result


def wait_rolled(namespace: str, products: set[str]) -> None:
    """Until the current revision's decode pods are scheduled onto nodes with these GPUs."""
    import time

    deadline = time.monotonic() + 30
    while scheduled_on(namespace) != products and time.monotonic() < deadline:
        time.sleep(0.5)
    assert scheduled_on(namespace) == products


# --------------------------------------------------------------------------- mst


def test_mst_lifecycle(helm: str, live_namespace: str, sim_nodes: Obj) -> None:
    target = Target(RELEASE, live_namespace)
    values = layered(preset("nvidia-l4"), MODEL)

    before = lifecycle.diff(target, values)
    assert not before.installed and DECODE in before.added
    first = lifecycle.install(target, values)
    assert (first.revision, first.status) == (1, "deployed")
    with pytest.raises(UserError, match="already exists"):
        lifecycle.install(target, values)
    wait_rolled(live_namespace, {"NVIDIA-L4"})

    status = lifecycle.status(target)
    assert (status.revision, status.helm_status, status.inference_pool) == (1, "deployed", True)
    pods = {role.role: role for role in status.pods}
    assert (pods["decode"].total, pods["decode"].scheduled, pods["decode"].ready) == (1, 1, 0)
    assert not status.ready and not pods["decode"].pending
    assert lifecycle.diff(target, values).empty

    changed = merge_maps(copy.deepcopy(values), {"engine": {"args": {"max-num-seqs": 32}}})
    assert lifecycle.diff(target, changed).restarts == (DECODE,)
    assert lifecycle.upgrade(target, changed).revision == 2
    assert "--max-num-seqs=32" in engine_args(live_namespace)
    assert lifecycle.diff(target, changed).empty

    moved = layered(preset("nvidia-a100"), MODEL, extra={"engine": {"args": {
        "max-num-seqs": 32}}})  # a changed preset: the same model on A100 nodes
    assert DECODE in lifecycle.diff(target, moved).restarts
    assert lifecycle.upgrade(target, moved).revision == 3
    assert gpu_product(live_namespace) == ["NVIDIA-A100-SXM4-80GB", "NVIDIA-A100-80GB-PCIe"]
    wait_rolled(live_namespace, {"NVIDIA-A100-SXM4-80GB"})

    assert lifecycle.rollback(target).revision == 4  # back to revision 2: L4, max-num-seqs 32
    assert gpu_product(live_namespace) == ["NVIDIA-L4"]
    assert "--max-num-seqs=32" in engine_args(live_namespace)
    assert lifecycle.diff(target, changed).empty
    wait_rolled(live_namespace, {"NVIDIA-L4"})

    lifecycle.uninstall(target)
    assert left_in_namespace(live_namespace) == []
    with pytest.raises(UserError, match="not found"):
        lifecycle.status(target)
    with pytest.raises(UserError, match="not found"):
        lifecycle.uninstall(target)
    lifecycle.uninstall(target, missing_ok=True)


def test_upgrade_of_a_missing_release_is_refused(helm: str, live_namespace: str) -> None:
    with pytest.raises(UserError, match="not found"):
        lifecycle.upgrade(Target(RELEASE, live_namespace), layered(preset("nvidia-l4"), MODEL))


def test_mst_cli_second_install_fails_clearly(helm: str, live_namespace: str,
                                              sim_nodes: Obj) -> None:
    args = ["install", "-p", "nvidia-l4", "-f", str(MODEL), "--release", RELEASE, "-n",
            live_namespace]
    first = CliRunner().invoke(mst, args)
    assert first.exit_code == 0, first.output
    second = CliRunner().invoke(mst, args)
    assert second.exit_code != 0
    assert f"release '{RELEASE}' already exists in namespace '{live_namespace}'" in \
        second.stderr
    assert "use upgrade instead" in second.stderr and "Traceback" not in second.output
    status = CliRunner().invoke(mst, ["status", "--release", RELEASE, "-n", live_namespace])
    assert status.exit_code == 0, status.output
    assert "revision 1, deployed" in status.stdout
    wait_scheduled(live_namespace, 2)
    assert "pods decode 1 pods: 1 scheduled, 0 ready" in CliRunner().invoke(
        mst, ["status", "--release", RELEASE, "-n", live_namespace]).stdout


# --------------------------------------------------------------------------- plain helm


def test_plain_helm_lifecycle_and_mst_diff(helm: str, live_namespace: str,
                                           sim_nodes: Obj) -> None:
    namespace = ["-n", live_namespace]
    l4 = ["-f", str(preset("nvidia-l4")), "-f", str(MODEL)]
    run_helm(helm, "install", RELEASE, str(CHART), *namespace, *l4)
    again = run_helm(helm, "install", RELEASE, str(CHART), *namespace, *l4, check=False)
    assert again.returncode != 0 and re.search("cannot re-?use a name", again.stderr)
    wait_rolled(live_namespace, {"NVIDIA-L4"})

    mst_diff = ["diff", "-p", "nvidia-l4", "-f", str(MODEL), "--release", RELEASE,
                *namespace, "--detailed-exitcode"]
    same = CliRunner().invoke(mst, mst_diff)
    assert (same.exit_code, same.stdout.strip()) == (0, "no changes"), same.output
    changed = CliRunner().invoke(mst, [*mst_diff, "--set", "engine.args.max-num-seqs=32"])
    assert changed.exit_code == 1 and f"~ {DECODE}" in changed.stdout, changed.output

    run_helm(helm, "upgrade", RELEASE, str(CHART), *namespace, *l4,
             "--set", "engine.args.max-num-seqs=32")
    assert "--max-num-seqs=32" in engine_args(live_namespace)
    run_helm(helm, "upgrade", RELEASE, str(CHART), *namespace, "-f",
             str(preset("nvidia-a100")), "-f", str(MODEL))
    wait_rolled(live_namespace, {"NVIDIA-A100-SXM4-80GB"})
    run_helm(helm, "rollback", RELEASE, "1", *namespace)
    assert gpu_product(live_namespace) == ["NVIDIA-L4"]
    assert "--max-num-seqs=32" not in engine_args(live_namespace)
    history = json.loads(run_helm(helm, "history", RELEASE, *namespace, "-o", "json").stdout)
    assert [(entry["revision"], entry["status"]) for entry in history] == [
        (1, "superseded"), (2, "superseded"), (3, "superseded"), (4, "deployed")]
    after = CliRunner().invoke(mst, mst_diff)
    assert after.exit_code == 0, after.output  # the rolled-back release is the L4 rendering

    run_helm(helm, "uninstall", RELEASE, *namespace)
    assert left_in_namespace(live_namespace) == []


# --------------------------------------------------------------------------- atomic


@pytest.mark.parametrize("client", ["mst", "helm"])
def test_a_failed_upgrade_is_rolled_back(client: str, helm: str, live_namespace: str) -> None:
    """helm 3 --atomic / helm 4 --rollback-on-failure: the API server rejects an object of
    the upgrade, helm rolls the release back, and the previous objects are still live."""
    target = Target("qwen-sim", live_namespace)
    zero = {"decode": {"replicas": 0}, "routing": {"epp": {"replicas": 0}}}
    values = layered(preset("cpu-sim"), EXAMPLES / "qwen3-0.6b-cpu-sim.yaml", extra=zero)
    lifecycle.install(target, values)
    bad = merge_maps(copy.deepcopy(values), copy.deepcopy(REJECTED))
    bad["engine"]["args"]["max-num-seqs"] = 7
    if client == "mst":
        with pytest.raises(UserError, match=r"(?s)helm upgrade failed.*is invalid"):
            lifecycle.upgrade(target, bad, atomic=True, timeout=120)
    else:
        major = run_helm(helm, "version", "--template", "{{ .Version }}").stdout
        flag = "--atomic" if major.startswith("v3.") else "--rollback-on-failure"
        result = subprocess.run(  # values from stdin (`-f -`)
            [helm, "upgrade", target.release, str(CHART), "-n", live_namespace, "-f", "-",
             flag, "--timeout", "120s"], input=json.dumps(bad),
            capture_output=True, text=True, check=False, timeout=300)
        assert result.returncode != 0 and "is invalid" in result.stderr, result.stderr
        assert "rolled back" in result.stderr
    status = lifecycle.status(target)
    assert (status.revision, status.helm_status) == (3, "deployed")
    args = get_json("deployment", "qwen-sim-decode", "-n", live_namespace)[
        "spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--max-num-seqs=7" not in args
    assert kubectl("get", "configmap", "broken", "-n", live_namespace, check=False
                   ).returncode != 0
    lifecycle.uninstall(target)
    assert left_in_namespace(live_namespace) == []
