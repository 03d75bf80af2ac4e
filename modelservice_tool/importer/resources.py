"""Engine container resources -> `<role>.resources`. Accelerator requests equal to what
parallelism implies are left to the chart (which derives them the same way); other counts
are kept; under DRA the accelerators come from the claim instead."""

from __future__ import annotations

from typing import Any

from ..sources import KeyPath
from .context import Context, RoleFacts


def _count(value: Any) -> int | None:
    text = str(value)
    return int(text) if text.isdigit() else None


def convert_resources(ctx: Context, path: KeyPath, resources: dict[str, Any],
                      facts: RoleFacts, parallel_count: int,
                      rule: str = "tensor x pipeline x dataLocal", dra: bool = False
                      ) -> dict[str, Any]:
    """Requests and limits for the role; `parallel_count` is what this chart derives (by
    `rule`); `dra`: the role's accelerators come from a DRA claim."""
    out: dict[str, Any] = {}
    for kind in ("requests", "limits"):
        for name, value in (resources.get(kind) or {}).items():
            where = (*path, kind, name)
            if dra and name == facts.resource_name:
                ctx.report.unmapped(where, f"the old pods asked for {value} {name} from the "
                                    "device plugin on top of the DRA claim; this chart takes "
                                    "accelerators from the claim only (asking for both fails "
                                    "to render): left out")
                continue
            if name == facts.resource_name and _count(value) == parallel_count:
                ctx.report.skipped(where, f"{value} = {rule}: the chart requests it from "
                                   "parallelism")
                continue
            out.setdefault(kind, {})[name] = value
            note = ""
            if name == facts.resource_name:
                note = (f"kept: parallelism implies {parallel_count}; the chart uses your "
                        "count")
            ctx.report.mapped(where, (facts.role, "resources", kind, name), note)
    for key in resources:
        if key == "claims" and not resources[key]:
            ctx.report.skipped((*path, "claims"), "empty")
        elif key == "claims":
            ctx.report.skipped((*path, "claims"), "the old chart ignored it and listed the "
                               "pod's claims in the engine container itself; so does this "
                               "chart (accelerator.dra, resourceClaims)")
        elif key not in ("requests", "limits"):
            ctx.report.unmapped((*path, key), f"resources.{key} is not supported")
    explicit = any(facts.resource_name in (resources.get(kind) or {})
                   for kind in ("requests", "limits"))
    if facts.resource_name and not explicit and not dra \
            and parallel_count != facts.accelerators:
        ctx.report.defaulted((facts.role, "parallelism"), (
            f"{parallel_count} x {facts.resource_name} per pod ({rule}); the old chart "
            f"requested {facts.accelerators} (tensor x dataLocal)"))
    return out
