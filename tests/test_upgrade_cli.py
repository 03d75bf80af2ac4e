"""`mst diff` and `mst upgrade` with the upgrade-impact engine, helm's cluster calls faked
(the real helm renders): the release is the stored 0.1.0 rendering of the CPU-simulator
sample, as `helm status` would return it. Live counterparts: test_upgrade_e2e.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from test_lifecycle_offline import FakeCluster
from test_upgrade import latest_baseline

from modelservice_tool import lifecycle
from modelservice_tool.commands import main
from modelservice_tool.layering import merge_maps
from modelservice_tool.lifecycle import BreakingUpgrade, Target
from support import EXAMPLES, PRESETS, default_helm

Obj = dict[str, Any]
RELEASE, NAMESPACE = "qwen-sim", "upgrade-check"  # the stored renderings' release
FILES = ["-p", "cpu-sim", "-f", str(EXAMPLES / "qwen3-0.6b-cpu-sim.yaml"),
         "--release", RELEASE, "-n", NAMESPACE]
SELECTOR_CHANGE = ["--set", "nameOverride=qwen"]
RESTART = ["--set", "engine.args.max-num-seqs=32"]


@pytest.fixture(autouse=True)
def helm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MST_HELM", str(default_helm()))


def stored_manifest() -> str:
    baseline = latest_baseline()
    path = baseline / "qwen3-0.6b-cpu-sim.yaml" if baseline else None
    if path is None or not path.is_file():
        pytest.skip("no stored rendering of qwen3-0.6b-cpu-sim")
    return path.read_text()


def values(**override: Any) -> Obj:
    merged: Obj = {}
    for path in (PRESETS / "cpu-sim.yaml", EXAMPLES / "qwen3-0.6b-cpu-sim.yaml"):
        merge_maps(merged, yaml.safe_load(path.read_text()))
    return merge_maps(merged, override)


def mst(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


class FailedUpgradeCluster(FakeCluster):
    """Revision 2 failed (its manifest is `failed`); revision 1 is the last deployed one."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, deployed: str, failed: str) -> None:
        super().__init__(monkeypatch, manifest=failed)
        self.deployed = deployed

    def answer(self, command: list[str]) -> bytes:
        if command[0] == "history":
            return json.dumps([
                {"revision": 1, "status": "deployed", "updated": "2026-01-01T00:00:00Z"},
                {"revision": 2, "status": "failed", "updated": "2026-01-02T00:00:00Z"},
            ]).encode()
        revision = command[command.index("--revision") + 1] if "--revision" in command else "2"
        release = {"name": command[1], "namespace": NAMESPACE, "version": int(revision),
                   "info": {"status": "deployed" if revision == "1" else "failed",
                            "last_deployed": "2026-01-01T00:00:00Z"},
                   "manifest": self.deployed if revision == "1" else self.manifest}
        return json.dumps(release).encode()


# --- lifecycle.upgrade ---------------------------------------------------------------------


def test_a_breaking_upgrade_is_refused_before_helm_applies_anything(
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeCluster(monkeypatch, manifest=stored_manifest())
    target = Target(RELEASE, NAMESPACE)
    with pytest.raises(BreakingUpgrade) as refused:
        lifecycle.upgrade(target, values(nameOverride="qwen"))
    assert refused.value.exit_code == 1
    assert ("immutable", "Deployment/qwen-sim-decode") in {
        (f.reason, f.obj) for f in refused.value.impact.breaking}
    message = str(refused.value)
    assert message.startswith("not upgraded: ") and "--accept-breaking" in message
    assert "upgrade" not in [command[0] for command in fake.commands]

    accepted = lifecycle.upgrade(target, values(nameOverride="qwen"), accept_breaking=True)
    assert fake.last("upgrade")[:2] == ["upgrade", RELEASE]
    assert accepted.impact is not None and accepted.impact.breaking


def test_a_safe_upgrade_goes_ahead_and_reports_its_impact(
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeCluster(monkeypatch, manifest=stored_manifest())
    revision = lifecycle.upgrade(Target(RELEASE, NAMESPACE),
                                 values(engine={"args": {"max-num-seqs": 32}}))
    assert fake.last("upgrade")[:2] == ["upgrade", RELEASE]
    assert revision.impact is not None and not revision.impact.breaking
    assert "Deployment/qwen-sim-decode" in revision.impact.restarts


def test_after_a_failed_upgrade_the_last_deployed_revision_is_compared(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Like helm: revision 2 (failed) stored the new selector, but the cluster still runs
    revision 1's, so the change is still breaking."""
    stored = stored_manifest()
    renamed = stored.replace("app.kubernetes.io/name: modelservice",
                             "app.kubernetes.io/name: qwen")
    fake = FailedUpgradeCluster(monkeypatch, deployed=stored, failed=renamed)
    impact = lifecycle.diff(Target(RELEASE, NAMESPACE), values(nameOverride="qwen"))
    assert any(f.reason == "immutable" for f in impact.breaking)
    assert fake.last("status")[-2:] == ["--revision", "1"]


# --- the command line ------------------------------------------------------------------------


def test_mst_diff_shows_breaking_changes_first_and_exit_codes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    FakeCluster(monkeypatch, manifest=stored_manifest())
    result = mst("diff", *FILES, *SELECTOR_CHANGE, "--detailed-exitcode")
    assert result.exit_code == 3, result.output
    out = result.output
    assert out.index("BREAKING") < out.index("What to do") < out.index("Changes:") < out.index(
        "Pods restart")
    assert "Deployment/qwen-sim-decode: spec.selector changes" in out
    assert mst("diff", *FILES, *RESTART, "--detailed-exitcode").exit_code == 1
    assert mst("diff", *FILES, *RESTART).exit_code == 0


def test_mst_diff_of_an_unchanged_release(monkeypatch: pytest.MonkeyPatch) -> None:
    """The live release is what HEAD renders from the same inputs (`mst template`, which is
    `helm template`): nothing to report, exit 0 even with --detailed-exitcode."""
    rendered = mst("template", *FILES)
    assert rendered.exit_code == 0, rendered.output
    FakeCluster(monkeypatch, manifest=rendered.output)
    result = mst("diff", *FILES, "--detailed-exitcode")
    assert (result.exit_code, result.output.strip()) == (0, "no changes")


def test_mst_upgrade_refuses_then_accepts(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeCluster(monkeypatch, manifest=stored_manifest())
    refused = mst("upgrade", *FILES, *SELECTOR_CHANGE, "--dry-run")
    assert refused.exit_code == 1
    assert refused.output.startswith("mst: error: not upgraded: ")
    assert "Traceback" not in refused.output and "--accept-breaking" in refused.output
    assert "upgrade" not in [command[0] for command in fake.commands]
    accepted = mst("upgrade", *FILES, *SELECTOR_CHANGE, "--dry-run", "--accept-breaking")
    assert accepted.exit_code == 0, accepted.output
    assert "breaking change(s) accepted" in accepted.output
    assert "--accept-breaking" in mst("upgrade", "--help").output
