"""A role's parallelism and, when one engine spans several pods, its multi-node layout.

The old chart ran the same container on every pod of a LeaderWorkerSet group of `workers`
pods (`multinode: true`), each requesting tensor x dataLocal accelerators, and left the
launch to the command. This chart's `<role>.multiNode` builds the leader and worker command
lines itself (engine mode vllmServe) and sizes the group from the parallelism:

- data > dataLocal: `mode: dataParallel`, data / dataLocal pods of tensor x dataLocal;
- a group of several pods with data 1: `mode: ray`, tensor x pipeline over the pods, so
  `acceleratorsPerNode` = tensor x pipeline / workers (the old per-pod count when it agrees).

What cannot be launched that way (a custom command, pipeline with data parallelism over
pods, uneven splits) stays independent pods, reported with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..sources import KeyPath
from .context import Context, RoleFacts
from .engine import EngineResult


@dataclass
class Layout:
    """The role's `parallelism`, its `multiNode` block (None: one pod per engine) and the
    accelerators per pod this chart derives from them."""

    parallelism: dict[str, Any]
    multi_node: dict[str, Any] | None = None
    per_pod: int = 1
    rule: str = "tensor x pipeline x dataLocal"
    size: int = 1
    fallback: bool = False  # an engine over several pods that had to become single pods


def _sizes(par: dict[str, Any]) -> tuple[int, int, int, int]:
    """tensor, pipeline, data, dataLocal (1 when unset)."""
    tp, pp, dp, dpl = (int(par.get(key, 1)) for key in ("tensor", "pipeline", "data",
                                                          "dataLocal"))
    return tp, pp, dp, dpl


def _explicit_count(container: dict[str, Any], facts: RoleFacts) -> int | None:
    """The accelerator count the engine container's resources set, if any."""
    resources = container.get("resources") or {}
    for kind in ("limits", "requests"):
        value = str((resources.get(kind) or {}).get(facts.resource_name, ""))
        if facts.resource_name and value.isdigit():
            return int(value)
    return None


def _base(ctx: Context, facts: RoleFacts, flags: dict[str, Any]) -> dict[str, Any]:
    base = (facts.role, "parallelism")
    for key in ctx.get(base) or {}:
        if key != "workers":
            ctx.report.mapped((*base, key), (*base, key))
    par: dict[str, Any] = {}
    if facts.tensor != 1:
        par["tensor"] = facts.tensor
    if facts.data_local > 1 or facts.data > 1:
        par.update({"data": facts.data, "dataLocal": facts.data_local})
    par.update(flags)
    return par


def _fallback(ctx: Context, facts: RoleFacts, par: dict[str, Any], group: int,
              reason: str) -> Layout:
    """Independent pods of data = dataLocal: the engine over several pods is reported."""
    tp, pp, dp, dpl = _sizes(par)
    spread = (f"{group} pods per LeaderWorkerSet group (data {dp} over dataLocal {dpl})"
              if group > 1 else f"data {dp} != dataLocal {dpl}: one engine over several pods")
    ctx.report.unmapped((facts.role, "parallelism"), (
        f"{spread}: converted to independent pods of data = dataLocal = {dpl}, which do NOT "
        f"form one engine; {reason}"))
    if dp != dpl:
        par["data"] = dpl
    return Layout(par, per_pod=tp * pp * dpl, fallback=True)


def _launch_flags(ctx: Context, facts: RoleFacts, engine: EngineResult,
                  multi: dict[str, Any]) -> None:
    """Flags the multi-node launch sets (the chart refuses them in engine.args): dropped
    from engine.args, the RPC port kept."""
    args = engine.engine.get("args", {})
    for flag in ctx.support.facts.managed_flags["multiNode"]:
        if flag not in args:
            continue
        value = args.pop(flag)
        where = engine.sources.get(flag)
        if where is None:
            continue
        ctx.report.forget(where)
        if flag == "data-parallel-rpc-port" and isinstance(value, int):
            multi["coordinationPort"] = value
            ctx.report.mapped(where, (facts.role, "multiNode", "coordinationPort"))
        else:
            ctx.report.skipped(where, f"the chart's {multi['mode']} launch sets --{flag} "
                               "itself on the leader and workers")
    if not args:
        engine.engine.pop("args", None)


def _data_parallel(ctx: Context, facts: RoleFacts, par: dict[str, Any], group: int,
                   explicit: int | None) -> Layout | str:
    tp, pp, dp, dpl = _sizes(par)
    if pp > 1:
        return ("pipeline parallelism does not combine with data parallelism over pods in "
                "this chart's multiNode (dataParallel mode)")
    if dp % dpl:
        return f"data {dp} is not a multiple of dataLocal {dpl}"
    size, need = dp // dpl, tp * dpl
    per_node = explicit if explicit and explicit > need else need
    multi = {"enabled": True, "mode": "dataParallel", "acceleratorsPerNode": per_node}
    base = (facts.role, "parallelism")
    if group <= 1 and not ctx.get(("multinode",)):
        ctx.report.unmapped(base, (
            f"data {dp} over dataLocal {dpl}: the old chart rendered a Deployment "
            "(multinode false) whose pods could not join one engine; now a LeaderWorkerSet "
            f"group of {size} pods per replica ({facts.role}.multiNode, dataParallel): "
            "replicas count groups"), (facts.role, "multiNode"))
    elif group != size:
        ctx.report.unmapped(base, (
            f"the old group had {group} pods (workers) but data {dp} / dataLocal {dpl} "
            f"needs {size}: the LeaderWorkerSet group now has {size} pods"),
            (facts.role, "multiNode"))
    else:
        ctx.report.mapped(base, (facts.role, "multiNode"), (
            f"a LeaderWorkerSet group of {size} pods per replica, as before; mode "
            f"dataParallel: the leader serves, workers run --headless with their start rank"))
    _report_per_node(ctx, facts, per_node, "tensor x dataLocal", explicit)
    return Layout(par, multi, per_pod=need, rule="tensor x dataLocal", size=size)


def _ray(ctx: Context, facts: RoleFacts, par: dict[str, Any], group: int,
         explicit: int | None) -> Layout | str:
    tp, pp, dp, dpl = _sizes(par)
    ranks = tp * pp
    if dp > 1:
        return (f"data {dp} inside each pod with tensor x pipeline over pods: this chart's "
                "ray mode runs data 1")
    if ranks < group or ranks % group:
        return f"tensor x pipeline ({ranks}) does not split evenly over {group} pods"
    per_node = ranks // group
    old = explicit or tp * dpl
    multi = {"enabled": True, "mode": "ray", "acceleratorsPerNode": per_node}
    ctx.report.mapped((facts.role, "parallelism"), (facts.role, "multiNode"), (
        f"tensor x pipeline ({ranks}) over a LeaderWorkerSet group of {group} pods, as "
        "before; mode ray: the leader starts a Ray head and serves, workers join it"))
    if per_node != old:
        where = "resources" if explicit else "tensor x dataLocal"
        detail = (f"{per_node} (tensor x pipeline / {group} pods); the old pods requested "
                  f"{old} each ({where}): check that a node has {per_node}")
        if explicit:
            ctx.report.unmapped(None, detail + "; your resources count is kept and wins",
                                (facts.role, "multiNode", "acceleratorsPerNode"))
        else:
            ctx.report.defaulted((facts.role, "multiNode", "acceleratorsPerNode"), detail)
    else:
        _report_per_node(ctx, facts, per_node, f"what the old pods requested (tensor x "
                         f"dataLocal), and tensor x pipeline / {group} pods", explicit)
    return Layout(par, multi, per_pod=per_node, rule="multiNode.acceleratorsPerNode",
                  size=group)


def _report_per_node(ctx: Context, facts: RoleFacts, per_node: int, rule: str,
                     explicit: int | None) -> None:
    source = f"the engine container's resources ({explicit} per pod)" if explicit else rule
    ctx.report.defaulted((facts.role, "multiNode", "acceleratorsPerNode"),
                         f"{per_node}: {source}")


def _switch_mode(ctx: Context, facts: RoleFacts, path: KeyPath, engine: EngineResult) -> None:
    """imageDefault -> vllmServe: the multi-node launch runs `vllm serve` itself."""
    if engine.engine.get("mode") != "imageDefault":
        return
    engine.engine["mode"] = "vllmServe"
    ctx.report.forget((*path, "modelCommand"))
    ctx.report.unmapped((*path, "modelCommand"), (
        "imageDefault -> vllmServe: multiNode builds the leader and worker command lines "
        "with `vllm serve`; check that the image has the vllm CLI"),
        (facts.role, "engine", "mode"))


def _suggestion(par: dict[str, Any], group: int) -> str:
    """The multiNode block a vllmServe rewrite of this layout would take."""
    tp, pp, dp, dpl = _sizes(par)
    if dp > dpl:
        return f"{{enabled: true, mode: dataParallel, acceleratorsPerNode: {tp * dpl}}}"
    per_node = max(tp * pp // max(group, 1), 1)
    return f"{{enabled: true, mode: ray, acceleratorsPerNode: {per_node}}}"


def convert_layout(ctx: Context, facts: RoleFacts, path: KeyPath, engine: EngineResult,
                   container: dict[str, Any]) -> Layout:
    """The role's parallelism and multi-node layout; `path` is its engine container."""
    par = _base(ctx, facts, engine.parallelism)
    tp, pp, dp, dpl = _sizes(par)
    multinode = bool(ctx.get(("multinode",)))
    group = facts.workers if multinode else 1
    workers = (facts.role, "parallelism", "workers")
    if dp <= dpl and group <= 1:
        if ctx.present(workers):
            ctx.report.skipped(workers, "one pod per group: a plain Deployment pod"
                               if multinode else "multinode is off: the old chart used it "
                               "only to derive data or dataLocal")
        return Layout(par, per_pod=tp * pp * dpl)
    if not ctx.support.has(facts.role, "multiNode"):
        return _fallback(ctx, facts, par, group, "this chart version has no multi-node "
                         "(LeaderWorkerSet) roles")
    if engine.engine.get("mode") == "custom":
        return _fallback(ctx, facts, par, group, (
            "the custom command cannot run as a group here: this chart's multiNode builds "
            "the leader and worker command lines itself (engine.mode vllmServe); rewrite it "
            f"as vllmServe with engine.args and set {facts.role}.multiNode "
            f"{_suggestion(par, group)}"))
    explicit = _explicit_count(container, facts)
    plan = (_data_parallel if dp > dpl else _ray)(ctx, facts, par, group, explicit)
    if isinstance(plan, str):
        return _fallback(ctx, facts, par, group, f"{plan}: set {facts.role}.multiNode by hand "
                         "if another layout fits")
    _switch_mode(ctx, facts, path, engine)
    _launch_flags(ctx, facts, engine, plan.multi_node or {})
    return plan


def convert_group_key(ctx: Context, path: KeyPath, value: Any, layout: Layout) -> None:
    """`subGroupPolicy` / `subGroupExclusiveTopology` of the old LeaderWorkerSet."""
    role, key = path[0], path[-1]
    if layout.multi_node is None:
        multinode = bool(ctx.get(("multinode",)))
        (ctx.report.unmapped if multinode else ctx.report.skipped)(path, (
            f"LeaderWorkerSet only: {role} has one pod per engine" if multinode
            else "LeaderWorkerSet only; multinode is off"))
        return
    if key != "subGroupPolicy":
        (ctx.report.unmapped if value else ctx.report.skipped)(path, (
            "the subgroup-exclusive-topology annotation has no values key (multiNode."
            "exclusiveTopology places whole groups): add it with a kustomize patch"
            if value else "off"))
        return
    if not isinstance(value, dict):
        ctx.report.unmapped(path, "not a subGroupPolicy mapping")
        return
    for sub, size in value.items():
        where = (*path, sub)
        if sub != "subGroupSize":
            ctx.report.unmapped(where, f"subGroupPolicy.{sub} has no values key: add it "
                                "with a kustomize patch")
        elif isinstance(size, int) and size >= 1 and layout.size % size == 0:
            layout.multi_node["subGroupSize"] = size
            ctx.report.mapped(where, (role, "multiNode", "subGroupSize"))
        else:
            ctx.report.unmapped(where, f"{size!r} does not divide the group of {layout.size} "
                                "pods: no subgroups")
