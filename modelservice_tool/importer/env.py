"""Container `env` lists -> `engine.env` maps keyed by name, leaving out the variables this
chart sets itself (the token, the hub cache, the NIXL side channel in P/D)."""

from __future__ import annotations

import re
from typing import Any

from ..sources import KeyPath
from .context import Context, RoleFacts

# Variables the old chart added to every container of a role.
OLD_CHART_VARS = ("DP_SIZE", "TP_SIZE", "DP_SIZE_LOCAL")


def _chart_sets(name: str, entry: dict[str, Any], facts: RoleFacts) -> str:
    """Why this chart already sets the variable the same way ("" when it does not)."""
    value, source = entry.get("value"), entry.get("valueFrom") or {}
    secret = source.get("secretKeyRef") or {}
    if name == "HF_TOKEN" and facts.auth_secret and secret == {
            "name": facts.auth_secret, "key": "HF_TOKEN"}:
        return "the chart reads HF_TOKEN from model.authSecretName"
    if name == "HF_HOME" and facts.scheme == "hf" and value == facts.mount_path:
        return "the chart sets HF_HOME to model.mountPath for hf://"
    if name == "HF_HUB_CACHE" and facts.scheme == "pvc+hf" and value == facts.hub_cache:
        return "the chart sets HF_HUB_CACHE from the pvc+hf:// URI"
    if facts.kv_managed and name == "VLLM_NIXL_SIDE_CHANNEL_HOST" and source == {
            "fieldRef": {"fieldPath": "status.podIP"}}:
        return "the chart sets it to the pod IP for prefill/decode"
    return ""


def convert_env(ctx: Context, path: KeyPath, env: list[Any], facts: RoleFacts
                ) -> tuple[dict[str, Any], int | None]:
    """The env map of a role's engine, and the NIXL side-channel port if one was set."""
    out: dict[str, Any] = {}
    side_channel = None
    for index, entry in enumerate(env):
        where = (*path, index)
        if not isinstance(entry, dict) or not entry.get("name"):
            ctx.report.unmapped(where, "not an env entry with a name")
            continue
        name = str(entry["name"])
        reason = _chart_sets(name, entry, facts)
        if reason:
            ctx.report.skipped(where, reason)
            continue
        if facts.kv_managed and name == "VLLM_NIXL_SIDE_CHANNEL_PORT" and str(
                entry.get("value", "")).isdigit():
            side_channel = int(entry["value"])
            ctx.report.mapped(where, ("routing", "kvTransfer", "sideChannelPort"),
                              "the chart sets the variable and declares the port")
            continue
        note = "set twice: the last one wins, as in Kubernetes" if name in out else ""
        if entry.get("valueFrom") is not None:
            out[name] = {"valueFrom": entry["valueFrom"]}
        else:
            out[name] = ctx.text((*where, "value"), str(entry.get("value", "")))
        ctx.report.mapped(where, (facts.role, "engine", "env", name), note)
    return out, side_channel


def used_old_chart_vars(text: str) -> list[str]:
    """DP_SIZE, TP_SIZE, DP_SIZE_LOCAL referenced as $VAR, ${VAR} or $(VAR) in `text`."""
    return [name for name in OLD_CHART_VARS
            if re.search(rf"\$(\{{|\()?{name}\b(?!_)", text)]
