"""Live: `mst diff` / `mst upgrade` against real releases, and what helm and the API server
really do with the breaking changes the upgrade-impact engine reports (pytest marker `e2e`).

Each test installs a sample in its own fresh namespace, without waiting for pods
(the project's control plane has no kubelet; nothing here needs a pod to run), then:

- selector change (nameOverride feeds the selector labels), with helm 4 and helm 3: `mst
  diff` exits 3, `mst upgrade` refuses and applies nothing; accepted, helm fails with the
  API server's `field is immutable` and leaves the release half-upgraded (the Services
  select the new labels, the Deployments keep the old ones), as the report says; deleting
  the Deployments first, as the report suggests, lets the accepted upgrade through;
- kind change (multi-node turned on): refused; accepted, helm creates the LeaderWorkerSet
  and deletes the Deployment in the same upgrade;
- removed role (prefill turned off): refused; accepted, the prefill Deployment is gone;
- pure restart (an engine argument): goes through unasked, and the Deployment rolls out a
  new ReplicaSet.

Skipped with the reason when no cluster answers or a kind the sample renders is not served
(apply ../shared/crds, see docs/e2e.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import yaml

from modelservice_tool import lifecycle
from modelservice_tool.errors import UserError
from modelservice_tool.layering import merge_maps
from modelservice_tool.lifecycle import BreakingUpgrade, Target
from support import REPO, default_helm, helm_binaries, sample_files, samples

Obj = dict[str, Any]

pytestmark = pytest.mark.e2e


def kubectl(*args: str, check: bool = True) -> str:
    result = subprocess.run([lifecycle.find_kubectl(), *args], capture_output=True, text=True,
                            check=False, timeout=60)
    assert result.returncode == 0 or not check, result.stderr
    return result.stdout


def live(resource: str, name: str, namespace: str) -> Obj | None:
    text = kubectl("get", resource, name, "-n", namespace, "-o", "json", "--ignore-not-found")
    return json.loads(text) if text.strip() else None


class Sample:
    """One sample of examples/index.yaml as a release in a namespace."""

    def __init__(self, name: str, namespace: str) -> None:
        self.sample = next(s for s in samples() if s["name"] == name)
        self.target = Target(self.sample["release"], namespace)
        self.release = self.sample["release"]

    def values(self, *overrides: Obj) -> Obj:
        """Preset, model file, then `overrides`, merged like helm merges -f files."""
        merged: Obj = {}
        for layer in [*(yaml.safe_load(p.read_text()) for p in sample_files(self.sample)),
                      *overrides]:
            merge_maps(merged, layer)
        return merged

    def install(self) -> None:
        impact = lifecycle.diff(self.target, self.values())
        assert not impact.installed
        require_kinds({name.split("/")[0] for name in impact.added})
        first = lifecycle.install(self.target, self.values())
        assert (first.revision, first.status) == (1, "deployed")

    def mst(self, command: str, *args: str) -> subprocess.CompletedProcess[str]:
        """The real command line, in a subprocess, against the same cluster."""
        preset, model = sample_files(self.sample)
        return subprocess.run(
            [sys.executable, "-m", "modelservice_tool", command, "-p", str(preset), "-f",
             str(model), "--release", self.release, "-n", self.target.namespace, *args],
            capture_output=True, text=True, check=False, timeout=300, cwd=REPO)

    def revisions(self) -> list[tuple[int, str]]:
        history = json.loads(subprocess.run(
            [lifecycle.find_helm(), "history", self.release, "-n", self.target.namespace,
             "-o", "json"], capture_output=True, text=True, check=True, timeout=60).stdout)
        return [(entry["revision"], entry["status"]) for entry in history]


def require_kinds(kinds: set[str]) -> None:
    """Skip unless the cluster serves every kind (a missing CRD is the usual reason)."""
    served = {line.split()[-1] for line in kubectl("api-resources", "--no-headers").splitlines()
              if line.strip()}
    missing = sorted(kinds - served)
    if missing:
        pytest.skip(f"the cluster does not serve {', '.join(missing)}: apply the CRDs of "
                    "../shared/crds, see docs/e2e.md")


@pytest.fixture
def namespace(live_namespace: str) -> str:
    """The test's own fresh namespace (`live_namespace`, tests/conftest.py)."""
    return live_namespace


@pytest.fixture(params=sorted(helm_binaries()))
def helm(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MST_HELM", str(helm_binaries()[request.param]))
    return request.param


@pytest.fixture
def default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MST_HELM", str(default_helm()))


def selector(resource: str, name: str, namespace: str) -> Obj:
    obj = live(resource, name, namespace)
    assert obj is not None, f"{resource}/{name} missing"
    found = obj["spec"]["selector"]
    return found.get("matchLabels", found)


def test_selector_change_is_refused_and_fails_as_reported(namespace: str, helm: str) -> None:
    release = Sample("qwen3-0.6b-cpu-sim", namespace)
    release.install()
    renamed = release.values({"nameOverride": "qwen"})
    decode, immutable = f"{release.release}-decode", ("immutable", "Deployment/qwen-sim-decode")

    diff = release.mst("diff", "--set", "nameOverride=qwen", "--detailed-exitcode")
    assert diff.returncode == 3, diff.stderr
    assert diff.stdout.startswith("BREAKING") and "spec.selector changes" in diff.stdout
    refused = release.mst("upgrade", "--set", "nameOverride=qwen")
    assert refused.returncode == 1 and "not upgraded" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    with pytest.raises(BreakingUpgrade) as caught:
        lifecycle.upgrade(release.target, renamed)
    assert immutable in {(f.reason, f.obj) for f in caught.value.impact.breaking}
    assert release.revisions() == [(1, "deployed")]  # nothing applied

    # Accepted: the API server rejects the Deployment selectors, the rest is applied.
    with pytest.raises(UserError, match="field is immutable"):
        lifecycle.upgrade(release.target, renamed, accept_breaking=True)
    assert release.revisions() == [(1, "deployed"), (2, "failed")]
    assert selector("deployment", decode, namespace)["app.kubernetes.io/name"] == "modelservice"
    assert selector("service", decode, namespace)["app.kubernetes.io/name"] == "qwen"
    # Still breaking: helm (and the engine) upgrade from the last deployed revision.
    assert immutable in {(f.reason, f.obj)
                         for f in lifecycle.diff(release.target, renamed).breaking}

    # The report's remedy: delete the Deployments, then upgrade with the change accepted.
    kubectl("delete", "deployment", decode, f"{release.release}-epp", "-n", namespace)
    third = lifecycle.upgrade(release.target, renamed, accept_breaking=True)
    assert (third.revision, third.status) == (3, "deployed")
    assert selector("deployment", decode, namespace)["app.kubernetes.io/name"] == "qwen"
    assert lifecycle.diff(release.target, renamed).empty
    assert release.mst("diff", "--set", "nameOverride=qwen",
                       "--detailed-exitcode").returncode == 0


def test_turning_multi_node_on_replaces_the_deployment(namespace: str, default: None) -> None:
    release = Sample("llama-3.1-8b", namespace)
    require_kinds({"LeaderWorkerSet"})
    release.install()
    multi = release.values({"decode": {"parallelism": {"tensor": 2}, "multiNode": {
        "enabled": True, "acceleratorsPerNode": 1}}})
    decode = f"{release.release}-decode"
    with pytest.raises(BreakingUpgrade) as caught:
        lifecycle.upgrade(release.target, multi)
    assert [(f.reason, f.obj) for f in caught.value.impact.breaking] == [
        ("kind-changed", f"Deployment/{decode}")]
    assert live("deployment", decode, namespace) is not None

    second = lifecycle.upgrade(release.target, multi, accept_breaking=True)
    assert second.status == "deployed"
    assert live("leaderworkersets.leaderworkerset.x-k8s.io", decode, namespace) is not None
    assert live("deployment", decode, namespace) is None  # deleted in the same upgrade


def test_turning_prefill_off_removes_its_workload(namespace: str, default: None) -> None:
    release = Sample("gpt-oss-120b-pd", namespace)
    release.install()
    decode_only = release.values({"prefill": {"enabled": False}})
    prefill = f"{release.release}-prefill"
    with pytest.raises(BreakingUpgrade) as caught:
        lifecycle.upgrade(release.target, decode_only)
    assert {(f.reason, f.obj) for f in caught.value.impact.breaking} == {
        ("removed", f"Deployment/{prefill}"), ("removed", f"Service/{prefill}")}
    assert live("deployment", prefill, namespace) is not None

    lifecycle.upgrade(release.target, decode_only, accept_breaking=True)
    assert live("deployment", prefill, namespace) is None
    assert live("service", prefill, namespace) is None


def test_a_pure_restart_goes_through_and_rolls_the_pods(namespace: str, default: None) -> None:
    release = Sample("qwen3-0.6b-cpu-sim", namespace)
    release.install()
    changed = release.values({"engine": {"args": {"max-num-seqs": 32}}})
    decode = f"{release.release}-decode"
    impact = lifecycle.diff(release.target, changed)
    assert not impact.breaking and impact.restarts == (f"Deployment/{decode}",)
    shown = release.mst("diff", "--set", "engine.args.max-num-seqs=32", "--detailed-exitcode")
    assert shown.returncode == 1, shown.stderr
    assert "Pods restart" in shown.stdout and "BREAKING" not in shown.stdout

    second = lifecycle.upgrade(release.target, changed)  # no acceptance needed
    assert second.revision == 2 and second.impact is not None and not second.impact.breaking
    sets = json.loads(kubectl("get", "replicasets", "-n", namespace, "-o", "json",
                              f"--selector=llm-d.ai/role=decode,app.kubernetes.io/instance="
                              f"{release.release}"))["items"]
    assert len(sets) == 2, "a changed pod template rolls out a new ReplicaSet"
