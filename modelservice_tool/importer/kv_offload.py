"""Offloading connectors in `--kv-transfer-config` -> this chart's `kvOffload`.

Old files set the tiered prefix cache by hand: vLLM's `OffloadingConnector` (host memory in
`kv_connector_extra_config.cpu_bytes_to_use`) or `LMCacheConnectorV1` (sized by the
`LMCACHE_MAX_LOCAL_CPU_SIZE` variable, GB), alone or, with prefill/decode, composed with the
P/D connector in a `MultiConnector` (`kv_connector_extra_config.connectors`). The chart renders
the flag itself from `kvOffload` (and `routing.kvTransfer` for P/D); what it cannot express
stays a raw flag (one role) or is reported (P/D, where the chart owns the flag).
"""

from __future__ import annotations

import json
from typing import Any

from .context import Context
from .role_edit import keep_raw, take_env
from .roles import RoleResult

SUPPORTED = ("OffloadingConnector", "LMCacheConnectorV1")
GIB = 1 << 30
TOP_KEYS = ("kv_connector", "kv_role", "kv_connector_extra_config")
FLAG = "kv-transfer-config"
LMCACHE_ENV = ("LMCACHE_LOCAL_CPU", "LMCACHE_MAX_LOCAL_CPU_SIZE")


def split(config: dict[str, Any], pd: bool) -> tuple[dict[str, Any] | None,
                                                      dict[str, Any] | None]:
    """(the P/D connector, the offloading connector) of one --kv-transfer-config; an
    offloading connector is None when there is none the chart could render."""
    name = config.get("kv_connector")
    if name == "MultiConnector":
        inner = (config.get("kv_connector_extra_config") or {}).get("connectors") or []
        offload = [c for c in inner if isinstance(c, dict) and c.get("kv_connector") in SUPPORTED]
        others = [c for c in inner if c not in offload]
        if len(offload) == 1 and len(others) == int(pd) and set(config) <= set(TOP_KEYS) \
                and set(config.get("kv_connector_extra_config") or {}) == {"connectors"}:
            return (others[0] if pd else None), offload[0]
        return (config if pd else None), None
    if name in SUPPORTED and not pd:
        return None, config
    return (config if pd else None), None


def _number(text: Any) -> float | None:
    try:
        return float(str(text))
    except ValueError:
        return None


def offload_values(result: RoleResult, connector: dict[str, Any]
                   ) -> tuple[dict[str, Any] | None, str]:
    """(kvOffload values, "") for a connector the chart renders the same, else (None, why)."""
    name = connector["kv_connector"]
    extra = dict(connector.get("kv_connector_extra_config") or {})
    if connector.get("kv_role", "kv_both") != "kv_both":
        return None, (f"kv_role {connector['kv_role']!r}: the chart's offloading connector "
                      "is kv_both")
    if set(connector) - set(TOP_KEYS):
        return None, f"{', '.join(sorted(set(connector) - set(TOP_KEYS)))} has no kvOffload key"
    values: dict[str, Any] = {"enabled": True, "connector": name}
    env = result.values["engine"].get("env", {})
    if name == "OffloadingConnector":
        size = extra.pop("cpu_bytes_to_use", None)
        if not isinstance(size, int) or size <= 0 or size % GIB:
            return None, ("the CPU tier is not sized in whole GiB of cpu_bytes_to_use "
                          f"({size if size is not None else 'e.g. num_cpu_blocks of older vLLM'})"
                          ": kvOffload.cpuGiB sizes it")
        values["cpuGiB"] = size // GIB
    else:
        local = str(env.get("LMCACHE_LOCAL_CPU", "True")).lower()
        size = _number(env.get("LMCACHE_MAX_LOCAL_CPU_SIZE"))
        if local not in ("true", "1", "yes") or size is None or size <= 0 \
                or size != int(size):
            return None, ("LMCache's CPU tier is not on with a whole number of GB "
                          "(LMCACHE_LOCAL_CPU, LMCACHE_MAX_LOCAL_CPU_SIZE): kvOffload.cpuGiB "
                          "sizes it")
        values["cpuGiB"] = int(size)
    if extra:
        values["extraConfig"] = extra
    return values, ""


def convert_kv_offload(ctx: Context, roles: list[RoleResult], pd: bool) -> dict[str, Any]:
    """`kvOffload` from the roles' --kv-transfer-config ({} when none offloads); in P/D each
    role's config is narrowed to its P/D connector for `routing.kvTransfer`."""
    found: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for result in roles:
        if result.kv_config is None:
            continue
        role = result.facts.role
        config = result.kv_config
        pd_part, offload = split(config, pd)
        if offload is None:
            if not pd:
                keep_raw(ctx, result, FLAG, config, "passed to vLLM as given: not an "
                         f"offloading connector the chart renders ({', '.join(SUPPORTED)}, "
                         "kvOffload); the chart takes over the flag once prefill or kvOffload "
                         "is enabled")
            elif config.get("kv_connector") == "MultiConnector":
                ctx.report.unmapped(None, f"{role}: the MultiConnector has no offloading "
                                    "connector the chart renders next to the P/D one: kept "
                                    "whole in routing.kvTransfer; check it",
                                    ("routing", "kvTransfer"))
            continue
        values, why = offload_values(result, offload)
        if values is None:
            if pd:
                ctx.report.unmapped(None, f"{role}: offloading connector {json.dumps(offload)} "
                                    f"not converted ({why}): set kvOffload by hand", "kvOffload")
                result.kv_config = pd_part
            else:
                keep_raw(ctx, result, FLAG, config, f"kept as given: {why}")
            continue
        result.kv_config = pd_part
        found[role] = (values, offload)
        source = result.flag_sources.get(FLAG)
        if source is not None:
            ctx.report.forget(source)
            ctx.report.mapped(source, "routing.kvTransfer, kvOffload" if pd else "kvOffload",
                              "the chart renders the offloading connector from these values"
                              + (" next to the P/D one, in a MultiConnector" if pd else ""))
    if not found:
        return {}
    if pd and len(found) < len(roles):
        missing = ", ".join(r.facts.role for r in roles if r.facts.role not in found)
        connector = json.dumps(next(iter(found.values()))[1])
        ctx.report.unmapped(None, f"only {', '.join(found)} offloaded KV blocks ({connector}), "
                            f"{missing} did not; kvOffload applies to both roles: set it "
                            f"yourself if {missing} may use the host memory too", "kvOffload")
        return {}
    values = [v for v, _ in found.values()]
    if any(v != values[0] for v in values[1:]):
        ctx.report.unmapped(None, "decode and prefill offloaded differently; the chart uses "
                            "one kvOffload for both: the decode one was kept", "kvOffload")
    if values[0]["connector"] == "LMCacheConnectorV1":
        for result in roles:
            _take_lmcache_env(ctx, result)
    return values[0]


def _take_lmcache_env(ctx: Context, result: RoleResult) -> None:
    """The LMCache sizing variables leave the env: the chart sets them from kvOffload."""
    for variable in LMCACHE_ENV:
        _, source = take_env(ctx, result, variable)
        if source is not None:
            ctx.report.mapped(source, ("kvOffload", "cpuGiB"), "the chart sets the variable "
                              "from kvOffload")
