"""Checks that need the live cluster: the cluster must serve every kind the release renders
(API discovery; the legacy routing generation needs CRDs upstream has removed), and a served
model name must be unique among the model workloads of a namespace (two releases serving
the same name behind one gateway would split its traffic unpredictably)."""

from __future__ import annotations

from .checks import Finding, model_workloads, pod_templates
from .doctor import crd_for
from .lifecycle import Target, kubectl_get, run_kubectl
from .manifests import Manifest, object_id
from .served_apis import ServedApis, unserved

MODEL_LABEL = "llm-d.ai/model"
INSTANCE_LABEL = "app.kubernetes.io/instance"


def served_models(objects: list[Manifest]) -> set[str]:
    """`llm-d.ai/model` label values of the rendered model pods."""
    return {
        template["metadata"]["labels"][MODEL_LABEL]
        for obj in model_workloads(objects)
        for template in pod_templates(obj)
        if MODEL_LABEL in template["metadata"].get("labels", {})
    }


def name_conflicts(release: str, models: set[str], live: list[Manifest]) -> list[Finding]:
    """Live workloads of other releases that serve one of `models`."""
    findings = []
    for obj in live:
        labels = obj["metadata"].get("labels", {})
        owner = labels.get(INSTANCE_LABEL)
        served = {t["metadata"].get("labels", {}).get(MODEL_LABEL) for t in pod_templates(obj)}
        for model in sorted(models & served):
            if owner != release:
                findings.append(Finding(
                    "served-name", object_id(obj),
                    f"release {owner or '?'} already serves model {model!r} in this namespace; "
                    "set model.name to a different served name or remove that release"))
    return findings


def check_served_names(target: Target, objects: list[Manifest]) -> list[Finding]:
    """Served-name conflicts with other releases in the target namespace (needs a cluster).

    Every workload of the namespace is read: the model label sits on pod templates, not on
    the workloads themselves, so a label selector on the workloads would find nothing."""
    models = served_models(objects)
    live: list[Manifest] = []
    for resource in ("deployments.apps", "leaderworkersets.leaderworkerset.x-k8s.io"):
        live += (kubectl_get(target, resource) or {}).get("items", [])
    return name_conflicts(target.release, models, live)


def api_findings(missing: list[tuple[str, str]], objects: list[Manifest]) -> list[Finding]:
    """One finding per rendered kind the cluster does not serve, naming the CRD to install."""
    findings = []
    for api_version, kind in missing:
        first = next(obj for obj in objects
                     if (obj["apiVersion"], obj["kind"]) == (api_version, kind))
        crd = crd_for(api_version, kind)
        why = f" ({crd.note})" if crd and crd.note else ""
        fix = (f"install its CRD {crd.name}: {crd.install}" if crd else
               f"install the CRD or API that serves {api_version} {kind}")
        if crd and crd.note:
            fix += ", or switch to routing.generation: v1"
        findings.append(Finding(
            "served-api", object_id(first),
            f"the cluster does not serve {kind} {api_version}{why}; {fix}"))
    return findings


def check_served_apis(target: Target, objects: list[Manifest]) -> list[Finding]:
    """Rendered kinds the target cluster does not serve (API discovery)."""
    served = ServedApis.from_kubectl(lambda args: run_kubectl(args, target, timeout=30))
    return api_findings(unserved(served, objects), objects)


def check_cluster(target: Target, objects: list[Manifest]) -> list[Finding]:
    """Every live-cluster check: served APIs, then served model names."""
    return check_served_apis(target, objects) + check_served_names(target, objects)
