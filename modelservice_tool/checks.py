"""Cross-object checks on rendered manifests: what a schema cannot see.

Each check takes the list of rendered objects and yields Findings. They only look at the
objects a release actually renders, so checks for kinds a release does not have (an
InferencePool, a LeaderWorkerSet) pass trivially.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .chart_facts import chart_facts
from .manifests import Manifest, object_id

WORKLOAD_KINDS = ("Deployment", "LeaderWorkerSet")


@dataclass(frozen=True)
class Finding:
    """A cross-object problem: which check, which object, what is wrong and how to fix it."""

    check: str
    obj: str
    message: str

    def __str__(self) -> str:
        return f"{self.obj}: {self.message} [{self.check}]"


def pod_templates(obj: Manifest) -> list[dict[str, Any]]:
    """Pod templates of a workload (LWS: leader and worker)."""
    if obj["kind"] == "Deployment":
        return [obj["spec"]["template"]]
    if obj["kind"] == "LeaderWorkerSet":
        lwt = obj["spec"]["leaderWorkerTemplate"]
        return [t for t in (lwt.get("leaderTemplate"), lwt.get("workerTemplate")) if t]
    return []


def model_workloads(objects: list[Manifest]) -> list[Manifest]:
    """The model-serving workloads (those whose pods carry an llm-d.ai/role label)."""
    return [
        obj for obj in objects
        if obj["kind"] in WORKLOAD_KINDS
        and any("llm-d.ai/role" in t["metadata"].get("labels", {}) for t in pod_templates(obj))
    ]


def _engine(template: dict[str, Any]) -> dict[str, Any]:
    return template["spec"]["containers"][0]


@dataclass(frozen=True)
class EngineProcess:
    """One engine process of a container: its command line from `vllm` on, and the
    `NAME=value` assignments a launch script puts before it (a rank's devices)."""

    tokens: list[str]
    env: dict[str, str]


def engine_processes(container: dict[str, Any]) -> list[EngineProcess]:
    """The engine processes a container starts: its command line, or for a shell wrapper
    (`sh -c` script: multi-node pods, one `vllm serve` per rank) every `vllm serve` line."""
    tokens = [*container.get("command", []), *container.get("args", [])]
    if not (len(tokens) >= 3 and tokens[0].endswith("sh") and tokens[1] == "-c"):
        return [EngineProcess(tokens, {})]
    found = []
    for line in tokens[2].splitlines():
        if "vllm serve" not in line:
            continue
        try:
            words = shlex.split(line.replace("$((", "\\$(("))
        except ValueError:  # not a line shlex can split (e.g. a continuation)
            continue
        if "vllm" in words and "serve" in words:
            start = words.index("vllm")
            env = dict(w.partition("=")[::2] for w in words[:start] if "=" in w)
            found.append(EngineProcess(words[start:], env))
    return found or [EngineProcess(tokens, {})]


def engine_tokens(container: dict[str, Any]) -> list[str]:
    """The engine's command line; for a shell wrapper the tokens of its first `vllm serve`
    line."""
    return engine_processes(container)[0].tokens


def engine_flags(container: dict[str, Any]) -> dict[str, str]:
    """`--flag=value` and `--flag value` arguments of a container as a dict (bare flags: "")."""
    return token_flags(engine_tokens(container))


def token_flags(tokens: list[str]) -> dict[str, str]:
    """`--flag=value` and `--flag value` arguments of a command line (bare flags: "")."""
    flags: dict[str, str] = {}
    for index, token in enumerate(tokens):
        if not token.startswith("--"):
            continue
        name, equals, value = token[2:].partition("=")
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        flags[name] = value if equals else ("" if following.startswith("--") else following)
    return flags


def _int_flag(flags: dict[str, str], name: str) -> int:
    value = flags.get(name) or "1"
    return int(value) if value.isdigit() else 1


def _ranks_per_pod(obj: Manifest, container: dict[str, Any]) -> int:
    """Accelerators one pod's engine uses: tensor x pipeline x dataLocal in one pod (summed
    over the processes when each rank is its own `vllm serve`); in a LeaderWorkerSet,
    tensor x dataLocal (data-parallel mode) or the tensor x pipeline ranks shared by the
    group's pods (Ray mode)."""
    processes = engine_processes(container)
    if len(processes) > 1:
        return sum(_process_accelerators(token_flags(p.tokens)) for p in processes)
    flags = token_flags(processes[0].tokens)
    tensor = _int_flag(flags, "tensor-parallel-size")
    pipeline = _int_flag(flags, "pipeline-parallel-size")
    local = _int_flag(flags, "data-parallel-size-local")
    if obj["kind"] != "LeaderWorkerSet" or "data-parallel-size-local" in flags:
        return tensor * pipeline * local
    size = obj["spec"]["leaderWorkerTemplate"].get("size", 1)
    return tensor * pipeline // size if (tensor * pipeline) % size == 0 else tensor * pipeline


def _process_accelerators(flags: dict[str, str]) -> int:
    return (_int_flag(flags, "tensor-parallel-size") * _int_flag(flags, "pipeline-parallel-size")
            * _int_flag(flags, "data-parallel-size-local"))


def serving_template(obj: Manifest) -> dict[str, Any]:
    """The pod template whose engine serves: a Deployment's, an LWS group's leader."""
    templates = pod_templates(obj)
    return templates[0]


def claimed_accelerators(template: dict[str, Any], objects: list[Manifest]) -> dict[str, int]:
    """Accelerators the engine container gets through DRA: per DeviceClass, the counts of the
    requests of the release's ResourceClaimTemplates its pod claims (accelerator.dra)."""
    claim_templates = {o["metadata"]["name"]: o for o in objects
                       if o["kind"] == "ResourceClaimTemplate"}
    used = {c["name"] for c in _engine(template).get("resources", {}).get("claims", [])}
    found: dict[str, int] = {}
    for claim in template["spec"].get("resourceClaims", []):
        source = claim_templates.get(claim.get("resourceClaimTemplateName", ""))
        if claim["name"] not in used or source is None:
            continue
        for request in source["spec"]["spec"]["devices"].get("requests", []):
            exactly = request.get("exactly", {})
            if exactly.get("deviceClassName") in chart_facts().accelerator_device_classes:
                name = exactly["deviceClassName"]
                found[name] = found.get(name, 0) + int(exactly.get("count", 1))
    return found


def pod_accelerators(template: dict[str, Any], objects: list[Manifest]) -> dict[str, int]:
    """Accelerators of the engine container: device-plugin limits, or DRA claims."""
    limits = _engine(template).get("resources", {}).get("limits", {})
    found = {name: int(limits[name]) for name in chart_facts().accelerator_resources
             if name in limits}
    if not found:  # another vendor's device plugin (accelerator.resourceName)
        found = {name: int(count) for name, count in limits.items()
                 if "/" in name and str(count).isdigit()}
    return found or claimed_accelerators(template, objects)


def check_accelerators(objects: list[Manifest]) -> Iterator[Finding]:
    """Accelerators per pod equal what the engine's parallelism flags need in one pod."""
    for obj in model_workloads(objects):
        ranks = _ranks_per_pod(obj, _engine(serving_template(obj)))
        yield from _rank_devices(obj, _engine(serving_template(obj)))
        for template in pod_templates(obj):
            found = pod_accelerators(template, objects)
            if not found:
                if ranks > 1:
                    yield Finding("accelerators", object_id(obj),
                                  f"parallelism needs {ranks} accelerators per pod but the pod "
                                  "requests none; set pod.accelerator.type")
                continue
            for name, count in found.items():
                if count != ranks:
                    yield Finding(
                        "accelerators", object_id(obj),
                        f"{count} x {name} per pod but tensor x pipeline x dataLocal = {ranks}:"
                        f" vLLM {'cannot start' if count < ranks else 'leaves GPUs idle'}; "
                        "drop accelerator.count / the explicit resource, or fix parallelism",
                    )


def _rank_devices(obj: Manifest, container: dict[str, Any]) -> Iterator[Finding]:
    """With one process per rank, each process sees its own devices (the device-visibility
    variable before its `vllm serve`), as many as its parallelism needs, and no two share."""
    processes = engine_processes(container)
    if len(processes) < 2:
        return
    taken: dict[str, int] = {}
    for index, process in enumerate(processes):
        devices = next((v.split(",") for k, v in process.env.items() if k.endswith(
            ("VISIBLE_DEVICES", "AFFINITY_MASK"))), None)
        need = _process_accelerators(token_flags(process.tokens))
        if devices is None or len(devices) != need:
            yield Finding("rank-devices", object_id(obj),
                          f"engine process {index} needs {need} devices but its launch line "
                          f"gives it {devices}: every rank would start on device 0")
            continue
        for device in devices:
            if device in taken:
                yield Finding("rank-devices", object_id(obj),
                              f"device {device} is given to engine processes {taken[device]} "
                              f"and {index}")
            taken[device] = index


def _serving_containers(template: dict[str, Any]) -> list[dict[str, Any]]:
    """Containers that run for the pod's life: regular ones and native sidecars."""
    sidecars = [c for c in template["spec"].get("initContainers", [])
                if c.get("restartPolicy") == "Always"]
    return [*template["spec"]["containers"], *sidecars]


def _container_ports(template: dict[str, Any]) -> dict[str | int, int]:
    ports: dict[str | int, int] = {}
    for container in _serving_containers(template):
        for port in container.get("ports", []):
            ports[port["containerPort"]] = port["containerPort"]
            if "name" in port:
                ports[port["name"]] = port["containerPort"]
    return ports


def check_engine_port(objects: list[Manifest]) -> Iterator[Finding]:
    """The engine's --port is the first port its container declares."""
    for obj in model_workloads(objects):
        container = _engine(serving_template(obj))
        port = engine_flags(container).get("port")
        declared = container.get("ports", [])
        if port and declared and declared[0]["containerPort"] != int(port):
            first = declared[0]
            yield Finding("engine-port", object_id(obj),
                          f"engine listens on --port={port} but the container declares "
                          f"{first.get('name', 'port')}={first['containerPort']}; "
                          "set engine.port, not an arg")


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def _pod_label_sets(objects: list[Manifest]) -> list[tuple[Manifest, dict[str, Any]]]:
    return [(obj, t) for obj in objects for t in pod_templates(obj)]


def check_service_targets(objects: list[Manifest]) -> Iterator[Finding]:
    """Every Service selects some pod of the release, and its targetPort exists there."""
    pods = _pod_label_sets(objects)
    for service in (o for o in objects if o["kind"] == "Service"):
        selector = service["spec"].get("selector") or {}
        targets = [t for _, t in pods if _selects(selector, t["metadata"].get("labels", {}))]
        if not targets:
            yield Finding("service-selector", object_id(service),
                          f"selector {selector} matches no pod of this release")
            continue
        for port in service["spec"].get("ports", []):
            target = port.get("targetPort", port["port"])
            if not any(target in _container_ports(t) for t in targets):
                yield Finding("service-port", object_id(service),
                              f"targetPort {target} is not a port of the selected pods")


def check_pool_selector(objects: list[Manifest]) -> Iterator[Finding]:
    """An InferencePool selects exactly the model pods, on a port they listen on."""
    model_pods = [t for o in model_workloads(objects) for t in pod_templates(o)
                  if t["metadata"]["labels"].get("llm-d.ai/inferenceServing") != "false"]
    other_pods = [t for o in objects if o not in model_workloads(objects)
                  for t in pod_templates(o)]
    for pool in (o for o in objects if o["kind"] == "InferencePool"):
        selector = pool["spec"]["selector"]
        selector = selector.get("matchLabels", selector)
        missed = [t for t in model_pods if not _selects(selector, t["metadata"]["labels"])]
        extra = [t for t in other_pods if _selects(selector, t["metadata"]["labels"])]
        if missed:
            yield Finding("pool-selector", object_id(pool),
                          f"selector {selector} misses model pods labelled "
                          f"{missed[0]['metadata']['labels']}")
        if extra:
            yield Finding("pool-selector", object_id(pool),
                          f"selector {selector} also matches non-model pods")
        ports = [p["number"] for p in pool["spec"].get("targetPorts", [])]
        if "targetPortNumber" in pool["spec"]:
            ports.append(pool["spec"]["targetPortNumber"])
        for port in ports:
            if model_pods and not any(port in _container_ports(t) for t in model_pods):
                yield Finding("pool-port", object_id(pool),
                              f"target port {port} is not a port of the model pods")


ACTIVE_PORTS = "llm-d.ai/active-ports"  # llm-d-router v0.10.0 pkg/epp/datastore/datastore.go


def http_listeners(template: dict[str, Any]) -> set[int]:
    """Ports a pod serves the pool on: the routing sidecar's (`--port` + rank for rank <
    `--data-parallel-size`) when it has one, else every engine process's `--port`."""
    for container in template["spec"].get("initContainers", []):
        if container.get("name") == "routing-proxy":
            flags = token_flags(container.get("args") or [])
            base = int(flags.get("port", "0") or 0)
            return {base + rank for rank in range(_int_flag(flags, "data-parallel-size"))}
    return _engine_ports(template)


def _engine_ports(template: dict[str, Any]) -> set[int]:
    """The `--port` of every engine process of the pod."""
    return {int(token_flags(p.tokens)["port"]) for p in engine_processes(_engine(template))
            if token_flags(p.tokens).get("port", "").isdigit()}


def check_pool_ranks(objects: list[Manifest]) -> Iterator[Finding]:
    """Every port an InferencePool targets on a pod is one that pod serves HTTP on, and
    every such port is targeted: the EPP makes one endpoint per targetPort (narrowed by the
    pod's llm-d.ai/active-ports) and a port nobody listens on fails requests, while a
    listener outside the pool is a rank that never gets any. A sidecar forwards rank r to
    the engine process on its model-server port + r."""
    for pool in (o for o in objects if o["kind"] == "InferencePool"):
        targets = [p["number"] for p in pool["spec"].get("targetPorts", [])]
        if not targets:
            continue
        selector = pool["spec"]["selector"].get("matchLabels", {})
        for obj in model_workloads(objects):
            for template in pod_templates(obj):
                labels = template["metadata"].get("labels", {})
                if not _selects(selector, labels):
                    continue
                annotation = template["metadata"].get("annotations", {}).get(ACTIVE_PORTS)
                served = ({int(p) for p in annotation.split(",")} if annotation
                          else set(targets))
                listening = http_listeners(template)
                if not listening:  # a custom command whose ports cannot be read
                    continue
                where = f"{object_id(obj)} ({labels.get('llm-d.ai/role', 'pod')})"
                if served - set(targets):
                    yield Finding("pool-ranks", where, f"{ACTIVE_PORTS} lists "
                                  f"{sorted(served - set(targets))}, not pool targetPorts")
                if served - listening:
                    yield Finding("pool-ranks", where,
                                  f"the pool sends requests to ports {sorted(served - listening)}"
                                  f" but the pod serves HTTP on {sorted(listening)}")
                if listening - served:
                    yield Finding("pool-ranks", where,
                                  f"ranks on ports {sorted(listening - served)} serve HTTP but "
                                  "the pool never targets them")
                yield from _sidecar_forwarding(obj, template)


def _sidecar_forwarding(obj: Manifest, template: dict[str, Any]) -> Iterator[Finding]:
    for container in template["spec"].get("initContainers", []):
        if container.get("name") != "routing-proxy":
            continue
        flags = token_flags(container.get("args") or [])
        engine = flags.get("model-server-port") or flags.get("vllm-port") or ""
        if not engine.isdigit():
            continue
        wanted = {int(engine) + r for r in range(_int_flag(flags, "data-parallel-size"))}
        ports = _engine_ports(template)
        missing = wanted - ports
        if ports and missing:  # no readable port: a custom command, nothing to compare
            yield Finding("pool-ranks", object_id(obj),
                          f"the routing sidecar forwards to ports {sorted(missing)} where no "
                          "engine process listens")


def _epp_configs(objects: list[Manifest]) -> Iterator[tuple[Manifest, dict[str, Any]]]:
    import yaml

    for configmap in (o for o in objects if o["kind"] == "ConfigMap"):
        for text in (configmap.get("data") or {}).values():
            if "EndpointPickerConfig" in text:
                yield configmap, yaml.safe_load(text)


def check_pd_decider(objects: list[Manifest]) -> Iterator[Finding]:
    """With a prefill role, the EPP's P/D decider has a threshold: nonCachedTokens of the
    prefix-based-pd-decider (v1), or threshold of the legacy pd-profile-handler."""
    has_prefill = any(
        t["metadata"]["labels"].get("llm-d.ai/role") == "prefill"
        for o in model_workloads(objects) for t in pod_templates(o)
    )
    if not has_prefill:
        return
    for configmap, config in _epp_configs(objects):
        thresholds = [
            (plugin.get("parameters") or {}).get(key)
            for plugin in config.get("plugins", [])
            for kind, key in (("prefix-based-pd-decider", "nonCachedTokens"),
                              ("pd-profile-handler", "threshold"))
            if plugin.get("type") == kind
        ]
        if not any(thresholds):
            yield Finding("pd-decider", object_id(configmap),
                          "prefill is enabled but no prefix-based-pd-decider sets "
                          "nonCachedTokens: every request would stay decode-only")


def check_lws_size(objects: list[Manifest]) -> Iterator[Finding]:
    """A LeaderWorkerSet group has as many pods as its ranks need."""
    for lws in (o for o in objects if o["kind"] == "LeaderWorkerSet"):
        template = lws["spec"]["leaderWorkerTemplate"]
        size = template.get("size", 1)
        flags = engine_flags(_engine(serving_template(lws)))
        per_pod = next(iter(pod_accelerators(template["workerTemplate"], objects).values()), 1)
        total = (_int_flag(flags, "tensor-parallel-size")
                 * _int_flag(flags, "pipeline-parallel-size")
                 * _int_flag(flags, "data-parallel-size"))
        if total != size * per_pod:
            yield Finding("lws-size", object_id(lws),
                          f"group of {size} pods x {per_pod} accelerators = {size * per_pod}, "
                          f"but the engine needs {total} ranks: vLLM would hang waiting")


def _model_argument(container: dict[str, Any]) -> str | None:
    tokens = engine_tokens(container)
    if tokens[:2] == ["vllm", "serve"] and len(tokens) > 2:
        return tokens[2]
    return engine_flags(container).get("model")


def _on_a_mount(path: str, mounts: list[str]) -> bool:
    return any(path == mount or path.startswith(mount + "/") for mount in mounts)


def check_model_mounted(objects: list[Manifest]) -> Iterator[Finding]:
    """A local model path is inside a mounted volume; a hub id has a writable or set cache."""
    for obj in model_workloads(objects):
        container = _engine(serving_template(obj))
        model = _model_argument(container)
        if not model:
            continue
        mounts = [m["mountPath"].rstrip("/") for m in container.get("volumeMounts", [])]
        if model.startswith("/"):
            if not _on_a_mount(model, mounts):
                yield Finding("model-path", object_id(obj),
                              f"model argument {model} is not under any volume mount "
                              f"({', '.join(mounts) or 'none'})")
            continue
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        cache = env.get("HF_HUB_CACHE") or env.get("HF_HOME")
        if cache and not _on_a_mount(cache, mounts):
            yield Finding("model-path", object_id(obj),
                          f"hub cache {cache} for {model} is not on a mounted volume")


def check_upstream_contracts(objects: list[Manifest]) -> Iterator[Finding]:
    """EPP plugin types/parameters, EPP and sidecar flags and connector values, the EPP's
    Role and health probes, the pool/EPP link and LWS variables agree with the upstream
    version the chart pins (data in contracts/)."""
    from .upstream import run_contract_checks

    yield from run_contract_checks(objects)


CHECKS: dict[str, Callable[[list[Manifest]], Iterator[Finding]]] = {
    "accelerators": check_accelerators,
    "engine-port": check_engine_port,
    "service-targets": check_service_targets,
    "pool-selector": check_pool_selector,
    "pool-ranks": check_pool_ranks,
    "pd-decider": check_pd_decider,
    "lws-size": check_lws_size,
    "model-path": check_model_mounted,
    "upstream-contracts": check_upstream_contracts,
}


def run_checks(objects: list[Manifest]) -> list[Finding]:
    """Every finding of every check."""
    return [finding for check in CHECKS.values() for finding in check(objects)]


