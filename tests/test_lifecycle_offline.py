"""Lifecycle logic without a cluster: status aggregation, progress polling, error handling,
and the helm command lines pyhelm3 builds (cluster calls faked). The manifest comparison
behind `diff` and `upgrade` is tested in test_upgrade.py."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pyhelm3 import errors as helm_errors
from pyhelm3.command import Command

from modelservice_tool import lifecycle
from modelservice_tool.errors import UserError
from modelservice_tool.layering import merge_maps
from modelservice_tool.lifecycle import (
    ReleaseStatus,
    Target,
    aggregate_roles,
    poll_until_ready,
)
from modelservice_tool.upgrade import without_hooks
from support import EXAMPLES, PRESETS, helm_binaries, render

Obj = dict[str, Any]


# --- status aggregation ------------------------------------------------------------------


def kubectl_list(*items: Obj) -> Obj:
    """What `kubectl get ... -o json` prints."""
    return json.loads(json.dumps({"apiVersion": "v1", "kind": "List", "items": list(items)}))


def live_deployment(name: str, role: str, *, desired: int, ready: int, available: int,
                    updated: int | None = None, current: int | None = None,
                    label: str = "llm-d.ai/role", generation: int = 1,
                    observed: int = 1) -> Obj:
    status = {"observedGeneration": observed, "replicas": desired if current is None else current,
              "updatedReplicas": desired if updated is None else updated}
    if ready:
        status["readyReplicas"] = ready
    if available:
        status["availableReplicas"] = available
    return {"kind": "Deployment",
            "metadata": {"name": name, "generation": generation,
                         "labels": {"app.kubernetes.io/instance": "m", label: role}},
            "spec": {"replicas": desired}, "status": status}


def test_status_per_role_from_kubectl_json() -> None:
    deployments = kubectl_list(
        live_deployment("m-epp", "epp", desired=1, ready=1, available=1,
                        label="app.kubernetes.io/component"),
        live_deployment("m-prefill", "prefill", desired=4, ready=4, available=4),
        live_deployment("m-decode", "decode", desired=2, ready=1, available=1),
    )
    roles = aggregate_roles(deployments, None)
    assert [role.role for role in roles] == ["decode", "prefill", "epp"]
    decode = roles[0]
    assert (decode.desired, decode.ready, decode.available) == (2, 1, 1)
    assert not decode.rolled_out
    assert roles[1].rolled_out and roles[2].rolled_out
    status = ReleaseStatus("m", "ns", roles, inference_pool=True)
    assert not status.ready
    assert status.summary() == "decode 1/2 ready, prefill 4/4 ready, epp 1/1 ready"


def test_status_counts_leaderworkersets_and_sums_a_role() -> None:
    lws = {"kind": "LeaderWorkerSet",
           "metadata": {"name": "m-decode-mn", "generation": 2,
                        "labels": {"llm-d.ai/role": "decode"}},
           "spec": {"replicas": 2},
           "status": {"observedGeneration": 2, "replicas": 2, "readyReplicas": 2,
                      "updatedReplicas": 2}}
    deployments = kubectl_list(live_deployment("m-decode", "decode", desired=1, ready=1,
                                               available=1))
    (decode,) = aggregate_roles(deployments, kubectl_list(lws))
    assert (decode.desired, decode.ready, decode.available) == (3, 3, 3)
    assert decode.rolled_out
    assert ReleaseStatus("m", "ns", (decode,)).ready


def test_rollout_in_progress_is_not_ready() -> None:
    old_pods_left = live_deployment("m-decode", "decode", desired=2, ready=2, available=2,
                                    updated=1, current=3)
    stale = live_deployment("m-decode", "decode", desired=2, ready=2, available=2,
                            generation=3, observed=2)
    for item in (old_pods_left, stale):
        assert not aggregate_roles(kubectl_list(item))[0].rolled_out


def test_no_workloads_is_not_ready() -> None:
    status = ReleaseStatus("m", "ns", aggregate_roles(kubectl_list(), None))
    assert not status.ready
    assert status.summary() == "no workloads yet"
    assert "InferencePool m: CRD not installed" in lifecycle.format_status(status)


def test_poll_until_ready_yields_until_ready() -> None:
    states = iter([
        aggregate_roles(kubectl_list(live_deployment("d", "decode", desired=2, ready=0,
                                                     available=0))),
        aggregate_roles(kubectl_list(live_deployment("d", "decode", desired=2, ready=2,
                                                     available=2))),
    ])
    seen = list(poll_until_ready(lambda: ReleaseStatus("m", "ns", next(states)),
                                 timeout=60, interval=1, sleep=lambda _: None))
    assert [status.summary() for status in seen] == ["decode 0/2 ready", "decode 2/2 ready"]


def test_poll_until_ready_times_out_with_user_error() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    waiting = ReleaseStatus("m", "ns", aggregate_roles(kubectl_list(
        live_deployment("d", "decode", desired=2, ready=1, available=1))))
    progress = poll_until_ready(lambda: waiting, timeout=10, interval=3, sleep=sleep,
                                clock=lambda: now[0])
    with pytest.raises(UserError, match=r"timed out after 10s .*decode 1/2 ready"):
        list(progress)
    assert now[0] == 10


# --- errors --------------------------------------------------------------------------------


def test_user_error_when_helm_is_missing(monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    monkeypatch.setenv("MST_HELM", str(tmp_path / "no-such-helm"))
    monkeypatch.setenv("PATH", "")
    monkeypatch.setenv("MST_TOOLS_DIR", str(tmp_path))
    with pytest.raises(UserError, match="helm not found"):
        lifecycle.status(Target("m", "ns"))
    with pytest.raises(UserError, match="helm not found"):
        lifecycle.install(Target("m", "ns"), {})


def test_user_error_when_kubectl_is_missing(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    monkeypatch.setenv("MST_KUBECTL", str(tmp_path / "no-such-kubectl"))
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(lifecycle, "tools_dir", lambda: tmp_path)
    with pytest.raises(UserError, match="kubectl not found"):
        lifecycle.workload_status(Target("m", "ns"))


@pytest.mark.parametrize("name", ["qwen.sim", "Qwen", "-x", "x" * 54])
def test_release_names_pyhelm3_rejects_are_user_errors(name: str) -> None:
    with pytest.raises(UserError, match="invalid release name"):
        lifecycle.rollback(Target(name, "ns"))


def test_non_json_values_are_a_user_error() -> None:
    with pytest.raises(UserError, match="values cannot be passed to helm"):
        lifecycle.install(Target("m", "ns"), {"when": {1, 2}})


def test_kubectl_unreachable_is_a_user_error(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(unreachable_kubeconfig()))
    with pytest.raises(UserError, match="Kubernetes cluster unreachable"):
        lifecycle.workload_status(Target("m", "ns", kubeconfig=kubeconfig))


def unreachable_kubeconfig() -> Obj:
    """A kubeconfig whose API server refuses connections at once."""
    return {
        "apiVersion": "v1", "kind": "Config", "current-context": "nowhere",
        "clusters": [{"name": "nowhere", "cluster": {"server": "https://127.0.0.1:1"}}],
        "contexts": [{"name": "nowhere", "context": {"cluster": "nowhere", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
    }


# --- helm command lines, with the cluster calls faked ----------------------------------------

HELMS = helm_binaries()
LOCAL_COMMANDS = ("template", "show", "version")


SAMPLE_FILES = (PRESETS / "cpu-sim.yaml", EXAMPLES / "qwen3-0.6b-cpu-sim.yaml")


def sample_values() -> Obj:
    """cpu-sim preset + the Qwen sample, merged like helm merges -f files."""
    values: Obj = {}
    for path in SAMPLE_FILES:
        merge_maps(values, yaml.safe_load(path.read_text()))
    return values


class FakeCluster:
    """Stands in for helm's cluster calls; `template`/`show`/`version` run the real helm."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, manifest: str | None = None,
                 stderr: bytes | None = None, real: tuple[str, ...] = ()) -> None:
        self.commands: list[list[str]] = []
        self.manifest = manifest
        self.stderr = stderr
        real_run = Command.run

        async def run(command_self: Command, command: list[Any], input: bytes | None = None
                      ) -> bytes:
            command = [str(part) for part in command]
            if command[0] in LOCAL_COMMANDS:
                return await real_run(command_self, command, input)
            self.commands.append(command)
            if command[0] in real:
                return await real_run(command_self, command, input)
            return self.answer(command)

        monkeypatch.setattr(Command, "run", run)

    def answer(self, command: list[str]) -> bytes:
        if self.stderr is not None:
            raise helm_errors.Error(1, b"", self.stderr)
        if command[0] == "status" and self.manifest is None:
            raise helm_errors.ReleaseNotFoundError(1, b"", b"Error: release: not found")
        release = {"name": command[1], "namespace": "ns", "version": 1,
                   "info": {"status": "deployed", "last_deployed": "2026-01-01T00:00:00Z"},
                   "manifest": self.manifest or ""}
        return json.dumps(release).encode()

    def last(self, verb: str) -> list[str]:
        return next(command for command in reversed(self.commands) if command[0] == verb)


@pytest.fixture(params=sorted(HELMS))
def helm_version(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MST_HELM", str(HELMS[request.param]))
    return request.param


def test_install_flags_for_each_helm(helm_version: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeCluster(monkeypatch)
    revision = lifecycle.install(Target("m", "ns"), sample_values(), atomic=True, wait=True,
                                 timeout=120, dry_run=True)
    assert revision.revision == 1 and revision.status == "deployed"
    command = fake.last("upgrade")
    assert command[:3] == ["upgrade", "m", str(lifecycle.chart_dir().resolve())]
    assert {"--install", "--wait", "--dry-run"} <= set(command)
    assert command[command.index("--timeout") + 1] == "120s"
    assert command[command.index("--namespace") + 1] == "ns"
    assert "--create-namespace" not in command
    atomic = "--rollback-on-failure" if helm_version == "helm4" else "--atomic"
    assert atomic in command
    other = ({"--atomic", "--rollback-on-failure"} - {atomic}).pop()
    assert other not in command


def test_install_refuses_an_existing_release(helm_version: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeCluster(monkeypatch, manifest="")
    with pytest.raises(UserError, match=r"already exists .* use upgrade"):
        lifecycle.install(Target("m", "ns"), sample_values())
    assert [command[0] for command in fake.commands] == ["status"]


def test_upgrade_needs_the_release_unless_install(helm_version: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeCluster(monkeypatch)
    with pytest.raises(UserError, match="not found in namespace 'ns'"):
        lifecycle.upgrade(Target("m", "ns"), sample_values())
    lifecycle.upgrade(Target("m", "ns"), sample_values(), install=True, create_namespace=True)
    assert "--create-namespace" in fake.last("upgrade")


def test_rollback_and_uninstall_flags(helm_version: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeCluster(monkeypatch, manifest="")
    lifecycle.rollback(Target("m", "ns"), 2, wait=True, timeout=60)
    command = fake.last("rollback")
    assert command[:3] == ["rollback", "m", "2"]
    assert "--force" not in command and "--recreate-pods" not in command
    lifecycle.uninstall(Target("m", "ns"), wait=True)
    assert fake.last("uninstall")[:2] == ["uninstall", "m"]


def test_helm_errors_become_one_line_user_errors(helm_version: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = b'Error: kubernetes cluster unreachable: Get "https://127.0.0.1:1/version"'
    FakeCluster(monkeypatch, stderr=stderr)
    with pytest.raises(UserError) as caught:
        lifecycle.uninstall(Target("m", "ns"))
    headline, detail = str(caught.value).split("\n", 1)
    assert headline.startswith("helm uninstall: Kubernetes cluster unreachable")
    assert detail == stderr.decode()
    FakeCluster(monkeypatch)
    with pytest.raises(UserError, match=r"^release 'm' in namespace 'ns' not found"):
        lifecycle.rollback(Target("m", "ns"))


def test_diff_renders_the_chart_against_the_release_manifest(
        helm_version: str, monkeypatch: pytest.MonkeyPatch) -> None:
    values = sample_values()
    FakeCluster(monkeypatch)
    first = lifecycle.diff(Target("qwen-sim", "ns"), values)
    assert not first.installed
    assert "Deployment/qwen-sim-decode" in first.added and not first.changed
    # The live release: the same inputs rendered by plain `helm template -f preset -f model`,
    # so an empty diff also shows one merged values dict renders what the files render.
    rendered = without_hooks(render(*SAMPLE_FILES, release="qwen-sim"))
    manifest = "---\n".join(yaml.safe_dump(obj) for obj in rendered)
    FakeCluster(monkeypatch, manifest=manifest)
    assert lifecycle.diff(Target("qwen-sim", "ns"), values).empty
    changed = merge_maps(copy.deepcopy(values), {"engine": {"args": {"max-num-seqs": 32}}})
    assert lifecycle.diff(Target("qwen-sim", "ns"), changed).restarts == (
        "Deployment/qwen-sim-decode",)
    scaled = merge_maps(copy.deepcopy(values), {"decode": {"replicas": 3}})
    diff = lifecycle.diff(Target("qwen-sim", "ns"), scaled)
    assert [(c.id, c.paths) for c in diff.changed] == [
        ("Deployment/qwen-sim-decode", ("spec.replicas",))]
    assert diff.restarts == ()



OPERATIONS = {
    "install": lambda target: lifecycle.install(
        target, sample_values(), create_namespace=True, wait=True, atomic=True, timeout=60),
    "upgrade": lambda target: lifecycle.upgrade(
        target, sample_values(), dry_run=True, wait=True, atomic=True, timeout=60),
    "rollback": lambda target: lifecycle.rollback(target, 1, wait=True, dry_run=True),
    "uninstall": lambda target: lifecycle.uninstall(target, wait=True, missing_ok=True),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_real_helm_accepts_every_flag(helm_version: str, operation: str, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The real helm parses the generated command line and only then fails on the cluster
    (an unknown or misspelt flag would fail first, with another message)."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(unreachable_kubeconfig()))
    verb = "upgrade" if operation == "install" else operation
    FakeCluster(monkeypatch, manifest=None if operation == "install" else "", real=(verb,))
    with pytest.raises(UserError) as caught:
        OPERATIONS[operation](Target("m", "ns", kubeconfig=kubeconfig))
    message = str(caught.value)
    assert message.startswith(f"helm {operation}: Kubernetes cluster unreachable"), message
    assert "unknown flag" not in message
