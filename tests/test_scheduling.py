"""Pod scheduling status per role (mst status) and the served-API findings, on pod and
discovery documents shaped like the API server's (the live tests check them against one)."""

from __future__ import annotations

from typing import Any

from modelservice_tool.cluster_checks import api_findings
from modelservice_tool.lifecycle import ReleaseStatus, format_status
from modelservice_tool.scheduling import pending_reason, role_pods
from modelservice_tool.served_apis import ServedApis, unserved

UNSCHEDULABLE = ("0/4 nodes are available: 2 Insufficient nvidia.com/gpu, 2 node(s) had "
                 "untolerated taint {nvidia.com/gpu: present}. preemption: ...")


def pod(role: str, *, node: str = "", ready: bool = False, message: str = "",
        deleting: bool = False) -> dict[str, Any]:
    conditions = [{"type": "Ready", "status": "True" if ready else "False"}]
    if message:
        conditions.append({"type": "PodScheduled", "status": "False",
                           "reason": "Unschedulable", "message": message})
    metadata: dict[str, Any] = {"labels": {"llm-d.ai/role": role}}
    if deleting:
        metadata["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": metadata, "spec": {"nodeName": node} if node else {},
            "status": {"conditions": conditions}}


def test_pods_are_counted_per_role_with_the_schedulers_reason() -> None:
    listing = {"items": [
        pod("decode", node="n1", ready=True), pod("decode", node="n2"),
        pod("decode", message=UNSCHEDULABLE), pod("decode", message=UNSCHEDULABLE),
        pod("epp", node="n3"), pod("prefill"), pod("decode", node="n4", deleting=True)]}
    decode, prefill, epp = role_pods(listing, ("decode", "prefill", "epp"))
    assert (decode.role, decode.total, decode.scheduled, decode.ready) == ("decode", 4, 2, 1)
    assert decode.pending == ((UNSCHEDULABLE, 2),) and decode.unschedulable == 2
    assert (prefill.total, prefill.scheduled, prefill.pending) == (1, 0, ())  # not tried yet
    assert (epp.role, epp.scheduled) == ("epp", 1)
    assert decode.summary() == f"decode 4 pods: 2 scheduled, 1 ready; 2 pending: {UNSCHEDULABLE}"


def test_pending_reason_collapses_whitespace_and_ignores_scheduled_pods() -> None:
    assert pending_reason(pod("decode", message="0/1 nodes\n  are available")) == \
        "0/1 nodes are available"
    assert pending_reason(pod("decode", node="n1", message="stale")) is None


def test_status_names_why_pods_wait() -> None:
    status = ReleaseStatus("r", "ns", (), pods=role_pods(
        {"items": [pod("decode", message=UNSCHEDULABLE)]}))
    assert status.summary() == f"no workloads yet (unschedulable: decode: 1 pending: " \
                               f"{UNSCHEDULABLE})"
    assert f"  pods decode 1 pods: 0 scheduled, 0 ready; 1 pending: {UNSCHEDULABLE}" in \
        format_status(status).splitlines()


def discovery(served: dict[str, list[str]]) -> ServedApis:
    return ServedApis(lambda path: {"resources": [{"name": kind.lower() + "s", "kind": kind}
                                                  for kind in served[path.split("/", 2)[2]]]}
                      if path.split("/", 2)[2] in served else None)


def test_unserved_kinds_name_the_crd_and_the_generation() -> None:
    served = discovery({"v1": ["Service"], "inference.networking.x-k8s.io/v1alpha1": [
        "InferencePoolImport"]})
    objects = [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}},
               {"apiVersion": "inference.networking.x-k8s.io/v1alpha2", "kind": "InferencePool",
                "metadata": {"name": "r"}},
               {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}]
    missing = unserved(served, objects)
    assert missing == [("example.com/v1", "Widget"),
                       ("inference.networking.x-k8s.io/v1alpha2", "InferencePool")]
    widget, pool = (str(finding) for finding in api_findings(missing, objects))
    assert widget.startswith("Widget/w: the cluster does not serve Widget example.com/v1; "
                             "install the CRD or API that serves example.com/v1 Widget")
    assert "routing.generation v1alpha2 renders the legacy x-k8s.io InferencePool" in pool
    assert "/v1.4.0/config/crd/bases/inference.networking.x-k8s.io_inferencepools.yaml" in pool
    assert pool.endswith("or switch to routing.generation: v1 [served-api]")
