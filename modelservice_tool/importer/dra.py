"""Dynamic Resource Allocation of the old chart -> `<role>.accelerator.dra` and
`<role>.resourceClaims`.

The old chart (llm-d-modelservice v0.4.1 and later: templates/_helpers-dra.tpl and
resource-claim-template.yaml) takes a role's accelerators from a ResourceClaimTemplate when
`<role>.accelerator.dra` (else `accelerator.dra`) is true. The template's settings come from
`accelerator.resourceClaimTemplates.<accelerator type>` layered over the chart's defaults
(name, DeviceClass `class`, `match`, optional `count`, CEL `selectors` as a list), sized from
tensor x dataLocal unless `count` is set. `<role>.resourceClaims` lists the claims a user
brings (e.g. an IMEX channel), each `{name, resourceClaimTemplateName}`.
"""

from __future__ import annotations

from typing import Any

from ..sources import KeyPath
from .context import Context

BASE = ("accelerator",)
# accelerator.resourceClaimTemplates of the old chart's values.yaml (v0.4.12): a file only
# overrides these (helm deep-merges it over them).
OLD_TEMPLATES = {
    "nvidia": ("nvidia-claim-template", "gpu.nvidia.com"),
    "intel": ("intel-claim-template", "gpu.intel.com"),
    "intel-i915": ("intel-claim-template", "gpu.intel.com"),
    "intel-xe": ("intel-claim-template", "gpu.intel.com"),
    "intel-gaudi": ("intel-gaudi-claim-template", "gaudi.intel.com"),
    "amd": ("amd-claim-template", "gpu.amd.com"),
    "google": ("google-claim-template", "tpu.google.com"),
}
RESERVED_CLAIM = "accelerators"  # this chart's own accelerator claim
_CLAIM_NOTE = ("one ResourceClaimTemplate per role ({roles}) from "
               "accelerator.resourceClaimTemplates.<type>, named <role name>-<hash of its spec> "
               "(was <template name>-<role>), claimed as `accelerators`; no device-plugin "
               "resource is requested")


def dra_enabled(ctx: Context, role: str) -> bool:
    """Whether the old chart gave the role a DRA claim: its own `accelerator.dra` when the
    key is there (even null or false), else the global one."""
    own = ctx.get((role, "accelerator")) or {}
    if isinstance(own, dict) and "dra" in own:
        return bool(own["dra"])
    return bool(ctx.get((*BASE, "dra")))


def _template(ctx: Context, old_type: str) -> dict[str, Any] | None:
    """The old chart's resourceClaimTemplates entry of a type (defaults, then the file)."""
    given = ctx.get((*BASE, "resourceClaimTemplates", old_type))
    default = OLD_TEMPLATES.get(old_type)
    if default is None and not isinstance(given, dict):
        return None
    config: dict[str, Any] = {}
    if default:
        config = {"name": default[0], "class": default[1], "match": "exactly",
                  "selectors": []}
    return {**config, **(given if isinstance(given, dict) else {})}


def _selectors(ctx: Context, where: KeyPath, selectors: Any) -> dict[str, str]:
    """CEL selectors (a list of `{cel: {expression}}`) as this chart's map keyed by name."""
    out: dict[str, str] = {}
    for index, selector in enumerate(selectors or []):
        expression = ((selector or {}).get("cel") or {}).get("expression") \
            if isinstance(selector, dict) else None
        if isinstance(expression, str) and expression and len(selector) == 1:
            out[f"selector-{index + 1}"] = expression
        else:
            ctx.report.unmapped((*where, index), "only CEL selectors ({cel: {expression}}) "
                                "carry over: add this one to accelerator.dra.selectors by hand")
    return out


def convert_dra(ctx: Context, role: str, old_type: str, accelerator: dict[str, Any],
                counts: tuple[int, int]) -> dict[str, Any] | None:
    """The role's `accelerator.dra` block when the old chart claimed its accelerators
    through DRA (None otherwise: the device plugin, or a claim that cannot carry over).
    `counts`: devices per pod this chart derives, and tensor x dataLocal (the old rule)."""
    per_pod, old_count = counts
    own = (role, "accelerator", "dra")
    source = own if ctx.present(own) else (*BASE, "dra")
    if not dra_enabled(ctx, role):
        if ctx.present(own):
            ctx.report.skipped(own, "off")
        return None
    new_type = accelerator.get("type")
    if new_type == "cpu":
        ctx.report.unmapped(source, f"{role} runs without accelerators here (type cpu or "
                            "the inference simulator): no claim to carry over")
        return None
    config = _template(ctx, old_type)
    if config is None:
        ctx.report.unmapped(source, f"the old chart rendered no ResourceClaimTemplate for "
                            f"accelerator type {old_type!r} (no accelerator."
                            f"resourceClaimTemplates.{old_type}), so its {role} pods "
                            "referenced a missing one: set "
                            f"{role}.accelerator.dra with enabled and deviceClassName")
        return None
    dra: dict[str, Any] = {"enabled": True}
    device_class = str(config.get("class") or f"gpu.{old_type}.com")
    if ctx.support.facts.device_class(str(new_type)) != device_class:
        dra["deviceClassName"] = device_class
    count = config.get("count")
    if count is not None and int(count) != per_pod:
        dra["count"] = int(count)
    elif count is None and old_count != per_pod:
        ctx.report.defaulted((role, "accelerator", "dra", "count"), (
            f"{per_pod} devices per claim (from parallelism); the old claim asked for "
            f"{old_count} (tensor x dataLocal)"), source)
    selectors = _selectors(ctx, (*BASE, "resourceClaimTemplates", old_type, "selectors"),
                           config.get("selectors"))
    if selectors:
        dra["selectors"] = selectors
    if str(config.get("match") or "exactly") != "exactly":
        ctx.report.unmapped(source, f"match {config['match']!r}: this chart's claim asks for "
                            "an exact count (`exactly`); check the devices it gets",
                            (role, "accelerator", "dra"))
    if source == own:  # the global switch is reported once, by report_global_dra
        ctx.report.mapped(source, (role, "accelerator", "dra"), _CLAIM_NOTE.format(roles=role))
    return dra


def convert_claims(ctx: Context, path: KeyPath, claims: Any, role: str
                   ) -> dict[str, Any]:
    """`<role>.resourceClaims` (a list) -> this chart's map keyed by claim name."""
    out: dict[str, Any] = {}
    if not claims:
        ctx.report.skipped(path, "empty")
        return out
    for index, claim in enumerate(claims):
        where = (*path, index)
        name = claim.get("name") if isinstance(claim, dict) else None
        refs = {k: claim[k] for k in ("resourceClaimTemplateName", "resourceClaimName")
                if isinstance(claim, dict) and claim.get(k)}
        if not name or len(refs) != 1:
            ctx.report.unmapped(where, "a claim needs a name and one of "
                                "resourceClaimTemplateName or resourceClaimName")
        elif name == RESERVED_CLAIM:
            ctx.report.unmapped(where, f"the chart names its accelerator claim {name!r}: "
                                f"rename this claim and add it under {role}.resourceClaims")
        else:
            out[str(name)] = refs
            ctx.report.mapped(where, (role, "resourceClaims", str(name)), "listed in the "
                              "pod and in the engine container's resources.claims, as before")
    return out


def report_global_dra(ctx: Context, claimed: dict[str, str]) -> None:
    """Report the top-level DRA keys once: `accelerator.dra`, the resourceClaimTemplates of
    each type (used by a DRA role or not) and a v0.3 `dra` block. `claimed`: the old
    accelerator type of each role converted to a DRA claim."""
    by_global = [r for r in claimed if not ctx.present((r, "accelerator", "dra"))]
    if ctx.present((*BASE, "dra")) and not ctx.get((*BASE, "dra")):
        ctx.report.skipped((*BASE, "dra"), "off")
    elif by_global:
        ctx.report.mapped((*BASE, "dra"), (by_global[0], "accelerator", "dra"),
                          _CLAIM_NOTE.format(roles=" and ".join(by_global)))
    elif ctx.present((*BASE, "dra")) and not any(
            e.source == (*BASE, "dra") for e in ctx.report.entries):
        ctx.report.skipped((*BASE, "dra"), "every role sets its own accelerator.dra")
    used = set(claimed.values())
    for name in ctx.get((*BASE, "resourceClaimTemplates")) or {}:
        path = (*BASE, "resourceClaimTemplates", name)
        if name in used:
            ctx.report.mapped(path, "<role>.accelerator.dra", "deviceClassName (when it "
                              "differs from the type's), count (when it differs from "
                              "parallelism) and selectors")
        else:
            ctx.report.skipped(path, f"no role takes accelerator type {name!r} through DRA")
    legacy = ctx.get(("dra",))
    if isinstance(legacy, dict):
        (ctx.report.unmapped if legacy.get("enabled") else ctx.report.skipped)(("dra",), (
            "the v0.3 `dra` block is not converted: write pod.accelerator.dra (enabled, "
            "deviceClassName, count, selectors) by hand" if legacy.get("enabled")
            else "off"))
