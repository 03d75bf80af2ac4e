"""Release lifecycle: install, upgrade, rollback, uninstall, status, diff and live progress.

Helm release operations go through pyhelm3's async `Client`, always with ONE values dict:
mst layers presets, model values and --set itself (helm's rules) and hands over the final
document, because pyhelm3's own multi-dict merge concatenates lists. Workload state is read
with `kubectl get -o json` subprocesses: simpler and sturdier than a Kubernetes client
library, and it honours exactly the kubeconfig/context helm uses.

pyhelm3 0.5.8 with helm 4, and what this module does about it:
- `install_or_upgrade_release` always runs `helm upgrade --install`; there is no plain
  install or plain upgrade. Both are emulated by first asking helm for the release.
- `atomic=True` warns on helm 4 and `rollback_on_failure=True` warns on helm 3; we pass the
  one matching the helm major so pyhelm3 emits `--atomic` / `--rollback-on-failure` silently.
- `dry_run` is passed as a bare `--dry-run`, which helm 4 still accepts (client mode) with a
  deprecation warning on stderr; helm 3 reads it as client mode too. Harmless, left as is.
- `disable_validation` is broken (`list.extend` of a string adds one argument per
  character) and `Release.rollback(force=True / recreate_pods=True)` passes `--force`
  (deprecated) and `--recreate-pods` (unknown flag in helm 4): none of them is used here.
- `Client()` asserts the executable exists and runs `helm version` with check=True; a
  release name with a dot (valid for helm) fails pyhelm3's pydantic model. Both are
  checked up front so the user gets a UserError, not a traceback.
- pyhelm3 logs each failed command at WARNING (silenced below unless logging is set up).
- `--timeout` is handed to helm verbatim, so seconds are formatted as `"300s"` (a bare
  number is not a Go duration).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from pyhelm3 import Client
from pyhelm3 import errors as helm_errors
from pyhelm3.models import ReleaseRevision, ReleaseRevisionStatus

from .errors import UserError, ValidationFailed, tool_message
from .helm import find_helm
from .names import check_release_name
from .paths import chart_dir, tools_dir
from .scheduling import RolePods, pod_role, role_pods, unschedulable_summary
from .upgrade import UpgradeImpact, compare, format_breaking, not_installed, without_hooks

Obj = dict[str, Any]
T = TypeVar("T")

# pyhelm3 logs every failed helm command at WARNING; with logging unconfigured Python's
# last-resort handler would print that next to our own error message. Keep it quiet unless
# the application configures logging.
logging.getLogger("pyhelm3").addHandler(logging.NullHandler())

ROLE_ORDER = ("decode", "prefill", "epp")
INSTANCE_LABEL = "app.kubernetes.io/instance"
LWS_RESOURCE = "leaderworkersets.leaderworkerset.x-k8s.io"
POOL_RESOURCE = "inferencepools.inference.networking.k8s.io"
# A helm release name pyhelm3 accepts (its model allows no dots) and helm accepts (<= 53).
UNREACHABLE = re.compile(
    r"cluster unreachable|unable to connect to the server|connection refused|no such host"
    r"|i/o timeout|network is unreachable|couldn't get current server api group list"
    r"|no configuration has been provided",
    re.IGNORECASE,
)
UNKNOWN_RESOURCE = "doesn't have a resource type"


# --- targets and results ---------------------------------------------------------------


class BreakingUpgrade(ValidationFailed):
    """An upgrade refused for its breaking changes (exit code 1); `impact` holds them all."""

    def __init__(self, impact: UpgradeImpact) -> None:
        self.impact = impact
        report = "\n".join(format_breaking(impact.breaking))
        super().__init__(f"not upgraded: {len(impact.breaking)} breaking change(s); nothing "
                         f"was applied\n{report}\nTo apply it as it is anyway: --accept-breaking "
                         "(`mst upgrade`), accept_breaking=True (Python).")


@dataclass(frozen=True)
class Target:
    """A release and the cluster it lives in (None = helm/kubectl defaults)."""

    release: str
    namespace: str = "default"
    kubeconfig: Path | None = None
    context: str | None = None

    def kubectl_flags(self) -> list[str]:
        """kubectl flags selecting the same cluster helm uses."""
        flags = ["--kubeconfig", str(self.kubeconfig)] if self.kubeconfig else []
        return flags + (["--context", self.context] if self.context else [])


@dataclass(frozen=True)
class Revision:
    """One release revision as helm reports it after an operation."""

    release: str
    namespace: str
    revision: int
    status: str
    description: str = ""
    notes: str = ""
    objects: list[Obj] = field(default_factory=list)
    impact: UpgradeImpact | None = None  # upgrade: what it changed in the release


@dataclass(frozen=True)
class WorkloadStatus:
    """Replica counts of one Deployment or LeaderWorkerSet (LWS counts groups)."""

    kind: str
    name: str
    role: str
    desired: int
    ready: int
    available: int
    updated: int
    current: int
    observed: bool

    @property
    def rolled_out(self) -> bool:
        """Like `kubectl rollout status`: every replica updated, available, no old ones."""
        return self.observed and self.current == self.updated and all(
            count >= self.desired for count in (self.updated, self.ready, self.available)
        )


@dataclass(frozen=True)
class RoleStatus:
    """Summed replica counts of the workloads of one role (decode, prefill, epp...)."""

    role: str
    workloads: tuple[WorkloadStatus, ...]

    def _sum(self, attribute: str) -> int:
        return sum(getattr(workload, attribute) for workload in self.workloads)

    @property
    def desired(self) -> int:
        return self._sum("desired")

    @property
    def ready(self) -> int:
        return self._sum("ready")

    @property
    def available(self) -> int:
        return self._sum("available")

    @property
    def rolled_out(self) -> bool:
        return all(workload.rolled_out for workload in self.workloads)


@dataclass(frozen=True)
class ReleaseStatus:
    """Workloads per role, the InferencePool, and helm's view of the release."""

    release: str
    namespace: str
    roles: tuple[RoleStatus, ...]
    inference_pool: bool | None = None  # None: the InferencePool CRD is not installed
    pool_name: str = ""  # "" = named after the release
    revision: int | None = None
    helm_status: str | None = None
    pods: tuple[RolePods, ...] = ()  # per role: scheduled, ready, pending with the reason

    @property
    def ready(self) -> bool:
        """True once there is at least one workload and every role has rolled out."""
        return bool(self.roles) and all(role.rolled_out for role in self.roles)

    def summary(self) -> str:
        """`decode 1/2 ready, prefill 4/4 ready` (or `no workloads yet`), then the scheduler's
        reason for any pod it cannot place."""
        parts = [f"{role.role} {role.ready}/{role.desired} ready" for role in self.roles]
        text = ", ".join(parts) or "no workloads yet"
        pending = unschedulable_summary(self.pods)
        return f"{text} (unschedulable: {pending})" if pending else text


# --- pure functions: status aggregation --------------------------------------------------


def _workload(obj: Obj) -> WorkloadStatus:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    metadata = obj.get("metadata") or {}
    ready = status.get("readyReplicas") or 0
    # LeaderWorkerSet has no availableReplicas: a ready group counts as available.
    available = ready if obj.get("kind") == "LeaderWorkerSet" else (
        status.get("availableReplicas") or 0)
    return WorkloadStatus(
        kind=obj.get("kind", "?"),
        name=metadata.get("name", "?"),
        role=pod_role(obj),
        desired=spec.get("replicas", 1),
        ready=ready,
        available=available,
        updated=status.get("updatedReplicas") or 0,
        current=status.get("replicas") or 0,
        observed=(status.get("observedGeneration") or 0) >= (metadata.get("generation") or 0),
    )


def _role_sort_key(role: str) -> tuple[int, str]:
    return (ROLE_ORDER.index(role) if role in ROLE_ORDER else len(ROLE_ORDER), role)


def aggregate_roles(*listings: Obj | None) -> tuple[RoleStatus, ...]:
    """Per-role status from `kubectl get ... -o json` lists (Deployments, LWS; None = absent)."""
    by_role: dict[str, list[WorkloadStatus]] = {}
    for listing in listings:
        for item in (listing or {}).get("items", []):
            workload = _workload(item)
            by_role.setdefault(workload.role, []).append(workload)
    return tuple(RoleStatus(role, tuple(by_role[role]))
                 for role in sorted(by_role, key=_role_sort_key))


def format_status(status: ReleaseStatus) -> str:
    """Human-readable lines for `mst status`."""
    lines = [f"release {status.release} in namespace {status.namespace}" + (
        f": revision {status.revision}, {status.helm_status}" if status.revision else "")]
    for role in status.roles:
        mark = "ok " if role.rolled_out else "..."
        names = ", ".join(f"{w.kind}/{w.name}" for w in role.workloads)
        lines.append(f"  {mark} {role.role:<8} ready {role.ready}/{role.desired}  "
                     f"available {role.available}/{role.desired}  ({names})")
    if not status.roles:
        lines.append("  no Deployments or LeaderWorkerSets with this release's labels")
    lines += [f"  pods {role.summary()}" for role in status.pods]
    pool = {None: "CRD not installed", True: "present", False: "absent"}[status.inference_pool]
    lines.append(f"  InferencePool {status.pool_name or status.release}: {pool}")
    return "\n".join(lines)


def poll_until_ready(fetch: Callable[[], ReleaseStatus], *, timeout: float, interval: float,
                     sleep: Callable[[float], None] = time.sleep,
                     clock: Callable[[], float] = time.monotonic) -> Iterator[ReleaseStatus]:
    """Yield `fetch()` every `interval` seconds until ready; UserError after `timeout`."""
    deadline = clock() + timeout
    while True:
        current = fetch()
        yield current
        if current.ready:
            return
        if clock() >= deadline:
            raise UserError(f"timed out after {timeout:g}s waiting for release "
                            f"{current.release}: {current.summary()}")
        sleep(max(0.0, min(interval, deadline - clock())))


# --- kubectl -----------------------------------------------------------------------------


def find_kubectl() -> str:
    """Path of kubectl: $MST_KUBECTL, else kubectl on PATH, else the pinned .tools copy."""
    candidates = [os.environ.get("MST_KUBECTL"), shutil.which("kubectl"),
                  tools_dir() / "bin" / "kubectl"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise UserError("kubectl not found: install kubectl on PATH, set MST_KUBECTL, or run "
                    "`python scripts/install_tools.py` to put a pinned copy in .tools/")


def run_kubectl(args: Sequence[str], target: Target | None = None, *,
                timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run kubectl (the caller checks the return code); a hang becomes a UserError."""
    command = [find_kubectl(), *args, *(target.kubectl_flags() if target else [])]
    try:
        return subprocess.run(command, capture_output=True, text=True, check=False,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise UserError(f"kubectl {args[0]} did not answer within {timeout:g}s: "
                        "is the Kubernetes API server reachable?") from None


def kubectl_get(target: Target, resource: str, *extra: str) -> Obj | None:
    """Parsed `kubectl get -o json`; None when the cluster does not know the resource type."""
    result = run_kubectl(["get", resource, "-n", target.namespace, "-o", "json",
                          "--request-timeout=10s", *extra], target)
    if result.returncode == 0:
        return json.loads(result.stdout) if result.stdout.strip() else {}
    if UNKNOWN_RESOURCE in result.stderr:
        return None
    headline = ("Kubernetes cluster unreachable (check KUBECONFIG / --context)"
                if UNREACHABLE.search(result.stderr) else f"kubectl get {resource} failed")
    raise UserError(f"{headline}\n{tool_message(result.stderr)}")


def workload_status(target: Target, pool_name: str | None = None) -> ReleaseStatus:
    """Per-role replica counts and the InferencePool (default: named after the release),
    read with kubectl only."""
    selector = f"--selector={INSTANCE_LABEL}={target.release}"
    deployments = kubectl_get(target, "deployments.apps", selector)
    leader_worker_sets = kubectl_get(target, LWS_RESOURCE, selector)
    pool = kubectl_get(target, f"{POOL_RESOURCE}/{pool_name or target.release}",
                        "--ignore-not-found")
    return ReleaseStatus(
        release=target.release,
        namespace=target.namespace,
        roles=aggregate_roles(deployments, leader_worker_sets),
        inference_pool=None if pool is None else bool(pool),
        pool_name=pool_name or "",
        pods=role_pods(kubectl_get(target, "pods", selector), ROLE_ORDER),
    )


def watch(target: Target, *, timeout: float = 600,
          interval: float = 3) -> Iterator[ReleaseStatus]:
    """Live progress: workload status every `interval` s until all roles are ready."""
    return poll_until_ready(lambda: workload_status(target), timeout=timeout, interval=interval)


# --- helm through pyhelm3 ----------------------------------------------------------------


def _check_values(values: Obj) -> None:
    try:
        json.dumps(values)  # pyhelm3 sends values to helm as JSON on stdin
    except (TypeError, ValueError) as error:
        raise UserError(f"values cannot be passed to helm: {error} (quote dates and "
                        "other non-JSON YAML scalars)") from None


def _chart(chart: Path | None) -> Path:
    path = Path(chart) if chart else chart_dir()
    if not (path / "Chart.yaml").is_file():
        raise UserError(f"chart not found: {path} has no Chart.yaml")
    return path.resolve()


def _client(target: Target) -> Client:
    check_release_name(target.release)
    helm = find_helm()
    try:
        return Client(executable=helm, kubeconfig=target.kubeconfig,
                      kubecontext=target.context)
    except (AssertionError, OSError, ValueError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", b"") or str(error)
        detail = detail.decode(errors="replace") if isinstance(detail, bytes) else detail
        raise UserError(f"cannot run helm at {helm}: {detail.strip()}") from None


def _user_error(action: str, target: Target, error: helm_errors.Error) -> UserError:
    stderr = tool_message(error.stderr.decode(errors="replace"))
    where = f"release {target.release!r} in namespace {target.namespace!r}"
    if isinstance(error, helm_errors.ReleaseNotFoundError):
        headline = f"{where} not found"
    elif UNREACHABLE.search(stderr):
        headline = (f"helm {action}: Kubernetes cluster unreachable (check KUBECONFIG / "
                    "--context and that the API server is up)")
    else:
        headline = f"helm {action} failed for {where}"
    return UserError(f"{headline}\n{stderr}" if stderr else headline)


def _run(action: str, target: Target, coroutine: Coroutine[Any, Any, T]) -> T:
    """Run one pyhelm3 coroutine; helm failures become UserErrors with helm's stderr."""
    try:
        return asyncio.run(coroutine)
    except helm_errors.Error as error:
        raise _user_error(action, target, error) from None


def _revision(revision: ReleaseRevision) -> Revision:
    return Revision(
        release=revision.release.name,
        namespace=revision.release.namespace,
        revision=revision.revision,
        status=revision.status.value,
        description=revision.description or "",
        notes=revision.notes or "",
        objects=without_hooks(revision.resources_ or []),
    )


async def _current(client: Client, target: Target) -> ReleaseRevision | None:
    """The release's current revision, or None when helm has no such release."""
    try:
        return await client.get_current_revision(target.release, namespace=target.namespace)
    except helm_errors.ReleaseNotFoundError:
        return None


async def _release_manifest(client: Client, target: Target) -> list[Obj] | None:
    """The objects `helm upgrade` starts from, hooks left out: the current revision's
    manifest, or after a failed upgrade the last deployed revision's (helm's own choice).
    None when there is no release, or only an uninstalled one kept in the history."""
    current = await _current(client, target)
    if current is None or current.status == ReleaseRevisionStatus.UNINSTALLED:
        return None
    if current.status != ReleaseRevisionStatus.DEPLOYED:
        deployed = [revision.revision for revision in await current.release.history()
                    if revision.status == ReleaseRevisionStatus.DEPLOYED]
        if deployed:
            current = await current.release.revision(max(deployed))
    return without_hooks(current.resources_ or [])


async def _impact(client: Client, target: Target, values: Obj, chart: Path,
                  old: list[Obj] | None) -> UpgradeImpact:
    """What upgrading from the `old` objects to `values` does (`helm template` of the
    upgrade, no hooks); everything is added when `old` is None (no release)."""
    rendered = await client.template_resources(
        await client.get_chart(chart), target.release, values,
        namespace=target.namespace, is_upgrade=True, no_hooks=True)
    if old is None:
        return not_installed(rendered)
    return compare(old, rendered, default_namespace=target.namespace)


async def _apply(client: Client, target: Target, values: Obj, chart: Path, *,
                 create_namespace: bool, dry_run: bool, wait: bool, timeout: int,
                 atomic: bool) -> Revision:
    """`helm upgrade --install` through pyhelm3 with exactly one values dict."""
    helm4 = client.version.major >= 4
    revision = await client.install_or_upgrade_release(
        target.release,
        await client.get_chart(chart),
        values,
        atomic=atomic and not helm4,
        rollback_on_failure=atomic and helm4,
        create_namespace=create_namespace,
        dry_run=dry_run,
        namespace=target.namespace,
        timeout=f"{timeout}s",
        wait=wait,
    )
    return _revision(revision)


def install(target: Target, values: Obj, *, chart: Path | None = None,
            create_namespace: bool = False, dry_run: bool = False, wait: bool = False,
            timeout: int = 300, atomic: bool = False) -> Revision:
    """`helm install`: fails if the release already exists (use `upgrade`)."""
    _check_values(values)
    path, client = _chart(chart), _client(target)

    async def run() -> Revision:
        current = await _current(client, target)
        if current is not None and current.status != ReleaseRevisionStatus.UNINSTALLED:
            raise UserError(
                f"release {target.release!r} already exists in namespace {target.namespace!r} "
                f"(revision {current.revision}, {current.status.value}); use upgrade instead")
        return await _apply(client, target, values, path, create_namespace=create_namespace,
                            dry_run=dry_run, wait=wait, timeout=timeout, atomic=atomic)

    return _run("install", target, run())


def upgrade(target: Target, values: Obj, *, chart: Path | None = None, install: bool = False,
            create_namespace: bool = False, dry_run: bool = False, wait: bool = False,
            timeout: int = 300, atomic: bool = False,
            accept_breaking: bool = False) -> Revision:
    """`helm upgrade`; with `install=True` it is `helm upgrade --install`.

    The upgrade is compared with the release first (the engine of `diff`); a breaking change
    raises BreakingUpgrade and nothing is applied, unless `accept_breaking`. The returned
    revision carries that comparison (`impact`; None when the release was installed)."""
    _check_values(values)
    path, client = _chart(chart), _client(target)

    async def run() -> Revision:
        old = await _release_manifest(client, target)
        if old is None and not install:
            raise UserError(f"release {target.release!r} not found in namespace "
                            f"{target.namespace!r}; install it first (or upgrade --install)")
        impact = None if old is None else await _impact(client, target, values, path, old)
        if impact and impact.breaking and not accept_breaking:
            raise BreakingUpgrade(impact)
        revision = await _apply(client, target, values, path,
                                create_namespace=create_namespace, dry_run=dry_run,
                                wait=wait, timeout=timeout, atomic=atomic)
        return replace(revision, impact=impact)

    return _run("upgrade", target, run())


def rollback(target: Target, revision: int | None = None, *, dry_run: bool = False,
             wait: bool = False, timeout: int = 300) -> Revision:
    """`helm rollback` to `revision`, or to the previous one when None."""
    client = _client(target)

    async def run() -> Revision:
        current = await client.get_current_revision(target.release, namespace=target.namespace)
        rolled = await current.release.rollback(revision, dry_run=dry_run, wait=wait,
                                                timeout=f"{timeout}s")
        return _revision(rolled)

    return _run("rollback", target, run())


def uninstall(target: Target, *, dry_run: bool = False, wait: bool = False,
              timeout: int = 300, missing_ok: bool = False) -> None:
    """`helm uninstall`; a missing release is an error unless `missing_ok`."""
    client = _client(target)

    async def run() -> None:
        if not missing_ok:
            await client.get_current_revision(target.release, namespace=target.namespace)
        await client.uninstall_release(target.release, namespace=target.namespace,
                                       dry_run=dry_run, wait=wait, timeout=f"{timeout}s")

    _run("uninstall", target, run())


def status(target: Target, pool_name: str | None = None) -> ReleaseStatus:
    """helm's revision and status plus per-role workload counts and the InferencePool."""
    client = _client(target)
    current = _run("status", target, client.get_current_revision(
        target.release, namespace=target.namespace))
    workloads = workload_status(target, pool_name)
    return ReleaseStatus(
        release=workloads.release,
        namespace=workloads.namespace,
        roles=workloads.roles,
        inference_pool=workloads.inference_pool,
        pool_name=workloads.pool_name,
        revision=current.revision,
        helm_status=current.status.value,
        pods=workloads.pods,
    )


def diff(target: Target, values: Obj, *, chart: Path | None = None) -> UpgradeImpact:
    """What upgrading to `values` would do (see modelservice_tool.upgrade): `helm template`
    of the upgrade against the manifest helm stored for the release (exactly what `helm get
    manifest` prints; after a failed upgrade, the last deployed revision's, as helm itself
    uses). Hooks are left out of both sides. `helm template` renders with helm's default
    capabilities, which matters only if the chart ever branches on `.Capabilities`."""
    _check_values(values)
    path, client = _chart(chart), _client(target)

    async def run() -> UpgradeImpact:
        return await _impact(client, target, values, path,
                             await _release_manifest(client, target))

    return _run("diff", target, run())
