"""Checks that need the live cluster: a served model name must be unique among the model
workloads of a namespace (two releases serving the same name behind one gateway would
split its traffic unpredictably)."""

from __future__ import annotations

from .checks import Finding, model_workloads, pod_templates
from .lifecycle import Target, kubectl_get
from .manifests import Manifest, object_id

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
    """Served-name conflicts with other releases in the target namespace (needs a cluster)."""
    models = served_models(objects)
    live: list[Manifest] = []
    for resource in ("deployments.apps", "leaderworkersets.leaderworkerset.x-k8s.io"):
        listing = kubectl_get(target, resource, f"-l{MODEL_LABEL}")
        live += (listing or {}).get("items", [])
    return name_conflicts(target.release, models, live)
