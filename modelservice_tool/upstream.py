"""Checks of rendered objects against the upstream contracts kept as data in contracts/
(EPP plugin types and parameters, EPP and sidecar flags, connector values, the EPP's env
values, the groups the EPP watches, gRPC health service names, LWS env vars, what WVA reads
on an HPA/ScaledObject, KEDA's admission rules and prometheus scaler metadata).
`routing.generation` selects the data: it is read back from the rendered InferencePool /
EndpointPickerConfig apiVersion.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .checks import Finding, _epp_configs, engine_flags, pod_templates
from .manifests import Manifest, object_id

CONTRACTS = Path(__file__).parent / "contracts"
_DURATION = re.compile(r"^-?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$|^0$")
_LWS_NAME = re.compile(r"\b((?:LWS|TPU)_[A-Z0-9_]+)\b")


@cache
def load(relative: str) -> dict[str, Any]:
    """One contract data file (path relative to contracts/)."""
    return yaml.safe_load((CONTRACTS / relative).read_text())


def generation_data(generation: str) -> dict[str, dict[str, Any]]:
    """The contract documents (epp, sidecar, ...) of a routing.generation."""
    entry = load("index.yaml")["generations"][generation]
    return {key: load(path) for key, path in entry.items() if path.endswith(".yaml")}


def generation_of(objects: list[Manifest]) -> str:
    """The routing.generation a rendering used: from the InferencePool apiVersion, else the
    EPP image or its flag spelling, else the config apiVersion; v1 when nothing says."""
    for obj in objects:
        if obj["kind"] == "InferencePool":
            return "v1alpha2" if "x-k8s.io" in obj["apiVersion"] else "v1"
    generations = load("index.yaml")["generations"]
    for deployment in _epp_deployments(objects):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        for generation, entry in generations.items():
            if _image_name(container) == load(entry["epp"])["image"]:
                return generation
        if any(arg.startswith("--poolName") for arg in container.get("args") or []):
            return "v1alpha2"
        if any(arg.startswith("--pool-name") for arg in container.get("args") or []):
            return "v1"
    for _, config in _epp_configs(objects):
        if "x-k8s.io" in str(config.get("apiVersion", "")):
            return "v1alpha2"
    return "v1"


def _hint(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _elsewhere(kind: str, epp: dict[str, Any]) -> str:
    """Where a plugin type unknown to this EPP is registered: another generation's EPP."""
    for generation, entry in load("index.yaml")["generations"].items():
        other = load(entry["epp"])
        if other["version"] != epp["version"] and kind in other["plugins"]:
            return f"; it is a plugin of EPP {other['version']} (routing.generation {generation})"
    return ""


def check_epp_config(config: dict[str, Any], epp: dict[str, Any], where: str,
                     flags: dict[str, str] | None = None) -> Iterator[Finding]:
    """An EndpointPickerConfig against the EPP contract: kind, fields, plugin types and
    parameters, profile references; `flags` (the EPP's command line) for alpha plugins."""
    spec = epp["config"]
    version = epp["version"]
    accepted = [spec["apiVersion"], *spec.get("deprecatedApiVersions", [])]
    if config.get("apiVersion") not in accepted or config.get("kind") != spec["kind"]:
        yield Finding("epp-config", where,
                      f"config is {config.get('apiVersion')}/{config.get('kind')}; EPP "
                      f"{version} reads {spec['apiVersion']}/{spec['kind']}")
    for key in config:
        if key not in ("apiVersion", "kind", *spec["fields"]):
            yield Finding("epp-config", where, f"unknown top-level field {key!r} for EPP {version}"
                          + _hint(key, spec["fields"]))
    plugins = epp["plugins"]
    declared: set[str] = set()
    for plugin in config.get("plugins") or []:
        kind = plugin.get("type", "")
        name = plugin.get("name") or kind
        declared.add(name)
        for key in plugin:
            if key not in spec["pluginFields"]:
                yield Finding("epp-plugin", where, f"plugin {name!r}: unknown field {key!r}")
        if kind not in plugins:
            yield Finding("epp-plugin", where, f"plugin type {kind!r} is not registered in EPP "
                          f"{version}" + _hint(kind, list(plugins)) + _elsewhere(kind, epp))
            continue
        gate = spec.get("alphaPluginsNeed")
        if (plugins[kind].get("stability") == "alpha" and gate and flags is not None
                and flags.get(gate, "false") != "true"):
            yield Finding("epp-plugin", where, f"plugin {name!r} ({kind}) is alpha in EPP "
                          f"{version}: it refuses to start without --{gate} "
                          "(routing.epp.extraArgs)")
        known = plugins[kind]["parameters"]
        for param in plugin.get("parameters") or {}:
            if param not in known:
                yield Finding("epp-plugin", where, f"plugin {name!r} ({kind}) has no parameter "
                              f"{param!r} in EPP {version} (known: {', '.join(known) or 'none'})")
        nested = epp.get("nestedParameters", {}).get(kind, {})
        for path, value in _object_parameters(plugin.get("parameters") or {}):
            if path in nested:
                for key in value:
                    if key not in nested[path]:
                        yield Finding("epp-plugin", where, f"plugin {name!r} ({kind}): "
                                      f"{path} has no field {key!r} in EPP {version} "
                                      f"(known: {', '.join(nested[path])})")
    yield from _check_data_layer(config.get("dataLayer"), spec, declared, where, version)
    yield from _check_producer_refs(config, where, version)
    yield from _check_flow_control(config, spec, where, version)
    gates = spec.get("featureGates")
    for gate in config.get("featureGates") or []:
        if gates is not None and gate not in gates:
            yield Finding("epp-config", where, f"feature gate {gate!r} is not registered in EPP "
                          f"{version}" + _hint(gate, gates))
    for profile in config.get("schedulingProfiles") or []:
        for key in profile:
            if key not in spec["profileFields"]:
                yield Finding("epp-profile", where, f"profile {profile.get('name')!r}: unknown "
                              f"field {key!r}")
        for ref in profile.get("plugins") or []:
            for key in ref:
                if key not in spec["profilePluginFields"]:
                    yield Finding("epp-profile", where, f"profile {profile.get('name')!r}: "
                                  f"unknown field {key!r} in a plugin reference")
            if ref.get("pluginRef") not in declared:
                yield Finding("epp-profile", where, f"profile {profile.get('name')!r} references "
                              f"undeclared plugin {ref.get('pluginRef')!r}")
            weight = ref.get("weight")
            integral = spec.get("weightType") != "int" or isinstance(weight, int)
            if weight is not None and not integral:
                yield Finding("epp-profile", where, f"weight {weight!r} must be an integer for "
                              f"EPP {version}")


def _object_parameters(parameters: dict[str, Any], prefix: str = ""
                       ) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object-valued parameter with its dotted path (`kvEventsConfig.podDiscoveryConfig`)."""
    for key, value in parameters.items():
        if isinstance(value, dict):
            path = f"{prefix}{key}"
            yield path, value
            yield from _object_parameters(value, f"{path}.")


def _check_producer_refs(config: dict[str, Any], where: str, version: str
                         ) -> Iterator[Finding]:
    """A scorer's prefixMatchInfoProducerName names a declared prefix-cache producer (the
    scorer reads the data key of that producer's name, pkg/epp/framework/plugins/scheduling/
    scorer/prefix/plugin.go; any other name leaves it reading nothing, without an error)."""
    producers = {plugin.get("name") or plugin.get("type"): plugin.get("type")
                 for plugin in config.get("plugins") or []}
    for plugin in config.get("plugins") or []:
        ref = (plugin.get("parameters") or {}).get("prefixMatchInfoProducerName")
        if ref is not None and not str(producers.get(ref, "")).endswith("prefix-cache-producer"):
            name = plugin.get("name") or plugin.get("type")
            yield Finding("epp-plugin", where, f"plugin {name!r}: prefixMatchInfoProducerName "
                          f"{ref!r} is no prefix-cache producer declared in the config (EPP "
                          f"{version} would score nothing)")


def _check_flow_control(config: dict[str, Any], spec: dict[str, Any], where: str,
                        version: str) -> Iterator[Finding]:
    """`flowControl`: known fields and band fields, and the gate that turns it on."""
    flow = config.get("flowControl")
    if not flow or "flowControlFields" not in spec:
        return
    if "flowControl" not in (config.get("featureGates") or []):
        yield Finding("epp-config", where, "flowControl is configured but the flowControl "
                      "feature gate is not on")
    for key in flow:
        if key not in spec["flowControlFields"]:
            yield Finding("epp-config", where, f"flowControl: unknown field {key!r} for EPP "
                          f"{version}" + _hint(key, spec["flowControlFields"]))
    for band in flow.get("priorityBands") or []:
        for key in band:
            if key not in spec["priorityBandFields"]:
                yield Finding("epp-config", where, f"flowControl priority band: unknown field "
                              f"{key!r} for EPP {version}" + _hint(key, spec["priorityBandFields"]))


def _check_data_layer(layer: dict[str, Any] | None, spec: dict[str, Any], declared: set[str],
                      where: str, version: str) -> Iterator[Finding]:
    """`dataLayer`: known fields, and every source and extractor a declared plugin."""
    if not layer or "dataLayerFields" not in spec:
        return
    for key in layer:
        if key not in spec["dataLayerFields"]:
            yield Finding("epp-config", where, f"dataLayer: unknown field {key!r} for EPP "
                          f"{version}" + _hint(key, spec["dataLayerFields"]))
    for source in layer.get("sources") or []:
        refs = [("source", source, spec["dataLayerSourceFields"])]
        refs += [("extractor", e, spec["dataLayerExtractorFields"])
                 for e in source.get("extractors") or []]
        for what, entry, fields in refs:
            for key in entry:
                if key not in fields:
                    yield Finding("epp-config", where,
                                  f"dataLayer {what}: unknown field {key!r}")
            if entry.get("pluginRef") not in declared:
                yield Finding("epp-config", where, f"dataLayer {what} references undeclared "
                              f"plugin {entry.get('pluginRef')!r}")


def parse_flags(args: list[str], flags: dict[str, Any]) -> Iterator[tuple[str, str | None, str]]:
    """(name, value, problem) for each flag of a Go command line; problem '' when fine."""
    i = 0
    while i < len(args):
        token = args[i]
        i += 1
        if not token.startswith("-") or token in ("-", "--"):
            yield token, None, f"positional argument {token!r} is not accepted"
            continue
        name, eq, value = token.lstrip("-").partition("=")
        spec = flags.get(name)
        if spec is None:
            yield name, None, "unknown flag" + _hint(name, list(flags))
            continue
        if not eq and spec["type"] != "bool":
            if i >= len(args):
                yield name, None, "needs a value"
                continue
            value = args[i]
            i += 1
        given = value if (eq or spec["type"] != "bool") else None
        yield name, given, _type_problem(spec, given)


def _type_problem(spec: dict[str, Any], value: str | None) -> str:
    kind = spec["type"]
    if value is None:
        return ""
    if kind == "bool" and value not in ("true", "false", "1", "0", "t", "f", "TRUE", "FALSE",
                                        "True", "False", "T", "F"):
        return f"bool flag given {value!r}"
    if kind == "int" and not re.fullmatch(r"-?\d+", value):
        return f"int flag given {value!r}"
    if kind == "intSlice" and not re.fullmatch(r"-?\d+(,-?\d+)*", value):
        return f"int list flag given {value!r}"
    if kind == "duration" and not _DURATION.match(value):
        return f"duration flag given {value!r}"
    allowed = spec.get("values")
    if allowed:
        items = value.split(",") if kind == "stringSlice" else [value]
        bad = [v for v in items if v not in allowed]
        if bad:
            return f"value {bad[0]!r} is not accepted (one of: {', '.join(allowed)})"
    return ""


def _containers(obj: Manifest) -> Iterator[dict[str, Any]]:
    for template in pod_templates(obj):
        spec = template["spec"]
        yield from spec.get("initContainers") or []
        yield from spec.get("containers") or []


def _image_parts(container: dict[str, Any]) -> tuple[str, str, str]:
    """(repository, tag, digest) of a container image; a registry port is not a tag."""
    name, _, digest = container.get("image", "").partition("@")
    if ":" in name.rsplit("/", 1)[-1]:
        repository, _, tag = name.rpartition(":")
        return repository, tag, digest
    return name, "", digest


def _image_name(container: dict[str, Any]) -> str:
    return _image_parts(container)[0]


def _epp_deployments(objects: list[Manifest]) -> list[Manifest]:
    return [o for o in objects if o["kind"] == "Deployment"
            and o["spec"]["template"]["metadata"].get("labels", {})
            .get("app.kubernetes.io/component") == "epp"]


def check_flags(args: list[str], doc: dict[str, Any], where: str, check: str) -> Iterator[Finding]:
    """A Go binary's command line against a contract's flags."""
    for name, _value, problem in parse_flags(args, doc["flags"]):
        if problem:
            yield Finding(check, where, f"{doc['component']} {doc['version']}: --{name}: {problem}")
        elif doc["flags"].get(name, {}).get("rejected"):
            yield Finding(check, where, f"--{name} is rejected by {doc['component']} "
                          f"{doc['version']}: {doc['flags'][name]['rejected']}")


def check_env(container: dict[str, Any], doc: dict[str, Any], where: str,
              check: str) -> Iterator[Finding]:
    """Literal env values a component acts on only when they are among the contract's
    `values` (or parse as its `type`): any other value makes it quietly fall back. Names the
    contract does not list are not judged (a runtime or user variable)."""
    known = doc.get("env") or {}
    for entry in container.get("env") or []:
        spec, value = known.get(entry.get("name")), entry.get("value")
        if spec is None or value is None:
            continue
        problem = ""
        if spec.get("values") and str(value) not in spec["values"]:
            problem = f"{value!r} is not one of: {', '.join(spec['values'])}"
        elif spec.get("type") == "float" and not re.fullmatch(
                r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", str(value)):
            problem = f"{value!r} is not a number"
        if problem:
            fallback = spec.get("otherwise", "its default")
            yield Finding(check, where, f"{doc['component']} {doc['version']}: env "
                          f"{entry['name']}: {problem}; it falls back to {fallback}")


def described_by(container: dict[str, Any], doc: dict[str, Any]) -> bool:
    """Whether a container runs the image a contract describes: its repository, and its
    version unless the image is pinned by digest alone. Other images (a newer tag, a fork)
    are not checked: the data does not describe them."""
    repository, tag, digest = _image_parts(container)
    return repository == doc["image"] and (tag == doc["version"] or (not tag and bool(digest)))


def check_contracts(objects: list[Manifest]) -> Iterator[Finding]:
    """EPP config, EPP and sidecar command lines against the generation's upstream data."""
    data = generation_data(generation_of(objects))
    epp, sidecar = data["epp"], data["sidecar"]
    checked_epp, epp_flags = False, None
    for deployment in _epp_deployments(objects):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            if container.get("name") == "epp" and described_by(container, epp):
                checked_epp = True
                epp_flags = _flag_values(container.get("args") or [])
                yield from check_flags(container.get("args") or [], epp, object_id(deployment),
                                       "epp-flags")
                yield from check_env(container, epp, object_id(deployment), "epp-env")
    if checked_epp or not _epp_deployments(objects):
        for configmap, config in _epp_configs(objects):
            yield from check_epp_config(config, epp, object_id(configmap), epp_flags)
    for obj in objects:
        for container in _containers(obj):
            if container.get("name") == "routing-proxy" and described_by(container, sidecar):
                yield from check_flags(container.get("args") or [], sidecar, object_id(obj),
                                       "sidecar-flags")


def deprecated_flags(objects: list[Manifest]) -> Iterator[Finding]:
    """Uses of flags the pinned upstream version deprecates."""
    sidecar = generation_data(generation_of(objects))["sidecar"]
    for obj in objects:
        for container in _containers(obj):
            if container.get("name") != "routing-proxy":
                continue
            args = container.get("args") or []
            for name, _value, _problem in parse_flags(args, sidecar["flags"]):
                replacement = sidecar["flags"].get(name, {}).get("deprecated")
                if replacement:
                    yield Finding("sidecar-deprecated", object_id(obj), f"--{name} is deprecated "
                                  f"in {sidecar['version']}: use --{replacement}")


def _flag_values(args: list[str]) -> dict[str, str]:
    values = {}
    for token in args:
        name, _, value = token.lstrip("-").partition("=")
        values[name] = value or "true"
    return values


def check_epp_health(objects: list[Manifest]) -> Iterator[Finding]:
    """The EPP probes ask for gRPC health services the EPP answers."""
    epp = generation_data(generation_of(objects))["epp"]
    health = epp["health"]
    if not health.get("services"):
        return
    for deployment in _epp_deployments(objects):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            flags = _flag_values(container.get("args") or [])
            if flags.get(health["leaderElectionFlag"], "false") != "true":
                continue
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                service = ((container.get(probe) or {}).get("grpc") or {}).get("service", "")
                if (container.get(probe) or {}).get("grpc") and service not in health["services"]:
                    yield Finding("epp-health", object_id(deployment),
                                  f"{probe} asks for gRPC service {service!r}; with leader "
                                  f"election EPP {epp['version']} answers SERVICE_UNKNOWN (it "
                                  f"serves: {', '.join(repr(s) for s in health['services'])})")


def check_epp_rbac(objects: list[Manifest]) -> Iterator[Finding]:
    """The EPP's Role grants what the EPP watches."""
    epp = generation_data(generation_of(objects))["epp"]
    for deployment in _epp_deployments(objects):
        account = deployment["spec"]["template"]["spec"].get("serviceAccountName")
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        flags = _flag_values(container.get("args") or [])
        granted: set[tuple[str, str, str]] = set()
        for binding in (o for o in objects if o["kind"] == "RoleBinding"):
            if not any(s.get("name") == account for s in binding.get("subjects") or []):
                continue
            role = next((o for o in objects if o["kind"] == "Role"
                         and o["metadata"]["name"] == binding["roleRef"]["name"]), None)
            for rule in (role or {}).get("rules") or []:
                granted |= {(g, r, v) for g in rule.get("apiGroups", [])
                            for r in rule.get("resources", []) for v in rule.get("verbs", [])}
        for watch in epp["watches"]:
            if watch.get("when") and flags.get(watch["when"], "false") != "true":
                continue
            group = watch["group"]
            if group == "$pool-group":
                group = flags.get("pool-group", epp["poolGroups"][0])
            for resource in watch["resources"]:
                missing = [v for v in watch["verbs"] if (group, resource, v) not in granted]
                if missing:
                    yield Finding("epp-rbac", object_id(deployment),
                                  f"EPP {epp['version']} watches {resource} in group "
                                  f"{group or 'core'!r} but its Role does not grant "
                                  f"{', '.join(missing)}")


def _pool_epp_port(pool: Manifest) -> tuple[str | None, int | None]:
    spec = pool.get("spec") or {}
    if "endpointPickerRef" in spec:
        ref = spec["endpointPickerRef"]
        return ref.get("name"), (ref.get("port") or {}).get("number")
    ref = spec.get("extensionRef") or {}
    return ref.get("name"), ref.get("portNumber", 9002) if ref else None


def check_pool_link(objects: list[Manifest]) -> Iterator[Finding]:
    """The InferencePool, the EPP Service and the EPP's flags agree on the pool and the
    ext-proc port the EPP listens on; its probes use its health port."""
    epp = generation_data(generation_of(objects))["epp"]
    pools = [o for o in objects if o["kind"] == "InferencePool"]
    for deployment in _epp_deployments(objects):
        container = next((c for c in deployment["spec"]["template"]["spec"]["containers"]
                          if c.get("name") == "epp"), None)
        if container is None or not described_by(container, epp):
            continue
        flags = _flag_values(container.get("args") or [])
        where = object_id(deployment)
        given = {name: str(flags.get(flag, epp["ports"][name]))
                 for name, flag in epp["portFlags"].items()}
        if not all(v.isdigit() for v in given.values()):
            continue  # a malformed port flag: check_contracts reports it
        port = {name: int(value) for name, value in given.items()}
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            grpc = (container.get(probe) or {}).get("grpc")
            if grpc and grpc.get("port") != port["grpc-health"]:
                yield Finding("epp-ports", where, f"{probe} probes port {grpc.get('port')}; "
                              f"the EPP serves gRPC health on {port['grpc-health']}")
        for pool in pools:
            ref_name, ref_port = _pool_epp_port(pool)
            pool_flag = flags.get(epp["poolFlags"]["name"])
            if pool_flag != pool["metadata"]["name"]:
                continue
            group_flag = epp["poolFlags"].get("group")
            group = pool["apiVersion"].split("/")[0]
            if group_flag and flags.get(group_flag, epp["poolGroups"][0]) != group:
                yield Finding("epp-pool", where, f"--{group_flag} is "
                              f"{flags.get(group_flag, epp['poolGroups'][0])!r} but the pool is "
                              f"{pool['apiVersion']}")
            if ref_port != port["grpc"]:
                yield Finding("epp-pool", object_id(pool), f"points at EPP port {ref_port}; "
                              f"the EPP serves ext-proc on {port['grpc']}")
            service = next((o for o in objects if o["kind"] == "Service"
                            and o["metadata"]["name"] == ref_name), None)
            if service is None:
                yield Finding("epp-pool", object_id(pool), f"EPP Service {ref_name!r} is not "
                              "rendered")
                continue
            named = {p.get("name"): p.get("containerPort") for p in container.get("ports") or []}
            targets = [named.get(p.get("targetPort"), p.get("targetPort"))
                       for p in service["spec"].get("ports") or [] if p.get("port") == ref_port]
            if port["grpc"] not in targets:
                yield Finding("epp-pool", object_id(service), f"no port {ref_port} forwarding "
                              f"to the EPP's ext-proc port {port['grpc']}")


def check_lws_env(objects: list[Manifest]) -> Iterator[Finding]:
    """LWS_* variables the launch scripts use are injected by LWS or set by the chart, and
    the leaderworkerset.sigs.k8s.io/ annotations on a LeaderWorkerSet are ones LWS reads."""
    lws = load(load("index.yaml")["lws"])
    readable = {k for k, v in lws["annotations"].items() if v.get("on") == "LeaderWorkerSet"}
    for obj in (o for o in objects if o["kind"] == "LeaderWorkerSet"):
        for key in (obj["metadata"].get("annotations") or {}):
            if key.startswith("leaderworkerset.sigs.k8s.io/") and key not in readable:
                yield Finding("lws-annotation", object_id(obj), f"annotation {key!r} is not one "
                              f"LWS {lws['version']} reads on a LeaderWorkerSet"
                              + _hint(key, sorted(readable)))
        for container in _containers(obj):
            text = " ".join([*(container.get("command") or []), *(container.get("args") or [])])
            own = {e["name"] for e in container.get("env") or []}
            for name in sorted(set(_LWS_NAME.findall(text))):
                if name not in lws["env"] and name not in own:
                    yield Finding("lws-env", object_id(obj), f"container {container['name']!r} "
                                  f"uses {name}, which LWS {lws['version']} does not inject")


def check_hpa_metrics(objects: list[Manifest]) -> Iterator[Finding]:
    """External metrics named like the EPP's (llm_d_epp_*) are series the EPP reports, selected
    by labels those series carry."""
    epp = generation_data(generation_of(objects))["epp"]
    known = epp.get("metrics", {})
    for hpa in (o for o in objects if o["kind"] == "HorizontalPodAutoscaler"):
        for metric in hpa["spec"].get("metrics") or []:
            spec = (metric.get("external") or {}).get("metric") or {}
            name = spec.get("name", "")
            if not name.startswith("llm_d_epp_"):
                continue
            if name not in known:
                yield Finding("epp-metrics", object_id(hpa), f"EPP {epp['version']} reports no "
                              f"series {name!r}" + _hint(name, list(known)))
                continue
            for label in (spec.get("selector") or {}).get("matchLabels") or {}:
                if label not in known[name]:
                    yield Finding("epp-metrics", object_id(hpa), f"{name} has no label "
                                  f"{label!r} in EPP {epp['version']} (labels: "
                                  f"{', '.join(known[name])})")


def _served_model(objects: list[Manifest], target: dict[str, Any]) -> str | None:
    """The --served-model-name of the workload an autoscaler targets, if rendered."""
    for obj in objects:
        if obj["kind"] == target.get("kind") and obj["metadata"]["name"] == target.get("name"):
            for template in pod_templates(obj):
                flags = engine_flags(template["spec"]["containers"][0])
                if "served-model-name" in flags:
                    return flags["served-model-name"].split()[0]
    return None


def _wva_series(obj: Manifest) -> list[dict[str, str]]:
    """The wva_desired_replicas label matchers an HPA or ScaledObject scales on."""
    if obj["kind"] == "HorizontalPodAutoscaler":
        return [((m.get("external") or {}).get("metric") or {}).get("selector", {})
                .get("matchLabels") or {} for m in obj["spec"].get("metrics") or []
                if ((m.get("external") or {}).get("metric") or {}).get("name")
                == "wva_desired_replicas"]
    found = []
    for trigger in obj["spec"].get("triggers") or []:
        query = (trigger.get("metadata") or {}).get("query", "")
        if trigger.get("type") == "prometheus" and query.startswith("wva_desired_replicas{"):
            found.append(dict(re.findall(r'(\w+)="([^"]*)"', query)))
    return found


def check_wva(objects: list[Manifest]) -> Iterator[Finding]:
    """HPAs and ScaledObjects WVA manages: the annotations it reads, a model id vLLM reports
    (WVA matches it to the model_name label and silently skips a model with no series), a
    scale target kind it supports, and metric selectors naming this object (WVA names the
    variant after the HPA/ScaledObject, not after its target)."""
    wva = load(load("index.yaml")["wva"])
    version = wva["version"]
    known_labels = set(wva["metrics"]["wva_desired_replicas"]) | set(wva["scrapeRenamed"].values())
    for obj in (o for o in objects if o["kind"] in ("HorizontalPodAutoscaler", "ScaledObject")):
        annotations = obj["metadata"].get("annotations") or {}
        where = object_id(obj)
        series = _wva_series(obj)
        if annotations.get("llm-d.ai/managed") != "true":
            if series:
                yield Finding("wva", where, f"scales on wva_desired_replicas but lacks the "
                              f"llm-d.ai/managed: \"true\" annotation WVA {version} discovers "
                              "it by, so WVA reports no series for it")
            continue
        for key in annotations:
            if key.startswith("llm-d.ai/") and key not in wva["annotations"]:
                yield Finding("wva", where, f"annotation {key!r} is not one WVA {version} reads"
                              + _hint(key, list(wva["annotations"])))
        target = obj["spec"].get("scaleTargetRef") or {}
        group = target.get("apiVersion", "apps/v1")
        if target.get("kind", "Deployment") not in wva["scaleTargetKinds"].get(group, []):
            yield Finding("wva", where, f"WVA {version} cannot scale a {group} "
                          f"{target.get('kind')}")
        served = _served_model(objects, target)
        model = annotations.get("llm-d.ai/model-id")
        if not model:
            yield Finding("wva", where, "llm-d.ai/model-id is missing: WVA ignores the object")
        elif served is not None and model != served:
            yield Finding("wva", where, f"llm-d.ai/model-id {model!r} is not the name vLLM "
                          f"serves ({served!r}): WVA finds no vLLM series for it and never "
                          "scales")
        cost = annotations.get("llm-d.ai/variant-cost")
        if cost is not None and not re.fullmatch(wva["annotations"]["llm-d.ai/variant-cost"]
                                                 ["pattern"], cost):
            yield Finding("wva", where, f"llm-d.ai/variant-cost {cost!r} is not a "
                          "non-negative decimal")
        for matchers in series:
            if matchers.get("variant_name") != obj["metadata"]["name"]:
                yield Finding("wva", where, f"selects variant_name "
                              f"{matchers.get('variant_name')!r}, but WVA {version} names the "
                              f"variant after this object ({obj['metadata']['name']!r})")
            for label in set(matchers) - known_labels:
                yield Finding("wva", where, f"wva_desired_replicas has no label {label!r} "
                              f"(labels: {', '.join(sorted(known_labels))})")


def _keda_webhook(obj: Manifest, objects: list[Manifest], keda: dict[str, Any]
                  ) -> Iterator[str]:
    """What KEDA's admission webhook refuses in one ScaledObject."""
    rules, spec = keda["webhook"], obj["spec"]
    triggers = spec.get("triggers") or []
    hpa = ((spec.get("advanced") or {}).get("horizontalPodAutoscalerConfig") or {}).get(
        "name") or f"keda-hpa-{obj['metadata']['name']}"
    if len(hpa) > rules["maxNameLength"]:
        yield (f"KEDA names its HPA {hpa!r}, longer than {rules['maxNameLength']} characters: "
               "set advanced.horizontalPodAutoscalerConfig.name")
    names = [t["name"] for t in triggers if t.get("name")]
    for name in sorted({n for n in names if names.count(n) > 1}):
        yield f"trigger name {name!r} is used twice"
    for trigger in triggers:
        if trigger.get("useCachedMetrics") and trigger.get("type") in rules["noCachedMetrics"]:
            yield f"useCachedMetrics is not supported for the {trigger['type']} scaler"
    if spec.get("fallback") and not (spec.get("advanced") or {}).get("scalingModifiers") and all(
            t.get("type") in rules["noFallbackFrom"] for t in triggers):
        yield (f"a fallback needs a trigger other than {'/'.join(rules['noFallbackFrom'])}")
    target = spec.get("scaleTargetRef") or {}
    for other in (o for o in objects if o["kind"] == "HorizontalPodAutoscaler"):
        ref = other["spec"].get("scaleTargetRef") or {}
        if (ref.get("kind"), ref.get("name")) == (target.get("kind", "Deployment"),
                                                  target.get("name")):
            yield (f"{object_id(other)} already scales {target.get('name')}: KEDA creates and "
                   "owns the HPA of a ScaledObject and refuses a second one")


def check_keda(objects: list[Manifest]) -> Iterator[Finding]:
    """ScaledObjects against KEDA's admission webhook, and their prometheus triggers against
    the metadata KEDA's prometheus scaler reads (the keys it needs, no key it ignores)."""
    keda = load(load("index.yaml")["keda"])
    scaler = keda["scalers"]["prometheus"]
    accepted = [*scaler["required"], *scaler["optional"]]
    for obj in (o for o in objects if o["kind"] == "ScaledObject"):
        for message in _keda_webhook(obj, objects, keda):
            yield Finding("keda", object_id(obj), f"KEDA {keda['version']} refuses it: {message}")
        for trigger in obj["spec"].get("triggers") or []:
            if trigger.get("type") != "prometheus":
                continue
            metadata = trigger.get("metadata") or {}
            name = trigger.get("name", "prometheus")
            for key in scaler["required"]:
                if not metadata.get(key):
                    yield Finding("keda", object_id(obj), f"trigger {name!r}: the prometheus "
                                  f"scaler of KEDA {keda['version']} needs metadata {key!r}")
            for key in metadata:
                if key not in accepted:
                    yield Finding("keda", object_id(obj), f"trigger {name!r}: KEDA "
                                  f"{keda['version']}'s prometheus scaler reads no {key!r}"
                                  + _hint(key, accepted))


CONTRACT_CHECKS = {
    "contracts": check_contracts,
    "epp-health": check_epp_health,
    "epp-rbac": check_epp_rbac,
    "lws-env": check_lws_env,
    "pool-link": check_pool_link,
    "deprecated": deprecated_flags,
    "epp-metrics": check_hpa_metrics,
    "wva": check_wva,
    "keda": check_keda,
}


def run_contract_checks(objects: list[Manifest]) -> list[Finding]:
    """Every finding of every upstream-contract check."""
    return [f for check in CONTRACT_CHECKS.values() for f in check(objects)]
