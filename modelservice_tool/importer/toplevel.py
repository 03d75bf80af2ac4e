"""Top-level keys of the old chart: names, ServiceAccount, extra objects, tracing, the
multi-node and requester switches, and leftovers of the Bitnami `common` chart."""

from __future__ import annotations

import re
from typing import Any

from ..sources import KeyPath
from .context import Context
from .roles import RoleResult

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DEFAULT_OTLP = "http://otel-collector:4317"


def _resolve_all(ctx: Context, path: KeyPath, value: Any) -> Any:
    """Old `.Values` references resolved in every string of an object."""
    if isinstance(value, dict):
        return {k: _resolve_all(ctx, (*path, k), v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_all(ctx, (*path, i), v) for i, v in enumerate(value)]
    return ctx.text(path, value) if isinstance(value, str) else value


def _extra_objects(ctx: Context, values: dict[str, Any]) -> None:
    objects: dict[str, Any] = {}
    for index, obj in enumerate(ctx.get(("extraObjects",)) or []):
        path = ("extraObjects", index)
        resolved = _resolve_all(ctx, path, obj)
        meta = resolved.get("metadata", {}) if isinstance(resolved, dict) else {}
        parts = (resolved.get("kind") if isinstance(resolved, dict) else None, meta.get("name"))
        base = re.sub(r"\{\{.*?\}\}", "", "-".join(str(p) for p in parts if p))
        key = re.sub(r"[^a-z0-9_.]+", "-", base.lower()).strip("-") or f"object-{index}"
        while key in objects:
            key += f"-{index}"
        objects[key] = resolved
        ctx.report.mapped(path, ("extraObjects", key))
    if objects:
        values["extraObjects"] = objects


def _names(ctx: Context, values: dict[str, Any]) -> None:
    full = ctx.get(("fullnameOverride",))
    if full:
        if DNS_LABEL.match(str(full)) and len(str(full)) <= 55:
            values["fullnameOverride"] = str(full)
            ctx.report.mapped(("fullnameOverride",), ("fullnameOverride",),
                              "objects keep the names <fullnameOverride>-decode/-prefill")
        else:
            ctx.report.unmapped(("fullnameOverride",), "not a DNS label of at most 55 "
                                "characters")
    else:
        ctx.report.defaulted("object names", "<release>-decode and <release>-prefill (the "
                             "old chart used <release>-llm-d-modelservice-decode unless the "
                             "release name contained the chart name); set fullnameOverride to "
                             "keep the old names", ("fullnameOverride",) if ctx.present(
                                 ("fullnameOverride",)) else None)
    name = ctx.get(("nameOverride",))
    if name:
        values["nameOverride"] = str(name)
        ctx.report.mapped(("nameOverride",), ("nameOverride",), "the app.kubernetes.io/name "
                          "label only; object names come from the release")
    account = ctx.get(("serviceAccountOverride",))
    if account:
        values["serviceAccount"] = {"create": False, "name": str(account)}
        ctx.report.mapped(("serviceAccountOverride",), ("serviceAccount",),
                          "use the existing ServiceAccount, create none")
    elif ctx.present(("serviceAccountOverride",)):
        ctx.report.skipped(("serviceAccountOverride",), "empty: the chart creates one")


def _multinode(ctx: Context, roles: list[RoleResult]) -> None:
    """The old `multinode` switch: LeaderWorkerSet roles where one engine spans pods."""
    path = ("multinode",)
    groups = [r.facts.role for r in roles if r.layout.multi_node]
    single = [r for r in roles if not r.layout.multi_node]
    fallen = [r.facts.role for r in single if r.layout.fallback]
    lws_vars = [r.facts.role for r in single
                if "LWS_" in str(ctx.get((r.facts.role, "containers")))]
    if ctx.get(path) and (fallen or lws_vars):
        ctx.report.unmapped(path, f"{', '.join(dict.fromkeys(fallen + lws_vars))} became "
                            "Deployment pods" + (": the LWS_* variables your command reads "
                                                 "are not set" if lws_vars else "")
                            + "; see the parallelism entry for why")
    elif ctx.get(path) and groups:
        target = f"{groups[0]}.multiNode" if len(groups) == 1 else \
            ", ".join(f"{role}.multiNode" for role in groups)
        ctx.report.mapped(path, target, "LeaderWorkerSet roles, their group size derived "
                          "from parallelism" + (f"; {single[0].facts.role} has one pod per "
                                                "engine: a Deployment" if single else ""))
    elif ctx.get(path):
        ctx.report.skipped(path, "every group had one pod: a Deployment pod is the same")
    elif ctx.present(path):
        ctx.report.skipped(path, "Deployments, as before" if not groups else (
            f"off, yet {', '.join(groups)} spread one engine over pods: see its parallelism "
            "entry"))


def _switches(ctx: Context, roles: list[RoleResult]) -> None:
    _multinode(ctx, roles)
    requester = ctx.get(("requester",)) or {}
    if requester.get("enable"):
        ctx.report.unmapped(("requester",), "the fast-model-actuation requester (dual-pod) "
                            "mode is not supported: the roles run ordinary engine pods")
    elif ctx.present(("requester",)):
        ctx.report.skipped(("requester",), "off")
    if ctx.present(("common",)):
        (ctx.report.unmapped if ctx.get(("common",)) else ctx.report.skipped)(
            ("common",), "values of the Bitnami common library, which this chart does not use")
    if ctx.present(("enabled",)):
        on = ctx.get(("enabled",), True) is not False
        (ctx.report.skipped if on else ctx.report.unmapped)(
            ("enabled",), "the subchart switch: on" if on else
            "the file turns the release off; this chart has no such switch")


def tracing(ctx: Context) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(engine args, engine env) that export vLLM traces, or None when tracing is off."""
    base = ("tracing",)
    settings = ctx.get(base) or {}
    if not settings.get("enabled"):
        if ctx.present(base):
            ctx.report.skipped(base, "off")
        return None
    args = {"otlp-traces-endpoint": str(settings.get("otlpEndpoint") or DEFAULT_OTLP)}
    env: dict[str, Any] = {}
    sampling = settings.get("sampling") or {}
    if sampling.get("sampler"):
        env["OTEL_TRACES_SAMPLER"] = str(sampling["sampler"])
    if sampling.get("samplerArg") is not None:
        env["OTEL_TRACES_SAMPLER_ARG"] = str(sampling["samplerArg"])
    for key in settings:
        path = (*base, key)
        if key in ("enabled", "otlpEndpoint"):
            ctx.report.mapped(path, ("engine", "args", "otlp-traces-endpoint"))
        elif key == "sampling":
            for sub in sampling:
                if sub in ("sampler", "samplerArg"):
                    ctx.report.mapped((*path, sub), ("engine", "env"))
                else:
                    ctx.report.unmapped((*path, sub), "not carried over: set the OTEL_* "
                                        "variable yourself")
        else:
            ctx.report.unmapped(path, "not carried over: set the OTEL_* variable yourself")
    ctx.report.unmapped(base, "only vLLM exports traces now: the routing sidecar's tracing "
                        "is not configured by this chart")
    return args, env


def convert_toplevel(ctx: Context, roles: list[RoleResult], values: dict[str, Any]) -> None:
    """Names, ServiceAccount, extra objects and the top-level switches into `values`."""
    _names(ctx, values)
    _extra_objects(ctx, values)
    _switches(ctx, roles)
    scheduler = ctx.get(("schedulerName",))
    if scheduler:
        values.setdefault("pod", {})["schedulerName"] = str(scheduler)
        ctx.report.mapped(("schedulerName",), ("pod", "schedulerName"),
                          "a role's own schedulerName wins, as before")
