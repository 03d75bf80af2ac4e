"""Converting one llm-d-modelservice values file (v0.2 to v0.4 generations) into this
chart's values: the steps in order, then the checks that nothing was dropped silently and
that the result passes this chart's schema."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..layering import layer
from ..layers_io import schema_problems
from ..sources import KeyPath, ValuesSource, format_path, load_values_file, parse_values
from .accelerators import report_global
from .artifacts import convert_artifacts
from .context import Context
from .dra import report_global_dra
from .hoist import hoist, ordered
from .kv_events import convert_kv_events
from .kv_offload import convert_kv_offload
from .lora import convert_lora
from .monitoring import convert_monitoring
from .presets_match import closest_preset
from .report import Report
from .roles import Network, RoleResult, convert_role, enabled
from .routing import LEGACY_KEYS, convert_routing
from .shapes import check_shapes
from .support import ChartSupport
from .toplevel import convert_toplevel, tracing

# The old chart's defaults: routing.servicePort and routing.proxy.targetPort (vLLM's port
# behind the sidecar).
OLD_SERVICE_PORT, OLD_ENGINE_PORT = 8000, 8200
KNOWN_TOP = ("modelArtifacts", "routing", "decode", "prefill", "multinode", "accelerator")
V04_KEYS = (("accelerator",), ("requester",), ("tracing",), ("decode", "accelerator"),
            ("prefill", "accelerator"), ("decode", "extraConfig"), ("prefill", "extraConfig"),
            ("decode", "resourceClaims"), ("prefill", "resourceClaims"))


def role_order(defaults: dict[str, Any]) -> list[str]:
    """The key order of a role block: the role's own keys with the pod keys after `engine`
    (values.yaml documents those once, under `pod`)."""
    own = list(defaults["decode"])
    at = own.index("engine") + 1
    return [*own[:at], *defaults["pod"], *own[at:]]


@dataclass
class Conversion:
    """The converted values, the report, the detected generation and the closest preset."""

    values: dict[str, Any]
    report: Report
    generation: str
    preset: str | None
    preset_reason: str


def detect_generation(data: dict[str, Any]) -> str:
    """v0.2 (routing owns the pool, route and EPP), v0.4 (accelerator, requester, tracing,
    extraConfig, DRA) or v0.3."""
    routing = data.get("routing") or {}
    if any(key in routing for key in LEGACY_KEYS):
        return "v0.2"
    for path in V04_KEYS:
        node: Any = data
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            return "v0.4"
    return "v0.3"


def _network(ctx: Context) -> Network:
    proxy = ctx.get(("routing", "proxy")) or {}
    return Network(service_port=int(ctx.get(("routing", "servicePort"), OLD_SERVICE_PORT)),
                   proxy=proxy.get("enabled", True) is not False,
                   target_port=int(proxy.get("targetPort") or OLD_ENGINE_PORT))


def _apply_tracing(ctx: Context, roles: dict[str, RoleResult]) -> None:
    settings = tracing(ctx)
    if settings is None:
        return
    args, env = settings
    for result in roles.values():
        engine = result.values["engine"]
        if engine.get("mode") == "custom":
            ctx.report.unmapped(("tracing",), f"{result.facts.role} runs a custom command: "
                                "add --otlp-traces-endpoint to it yourself")
            continue
        engine["args"] = {**engine.get("args", {}), **args}
        if env:
            engine["env"] = {**engine.get("env", {}), **env}


def _leftovers(ctx: Context) -> None:
    """Report every input key no step accounted for: nothing is dropped silently."""
    claimed = ctx.report.claimed()

    def covered(path: KeyPath) -> bool:
        return any(path[:depth] in claimed for depth in range(1, len(path) + 1))

    def walk(node: Any, path: KeyPath) -> None:
        if path and covered(path):
            return
        if isinstance(node, dict) and node:
            for key, value in node.items():
                walk(value, (*path, key))
        elif isinstance(node, list) and node:
            for index, value in enumerate(node):
                walk(value, (*path, index))
        elif path and node not in (None, {}, []):
            ctx.report.unmapped(path, "not a key of the llm-d modelservice chart, or one this "
                                "converter does not know: carry it over by hand")

    walk(ctx.values, ())


def _role_target(values: dict[str, Any]) -> Callable[[KeyPath], KeyPath]:
    """Where a role key of the report ended up: the role, or the shared block."""

    def exists(path: KeyPath) -> bool:
        node: Any = values
        for part in path:
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    def move(target: KeyPath) -> KeyPath:
        if target and target[0] in ("decode", "prefill") and not exists(target):
            rest = target[1:]
            shared = rest if rest[:1] == ("engine",) else ("pod", *rest)
            if exists(shared):
                return shared
        return target

    return move


def convert_source(source: ValuesSource, chart: Path) -> Conversion:
    """Convert parsed llm-d-modelservice values; raises UserError on unusable input."""
    if not any(key in source.data for key in KNOWN_TOP):
        raise UserError(f"{source.name}: not a values file of the llm-d modelservice chart "
                        f"(none of {', '.join(KNOWN_TOP)} is set)")
    check_shapes(source)
    try:
        return _convert(source, chart)
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as error:
        raise UserError(f"{source.name}: cannot convert this file ({type(error).__name__}: "
                        f"{error}): a value has a shape the llm-d modelservice chart did not "
                        "accept either; please report it if the old chart rendered it"
                        ) from None


def _convert(source: ValuesSource, chart: Path) -> Conversion:
    """The conversion steps: model, roles (with their multi-node layout, DRA claims and
    autoscaling), offloading connectors, KV events, LoRA, routing, shared blocks,
    monitoring, top level, checks."""
    generation = detect_generation(source.data)
    ctx = Context(source, Report(source), ChartSupport.load(chart), generation)
    for path, first, last in source.duplicates:
        ctx.report.unmapped(None, f"duplicate key: set at {first} and again at {last}; the "
                            "last one wins, as in helm: delete the other", format_path(path),
                            last)
    artifacts = convert_artifacts(ctx)
    on = {role: enabled(ctx, role) for role in ("decode", "prefill")}
    pd = on["decode"] and on["prefill"]
    network = _network(ctx)
    roles = {role: convert_role(ctx, role, artifacts, network, pd)
             for role in ("decode", "prefill") if on[role]}
    for role in ("decode", "prefill"):
        if not on[role] and ctx.present((role,)):
            ctx.report.skipped((role,), "create is false or replicas is 0: not rendered")
    if not roles:
        raise UserError(f"{source.name}: neither decode nor prefill renders any pod "
                        "(create false or replicas 0): nothing to convert")
    _apply_tracing(ctx, roles)
    offload = convert_kv_offload(ctx, list(roles.values()), pd)
    events = convert_kv_events(ctx, list(roles.values()), pd,
                               "" if artifacts.scheme == "hf" else artifacts.served_name)
    lora = convert_lora(ctx, list(roles.values()), artifacts)
    values: dict[str, Any] = {"model": artifacts.model}
    routing, engine_port = convert_routing(ctx, list(roles.values()), pd)
    chart = ctx.support.defaults
    shared_engine, shared_pod, blocks = hoist({r: res.values for r, res in roles.items()},
                                              chart["decode"])
    if engine_port:
        shared_engine = {**shared_engine, "port": engine_port}
    for result in roles.values():
        if result.revision:
            values["model"]["revision"] = result.revision
    values["engine"] = ordered(shared_engine, chart["engine"])
    for block in blocks.values():
        if "engine" in block:
            block["engine"] = ordered(block["engine"], chart["engine"])
    if artifacts.pod_labels:
        shared_pod["podLabels"] = {**artifacts.pod_labels, **shared_pod.get("podLabels", {})}
    values["pod"] = ordered(shared_pod, chart["pod"])
    if "decode" in blocks:
        values["decode"] = ordered(blocks["decode"], role_order(chart))
    else:
        values["decode"] = {"enabled": False}
    if "prefill" in blocks:
        values["prefill"] = {"enabled": True, **ordered(blocks["prefill"], role_order(chart))}
    if events:
        routing["epp"] = {**routing.get("epp", {}), **events}
    if routing:
        values["routing"] = ordered(routing, chart["routing"])
    if offload:
        values["kvOffload"] = offload
    if lora:
        values["lora"] = lora
    epp = (routing.get("epp") or {}).get("enabled", True) is not False
    monitoring = convert_monitoring(ctx, list(roles.values()), epp)
    if monitoring:
        values["monitoring"] = monitoring
    convert_toplevel(ctx, list(roles.values()), values)
    report_global(ctx, {res.old_type for res in roles.values()})
    report_global_dra(ctx, {role: res.dra_type for role, res in roles.items() if res.dra_type})
    _leftovers(ctx)
    values = {k: v for k, v in values.items() if v not in ({}, None)}
    ctx.report.retarget(_role_target(values))
    preset, why = closest_preset(values)
    return Conversion(values, ctx.report, generation, preset, why)


def check_schema(text: str, chart: Path) -> None:
    """Raise when converted values break the chart schema (a converter bug, not user input)."""
    defaults = load_values_file(chart / "values.yaml")
    problems = schema_problems(layer(defaults, [parse_values(text, "converted values")]), chart)
    if problems:
        lines = "\n".join(f"  {problem}" for problem in problems)
        raise UserError(f"the converted values break this chart's schema (please report "
                        f"this converter bug):\n{lines}")


def validation_problems(text: str, chart: Path) -> list[str]:
    """What `mst validate` would reject in the converted values rendered on their own:
    the chart's own refusals, then the cross-object checks (e.g. a tensor size hidden in
    a custom shell command that disagrees with the accelerators the pods ask for)."""
    import tempfile

    from ..checks import run_checks
    from ..helm import HelmFailed
    from ..layers_io import Inputs
    from ..manifests import load_manifests
    from ..render import render

    with tempfile.TemporaryDirectory() as folder:
        values = Path(folder) / "converted.yaml"
        values.write_text(text)
        try:
            manifests = render(Inputs(values=(values,)), chart, release="imported",
                               namespace="default")
        except HelmFailed as error:
            return [message for _, message in error.chart_failures()] or [str(error)]
    return [str(finding) for finding in run_checks(load_manifests(manifests))]


def convert_file(path: Path, chart: Path) -> Conversion:
    """Convert the values file at `path` (located errors for unreadable or bad YAML). A
    duplicate key is converted as helm reads it (the last one wins) and reported."""
    return convert_source(load_values_file(path, last_key_wins=True), chart)
