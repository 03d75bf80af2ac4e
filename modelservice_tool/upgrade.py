"""Upgrade safety: what `helm upgrade` from one chart version's manifests to another's does.

Pure functions over two lists of rendered objects (the previous release's and the new one's,
same values and release name). Findings are either **breaking** (the upgrade fails or
silently misroutes traffic) or **restarts** (pods are replaced, which is expected when the
pod template changes, but worth knowing before a rollout):

- breaking: a workload's `spec.selector` changed (Deployment, StatefulSet, DaemonSet,
  ReplicaSet, Job selectors are immutable: `helm upgrade` fails), a Service or InferencePool
  selector changed (traffic goes to different pods), an object was removed or renamed
  (helm deletes it; anything that references it by name breaks), a kind changed under the
  same name (e.g. Deployment -> LeaderWorkerSet: the old pods go away first);
- restarts: a workload's pod template changed (Deployment, StatefulSet, DaemonSet,
  LeaderWorkerSet leader/worker templates).

Objects added by the new version are fine and only listed. Helm hooks (e.g. the `helm test`
pod) are left out: helm never upgrades them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
ObjectKey = tuple[str, str]  # (kind, name)

HOOK_ANNOTATION = "helm.sh/hook"
IMMUTABLE_SELECTOR_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")
TRAFFIC_SELECTOR_KINDS = ("Service", "InferencePool")
POD_TEMPLATE_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "Deployment": (("spec", "template"),),
    "StatefulSet": (("spec", "template"),),
    "DaemonSet": (("spec", "template"),),
    "LeaderWorkerSet": (("spec", "leaderWorkerTemplate", "leaderTemplate"),
                        ("spec", "leaderWorkerTemplate", "workerTemplate")),
}


@dataclass(frozen=True)
class Finding:
    """One consequence of the upgrade for one object."""

    kind: str  # selector, traffic-selector, removed, kind-changed, restart
    obj: str  # Kind/name
    detail: str

    @property
    def breaking(self) -> bool:
        """True for everything but a pod restart."""
        return self.kind != "restart"

    def __str__(self) -> str:
        return f"{self.obj}: {self.detail} [{self.kind}]"


@dataclass(frozen=True)
class UpgradeReport:
    """Every finding of one comparison, plus the objects the new version adds."""

    findings: tuple[Finding, ...] = ()
    added: tuple[str, ...] = field(default_factory=tuple)

    @property
    def breaking(self) -> tuple[Finding, ...]:
        """Findings that make the upgrade fail or misroute traffic."""
        return tuple(f for f in self.findings if f.breaking)

    @property
    def restarts(self) -> tuple[str, ...]:
        """Workloads whose pods the upgrade replaces."""
        return tuple(f.obj for f in self.findings if f.kind == "restart")


def without_hooks(objects: Iterable[Obj | None]) -> list[Obj]:
    """Objects helm upgrades: no empty documents, no hooks."""
    return [obj for obj in objects if obj and HOOK_ANNOTATION not in (
        (obj.get("metadata") or {}).get("annotations") or {})]


def _key(obj: Obj) -> ObjectKey:
    return obj.get("kind", "?"), (obj.get("metadata") or {}).get("name", "?")


def _dig(obj: Any, path: Sequence[str]) -> Any:
    for part in path:
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def _selector(obj: Obj) -> Any:
    """A workload's or Service's selector; an InferencePool's matchLabels (or v1alpha2 map)."""
    selector = _dig(obj, ("spec", "selector"))
    if obj.get("kind") == "InferencePool" and isinstance(selector, dict):
        return selector.get("matchLabels", selector)
    return selector


def selector_findings(old: Obj, new: Obj) -> list[Finding]:
    """Breaking selector changes between two versions of one object."""
    kind, name = _key(new)
    before, after = _selector(old), _selector(new)
    if before == after:
        return []
    if kind in IMMUTABLE_SELECTOR_KINDS:
        return [Finding("selector", f"{kind}/{name}",
                        f"spec.selector changed from {before} to {after}: it is immutable, "
                        "`helm upgrade` fails (delete the object first, with downtime)")]
    if kind in TRAFFIC_SELECTOR_KINDS:
        return [Finding("traffic-selector", f"{kind}/{name}",
                        f"selector changed from {before} to {after}: traffic moves to "
                        "other pods, old pods stop getting requests mid-rollout")]
    return []


def restart_findings(old: Obj, new: Obj) -> list[Finding]:
    """A restart finding when a workload's pod template(s) changed."""
    kind, name = _key(new)
    changed = [".".join(path) for path in POD_TEMPLATE_PATHS.get(kind, ())
               if _dig(old, path) != _dig(new, path)]
    if not changed:
        return []
    return [Finding("restart", f"{kind}/{name}", f"{', '.join(changed)} changed: pods restart")]


def compare(old: Iterable[Obj | None], new: Iterable[Obj | None]) -> UpgradeReport:
    """What upgrading from the `old` manifests to the `new` ones does (see the module doc)."""
    before = {_key(obj): obj for obj in without_hooks(old)}
    after = {_key(obj): obj for obj in without_hooks(new)}
    names_after: dict[str, list[str]] = {}
    for kind, name in after:
        names_after.setdefault(name, []).append(kind)
    findings: list[Finding] = []
    for key in sorted(before):
        kind, name = key
        if key not in after:
            others = [k for k in names_after.get(name, []) if (k, name) not in before]
            if others:
                findings.append(Finding("kind-changed", f"{kind}/{name}",
                                        f"now a {', '.join(others)} of the same name: helm "
                                        f"deletes the {kind} (its pods stop) first"))
            else:
                findings.append(Finding("removed", f"{kind}/{name}",
                                        "no longer rendered: helm deletes it on upgrade"))
            continue
        findings += selector_findings(before[key], after[key])
        findings += restart_findings(before[key], after[key])
    added = tuple(f"{kind}/{name}" for kind, name in sorted(after.keys() - before.keys()))
    return UpgradeReport(tuple(findings), added)


def format_report(report: UpgradeReport, title: str = "") -> str:
    """Readable lines: breaking findings first, then restarts, then additions."""
    lines = [title] if title else []
    lines += [f"  BREAKING {finding}" for finding in report.breaking]
    lines += [f"  restart  {name}" for name in report.restarts]
    lines += [f"  added    {name}" for name in report.added]
    if len(lines) == (1 if title else 0):
        lines.append("  no changes to selectors, names or pod templates")
    return "\n".join(lines)
