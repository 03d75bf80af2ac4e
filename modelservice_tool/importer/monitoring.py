"""`<role>.monitoring.podmonitor` of the old chart -> `monitoring.podMonitor`.

The old chart had one PodMonitor block per role, scraping a named container port that the
user had to declare. This chart has one shared block that renders a PodMonitor for every
enabled role, scraping vLLM's own HTTP port, plus one for the EPP it deploys. Settings the
roles disagree on, and PodMonitor fields without a values key, are reported."""

from __future__ import annotations

from typing import Any

from ..sources import KeyPath
from .context import Context
from .roles import RoleResult

TARGET = ("monitoring", "podMonitor")
SETTINGS = ("interval", "path", "scrapeTimeout")  # the chart's defaults apply otherwise
NO_KEY = ("annotations", "relabelings", "metricRelabelings", "namespaceSelector")


def _port(ctx: Context, result: RoleResult, path: KeyPath, name: Any) -> None:
    """The old monitor scraped the container port called `name`; this chart scrapes vLLM."""
    facts = result.facts
    containers = ctx.get((facts.role, "containers")) or []
    for index, container in enumerate(containers):
        for port in (container or {}).get("ports") or []:
            if not isinstance(port, dict) or port.get("name") != name:
                continue
            number = port.get("containerPort")
            engine = (facts.role, "containers", index) == result.engine_path
            if engine and number in (facts.vllm_port, facts.service_port):
                ctx.report.skipped(path, f"port {name!r} ({number}) is the engine's HTTP "
                                   "port, which the chart scrapes itself")
            else:
                ctx.report.unmapped(path, f"port {name!r} ({number}) of container "
                                    f"{container.get('name', index)!r} is not vLLM's: the "
                                    "chart's PodMonitor scrapes only the engine; add one for "
                                    "this port with extraObjects")
            return
    ctx.report.skipped(path, f"no container declared a port {name!r}, so the old monitor "
                       "scraped nothing; the chart scrapes vLLM's HTTP port")


def _setting(ctx: Context, path: KeyPath, key: str, value: Any, chosen: dict[str, Any],
             first: str) -> None:
    if key not in chosen:
        chosen[key] = str(value)
        default = str(ctx.support.default(*TARGET, key))
        ctx.report.mapped(path, (*TARGET, key), "the chart's default" if chosen[key] ==
                          default else "")
    elif chosen[key] == str(value):
        ctx.report.mapped(path, (*TARGET, key), "the same for every role")
    else:
        ctx.report.unmapped(path, f"{value!r} differs from {first}'s {chosen[key]!r}: this "
                            "chart has one setting for every role's PodMonitor", (*TARGET, key))


def _role(ctx: Context, result: RoleResult, settings: dict[str, Any], chosen: dict[str, Any],
          labels: dict[str, Any], first: str, others: list[str]) -> None:
    base = (result.facts.role, "monitoring", "podmonitor")
    for key, value in settings.items():
        path = (*base, key)
        if key == "enabled":
            also = (f"; {', '.join(others)} scraped too (one setting for every role)"
                    if others else "")
            ctx.report.mapped(path, (*TARGET, "enabled"), "a PodMonitor per enabled role on "
                              "vLLM's HTTP port (the vllm port behind the P/D sidecar)" + also)
        elif key in SETTINGS and value not in (None, ""):
            _setting(ctx, path, key, value, chosen, first)
        elif key == "labels" and isinstance(value, dict):
            for name, label in value.items():
                where = (*path, name)
                if labels.get(name, label) != label:
                    ctx.report.unmapped(where, f"differs from {first}'s {labels[name]!r}: one "
                                        "label set for every role", (*TARGET, "labels", name))
                else:
                    labels[name] = label
                    ctx.report.mapped(where, (*TARGET, "labels", name))
        elif key == "portName":
            _port(ctx, result, path, value)
        elif key in NO_KEY or key == "labels" or key in SETTINGS:
            (ctx.report.unmapped if value else ctx.report.skipped)(path, (
                f"PodMonitor {key} has no values key: add it with a kustomize patch on the "
                "PodMonitor" if value else "empty"))
        else:
            ctx.report.unmapped(path, "not a podmonitor key of the old chart, or one this "
                                "converter does not know: carry it over by hand")


def convert_monitoring(ctx: Context, roles: list[RoleResult], epp: bool
                       ) -> dict[str, Any] | None:
    """The shared `monitoring` block from the rendered roles' PodMonitor settings; `epp`:
    whether the converted release deploys an EPP (which the chart then scrapes too)."""
    settings = {r.facts.role: ctx.get((r.facts.role, "monitoring", "podmonitor")) or {}
                for r in roles}
    settings = {role: value if isinstance(value, dict) else {}
                for role, value in settings.items()}
    on = [r for r in roles if settings[r.facts.role].get("enabled")]
    for result in roles:
        if result not in on and ctx.present((result.facts.role, "monitoring")):
            ctx.report.skipped((result.facts.role, "monitoring"), "off" + (
                "; the chart's PodMonitor covers every role once on" if on else ""))
    if not on:
        return None
    if not ctx.support.has("monitoring"):
        for result in on:
            ctx.report.unmapped((result.facts.role, "monitoring"), "this chart version has no "
                                "monitoring values: keep your PodMonitor outside the release")
        return None
    chosen: dict[str, Any] = {}
    labels: dict[str, Any] = {}
    first = on[0].facts.role
    others = [r.facts.role for r in roles if r not in on]
    for result in on:
        _role(ctx, result, settings[result.facts.role], chosen, labels, first, others)
        others = []
    out: dict[str, Any] = {"enabled": True}
    out.update({k: v for k, v in chosen.items() if v != str(ctx.support.default(*TARGET, k))})
    if labels:
        out["labels"] = {k: str(v) for k, v in labels.items()}
    if epp:
        ctx.report.defaulted((*TARGET, "epp"), "true: the EPP this chart deploys is scraped "
                             "too (port metrics); set it to false to skip")
    return {"podMonitor": out}
