"""`<role>.autoscaling` of the old chart -> this chart's `<role>.autoscaling` (an HPA).

The old chart read only `autoscaling.enabled`, and all it did was leave `replicas` out of
the workload so that an autoscaler managed elsewhere (an HPA of your own, KEDA, the llm-d
workload variant autoscaler) owned the count. This chart renders the HorizontalPodAutoscaler
itself, so the switch maps, but what the HPA scales on must be told: the report says so.
HPA-shaped keys some files carry anyway (minReplicas, maxReplicas, metrics, behavior, the
`targetCPUUtilizationPercentage` of `helm create` charts) are carried over."""

from __future__ import annotations

import re
from typing import Any

from .context import Context

CHART_MAX = 2  # the chart's default maxReplicas
ORDER = ("enabled", "minReplicas", "maxReplicas", "metrics", "behavior")
METRIC_TYPES = ("Resource", "Pods", "Object", "External", "ContainerResource")
TARGETS = {"targetCPUUtilizationPercentage": "cpu", "targetMemoryUtilizationPercentage": "memory"}


def _metric_name(metric: dict[str, Any], taken: set[str]) -> str:
    """A map key for a MetricSpec: its type and metric or resource name, numbered on clashes."""
    kind = str(metric.get("type", "metric"))
    body = metric.get(kind[:1].lower() + kind[1:]) or {}
    name = (body.get("metric") or {}).get("name") or body.get("name") or ""
    base = re.sub(r"[^a-z0-9]+", "-", f"{kind}-{name}".lower()).strip("-") or "metric"
    key, number = base, 2
    while key in taken:
        key, number = f"{base}-{number}", number + 1
    return key


def _metrics(ctx: Context, path: tuple[Any, ...], metrics: Any, out: dict[str, Any]) -> None:
    """A MetricSpec list (or an already keyed map) into `out["metrics"]`."""
    if not isinstance(metrics, list | dict):
        ctx.report.unmapped(path, "not a list of autoscaling/v2 MetricSpecs")
        return
    items = metrics.items() if isinstance(metrics, dict) else enumerate(metrics)
    keyed: dict[str, Any] = out.setdefault("metrics", {})
    for key, metric in items:
        where = (*path, key)
        if not isinstance(metric, dict) or metric.get("type") not in METRIC_TYPES:
            ctx.report.unmapped(where, "not an autoscaling/v2 MetricSpec (type Resource, "
                                "Pods, Object, External or ContainerResource)")
            continue
        name = str(key) if isinstance(metrics, dict) else _metric_name(metric, set(keyed))
        keyed[name] = metric
        ctx.report.mapped(where, (path[0], "autoscaling", "metrics", name),
                          "the old chart ignored it; this chart's HPA uses it")
    if not keyed:
        del out["metrics"]


def _keys(ctx: Context, role: str, settings: dict[str, Any], out: dict[str, Any]) -> None:
    base = (role, "autoscaling")
    for key, value in settings.items():
        where = (*base, key)
        if key == "enabled":
            continue
        count = key in ("minReplicas", "maxReplicas") and isinstance(value, int) and value >= 1
        if count or (key == "behavior" and isinstance(value, dict)):
            out[key] = value
            ctx.report.mapped(where, (*base, key), "the old chart ignored it; this chart's "
                              "HPA uses it")
        elif key == "metrics":
            _metrics(ctx, where, value, out)
        elif key in TARGETS and isinstance(value, int):
            metric = {"type": "Resource", "resource": {"name": TARGETS[key], "target": {
                "type": "Utilization", "averageUtilization": value}}}
            out.setdefault("metrics", {})[TARGETS[key]] = metric
            ctx.report.mapped(where, (*base, "metrics", TARGETS[key]), "a Resource metric; "
                              "the old chart ignored it")
        else:
            ctx.report.unmapped(where, "not an autoscaling key this chart knows (the old chart "
                                "read only `enabled`): carry it over by hand")


def convert_autoscaling(ctx: Context, role: str, replicas: int, multi_node: bool
                        ) -> dict[str, Any] | None:
    """The role's `autoscaling` block, or None when the old file did not turn it on."""
    base = (role, "autoscaling")
    settings = ctx.get(base) or {}
    if not isinstance(settings, dict) or not settings.get("enabled"):
        if ctx.present(base):
            ctx.report.skipped(base, "off")
        return None
    if not ctx.support.has(role, "autoscaling"):
        ctx.report.unmapped(base, "the old chart left replicas to an external autoscaler: "
                            "this chart version has no autoscaling values")
        return None
    out: dict[str, Any] = {"enabled": True}
    _keys(ctx, role, settings, out)
    if "minReplicas" not in out:
        out["minReplicas"] = max(replicas, 1)
        ctx.report.defaulted((*base, "minReplicas"), f"{out['minReplicas']}: the replicas "
                             "the file set (the HPA never goes below it)")
    if "maxReplicas" not in out:
        out["maxReplicas"] = max(out["minReplicas"], CHART_MAX)
        ctx.report.defaulted((*base, "maxReplicas"), f"{out['maxReplicas']}: set the "
                             "ceiling you want")
    out = {k: out[k] for k in ORDER if k in out}
    target = "LeaderWorkerSet (whole groups)" if multi_node else "Deployment"
    scale_on = ("its metrics" if out.get("metrics") else "average CPU utilization (80%, the "
                f"autoscaling/v2 default), which says little about an engine: set {role}."
                "autoscaling.metrics (e.g. a Pods metric on vllm:num_requests_waiting)")
    ctx.report.unmapped((*base, "enabled"), (
        "the old chart rendered no autoscaler and left replicas to one you ran (an HPA of "
        f"your own, KEDA, the workload variant autoscaler); this chart renders its own HPA on "
        f"the {target}, scaling on {scale_on}. Remove the external autoscaler, or set "
        "autoscaling.enabled: false to keep it (then replicas is rendered again and an "
        "upgrade resets the count)"), (*base, "enabled"))
    return out
