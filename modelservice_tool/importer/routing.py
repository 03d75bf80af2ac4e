"""`routing` of the old chart -> `engine.port` and this chart's `routing` block: the P/D
sidecar, the KV transfer settings, and (pre-v0.3 files) the InferencePool, InferenceModel,
HTTPRoute and endpoint picker. Targets this chart's schema lacks are reported instead."""

from __future__ import annotations

import json
from typing import Any

from ..sources import KeyPath
from .context import Context
from .engine import split_image
from .roles import RoleResult

BASE = ("routing",)
CONNECTORS = ("nixlv2", "lmcache", "sglang", "mooncake")
KV_ROLES = ("kv_both", "kv_producer", "kv_consumer")
SIDECAR_FLAGS = {"zapEncoder": "zap-encoder", "zapLogLevel": "zap-log-level",
                 "zapDevel": "zap-devel", "zapStacktraceLevel": "zap-stacktrace-level",
                 "zapTimeEncoding": "zap-time-encoding", "prefillerUseTLS": "prefiller-use-tls",
                 "certPath": "cert-path"}
PROFILES = {"default-config.yaml": "default", "default-pd-config.yaml": "pd",
            "prefix-cache-tracking-config.yaml": "prefix-cache",
            "prefix-estimate-config.yaml": "prefix-cache"}
LEGACY_KEYS = ("parentRefs", "inferencePool", "inferenceModel", "httpRoute", "epp")


class RoutingBuilder:
    """Collects `routing` values, checking each target against the chart schema."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.values: dict[str, Any] = {}

    def put(self, source: KeyPath | None, target: tuple[str, ...], value: Any,
            detail: str = "") -> None:
        """Set routing.<target> (when the chart has it) and report the mapping."""
        if not self.ctx.support.has("routing", *target):
            self.ctx.report.unmapped(source, "this chart version has no "
                                     f"routing.{'.'.join(target)}: configure it by hand")
            return
        node = self.values
        for part in target[:-1]:
            node = node.setdefault(part, {})
        node[target[-1]] = value
        if source is None:
            self.ctx.report.defaulted(("routing", *target), detail)
        else:
            self.ctx.report.mapped(source, ("routing", *target), detail)


def _proxy(ctx: Context, out: RoutingBuilder, pd: bool) -> None:
    base = (*BASE, "proxy")
    proxy = ctx.get(base) or {}
    if not pd:
        for key in proxy:
            ctx.report.skipped((*base, key), "no prefill role: the sidecar only forwarded "
                               "requests; this chart adds it only for prefill/decode")
        return
    extra: list[str] = []
    for key, value in proxy.items():
        path = (*base, key)
        if key == "enabled":
            if value is False:
                out.put(path, ("proxy", "enabled"), False)
            else:
                ctx.report.skipped(path, "on: the chart puts the sidecar in front of decode "
                                   "when prefill is on")
        elif key == "image":
            ctx.report.skipped(path, "the chart pins the sidecar image of its "
                               "routing.generation (its flags change between releases)")
        elif key == "imagePullPolicy":
            out.put(path, ("proxy", "image", "pullPolicy"), value)
        elif key == "targetPort":
            default = ctx.support.default("routing", "proxy", "enginePort")
            if int(value) == default:
                ctx.report.skipped(path, f"{default}, routing.proxy.enginePort's default")
            else:
                out.put(path, ("proxy", "enginePort"), int(value))
        elif key == "connector":
            if value in CONNECTORS:
                out.put(path, ("proxy", "connector"), value)
            else:
                ctx.report.unmapped(path, f"connector {value!r} is not one of "
                                    f"{', '.join(CONNECTORS)}: the chart uses nixlv2")
        elif key == "secure":
            out.put(path, ("proxy", "secureProxy"), bool(value))
        elif key in SIDECAR_FLAGS and ctx.support.has("routing", "proxy", "extraArgs"):
            text = str(value).lower() if isinstance(value, bool) else str(value)
            extra.append(f"--{SIDECAR_FLAGS[key]}={text}")
            ctx.report.mapped(path, ("routing", "proxy", "extraArgs"),
                              "check the pinned sidecar image still takes the flag")
        elif key in SIDECAR_FLAGS:
            ctx.report.unmapped(path, "this chart version has no routing.proxy.extraArgs")
        elif key == "debugLevel":
            ctx.report.unmapped(path, "sidecar verbosity: add the flag your sidecar image "
                                "takes to routing.proxy.extraArgs")
    if extra:
        out.values.setdefault("proxy", {})["extraArgs"] = extra


def _kv_transfer(ctx: Context, out: RoutingBuilder, roles: list[RoleResult]) -> None:
    defaults = ctx.support.default("routing", "kvTransfer")
    configs = [r.kv_config for r in roles if r.kv_config is not None]
    if configs:
        config = dict(configs[0])
        if any(c != config for c in configs[1:]):
            ctx.report.unmapped(None, "decode and prefill had different --kv-transfer-config "
                                "values; the chart uses one for both: the decode one was kept",
                                ("routing", "kvTransfer"))
        connector, kv_role = config.pop("kv_connector", None), config.pop("kv_role", None)
        if connector:
            out.values.setdefault("kvTransfer", {})["connector"] = connector
        if kv_role in KV_ROLES:
            out.values.setdefault("kvTransfer", {})["role"] = kv_role
        elif kv_role:
            ctx.report.unmapped(None, f"kv_role {kv_role!r} is not one of "
                                f"{', '.join(KV_ROLES)}", ("routing", "kvTransfer", "role"))
        if config:
            out.values.setdefault("kvTransfer", {})["extraConfig"] = config
    else:
        flag = json.dumps({"kv_connector": defaults["connector"], "kv_role": defaults["role"]},
                          separators=(",", ":"))
        ctx.report.defaulted(("routing", "kvTransfer"), f"the chart passes "
                             f"--kv-transfer-config {flag} to both roles (non-custom engines)")
    ports = {r.side_channel for r in roles if r.side_channel is not None}
    if len(ports) > 1:
        ctx.report.unmapped(None, f"decode and prefill used NIXL side-channel ports "
                            f"{sorted(ports)}; the chart uses one", ("routing", "kvTransfer"))
    if ports and min(ports) != defaults["sideChannelPort"]:
        out.values.setdefault("kvTransfer", {})["sideChannelPort"] = min(ports)
    if not ports:
        ctx.report.defaulted(("routing", "kvTransfer", "sideChannelPort"), (
            f"{defaults['sideChannelPort']}, set on both roles as VLLM_NIXL_SIDE_CHANNEL_PORT"))
    tokens = ctx.support.default("routing", "epp", "nonCachedTokens")
    ctx.report.defaulted(("routing", "epp", "nonCachedTokens"), f"{tokens}: prompts with more "
                         "uncached tokens are prefilled by the prefill role")


def _gateway(ctx: Context, out: RoutingBuilder) -> None:
    refs = ctx.get((*BASE, "parentRefs")) or []
    for index, ref in enumerate(refs):
        path = (*BASE, "parentRefs", index)
        if index or not isinstance(ref, dict) or ref.get("kind", "Gateway") != "Gateway":
            ctx.report.unmapped(path, "the chart attaches the HTTPRoute to one Gateway")
            continue
        gateway = {"name": ref.get("name", "")}
        namespace = ctx.text((*path, "namespace"), str(ref.get("namespace") or ""))
        if namespace and "{{" not in namespace:
            gateway["namespace"] = namespace
        if ref.get("sectionName"):
            gateway["sectionName"] = ref["sectionName"]
        out.put(path, ("httpRoute", "gateway"), gateway)


def _http_route(ctx: Context, out: RoutingBuilder) -> None:
    base = (*BASE, "httpRoute")
    for key, value in (ctx.get(base) or {}).items():
        path = (*base, key)
        if key == "create":
            out.put(path, ("httpRoute", "enabled"), bool(value))
        elif key == "matches":
            for index, match in enumerate(value or []):
                where = (*path, index)
                prefix = (match.get("path") or {}) if isinstance(match, dict) else {}
                if prefix.get("type", "PathPrefix") == "PathPrefix" and prefix.get("value"):
                    out.put((*where, "path"), ("httpRoute", "path"), prefix["value"])
                for other in sorted(set(match or {}) - {"path"}):
                    ctx.report.unmapped((*where, other), "the chart's route matches a path "
                                        "prefix only: add other matches with a kustomize patch")
        elif key == "rules":
            ctx.report.unmapped(path, "custom rules: patch the HTTPRoute with kustomize")


def _epp(ctx: Context, out: RoutingBuilder) -> None:
    base = (*BASE, "epp")
    epp = ctx.get(base) or {}
    custom = epp.get("pluginsCustomConfig") or {}
    for key, value in epp.items():
        path = (*base, key)
        if key == "create":
            out.put(path, ("epp", "enabled"), bool(value))
        elif key == "replicas":
            out.put(path, ("epp", "replicas"), int(value))
        elif key == "debugLevel":
            out.put(path, ("epp", "logVerbosity"), int(value))
        elif key == "image":
            image = split_image(str(value))
            if image:
                out.put(path, ("epp", "image"), image, "must match routing.generation's "
                        "flags and config")
            else:
                ctx.report.unmapped(path, f"{value!r} is not an image reference")
        elif key == "env":
            env = {str(e["name"]): (str(e.get("value", "")) if "valueFrom" not in e
                                    else {"valueFrom": e["valueFrom"]})
                   for e in value or [] if isinstance(e, dict) and e.get("name")}
            if env:
                out.put(path, ("epp", "env"), env)
            else:
                ctx.report.skipped(path, "empty")
        elif key == "pluginsConfigFile":
            if value in custom:
                out.put(path, ("epp", "config"), str(custom[value]), "your custom "
                        "EndpointPickerConfig; check its apiVersion matches the generation")
            elif value in PROFILES:
                out.put(path, ("epp", "profile"), PROFILES[value])
            else:
                ctx.report.unmapped(path, f"unknown plugins file {value!r}: set "
                                    "routing.epp.profile or routing.epp.config")
        elif key == "pluginsCustomConfig":
            for name in value or {}:
                if name != epp.get("pluginsConfigFile"):
                    ctx.report.skipped((*path, name), "not selected by pluginsConfigFile")
        elif key in ("disableReadinessProbe", "disableLivenessProbe"):
            (ctx.report.unmapped if value else ctx.report.skipped)(
                path, "the chart's EPP probes cannot be turned off" if value else "false")
        elif key == "service":
            defaults = {"type": "ClusterIP", "port": 9002, "targetPort": 9002,
                        "appProtocol": "http2"}
            for name, setting in (value or {}).items():
                same = defaults.get(name) == setting
                (ctx.report.skipped if same else ctx.report.unmapped)(
                    (*path, name), "the chart's EPP Service uses gRPC port 9002" if same
                    else "the chart's EPP Service is fixed: patch it with kustomize")


def _legacy(ctx: Context, out: RoutingBuilder) -> None:
    out.put(None, ("generation",), "v1alpha2", "pre-v0.3 files rendered the "
            "inference.networking.x-k8s.io v1alpha2 InferencePool and InferenceModel; move "
            "to v1 once the Gateway API Inference Extension v1 CRDs are installed")
    if ctx.present((*BASE, "parentRefs")):
        _gateway(ctx, out)
    elif ctx.get((*BASE, "httpRoute", "create"), True) is not False:
        out.put(None, ("httpRoute", "gateway"), {"name": "inference-gateway"},
                "the old chart's default parentRef: Gateway inference-gateway in the "
                "release namespace")
    pool = (*BASE, "inferencePool")
    for key, value in (ctx.get(pool) or {}).items():
        if key in ("create", "name"):
            out.put((*pool, key), ("inferencePool", key), value)
        elif key == "extensionRef":
            ctx.report.unmapped((*pool, key), "the pool points at the chart's EPP, or at "
                                "none when routing.epp.enabled is false")
    model = (*BASE, "inferenceModel")
    for key, value in (ctx.get(model) or {}).items():
        if key == "create":
            out.put((*model, key), ("objective", "enabled"), bool(value))
        elif key == "criticality":
            out.put((*model, key), ("objective", "criticality"), value)
    _http_route(ctx, out)
    _epp(ctx, out)


def convert_routing(ctx: Context, roles: list[RoleResult], pd: bool) -> tuple[dict[str, Any],
                                                                              int | None]:
    """The routing values and the engine port (None when it stays the chart's default)."""
    out = RoutingBuilder(ctx)
    port = ctx.get((*BASE, "servicePort"))
    engine_port = None
    if port is not None:
        engine_port = int(port) if int(port) != ctx.support.default("engine", "port") else None
        ctx.report.mapped((*BASE, "servicePort"), ("engine", "port"),
                          "clients and the InferencePool reach the pods on it")
    _proxy(ctx, out, pd)
    if pd and ctx.support.has("routing", "kvTransfer"):
        _kv_transfer(ctx, out, roles)
    if any(ctx.present((*BASE, key)) for key in LEGACY_KEYS):
        _legacy(ctx, out)
    elif ctx.support.has("routing"):
        ctx.report.defaulted(("routing",), (
            "this chart renders the InferencePool and the endpoint picker itself; the old "
            "chart left them to a separate release (the inferencepool chart): uninstall it "
            "after migrating, or set routing.inferencePool.create: false with its name and "
            "routing.epp.enabled: false to keep it. No HTTPRoute until "
            "routing.httpRoute.gateway.name is set"))
    return out.values, engine_port
