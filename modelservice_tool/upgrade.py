"""Upgrade impact: what `helm upgrade` from one set of rendered manifests to another does.

The one engine behind `mst diff`, `mst upgrade` (which refuses a breaking upgrade unless
the user accepts it) and the chart-release check of tests/test_upgrade.py. Pure functions
over two lists of objects - the release's stored manifest and the new rendering - with no
helm, cluster or command line involved.

`compare` returns an `UpgradeImpact`:

- **breaking** changes, each with what helm and the cluster do about it and what to do:
  - `immutable`: a field the API server (or an admission webhook) refuses to update, e.g. a
    Deployment's `spec.selector`: `helm upgrade` fails part-way;
  - `traffic-selector`: a Service or InferencePool now selects labels no running pod
    carries: requests fail until the rollout brings matching pods;
  - `kind-changed`: the same name under another kind or API group (Deployment ->
    LeaderWorkerSet when multi-node is turned on): helm creates the new object and deletes
    the old one, with no rolling update between them;
  - `removed`: a workload, Service, InferencePool or HTTPRoute is no longer rendered: helm
    deletes it, and what it served or routed stops (other removals, such as a PodMonitor,
    are listed as changes only);
- the objects **added**, **removed** and **changed** (with the dotted paths that differ);
- the workloads whose pods are replaced (**restarts**: their pod template changed).

Objects match on API group, kind, namespace and name (an apiVersion bump within a group is
a change). Helm hooks (the `helm test` pod) are left out: helm never upgrades them.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
ObjectKey = tuple[str, str, str, str]  # API group, kind, namespace, name
Path = tuple[str, ...]

HOOK_ANNOTATION = "helm.sh/hook"
API_SERVER = "the API server"
LWS_WEBHOOK = "the LeaderWorkerSet admission webhook"
# Fields an update may not change, by kind, and who refuses the change. Kubernetes: apps/v1
# and batch/v1 update validation; LeaderWorkerSet: kubernetes-sigs/lws v0.10.0
# pkg/webhooks/leaderworkerset_webhook.go (ValidateUpdate: subGroupSize can be neither
# changed, nor set or removed after creation).
IMMUTABLE_FIELDS: dict[str, tuple[tuple[Path, str], ...]] = {
    "Deployment": ((("spec", "selector"), API_SERVER),),
    "ReplicaSet": ((("spec", "selector"), API_SERVER),),
    "DaemonSet": ((("spec", "selector"), API_SERVER),),
    "Job": ((("spec", "selector"), API_SERVER),),
    "StatefulSet": tuple((("spec", field), API_SERVER) for field in (
        "selector", "serviceName", "volumeClaimTemplates", "podManagementPolicy")),
    "LeaderWorkerSet": (
        (("spec", "leaderWorkerTemplate", "subGroupPolicy", "subGroupSize"), LWS_WEBHOOK),),
}
# What makes a workload's controller replace its pods. A LeaderWorkerSet's revision covers
# its whole leaderWorkerTemplate (size included) and networkConfig (kubernetes-sigs/lws
# v0.10.0 pkg/utils/revision/revision_utils.go, getPatch).
POD_TEMPLATE_PATHS: dict[str, tuple[Path, ...]] = {
    "Deployment": (("spec", "template"),),
    "StatefulSet": (("spec", "template"),),
    "DaemonSet": (("spec", "template"),),
    "LeaderWorkerSet": (("spec", "leaderWorkerTemplate"), ("spec", "networkConfig")),
}
# Where the running pods' labels come from (templates the controllers stamp pods from).
POD_LABEL_PATHS: dict[str, tuple[Path, ...]] = {
    **{kind: (("spec", "template", "metadata", "labels"),)
       for kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")},
    "LeaderWorkerSet": (
        ("spec", "leaderWorkerTemplate", "leaderTemplate", "metadata", "labels"),
        ("spec", "leaderWorkerTemplate", "workerTemplate", "metadata", "labels")),
}
TRAFFIC_SELECTOR_KINDS = ("Service", "InferencePool")
# Kinds whose removal stops serving or routing requests.
SERVING_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "LeaderWorkerSet",
                 "Service", "InferencePool", "HTTPRoute")

REINSTALL = ("uninstall and install again (`mst uninstall`, then `mst install`): downtime "
             "until the new pods are ready")
NEW_RELEASE = ("install the new version next to this one under a new release name "
               "(`--release NEW`), move clients to it, then uninstall this release: no "
               "downtime, but room for both is needed meanwhile")
KEEP = ("if the removal is intended (e.g. a role turned off), accept it; if not, keep the "
        "object in the values")
DELETE_FIRST = "delete-first"  # stands for one remedy naming every immutable object
REASON_ORDER = ("immutable", "kind-changed", "removed", "traffic-selector")


@dataclass(frozen=True)
class Breaking:
    """One change `helm upgrade` cannot apply in place without failing or cutting traffic."""

    reason: str  # one of REASON_ORDER
    obj: str  # Kind/name
    detail: str  # what changes
    effect: str  # what helm and the cluster do with it
    remedies: tuple[str, ...]  # what to do instead (any one)
    namespace: str = ""

    def __str__(self) -> str:
        return f"{self.obj}: {self.detail} [{self.reason}]"


@dataclass(frozen=True)
class ObjectChange:
    """One object present before and after, with the paths that differ."""

    id: str  # Kind/name
    paths: tuple[str, ...]
    restarts_pods: bool


@dataclass(frozen=True)
class UpgradeImpact:
    """Everything one upgrade does: breaking changes, object changes, pod restarts."""

    breaking: tuple[Breaking, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[ObjectChange, ...] = ()
    installed: bool = True  # False: no release yet, everything would be added

    @property
    def restarts(self) -> tuple[str, ...]:
        """Workloads whose pods would be replaced."""
        return tuple(change.id for change in self.changed if change.restarts_pods)

    @property
    def empty(self) -> bool:
        """True when the upgrade would change nothing."""
        return not (self.added or self.removed or self.changed)


# --- helpers -------------------------------------------------------------------------------


def without_hooks(objects: Iterable[Obj | None]) -> list[Obj]:
    """Objects helm upgrades: no empty documents, no hooks (`helm get manifest` lists none)."""
    return [obj for obj in objects if obj and HOOK_ANNOTATION not in (
        (obj.get("metadata") or {}).get("annotations") or {})]


def dig(obj: Any, path: Sequence[str]) -> Any:
    """The value at `path` in nested maps, or None."""
    for part in path:
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def object_key(obj: Obj, default_namespace: str | None = None) -> ObjectKey:
    """(API group, kind, namespace, name): what identifies an object across versions."""
    metadata = obj.get("metadata") or {}
    namespace = metadata.get("namespace") or default_namespace or ""
    return (obj.get("apiVersion", "").rpartition("/")[0], obj.get("kind", "?"), namespace,
            metadata.get("name", "?"))


def display(key: ObjectKey) -> str:
    """`Kind/name` of a key."""
    return f"{key[1]}/{key[3]}"


def changed_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths (`spec.replicas`, `...containers[0].args[2]`) where two values differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        paths: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            child = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                paths.append(child)
            else:
                paths += changed_paths(old[key], new[key], child)
        return paths
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [path for index, (a, b) in enumerate(zip(old, new, strict=True))
                for path in changed_paths(a, b, f"{prefix}[{index}]")]
    return [] if old == new else [prefix or "<root>"]


def restarts_pods(old: Obj, new: Obj) -> bool:
    """True when a workload's pod template changed, so its controller replaces pods."""
    return any(dig(old, path) != dig(new, path)
               for path in POD_TEMPLATE_PATHS.get(new.get("kind", ""), ()))


def label_change(old: Any, new: Any) -> str:
    """`a: 1 -> 2, +b: 3, -c` for two label maps; both values when not maps."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return f"{old} -> {new}"
    parts = [f"{key}: {old[key]} -> {new[key]}" for key in sorted(old.keys() & new.keys())
             if old[key] != new[key]]
    parts += [f"+{key}: {new[key]}" for key in sorted(new.keys() - old.keys())]
    parts += [f"-{key}" for key in sorted(old.keys() - new.keys())]
    return ", ".join(parts)


def traffic_selector(obj: Obj) -> dict[str, Any] | None:
    """A Service's selector, an InferencePool's matchLabels (or v1alpha2 map), else None."""
    selector = dig(obj, ("spec", "selector"))
    if obj.get("kind") == "InferencePool" and isinstance(selector, dict):
        selector = selector.get("matchLabels", selector)
    return selector if isinstance(selector, dict) and selector else None


def pod_labels(objects: Iterable[Obj]) -> list[dict[str, Any]]:
    """Label sets of the pods the workloads among `objects` run (from their templates)."""
    return [labels for obj in objects for path in POD_LABEL_PATHS.get(obj.get("kind", ""), ())
            if isinstance(labels := dig(obj, path), dict)]


def _selects(selector: dict[str, Any], labels: dict[str, Any]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


# --- findings ------------------------------------------------------------------------------


def immutable_findings(old: Obj, new: Obj) -> list[Breaking]:
    """Changes to fields the API server or a webhook refuses to update."""
    kind, name = new.get("kind", "?"), dig(new, ("metadata", "name"))
    found = []
    for path, enforcer in IMMUTABLE_FIELDS.get(kind, ()):
        before, after = dig(old, path), dig(new, path)
        if before == after:
            continue
        field = ".".join(path)
        change = label_change(dig(before, ("matchLabels",)) or before,
                              dig(after, ("matchLabels",)) or after) or f"{before} -> {after}"
        found.append(Breaking(
            "immutable", f"{kind}/{name}", f"{field} changes ({change})",
            f"{enforcer} rejects the update ({field} is immutable): `helm upgrade` fails "
            "after applying the other objects and marks the revision failed, leaving the "
            "release half-upgraded (with --atomic helm rolls it back)",
            (REINSTALL, NEW_RELEASE, DELETE_FIRST),
            dig(new, ("metadata", "namespace")) or ""))
    return found


def traffic_findings(old: Obj, new: Obj, running: list[dict[str, Any]]) -> list[Breaking]:
    """A Service or InferencePool whose new selector matches none of the running pods
    (`running`: the label sets of the old release's pods) while its old one did."""
    kind, name = new.get("kind", "?"), dig(new, ("metadata", "name"))
    before, after = traffic_selector(old), traffic_selector(new)
    if kind not in TRAFFIC_SELECTOR_KINDS or before == after or not before or not after:
        return []
    if any(_selects(after, labels) for labels in running) or not any(
            _selects(before, labels) for labels in running):
        return []
    return [Breaking(
        "traffic-selector", f"{kind}/{name}",
        f"selector changes ({label_change(before, after)}): no running pod matches it",
        "helm updates it at once, so requests find no endpoints until the rollout brings "
        "pods with the new labels (and none if no workload makes such pods)",
        (NEW_RELEASE, REINSTALL))]


def replaced_finding(old: ObjectKey, new: list[ObjectKey]) -> Breaking:
    """The object `old` reappears as another kind (or API group) under the same name."""
    kinds = ", ".join(f"{key[1]} ({key[0] or 'core'})" if key[1] == old[1] else key[1]
                      for key in new)
    return Breaking(
        "kind-changed", display(old), f"becomes a {kinds} of the same name",
        f"helm creates the new object and deletes the {old[1]} in the same upgrade, without "
        "waiting: the old pods stop while the new ones are still being scheduled and "
        "loading the model (and nothing replaces them if the new kind's controller is "
        "missing)",
        (NEW_RELEASE, REINSTALL))


def removed_finding(key: ObjectKey) -> Breaking:
    """A serving or routing object that is no longer rendered."""
    return Breaking(
        "removed", display(key), "no longer rendered",
        f"helm deletes the {key[1]}: what it serves or routes stops", (KEEP,), key[2])


# --- the comparison ------------------------------------------------------------------------


def compare(old: Iterable[Obj | None], new: Iterable[Obj | None], *,
            default_namespace: str | None = None) -> UpgradeImpact:
    """What upgrading from the `old` manifests (the release) to the `new` ones does."""
    before = {object_key(obj, default_namespace): obj for obj in without_hooks(old)}
    after = {object_key(obj, default_namespace): obj for obj in without_hooks(new)}
    running = pod_labels(before.values())
    breaking: list[Breaking] = []
    changed = []
    for key in sorted(before.keys() & after.keys()):
        old_obj, new_obj = before[key], after[key]
        breaking += immutable_findings(old_obj, new_obj)
        breaking += traffic_findings(old_obj, new_obj, running)
        paths = changed_paths(old_obj, new_obj)
        if paths:
            changed.append(ObjectChange(display(key), tuple(paths),
                                        restarts_pods(old_obj, new_obj)))
    added = sorted(after.keys() - before.keys())
    removed = sorted(before.keys() - after.keys())
    for key in removed:
        same_name = [other for other in added if other[2:] == key[2:]]
        if same_name:
            breaking.append(replaced_finding(key, same_name))
        elif key[1] in SERVING_KINDS:
            breaking.append(removed_finding(key))
    breaking.sort(key=lambda finding: REASON_ORDER.index(finding.reason))
    return UpgradeImpact(tuple(breaking), tuple(display(key) for key in added),
                         tuple(display(key) for key in removed), tuple(changed))


def not_installed(new: Iterable[Obj | None]) -> UpgradeImpact:
    """The impact of installing `new` where no release exists yet: everything is added."""
    return UpgradeImpact(added=compare([], new).added, installed=False)


# --- report --------------------------------------------------------------------------------


def _delete_first(breaking: Sequence[Breaking]) -> str:
    """One remedy: delete every object with an immutable change, then upgrade."""
    names: dict[tuple[str, str], list[str]] = {}
    for finding in breaking:
        if DELETE_FIRST in finding.remedies:
            kind, _, name = finding.obj.partition("/")
            names.setdefault((kind.lower(), finding.namespace), []).append(name)
    commands = "; ".join(f"kubectl delete {kind} {' '.join(dict.fromkeys(objects))}"
                         + (f" -n {namespace}" if namespace else "")
                         for (kind, namespace), objects in names.items())
    return (f"delete the objects with an immutable change first (`{commands}`), then upgrade "
            "with --accept-breaking: helm creates them anew (their pods are replaced: downtime)")


def _wrap(text: str, width: int, first: str, rest: str) -> list[str]:
    return textwrap.wrap(text, width, initial_indent=first, subsequent_indent=rest,
                         break_on_hyphens=False, break_long_words=False)


def format_breaking(breaking: Sequence[Breaking], width: int = 96) -> list[str]:
    """Each breaking change with helm's reaction, then the distinct remedies once."""
    lines = [f"BREAKING ({len(breaking)}): `helm upgrade` cannot apply this in place"]
    for finding in breaking:
        lines.append(f"  ! {finding.obj}: {finding.detail}")
        lines += _wrap(finding.effect, width, "      ", "      ")
    remedies = dict.fromkeys(remedy for finding in breaking for remedy in finding.remedies)
    lines.append("  What to do (any one):")
    for remedy in remedies:
        text = _delete_first(breaking) if remedy == DELETE_FIRST else remedy
        lines += _wrap(text, width, "    - ", "      ")
    return lines


def format_impact(impact: UpgradeImpact, *, title: str = "", max_paths: int = 5) -> str:
    """Readable report: breaking changes first (why, what to do), then the object changes
    (`+` added, `-` removed, `~` changed with up to `max_paths` paths), then pod restarts."""
    lines = [title] if title else []
    if impact.empty:
        return "\n".join([*lines, "no changes"])
    if impact.breaking:
        lines += [*format_breaking(impact.breaking), ""]
    lines.append("Changes:")
    lines += [f"  + {name}" for name in impact.added]
    lines += [f"  - {name}" for name in impact.removed]
    for change in impact.changed:
        shown = ", ".join(change.paths[:max_paths])
        more = f" (+{len(change.paths) - max_paths} more)" if len(change.paths) > max_paths else ""
        lines.append(f"  ~ {change.id}: {shown}{more}")
    if impact.restarts:
        lines += ["", "Pods restart (pod template changed):"]
        lines += [f"  {name}" for name in impact.restarts]
    return "\n".join(lines)
