"""A release's serving stack as llm-d benchmark report components (`scenario.stack`).

Read from the rendered objects only, so a release rendered from its inputs and one read
back from the cluster (`helm get manifest`) describe the same stack. Plain dicts in the
shape of the v0.2 report schema (`llmd_benchmark_report.schema_v0_2.Component`); this
module does not need that package.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

import yaml

from ..chart_facts import chart_facts
from ..checks import (
    engine_flags,
    engine_processes,
    engine_tokens,
    model_workloads,
    serving_template,
)
from ..manifests import Manifest

# Node labels naming the accelerator model, in preference order (the presets' labelKeys
# and those llm-d-benchmark reads).
ACCELERATOR_LABELS = (
    "nvidia.com/gpu.product", "gpu.nvidia.com/model", "amd.com/gpu.product-name",
    "amd.com/gpu.product", "gpu.amd.com/model", "habana.ai/gaudi.product",
    "cloud.google.com/gke-tpu-accelerator", "cloud.google.com/gke-accelerator",
)
# Labels of the endpoint picker; llm-d tools (Prism) find it by "scheduler" in the label.
EPP_LABEL = "Inference Scheduler (EPP)"
GATEWAY_LABEL = "Inference Gateway"
COMPONENT_SCHEMA = "0.0.1"


def config_id(native: dict[str, Any]) -> str:
    """A stable hash of a component's native configuration (its `cfg_id`)."""
    return hashlib.sha256(json.dumps(native, sort_keys=True, default=str).encode()).hexdigest()


def _component(label: str, standardized: dict[str, Any], native: dict[str, Any],
               description: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"schema_version": COMPONENT_SCHEMA, "label": label,
                                "cfg_id": config_id(native)}
    if description:
        metadata["description"] = description
    return {"metadata": metadata, "standardized": standardized, "native": native}


def _image(container: dict[str, Any]) -> str:
    return str(container.get("image", ""))


def _tool(image: str) -> str:
    """The image repository's last path segment (`llm-d-cuda`), as the tool name."""
    name = image.split("@")[0].rsplit("/", 1)[-1]
    return name.split(":")[0] or "vllm"


def _envars(container: dict[str, Any]) -> dict[str, Any]:
    return {env["name"]: env.get("value", env.get("valueFrom"))
            for env in container.get("env") or []}


def _args(container: dict[str, Any]) -> dict[str, Any]:
    """Engine flags by name (bare flags: None), the served model path as `model`."""
    args: dict[str, Any] = {"model": _model_argument(container)} \
        if _model_argument(container) else {}
    args.update({name: value if value != "" else None
                 for name, value in engine_flags(container).items()})
    return args


def _model_argument(container: dict[str, Any]) -> str | None:
    tokens = engine_tokens(container)
    if tokens[:2] == ["vllm", "serve"] and len(tokens) > 2 and not tokens[2].startswith("--"):
        return tokens[2]
    return None


def _int(flags: dict[str, str], name: str, default: int = 1) -> int:
    value = flags.get(name) or ""
    return int(value) if value.isdigit() else default


def _replicas(workload: Manifest, objects: list[Manifest]) -> int:
    """`spec.replicas`; under an HPA (which owns replicas) its minReplicas."""
    if "replicas" in workload.get("spec", {}):
        return int(workload["spec"]["replicas"])
    for hpa in (obj for obj in objects if obj["kind"] == "HorizontalPodAutoscaler"):
        ref = hpa["spec"].get("scaleTargetRef", {})
        if ref.get("kind") == workload["kind"] and ref.get("name") == workload["metadata"]["name"]:
            return int(hpa["spec"].get("minReplicas", 1))
    return 1


def _label_values(pod: dict[str, Any]) -> dict[str, str]:
    """Node label -> the first accepted value, from the nodeSelector and the required
    node affinity (`In` expressions)."""
    found = {key: str(value) for key, value in (pod.get("nodeSelector") or {}).items()}
    required = (pod.get("affinity") or {}).get("nodeAffinity", {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution", {})
    for term in required.get("nodeSelectorTerms") or []:
        for expression in term.get("matchExpressions") or []:
            if expression.get("operator") == "In" and expression.get("values"):
                found.setdefault(expression["key"], str(expression["values"][0]))
    return found


def accelerator_model(pod: dict[str, Any], container: dict[str, Any]) -> str:
    """The accelerator model the pod is pinned to (first accepted node-label value), else
    the device resource it requests (`nvidia.com/gpu`), else `cpu`."""
    labels = _label_values(pod)
    for key in ACCELERATOR_LABELS:
        if labels.get(key):
            return labels[key]
    resource = _accelerator_resource(container)
    return resource[0] if resource else "cpu"


def _accelerator_resource(container: dict[str, Any]) -> tuple[str, int] | None:
    resources = container.get("resources") or {}
    for section in ("limits", "requests"):
        for name, value in (resources.get(section) or {}).items():
            if name in chart_facts().accelerator_resources:
                return name, int(value)
    return None


def _pods_per_replica(workload: Manifest) -> int:
    if workload["kind"] == "LeaderWorkerSet":
        return int(workload["spec"]["leaderWorkerTemplate"].get("size", 1))
    return 1


def _role(workload: Manifest, disaggregated: bool) -> str:
    template = serving_template(workload)
    role = template["metadata"].get("labels", {}).get("llm-d.ai/role", "decode")
    return role if disaggregated else "replica"


def _dp_local(container: dict[str, Any], flags: dict[str, str], default: int) -> int:
    """Data-parallel ranks in one pod: one per engine process when each rank is its own
    `vllm serve` (httpPerRank), else --data-parallel-size-local."""
    processes = len(engine_processes(container))
    return processes if processes > 1 else _int(flags, "data-parallel-size-local", default)


def engine_component(workload: Manifest, objects: list[Manifest], *,
                     disaggregated: bool) -> dict[str, Any]:
    """One `inference_engine` component: role, replicas, model, accelerator, parallelism
    (from the engine flags), and the engine container's flags and env as `native`.

    `accelerator.count` is what one replica uses: the accelerators of its pods (all pods
    of a LeaderWorkerSet group); `parallelism.workers` is the pods per replica.
    """
    template = serving_template(workload)
    pod = template["spec"]
    container = pod["containers"][0]
    flags = engine_flags(container)
    tensor, data = _int(flags, "tensor-parallel-size"), _int(flags, "data-parallel-size")
    pods = _pods_per_replica(workload)
    resource = _accelerator_resource(container)
    image = _image(container)
    native = {"args": _args(container), "envars": _envars(container)}
    return _component(workload["metadata"]["name"], {
        "kind": "inference_engine",
        "tool": _tool(image),
        "tool_version": image,
        "role": _role(workload, disaggregated),
        "replicas": max(1, _replicas(workload, objects)),
        "model": {"name": flags.get("served-model-name") or _model_argument(container) or ""},
        "accelerator": {
            "model": accelerator_model(pod, container),
            "count": resource[1] * pods if resource else 0,
            "parallelism": {
                "tp": tensor,
                "dp": data,
                "dp_local": _dp_local(container, flags, data if pods == 1 else 1),
                "ep": tensor * data if "enable-expert-parallel" in flags else 1,
                "pp": _int(flags, "pipeline-parallel-size"),
                "workers": pods,
            },
        },
    }, native, description=f"{workload['kind']} {workload['metadata']['name']}")


def _epp_config(objects: list[Manifest], deployment: Manifest) -> Any:
    """The EndpointPickerConfig the EPP reads: its mounted ConfigMap's YAML, parsed."""
    volumes = deployment["spec"]["template"]["spec"].get("volumes") or []
    names = {v["configMap"]["name"] for v in volumes if "configMap" in v}
    for config_map in (obj for obj in objects if obj["kind"] == "ConfigMap"):
        if config_map["metadata"]["name"] in names:
            for text in (config_map.get("data") or {}).values():
                return yaml.safe_load(text)
    return None


def epp_component(objects: list[Manifest]) -> dict[str, Any] | None:
    """The endpoint picker as a generic component (its image, args and config)."""
    epp = next((obj for obj in objects if obj["kind"] == "Deployment"
                and obj["metadata"].get("labels", {}).get("app.kubernetes.io/component")
                == "epp"), None)
    if epp is None:
        return None
    container = epp["spec"]["template"]["spec"]["containers"][0]
    args = {}
    for token in container.get("args") or []:
        name, _, value = token.lstrip("-").partition("=")
        args[name] = value or None
    native = {"args": args, "envars": _envars(container), "config": _epp_config(objects, epp)}
    image = _image(container)
    return _component(EPP_LABEL, {"kind": "generic", "tool": "inference_scheduler",
                                  "tool_version": image,
                                  "replicas": int(epp["spec"].get("replicas", 1))},
                      native, description=f"Deployment {epp['metadata']['name']}")


def gateway_component(objects: list[Manifest], gateway_class: str = "") -> dict[str, Any] | None:
    """The Gateway the release's HTTPRoute attaches to, as a generic component."""
    route = next((obj for obj in objects if obj["kind"] == "HTTPRoute"), None)
    if route is None:
        return None
    refs = route["spec"].get("parentRefs") or []
    ref = next((r for r in refs if r.get("kind", "Gateway") == "Gateway"), None)
    if ref is None:
        return None
    config = {"name": ref["name"],
              "namespace": ref.get("namespace") or route["metadata"].get("namespace", ""),
              "sectionName": ref.get("sectionName"), "httpRoute": route["metadata"]["name"]}
    if gateway_class:
        config["className"] = gateway_class
    tool = f"inference_gateway ({gateway_class})" if gateway_class else "inference_gateway"
    return _component(GATEWAY_LABEL, {"kind": "generic", "tool": tool, "tool_version": ""},
                      {"config": {k: v for k, v in config.items() if v}},
                      description=f"Gateway {config['namespace']}/{ref['name']}")


def stack_components(objects: Iterable[Manifest], gateway_class: str = "") -> list[dict[str, Any]]:
    """The release's `scenario.stack`: prefill engines, decode engines (or `replica`
    engines without P/D), the endpoint picker, and the gateway when one is routed."""
    objects = list(objects)
    workloads = model_workloads(objects)
    roles = {serving_template(w)["metadata"]["labels"]["llm-d.ai/role"] for w in workloads}
    disaggregated = "prefill" in roles
    order = {"prefill": 0, "decode": 1}
    workloads.sort(key=lambda w: order.get(
        serving_template(w)["metadata"]["labels"]["llm-d.ai/role"], 2))
    stack = [engine_component(w, objects, disaggregated=disaggregated) for w in workloads]
    for extra in (epp_component(objects), gateway_component(objects, gateway_class)):
        if extra is not None:
            stack.append(extra)
    return stack
