"""vLLM KV-cache events in the engine flags -> this chart's precise prefix-cache routing.

Old files published KV-cache events with `--kv-events-config` JSON (vLLM's KVEventsConfig:
enable_kv_cache_events, publisher zmq, endpoint, topic; e.g. llm-d's precise-prefix-cache
guide, ms-kv-events/values_pod_discovery.yaml) for an endpoint picker of a separate release.
This chart renders that flag, `--block-size`, POD_IP, PYTHONHASHSEED, the `kv-events` port and
the EPP's subscriber itself from `routing.epp.profile: precise-prefix-cache` and
`routing.epp.precisePrefixCache`, so the flag becomes those keys.
"""

from __future__ import annotations

import re
from typing import Any

from .context import Context
from .role_edit import keep_raw, take_arg, take_env
from .roles import RoleResult

FLAG = "kv-events-config"
PRECISE = ("routing", "epp", "precisePrefixCache")
KNOWN = ("enable_kv_cache_events", "publisher", "endpoint", "topic")
VLLM_ENDPOINT = "tcp://*:5557"  # vLLM's default KVEventsConfig endpoint
_BIND = re.compile(r"^tcp://\*:(?P<port>[0-9]+)$")
_CONNECT = re.compile(r"^tcp://(?P<host>[^*:/]+):(?P<port>[0-9]+)$")


def _blocked(ctx: Context, pd: bool) -> str:
    """Why the chart's precise prefix-cache profile cannot take over here ("" when it can)."""
    if not ctx.support.has(*PRECISE):
        return "this chart version has no routing.epp.precisePrefixCache"
    if pd:
        return ("the precise-prefix-cache profile has no prefill/decode profiles: kept as "
                "a raw flag; your endpoint picker must subscribe to the events")
    if ctx.generation == "v0.2":
        return ("the precise-prefix-cache profile needs routing.generation v1; this file "
                "converts to v1alpha2: kept as a raw flag")
    return ""


def _settings(ctx: Context, result: RoleResult, config: dict[str, Any]) -> dict[str, Any]:
    """precisePrefixCache values from the flag, --block-size and PYTHONHASHSEED."""
    where = result.flag_sources.get(FLAG)
    settings: dict[str, Any] = {}
    default = ctx.support.default(*PRECISE, "port")
    endpoint = str(config.get("endpoint") or VLLM_ENDPOINT)
    bind, connect = _BIND.match(endpoint), _CONNECT.match(endpoint)
    port = int((bind or connect)["port"]) if bind or connect else default
    if port != default:
        settings["port"] = port
    if connect:  # vLLM connects to an endpoint with a host: one central subscriber
        settings["mode"] = "central"
        note = (f"vLLM connected out to {connect['host']}:{port} (one central subscriber); "
                "in mode central the engines connect to this release's endpoint picker "
                f"Service on port {port}, which binds it (one EPP replica, no "
                "data parallelism)")
    else:
        note = (f"vLLM publishes on every pod (port {port}) and the chart's endpoint picker "
                "dials each pod it routes to")
        if not bind:
            note += (f"; the endpoint {endpoint} was neither tcp://*:PORT nor "
                     "tcp://HOST:PORT: check the port")
    if "publisher" not in config:
        note += ("; the flag named no publisher (vLLM versions whose default was `null` "
                 "published nothing): the chart sets zmq")
    ctx.report.mapped(where, PRECISE, note + "; topic "
                      "kv@<pod IP>:<port>@<model>")
    for key in sorted(set(config) - set(KNOWN)):
        ctx.report.unmapped(where, f"{key} of --kv-events-config has no values key: the chart "
                            "renders the flag without it", PRECISE)
    block, source = take_arg(ctx, result, "block-size")
    if isinstance(block, int):
        settings["blockSize"] = block
        ctx.report.mapped(source, (*PRECISE, "blockSize"),
                          "the chart passes --block-size to vLLM and the same size to the EPP")
    else:
        size = ctx.support.default(*PRECISE, "blockSize")
        ctx.report.defaulted((*PRECISE, "blockSize"), f"{size}: the chart passes "
                             f"--block-size={size} to vLLM (which used its own default "
                             "before) and to the EPP; set it to keep another size")
    seed, source = take_env(ctx, result, "PYTHONHASHSEED")
    if isinstance(seed, str) and seed:
        settings["hashSeed"] = seed
        ctx.report.mapped(source, (*PRECISE, "hashSeed"),
                          "the chart sets PYTHONHASHSEED and hashes the EPP's blocks alike")
    elif seed is not None:
        result.values["engine"].setdefault("env", {})["PYTHONHASHSEED"] = seed
        ctx.report.unmapped(source, "not a literal seed: kept in the env, but the EPP hashes "
                            "blocks without it; set routing.epp.precisePrefixCache.hashSeed "
                            "to the same value", (result.facts.role, "engine", "env",
                                                  "PYTHONHASHSEED"))
    return settings


def _chart_declares(ctx: Context, result: RoleResult, port: int) -> None:
    """The POD_IP variable and kv-events container port the chart now sets."""
    value, source = take_env(ctx, result, "POD_IP")
    field_ref = (value.get("valueFrom") or {}).get("fieldRef") or {} \
        if isinstance(value, dict) else {}
    if field_ref.get("fieldPath") == "status.podIP":
        ctx.report.skipped(source, "the chart sets POD_IP from the pod IP for the topic")
    elif value is not None:
        result.values["engine"].setdefault("env", {})["POD_IP"] = value
        ctx.report.mapped(source, (result.facts.role, "engine", "env", "POD_IP"),
                          "check it is the pod IP: the chart's topic uses it")
    for index, entry in enumerate(ctx.get((*result.engine_path, "ports")) or []):
        if isinstance(entry, dict) and entry.get("containerPort") == port:
            where = (*result.engine_path, "ports", index)
            ctx.report.forget(where)
            ctx.report.skipped(where, "the KV-events port: the chart declares it (kv-events)")


def convert_kv_events(ctx: Context, roles: list[RoleResult], pd: bool,
                      tokenizer_model: str) -> dict[str, Any]:
    """`routing.epp` values ({} when no engine publishes KV-cache events).
    `tokenizer_model`: the HF repo the EPP tokenizes with when model.uri is not hf://."""
    epp: dict[str, Any] = {}
    for result in roles:
        config = result.kv_events
        if config is None:
            continue
        if config.get("enable_kv_cache_events") is not True:
            ctx.report.skipped(result.flag_sources[FLAG], "enable_kv_cache_events is not "
                               "true: vLLM published no events")
            continue
        if str(config.get("publisher", "zmq")) != "zmq":
            keep_raw(ctx, result, FLAG, config, f"publisher {config['publisher']!r}: the "
                     "chart's endpoint picker subscribes over zmq only; kept as a raw flag")
            continue
        blocked = _blocked(ctx, pd)
        if blocked:
            keep_raw(ctx, result, FLAG, config, blocked)
            continue
        settings = _settings(ctx, result, config)
        port = settings.get("port", ctx.support.default(*PRECISE, "port"))
        _chart_declares(ctx, result, int(port))
        if tokenizer_model:
            settings["tokenizer"] = {"model": tokenizer_model}
            ctx.report.defaulted((*PRECISE, "tokenizer", "model"), (
                f"{tokenizer_model} (the served name): the EPP tokenizes prompts with this "
                "Hugging Face repo's tokenizer; model.uri is not hf://"))
        epp = {"profile": "precise-prefix-cache", "precisePrefixCache": settings}
        ctx.report.defaulted(("routing", "epp", "profile"), "precise-prefix-cache: the "
                             "chart's endpoint picker routes on the engines' KV-cache events "
                             "(replacing the separate release's precise prefix-cache config)")
    return epp
