"""Where a release's pods are: per role, how many are scheduled, ready, or pending and why.

A pod the scheduler cannot place stays Pending with its `PodScheduled` condition False,
reason `Unschedulable`, and the scheduler's message (the same text as the pod's
`FailedScheduling` event, e.g. `0/4 nodes are available: 4 Insufficient nvidia.com/gpu`).
`mst status` and `--wait` show these reasons instead of waiting silently until a timeout.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
ROLE_LABELS = ("llm-d.ai/role", "app.kubernetes.io/component")


@dataclass(frozen=True)
class RolePods:
    """Pod counts of one role; `pending` maps a scheduler message to how many pods wait on it."""

    role: str
    total: int
    scheduled: int
    ready: int
    pending: tuple[tuple[str, int], ...] = ()

    @property
    def unschedulable(self) -> int:
        """Pods the scheduler reported it cannot place."""
        return sum(count for _, count in self.pending)

    def summary(self) -> str:
        """`decode 2 pods: 2 scheduled, 0 ready` plus pending reasons, if any."""
        text = f"{self.role} {self.total} pods: {self.scheduled} scheduled, {self.ready} ready"
        return text + "".join(f"; {count} pending: {reason}" for reason, count in self.pending)


def _condition(pod: Obj, kind: str) -> Obj:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == kind), {})


def pod_role(obj: Obj) -> str:
    """The role label of a pod or workload (decode, prefill, epp, ...), `other` if none."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return next((labels[label] for label in ROLE_LABELS if labels.get(label)), "other")


def pending_reason(pod: Obj) -> str | None:
    """The scheduler's message for an unscheduled pod, None when scheduled or not yet tried."""
    if (pod.get("spec") or {}).get("nodeName"):
        return None
    condition = _condition(pod, "PodScheduled")
    if condition.get("status") == "False":
        return " ".join((condition.get("message") or condition.get("reason") or "").split())
    return None


def role_pods(listing: Obj | None, order: tuple[str, ...] = ()) -> tuple[RolePods, ...]:
    """Per-role pod counts from a `kubectl get pods -o json` list (terminating pods left out)."""
    by_role: dict[str, list[Obj]] = {}
    for pod in (listing or {}).get("items", []):
        if not (pod.get("metadata") or {}).get("deletionTimestamp"):
            by_role.setdefault(pod_role(pod), []).append(pod)
    result = []
    for role in sorted(by_role, key=lambda r: (order.index(r) if r in order else len(order), r)):
        pods = by_role[role]
        reasons = Counter(reason for pod in pods if (reason := pending_reason(pod)))
        result.append(RolePods(
            role=role,
            total=len(pods),
            scheduled=sum(bool((pod.get("spec") or {}).get("nodeName")) for pod in pods),
            ready=sum(_condition(pod, "Ready").get("status") == "True" for pod in pods),
            pending=tuple(sorted(reasons.items())),
        ))
    return tuple(result)


def unschedulable_summary(roles: tuple[RolePods, ...]) -> str:
    """`decode: 1 pending: 0/3 nodes are available: ...` for roles with unschedulable pods."""
    return "; ".join(f"{role.role}: {count} pending: {reason}"
                     for role in roles for reason, count in role.pending)
