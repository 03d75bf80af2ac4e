"""Accelerator types and device-plugin resources of the old chart -> `accelerator.type`
(and `resourceName` where this chart has no such type)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .context import Context

OLD_RESOURCES = {"nvidia": "nvidia.com/gpu", "intel-i915": "gpu.intel.com/i915",
                 "intel-xe": "gpu.intel.com/xe", "intel-gaudi": "habana.ai/gaudi",
                 "amd": "amd.com/gpu", "google": "google.com/tpu",
                 "rebellions-atom": "rebellions.ai/ATOM", "cpu": ""}
RENAMED = {"google": "google-tpu"}  # old types this chart names differently
SIMULATOR = "llm-d-inference-sim"


@dataclass(frozen=True)
class Accelerator:
    """What a role asks for: this chart's `accelerator` keys and the old resource name."""

    values: dict[str, Any]
    resource_name: str
    old_type: str


def role_accelerator(ctx: Context, role: str, image: str) -> Accelerator:
    """The accelerator of one role: role override, else the global type, else nvidia."""
    role_type = ctx.get((role, "accelerator", "type"))
    old_type = str(role_type or ctx.get(("accelerator", "type"), "nvidia"))
    if role_type:
        ctx.report.mapped((role, "accelerator", "type"), (role, "accelerator", "type"))
    resources = ctx.get(("accelerator", "resources")) or {}
    resource = str(resources.get(old_type, OLD_RESOURCES.get(old_type, "nvidia.com/gpu")))
    if SIMULATOR in image or old_type == "cpu":
        return Accelerator({"type": "cpu"}, "", old_type)
    new_type = _new_type(ctx, old_type)
    values: dict[str, Any] = {"type": new_type} if new_type else {}
    if resource != ctx.support.facts.resource(new_type or ""):
        values["resourceName"] = resource
    return Accelerator(values, resource, old_type)


def _new_type(ctx: Context, old_type: str) -> str | None:
    """This chart's accelerator.type for an old one (None when this chart has no such type)."""
    name = RENAMED.get(old_type, old_type) if old_type in OLD_RESOURCES else None
    return name if name in ctx.support.facts.accelerators else None


def type_env(ctx: Context, old_type: str) -> dict[str, Any]:
    """The old chart's per-type variables (`accelerator.env.<type>`), as an env map."""
    entries = (ctx.get(("accelerator", "env")) or {}).get(old_type) or []
    return {str(e["name"]): str(e.get("value", "")) for e in entries
            if isinstance(e, dict) and e.get("name")}


def report_global(ctx: Context, used_types: set[str]) -> None:
    """Report the top-level `accelerator` block once."""
    base = ("accelerator",)
    if ctx.present((*base, "type")):
        old = str(ctx.get((*base, "type")))
        if _new_type(ctx, old):
            ctx.report.mapped((*base, "type"), "pod.accelerator.type", "per role; "
                              "llm-d-inference-sim images get type cpu (no device)")
        else:
            ctx.report.mapped((*base, "type"), "pod.accelerator.resourceName", (
                f"this chart has no {old!r} type: the device-plugin resource "
                f"{OLD_RESOURCES.get(old, '?')} carries it"))
    for name in ctx.get((*base, "resources")) or {}:
        path = (*base, "resources", name)
        if name in used_types:
            ctx.report.mapped(path, "pod.accelerator.resourceName",
                              "when it differs from this chart's name for the type")
        else:
            ctx.report.skipped(path, f"no role uses accelerator type {name!r}")
    for name in ctx.get((*base, "env")) or {}:
        if name in used_types:
            ctx.report.mapped((*base, "env", name), "engine.env",
                              f"added to the engine of every {name} role")
        else:
            ctx.report.skipped((*base, "env", name), f"no role uses accelerator type {name!r}")
