"""`mst import llm-d-modelservice`: hand-written values files of each generation of the llm-d
modelservice chart (tests/fixtures/llm-d-modelservice/) are converted, checked against this
chart's schema, rendered with helm and compared on what matters (images, engine model
argument, served name, flags, env, accelerators, ports, volumes, node affinity, replicas);
every input key is in the report, and unmappable input is reported, not dropped."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from modelservice_tool.chart_facts import chart_facts
from modelservice_tool.checks import run_checks
from modelservice_tool.commands.imports import import_group
from modelservice_tool.importer import Status, convert_file, document
from modelservice_tool.importer.hoist import split_common
from modelservice_tool.importer.support import ChartSupport
from modelservice_tool.importer.templates import escape, resolve
from modelservice_tool.importer.vllm_args import parse, typed
from modelservice_tool.layers_io import Inputs, load_layers, schema_problems
from modelservice_tool.manifests import KubernetesSchemas, validate_manifests
from modelservice_tool.sources import KeyPath, format_path
from support import CHART, EXAMPLES, REPO, SHARED_CRDS, Obj, crd_schemas, find, one, render

FIXTURES = REPO / "tests" / "fixtures" / "llm-d-modelservice"
NAMES = sorted(path.stem for path in FIXTURES.glob("*.yaml"))
ACCELERATORS = ("nvidia.com/gpu", "amd.com/gpu", "habana.ai/gaudi", "google.com/tpu",
                "rebellions.ai/ATOM")
# Custom commands that take their parallelism from shell variables.
SHELL_PARALLELISM = ("v0.3-pvc-hf-custom", "v0.3-wide-ep-lws")
SUPPORT = ChartSupport.load(CHART)
KUBE = "1.34"  # the first Kubernetes with resource.k8s.io/v1 (DRA claims of v0.4 files)
needs_routing = pytest.mark.skipif(not SUPPORT.has("routing", "kvTransfer"),
                                   reason="this chart version has no routing values")


@cache
def conversion(name: str) -> Any:
    return convert_file(FIXTURES / f"{name}.yaml", CHART)


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each fixture's converted values file, written once."""
    directory = tmp_path_factory.mktemp("converted")
    files = {}
    for name in NAMES:
        files[name] = directory / f"{name}.yaml"
        files[name].write_text(document(conversion(name), f"{name}.yaml"))
    return files


def objects(converted: dict[str, Path], name: str) -> list[Obj]:
    return render(converted[name], release="ms")


# --- what every conversion guarantees ---------------------------------------------------


def test_there_is_a_fixture_per_generation() -> None:
    assert {name.split("-")[0] for name in NAMES} == {"v0.2", "v0.3", "v0.4"}


@pytest.mark.parametrize("name", NAMES)
def test_generation_is_detected(name: str) -> None:
    assert conversion(name).generation == name.split("-")[0]


@pytest.mark.parametrize("name", NAMES)
def test_converted_values_pass_the_chart_schema(converted: dict[str, Path], name: str) -> None:
    layered, _ = load_layers(Inputs(values=(converted[name],)), CHART)
    assert schema_problems(layered, CHART) == []


def _leaves(node: Any, path: KeyPath = ()) -> list[KeyPath]:
    if isinstance(node, dict) and node:
        return [leaf for key, value in node.items() for leaf in _leaves(value, (*path, key))]
    if isinstance(node, list) and node:
        return [leaf for i, value in enumerate(node) for leaf in _leaves(value, (*path, i))]
    return [path] if node not in (None, {}, []) else []


@pytest.mark.parametrize("name", NAMES)
def test_every_input_key_is_in_the_report(name: str) -> None:
    data = yaml.safe_load((FIXTURES / f"{name}.yaml").read_text())
    claimed = conversion(name).report.claimed()
    missing = [format_path(leaf) for leaf in _leaves(data)
               if not any(leaf[:depth] in claimed for depth in range(1, len(leaf) + 1))]
    assert missing == []
    for entry in conversion(name).report.entries:
        if entry.source:
            assert entry.location is not None, entry
            assert entry.location.source.endswith(f"{name}.yaml") and entry.location.line


@pytest.mark.parametrize("name", NAMES)
def test_rendered_objects_are_valid_kubernetes(converted: dict[str, Path], name: str) -> None:
    schemas = KubernetesSchemas(KUBE)
    core = [obj for obj in objects(converted, name)
            if schemas.validator(obj["kind"], obj["apiVersion"])]
    assert any(obj["kind"] == "Deployment" for obj in core)
    assert [str(p) for p in validate_manifests(core, schemas)] == []


@pytest.mark.parametrize("name", NAMES)
def test_rendered_custom_resources_are_valid(converted: dict[str, Path], name: str) -> None:
    """LeaderWorkerSets, HPAs and PodMonitors against the upstream CRDs, and the chart's own
    cross-object checks (HPA targets, PodMonitor ports, LWS group sizes)."""
    crds = crd_schemas()
    if crds is None:
        pytest.skip(f"upstream CRDs not found at {SHARED_CRDS} (set MST_CRDS_DIR)")
    rendered = objects(converted, name)
    assert [str(p) for p in validate_manifests(rendered, KubernetesSchemas(KUBE), crds)] == []
    findings = run_checks(rendered)
    if name in SHELL_PARALLELISM:  # the check cannot read `--tensor-parallel-size $TP_SIZE`
        findings = [f for f in findings if f.check != "accelerators"]
    assert findings == []


# --- compared on what matters ---------------------------------------------------------


@dataclass
class Role:
    """What a role's pods must look like after the conversion."""

    image: str
    replicas: int | None  # None: an HPA owns the count
    model: str | None = None
    served: str | None = None
    port: int = 8000
    flags: dict[str, str] = field(default_factory=dict)
    absent_flags: tuple[str, ...] = ()
    env: dict[str, Any] = field(default_factory=dict)
    accelerators: dict[str, int] = field(default_factory=dict)
    volumes: dict[str, str] = field(default_factory=dict)
    affinity: tuple[str, ...] = ()
    tolerations: tuple[str, ...] = ()
    command: tuple[str, ...] = ()
    script: str = ""


SECRET = {"secretKeyRef": {"name": "hf-token", "key": "HF_TOKEN"}}
POD_IP = {"fieldRef": {"fieldPath": "status.podIP"}}
PD_FLAGS = {"enforce-eager": "", "block-size": "128",
            "revision": "c1899de289a04d12100db370d81485cdf75e47ca",
            "kv-transfer-config": '{"kv_connector":"NixlConnector","kv_role":"kv_both"}'}
PD_ENV = {"UCX_TLS": "cuda_ipc,cuda_copy,tcp", "VLLM_LOGGING_LEVEL": "DEBUG",
          "VLLM_NIXL_SIDE_CHANNEL_PORT": "5557", "VLLM_NIXL_SIDE_CHANNEL_HOST": POD_IP,
          "HF_HOME": "/model-cache", "HF_TOKEN": SECRET}
PD_VOLUMES = {"model-storage": "/model-cache", "metrics-volume": "/.config", "shm": "/dev/shm"}
EXPECTED: dict[str, dict[str, Role]] = {
    "v0.2-pd-qwen3": {
        "decode": Role("ghcr.io/llm-d/llm-d:v0.2.0", 2, "Qwen/Qwen3-0.6B", "Qwen/Qwen3-0.6B",
                       port=8200, flags=PD_FLAGS, env=PD_ENV,
                       accelerators={"nvidia.com/gpu": 1}, volumes=PD_VOLUMES,
                       affinity=("NVIDIA-A100-SXM4-80GB",), tolerations=("nvidia.com/gpu",)),
        "prefill": Role("ghcr.io/llm-d/llm-d:v0.2.0", 4, "Qwen/Qwen3-0.6B", "Qwen/Qwen3-0.6B",
                        flags=PD_FLAGS, env=PD_ENV, accelerators={"nvidia.com/gpu": 1},
                        volumes=PD_VOLUMES, affinity=("NVIDIA-A100-SXM4-80GB",),
                        tolerations=("nvidia.com/gpu",)),
    },
    "v0.2-pvc-llama70b": {
        "decode": Role("ghcr.io/llm-d/llm-d:v0.2.0", 1,
                       "/models/meta-llama/Llama-3.3-70B-Instruct",
                       "meta-llama/Llama-3.3-70B-Instruct",
                       flags={"tensor-parallel-size": "4", "max-model-len": "32768",
                              "gpu-memory-utilization": "0.92", "disable-log-requests": ""},
                       env={"VLLM_LOGGING_LEVEL": "INFO"},
                       accelerators={"nvidia.com/gpu": 4},
                       volumes={"model-storage": "/models", "shm": "/dev/shm"},
                       affinity=("NVIDIA-H100-80GB-HBM3",),
                       tolerations=("nvidia.com/gpu", "dedicated")),
    },
    "v0.3-cpu-sim": {
        "decode": Role("ghcr.io/llm-d/llm-d-inference-sim:v0.3.0", 2, "random/model",
                       "random/model",
                       flags={"time-to-first-token": "200", "inter-token-latency": "20"},
                       absent_flags=("zap-encoder",),
                       env={"HF_HOME": "/model-cache"},
                       volumes={"model-storage": "/model-cache"}),
    },
    "v0.3-pvc-hf-custom": {
        "decode": Role("docker.io/vllm/vllm-openai:v0.10.1", 3,
                       command=("/bin/sh", "-c"),
                       script="exec vllm serve meta-llama/Llama-3.1-8B-Instruct",
                       env={"TP_SIZE": "2", "HF_HUB_CACHE": "/model-cache/hub",
                            "HF_HUB_OFFLINE": "1", "VLLM_LOGGING_LEVEL": "INFO"},
                       accelerators={"nvidia.com/gpu": 2},
                       volumes={"model-storage": "/model-cache", "shm": "/dev/shm",
                                "scripts": "/scripts"},
                       affinity=("NVIDIA-L4",)),
    },
    "v0.3-wide-ep-lws": {
        "decode": Role("ghcr.io/llm-d/llm-d-cuda:v0.3.0", 1, command=("/bin/bash", "-c"),
                       script="--data-parallel-size $DP_SIZE",
                       env={"DP_SIZE": "16", "DP_SIZE_LOCAL": "8",
                            "VLLM_ALL2ALL_BACKEND": "deepep_low_latency",
                            "HF_TOKEN": {"secretKeyRef": {"name": "llm-d-hf-token",
                                                          "key": "HF_TOKEN"}}},
                       accelerators={"nvidia.com/gpu": 8}, affinity=("H200",)),
    },
    "v0.4-heterogeneous-oci": {
        "decode": Role("ghcr.io/llm-d/llm-d-cuda:v0.4.0", 1, "/model-cache",
                       "ibm-granite/granite-3.3-8b-instruct", port=8200,
                       flags={"max-model-len": "16384", "tensor-parallel-size": "2",
                              "otlp-traces-endpoint": "http://otel-collector.observability:4317"},
                       env={"SERVED_NAME": "ibm-granite/granite-3.3-8b-instruct",
                            "OTEL_TRACES_SAMPLER_ARG": "0.1"},
                       accelerators={},  # claimed through DRA
                       volumes={"model-storage": "/model-cache"}),
        "prefill": Role("ghcr.io/llm-d/llm-d-hpu:v0.4.0", None, "/model-cache",
                        "ibm-granite/granite-3.3-8b-instruct",
                        flags={"max-model-len": "16384"},
                        env={"PT_HPU_ENABLE_LAZY_COLLECTIVES": "true"},
                        accelerators={"habana.ai/gaudi": 1}),
    },
    "v0.4-rebellions-atom": {
        "decode": Role("repo.rebellions.ai/rebellions/vllm-rbln:3.3", 1, "Qwen/Qwen3-0.6B",
                       "Qwen/Qwen3-0.6B", accelerators={"rebellions.ai/ATOM": 1},
                       env={"HF_TOKEN": {"secretKeyRef": {"name": "llm-d-hf-token",
                                                          "key": "HF_TOKEN"}}}),
    },
    "v0.3-dp-lws-hpa-monitor": {  # the LeaderWorkerSet leader
        "decode": Role("ghcr.io/llm-d/llm-d-cuda:v0.3.0", None, "deepseek-ai/DeepSeek-R1-0528",
                       "deepseek-ai/DeepSeek-R1-0528",
                       flags={"data-parallel-size": "16", "data-parallel-size-local": "8",
                              "enable-expert-parallel": "", "max-model-len": "32768",
                              "data-parallel-address": "$(LWS_LEADER_ADDRESS)",
                              "data-parallel-rpc-port": "5555",
                              "data-parallel-start-rank": "0"},
                       env={"VLLM_ALL2ALL_BACKEND": "deepep_low_latency",
                            "HF_TOKEN": {"secretKeyRef": {"name": "llm-d-hf-token",
                                                          "key": "HF_TOKEN"}}},
                       accelerators={"nvidia.com/gpu": 8}, affinity=("H200",)),
    },
    "v0.4-ray-tp8-pp2": {  # the LeaderWorkerSet leader: a Ray head, then vllm serve
        "decode": Role("ghcr.io/llm-d/llm-d-cuda:v0.4.0", 1, command=("/bin/sh", "-c"),
                       script="exec vllm serve 'meta-llama/Llama-3.1-405B-Instruct' "
                              "'--port=8000' '--served-model-name=meta-llama/Llama-3.1-405B-"
                              "Instruct' '--tensor-parallel-size=8' '--pipeline-parallel-size=2'"
                              " '--max-model-len=16384' --distributed-executor-backend=ray",
                       accelerators={"nvidia.com/gpu": 8},
                       affinity=("NVIDIA-H100-80GB-HBM3",)),
    },
    "v0.3-lora-adapters": {
        "decode": Role("ghcr.io/llm-d/llm-d-cuda:v0.3.0", 2, "meta-llama/Llama-3.1-8B-Instruct",
                       "meta-llama/Llama-3.1-8B-Instruct",
                       flags={"enable-lora": "", "lora-modules": "", "max-loras": "2",
                              "max-lora-rank": "32", "max-model-len": "8192"},
                       accelerators={"nvidia.com/gpu": 1},
                       volumes={"lora-downloads": "/lora",
                                "lora-support-chat": "/lora-pvc/support-chat",
                                "adapters": "/adapters"},
                       affinity=("NVIDIA-L4",)),
    },
    # The serving paths (DRA, KV events, offloading): tests/test_import_serving_paths.py
    # checks what the chart renders for them; here the rest of the pod, as for every file.
    "v0.4-dra-pd-imex": {
        "decode": Role("ghcr.io/llm-d/llm-d-cuda:v0.4.0", 2, "Qwen/Qwen3-32B", "Qwen/Qwen3-32B",
                       port=8200, flags={"max-model-len": "16384", "tensor-parallel-size": "2"},
                       env={"UCX_TLS": "cuda_ipc,cuda_copy,tcp"}),
        "prefill": Role("ghcr.io/llm-d/llm-d-cuda:v0.4.0", 4, "Qwen/Qwen3-32B",
                        "Qwen/Qwen3-32B", flags={"max-model-len": "16384"},
                        env={"UCX_TLS": "cuda_ipc,cuda_copy,tcp"}),
    },
    "v0.4-precise-prefix-cache": {
        "decode": Role("ghcr.io/llm-d/llm-d-cuda:v0.4.0", 8, "Qwen/Qwen3-32B", "Qwen/Qwen3-32B",
                       flags={"block-size": "64", "gpu-memory-utilization": "0.95",
                              "tensor-parallel-size": "2"},
                       env={"POD_IP": POD_IP, "PYTHONHASHSEED": "42",
                            "VLLM_LOGGING_LEVEL": "INFO"},
                       accelerators={"nvidia.com/gpu": 2}),
    },
    "v0.4-pd-offload": {
        "decode": Role("ghcr.io/llm-d/llm-d-cuda:v0.4.0", 2, "Qwen/Qwen3-32B", "Qwen/Qwen3-32B",
                       port=8200, flags={"max-model-len": "32768"},
                       accelerators={"nvidia.com/gpu": 2}),
        "prefill": Role("ghcr.io/llm-d/llm-d-cuda:v0.4.0", 4, "Qwen/Qwen3-32B",
                        "Qwen/Qwen3-32B", flags={"max-model-len": "32768"},
                        accelerators={"nvidia.com/gpu": 1}),
    },
}


# Objects are named <fullnameOverride or release>-<role>.
BASE_NAME = {"v0.4-heterogeneous-oci": "granite"}


def deployment(converted: dict[str, Path], name: str, role: str) -> Obj:
    return one(objects(converted, name), "Deployment", f"{BASE_NAME.get(name, 'ms')}-{role}")


def workload(converted: dict[str, Path], name: str, role: str) -> Obj:
    """The role's Deployment, or its LeaderWorkerSet seen as one (the leader's template)."""
    rendered = objects(converted, name)
    object_name = f"{BASE_NAME.get(name, 'ms')}-{role}"
    groups = find(rendered, "LeaderWorkerSet", object_name)
    if not groups:
        return one(rendered, "Deployment", object_name)
    spec = groups[0]["spec"]
    return {"spec": {**{k: v for k, v in spec.items() if k == "replicas"},
                     "template": spec["leaderWorkerTemplate"]["leaderTemplate"]}}


def test_every_fixture_has_expectations() -> None:
    assert sorted(EXPECTED) == NAMES


def _flags(args: list[str]) -> dict[str, str]:
    flags = {}
    for arg in args:
        if arg.startswith("--"):
            name, _, value = arg[2:].partition("=")
            flags[name] = value
    return flags


def _view(deployment: Obj) -> dict[str, Any]:
    """The parts of a model Deployment the expectations talk about."""
    pod = deployment["spec"]["template"]["spec"]
    engine = pod["containers"][0]
    command, args = engine.get("command", []), engine.get("args", [])
    flags = _flags(args)
    model = args[0] if command == ["vllm", "serve"] else flags.get("model")
    terms = (pod.get("affinity", {}).get("nodeAffinity", {})
             .get("requiredDuringSchedulingIgnoredDuringExecution", {})
             .get("nodeSelectorTerms", []))
    return {
        "image": engine["image"], "command": command, "args": args, "flags": flags,
        "model": model, "replicas": deployment["spec"].get("replicas"),
        "env": {e["name"]: e.get("value", e.get("valueFrom")) for e in engine.get("env", [])},
        "limits": engine.get("resources", {}).get("limits", {}),
        "ports": {p["name"]: p["containerPort"] for p in engine["ports"]},
        "mounts": {m["name"]: m["mountPath"] for m in engine.get("volumeMounts", [])},
        "volumes": {v["name"] for v in pod["volumes"]},
        "affinity": tuple(value for term in terms for expression in term["matchExpressions"]
                          for value in expression.get("values", [])),
        "tolerations": tuple(t.get("key") for t in pod.get("tolerations", [])),
    }


@pytest.mark.parametrize(("name", "role"), [(n, r) for n in NAMES for r in EXPECTED[n]])
def test_rendered_role_matches_the_old_chart(converted: dict[str, Path], name: str,
                                             role: str) -> None:
    expected = EXPECTED[name][role]
    view = _view(workload(converted, name, role))
    assert view["image"] == expected.image
    assert view["replicas"] == expected.replicas
    if expected.command:
        assert tuple(view["command"]) == expected.command
        assert expected.script in view["args"][0]
    else:
        assert view["model"] == expected.model
        assert view["flags"]["served-model-name"] == expected.served
        assert view["flags"]["port"] == str(expected.port)
    assert view["ports"][next(iter(view["ports"]))] == expected.port
    for flag, value in expected.flags.items():
        assert view["flags"].get(flag) == value, flag
    for flag in expected.absent_flags:
        assert flag not in view["flags"]
    for variable, value in expected.env.items():
        assert view["env"].get(variable) == value, variable
    assert {k: int(v) for k, v in view["limits"].items() if k in ACCELERATORS} == \
        expected.accelerators
    for volume, mount in expected.volumes.items():
        assert volume in view["volumes"]
        assert view["mounts"][volume] == mount
    assert view["affinity"] == expected.affinity
    assert set(expected.tolerations) <= set(view["tolerations"])


def test_disabled_and_zero_replica_roles_are_not_rendered(converted: dict[str, Path]) -> None:
    for name in NAMES:
        rendered = {d["metadata"]["name"] for d in find(objects(converted, name), "Deployment")}
        prefill = f"{BASE_NAME.get(name, 'ms')}-prefill"
        assert (prefill in rendered) == ("prefill" in EXPECTED[name]), name


def test_custom_pod_parts_carry_over(converted: dict[str, Path]) -> None:
    pod = deployment(converted, "v0.3-pvc-hf-custom", "decode")["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["initContainers"]] == ["00-warm-cache", "01-check-drivers"]
    sidecar = next(c for c in pod["containers"] if c["name"] == "metrics-exporter")
    assert sidecar["image"] == "ghcr.io/example/gpu-metrics-exporter:1.4.2"
    assert "resources" not in sidecar
    shm = next(v for v in pod["volumes"] if v["name"] == "shm")
    assert shm["emptyDir"] == {"medium": "Memory", "sizeLimit": "2Gi"}
    assert pod["securityContext"]["fsGroup"] == 1000
    assert pod["terminationGracePeriodSeconds"] == 120
    assert pod["schedulerName"] == "gpu-binpack"
    claim = next(v for v in pod["volumes"] if v["name"] == "model-storage")
    assert claim["persistentVolumeClaim"] == {"claimName": "hf-cache", "readOnly": True}
    pod = deployment(converted, "v0.4-heterogeneous-oci", "decode")["spec"]["template"]["spec"]
    assert pod["priorityClassName"] == "inference-high"
    assert pod["imagePullSecrets"] == [{"name": "registry-example-com"}]
    assert pod["serviceAccountName"] == "model-runner"
    engine = pod["containers"][0]
    assert engine["startupProbe"]["periodSeconds"] == 30
    assert engine["startupProbe"]["failureThreshold"] == 60
    assert engine["readinessProbe"]["periodSeconds"] == 10
    template = one(objects(converted, "v0.4-heterogeneous-oci"), "ConfigMap",
                   "ms-chat-template")
    assert template["data"]["model"] == "ibm-granite/granite-3.3-8b-instruct"


@needs_routing
def test_pre_v03_routing_objects_carry_over(converted: dict[str, Path]) -> None:
    rendered = objects(converted, "v0.2-pd-qwen3")
    pool = one(rendered, "InferencePool")
    assert pool["apiVersion"] == "inference.networking.x-k8s.io/v1alpha2"
    assert one(rendered, "InferenceModel")["spec"]["criticality"] == "Critical"
    route = one(rendered, "HTTPRoute")
    assert route["spec"]["parentRefs"][0]["name"] == "llm-d-gateway"
    epp = one(rendered, "Deployment", "ms-epp")
    assert epp["spec"]["template"]["spec"]["containers"][0]["image"] == \
        "ghcr.io/llm-d/llm-d-inference-scheduler:v0.2.1"
    decode = one(rendered, "Deployment", "ms-decode")["spec"]["template"]["spec"]
    sidecar = next(c for c in decode["initContainers"] if c["name"] == "routing-proxy")
    assert {"--port=8000", "--vllm-port=8200"} <= set(sidecar["args"])
    nixl = {p["name"]: p["containerPort"] for p in decode["containers"][0]["ports"]}["nixl"]
    assert nixl == 5557
    pvc = objects(converted, "v0.2-pvc-llama70b")
    assert not find(pvc, "InferencePool") and not find(pvc, "HTTPRoute")
    assert not find(pvc, "Deployment", "ms-epp")


# --- scaling, multi-node, LoRA and monitoring -----------------------------------------


def _entries(name: str, status: Status) -> dict[str, str]:
    """Report entries of one status: input key (or target) -> target and detail."""
    return {format_path(e.source) if e.source else e.target_text: f"{e.target_text}: {e.detail}"
            for e in conversion(name).report.of(status)}


def test_data_parallel_group_with_an_hpa_and_a_podmonitor(converted: dict[str, Path]) -> None:
    rendered = objects(converted, "v0.3-dp-lws-hpa-monitor")
    group = one(rendered, "LeaderWorkerSet", "ms-decode")
    assert "replicas" not in group["spec"]  # the HPA owns it
    template = group["spec"]["leaderWorkerTemplate"]
    assert template["size"] == 2  # data 16 / dataLocal 8, the old workers
    assert template["subGroupPolicy"] == {"subGroupSize": 2}
    worker = template["workerTemplate"]["spec"]["containers"][0]
    assert "--headless --data-parallel-start-rank=$$((LWS_WORKER_INDEX * 8))" in worker["args"][0]
    assert "--data-parallel-rpc-port=5555" in worker["args"][0]
    assert worker["resources"]["limits"]["nvidia.com/gpu"] == 8
    hpa = one(rendered, "HorizontalPodAutoscaler", "ms-decode")["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "leaderworkerset.x-k8s.io/v1",
                                     "kind": "LeaderWorkerSet", "name": "ms-decode"}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 4)
    assert hpa["metrics"][0]["pods"]["metric"]["name"] == "vllm:num_requests_waiting"
    monitor = one(rendered, "PodMonitor", "ms-decode")
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["podMetricsEndpoints"] == [
        {"port": "http", "path": "/metrics", "interval": "15s"}]
    assert one(rendered, "PodMonitor", "ms-epp")["spec"]["podMetricsEndpoints"][0]["port"] == \
        "metrics"
    mapped = _entries("v0.3-dp-lws-hpa-monitor", Status.MAPPED)
    assert mapped["multinode"].startswith("decode.multiNode")
    assert mapped["decode.containers[0].args[2]"].startswith("decode.multiNode.coordinationPort")
    assert "decode.containers[0].args[1]" in _entries("v0.3-dp-lws-hpa-monitor", Status.SKIPPED)
    attention = _entries("v0.3-dp-lws-hpa-monitor", Status.UNMAPPED)
    assert set(attention) == {"decode.autoscaling.enabled", "decode.subGroupExclusiveTopology",
                              "decode.monitoring.podmonitor.relabelings"}
    assert "scaling on its metrics" in attention["decode.autoscaling.enabled"]


def test_tensor_and_pipeline_over_nodes_run_on_ray(converted: dict[str, Path]) -> None:
    rendered = objects(converted, "v0.4-ray-tp8-pp2")
    group = one(rendered, "LeaderWorkerSet", "ms-decode")["spec"]
    assert group["replicas"] == 1
    assert group["leaderWorkerTemplate"]["size"] == 2  # tensor 8 x pipeline 2 over 8-GPU pods
    worker = group["leaderWorkerTemplate"]["workerTemplate"]["spec"]["containers"][0]
    assert worker["args"] == ["exec ray start --address=$(LWS_LEADER_ADDRESS):6379 "
                              "--num-gpus=8 --block --disable-usage-stats"]
    assert worker["resources"]["limits"]["nvidia.com/gpu"] == 8
    assert not find(rendered, "HorizontalPodAutoscaler") and not find(rendered, "PodMonitor")
    values = conversion("v0.4-ray-tp8-pp2").values
    assert values["decode"]["multiNode"] == {"enabled": True, "mode": "ray",
                                             "acceleratorsPerNode": 8}
    assert values["engine"]["mode"] == "vllmServe"
    attention = _entries("v0.4-ray-tp8-pp2", Status.UNMAPPED)
    assert "imageDefault -> vllmServe" in attention["decode.containers[0].modelCommand"]
    skipped = _entries("v0.4-ray-tp8-pp2", Status.SKIPPED)
    assert "ray launch" in skipped["decode.containers[0].args[2]"]


def test_autoscaled_role_and_podmonitors_of_a_pd_release(converted: dict[str, Path]) -> None:
    rendered = objects(converted, "v0.4-heterogeneous-oci")
    assert "replicas" not in one(rendered, "Deployment", "granite-prefill")["spec"]
    assert one(rendered, "Deployment", "granite-decode")["spec"]["replicas"] == 1
    hpa = one(rendered, "HorizontalPodAutoscaler", "granite-prefill")["spec"]
    assert hpa["scaleTargetRef"]["kind"] == "Deployment"
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 2)
    assert "metrics" not in hpa
    assert not find(rendered, "HorizontalPodAutoscaler", "granite-decode")
    ports = {m["metadata"]["name"]: m["spec"]["podMetricsEndpoints"][0]
             for m in find(rendered, "PodMonitor")}
    assert ports["granite-decode"] == {"port": "vllm", "path": "/metrics", "interval": "15s"}
    assert ports["granite-prefill"]["port"] == "http"  # only decode enabled it: one setting
    mapped = _entries("v0.4-heterogeneous-oci", Status.MAPPED)
    assert "prefill scraped too" in mapped["decode.monitoring.podmonitor.enabled"]


def test_lora_flags_become_adapters(converted: dict[str, Path]) -> None:
    pod = deployment(converted, "v0.3-lora-adapters", "decode")["spec"]["template"]["spec"]
    args = pod["containers"][0]["args"]
    start = args.index("--lora-modules")
    assert args[start + 1:start + 3] == ["sql=/lora/sql", "support-chat=/lora-pvc/support-chat"]
    assert args.count("--enable-lora") == 1
    download = next(c for c in pod["initContainers"] if c["name"] == "lora-download")
    assert "my-org/llama-3.1-8b-sql-lora" in download["command"][-1]
    claim = next(v for v in pod["volumes"] if v["name"] == "lora-support-chat")
    assert claim["persistentVolumeClaim"]["claimName"] == "lora-adapters"
    assert conversion("v0.3-lora-adapters").values["lora"] == {
        "adapters": {"sql": {"uri": "hf://my-org/llama-3.1-8b-sql-lora"},
                     "support-chat": {"uri": "pvc://lora-adapters/support-chat"}},
        "maxLoras": 2, "maxLoraRank": 32}
    assert _entries("v0.3-lora-adapters", Status.UNMAPPED) == {}


def _converted(tmp_path: Path, text: str) -> tuple[dict[str, Any], dict[str, str], list[Obj]]:
    """(values, needs-attention entries, rendered objects) of an inline input file."""
    path, output, report = tmp_path / "in.yaml", tmp_path / "out.yaml", tmp_path / "r.json"
    path.write_text(text)
    result = run(str(path), "-o", str(output), "--report", str(report))
    assert result.exit_code == 0, result.stderr
    attention = {e["source"] or e["target"]: e["detail"]
                 for e in json.loads(report.read_text())["entries"]
                 if e["status"] == "needs attention"}
    return yaml.safe_load(output.read_text()), attention, render(output, release="case")


def _role(name: str, block: str = "", args: str = "", container: str = "") -> str:
    """One vLLM role of an input file: extra role keys (`block`), the flags (a YAML flow
    list's items) and extra engine container keys, as indented YAML."""
    return (f"{name}:\n  replicas: 1\n{block}  containers:\n    - name: vllm\n"
            "      image: vllm/vllm-openai:v0.10.1\n      modelCommand: vllmServe\n"
            f"      args: [{args}]\n{container}")


def _input(*roles: str, top: str = "") -> str:
    """An input file of the given roles, with `top` (YAML) at the top level."""
    return ("modelArtifacts:\n  uri: hf://Qwen/Qwen3-32B\nrouting:\n  proxy:\n"
            f"    enabled: false\n{top}" + "".join(roles))


GPU8 = "      resources:\n        limits:\n          nvidia.com/gpu: 8\n"


@pytest.mark.parametrize(("container", "note"), [
    (GPU8, None),
    ("", "acceleratorsPerNode: 8 (tensor x pipeline / 2 pods); the old pods requested 16"),
], ids=["explicit-8-gpus", "implied-16-gpus"])
def test_tensor_over_nodes_sizes_the_group_from_the_old_pods(
        tmp_path: Path, container: str, note: str | None) -> None:
    values, attention, rendered = _converted(tmp_path, _input(_role(
        "decode", "  parallelism: {tensor: 16, workers: 2}\n", container=container),
        top="multinode: true\n"))
    assert values["decode"]["multiNode"]["acceleratorsPerNode"] == 8
    assert one(rendered, "LeaderWorkerSet", "case-decode")["spec"]["leaderWorkerTemplate"][
        "size"] == 2
    assert attention == {}
    report = convert_file(tmp_path / "in.yaml", CHART).report
    defaulted = {e.target_text: e.detail for e in report.of(Status.DEFAULTED)}
    detail = defaulted["decode.multiNode.acceleratorsPerNode"]
    assert note is None or note in f"acceleratorsPerNode: {detail}"


def test_data_parallel_deployment_becomes_a_group(tmp_path: Path) -> None:
    values, attention, rendered = _converted(tmp_path, _input(_role(
        "decode", "  parallelism: {data: 16, dataLocal: 8}\n"), top="multinode: false\n"))
    assert values["decode"]["multiNode"]["mode"] == "dataParallel"
    assert one(rendered, "LeaderWorkerSet", "case-decode")["spec"]["leaderWorkerTemplate"][
        "size"] == 2
    assert "multinode false" in attention["decode.parallelism"]
    report = convert_file(tmp_path / "in.yaml", CHART).report
    skipped = {format_path(e.source): e.detail for e in report.of(Status.SKIPPED) if e.source}
    assert "decode spread one engine over pods" in skipped["multinode"]


@pytest.mark.parametrize(("block", "args", "reason"), [
    ("  parallelism: {data: 16, dataLocal: 8}\n", "--pipeline-parallel-size, '2'",
     "pipeline parallelism does not combine"),
    ("  parallelism: {tensor: 4, workers: 3}\n", "",
     "tensor x pipeline (4) does not split evenly over 3 pods"),
], ids=["dp-with-pipeline", "uneven-split"])
def test_layouts_the_chart_cannot_launch_stay_single_pods(tmp_path: Path, block: str,
                                                           args: str, reason: str) -> None:
    values, attention, rendered = _converted(tmp_path, _input(
        _role("decode", block, args), top="multinode: true\n"))
    assert "multiNode" not in values["decode"]
    assert not find(rendered, "LeaderWorkerSet")
    assert reason in attention["decode.parallelism"]
    assert "do NOT form one engine" in attention["decode.parallelism"]


def test_hpa_keys_a_generator_wrote_are_carried_over(tmp_path: Path) -> None:
    values, attention, rendered = _converted(tmp_path, _input(_role(
        "decode", "  autoscaling:\n    enabled: true\n    minReplicas: 1\n"
        "    maxReplicas: 5\n    targetCPUUtilizationPercentage: 70\n    cooldown: 30\n")))
    hpa = one(rendered, "HorizontalPodAutoscaler", "case-decode")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (1, 5)
    assert hpa["metrics"] == [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 70}}}]
    assert "carry it over by hand" in attention["decode.autoscaling.cooldown"]
    assert values["decode"]["autoscaling"]["enabled"] is True


def test_lora_in_a_volume_filled_at_run_time_stays_raw(tmp_path: Path) -> None:
    values, attention, rendered = _converted(tmp_path, _input(_role(
        "decode", "  volumes:\n    - name: adapters\n      emptyDir: {}\n",
        args="--enable-lora, --lora-modules, sql=/adapters/sql, chat=org/chat-lora",
        container="      volumeMounts:\n        - {name: adapters, mountPath: /adapters}\n")))
    assert "lora" not in values
    args = one(rendered, "Deployment", "case-decode")["spec"]["template"]["spec"][
        "containers"][0]["args"]
    assert args[-4:] == ["--enable-lora", "--lora-modules", "sql=/adapters/sql",
                         "chat=org/chat-lora"]
    assert "volume 'adapters' (emptyDir)" in attention["decode.containers[0].args[2]"]


def test_lora_of_one_role_is_shared_with_the_other(tmp_path: Path) -> None:
    text = _input(_role("decode", args="--lora-modules, sql=org/sql-lora"), _role("prefill"))
    values, _, rendered = _converted(tmp_path, text)
    assert values["lora"] == {"adapters": {"sql": {"uri": "hf://org/sql-lora"}}}
    for role in ("decode", "prefill"):
        args = one(rendered, "Deployment", f"case-{role}")["spec"]["template"]["spec"][
            "containers"][0]["args"]
        assert "sql=/lora/sql" in args
    report = convert_file(tmp_path / "in.yaml", CHART).report
    mapped = {format_path(e.source): e.detail for e in report.of(Status.MAPPED) if e.source}
    assert "prefill now loads them too" in mapped["decode.containers[0].args[1]"]


def test_podmonitor_settings_the_roles_disagree_on(tmp_path: Path) -> None:
    monitor = "  monitoring:\n    podmonitor: {{enabled: true, interval: {}}}\n"
    text = _input(_role("decode", monitor.format("15s")), _role("prefill", monitor.format("30s")))
    values, attention, rendered = _converted(tmp_path, text)
    assert values["monitoring"] == {"podMonitor": {"enabled": True, "interval": "15s"}}
    assert "differs from decode's '15s'" in attention["prefill.monitoring.podmonitor.interval"]
    for role in ("decode", "prefill"):
        endpoint = one(rendered, "PodMonitor", f"case-{role}")["spec"]["podMetricsEndpoints"][0]
        assert endpoint["interval"] == "15s"


# --- the report -----------------------------------------------------------------------


def _attention(name: str) -> dict[str, str]:
    return {format_path(e.source) if e.source else e.target_text: e.detail
            for e in conversion(name).report.of(Status.UNMAPPED)}


def test_unmappable_input_is_reported_with_a_reason() -> None:
    wide = _attention("v0.3-wide-ep-lws")
    assert "do NOT form one engine" in wide["decode.parallelism"]
    assert "kustomize patch" in wide["decode.hostIPC"]
    assert "LWS_* variables" in wide["multinode"]
    assert "decode.subGroupPolicy" in wide
    oci = _attention("v0.4-heterogeneous-oci")
    for key in ("requester", "decode.extraConfig.runtimeClassName", "tracing"):
        assert key in oci, key
    for key in ("decode.accelerator.dra", "decode.resourceClaims[0]",
                "decode.containers[0].resources.claims"):
        assert key not in oci, key
    assert "dual-pod" in oci["requester"]
    assert "average CPU utilization" in oci["prefill.autoscaling.enabled"]
    assert "Remove the external autoscaler" in oci["prefill.autoscaling.enabled"]
    assert "decode.monitoring" not in oci
    assert "vllmServe" in wide["decode.parallelism"]
    assert "mode: dataParallel, acceleratorsPerNode: 8" in wide["decode.parallelism"]
    assert _attention("v0.2-pvc-llama70b") == {}
    defaulted = {e.target_text: e.detail
                 for e in conversion("v0.3-wide-ep-lws").report.of(Status.DEFAULTED)}
    assert "mountModelVolume was off" in defaulted["decode.volumeMounts"]


def test_report_says_where_each_key_went() -> None:
    report = conversion("v0.2-pd-qwen3").report
    mapped = {format_path(e.source): e.target_text for e in report.of(Status.MAPPED)}
    assert mapped["routing.modelName"] == "model.name"
    assert mapped["decode.containers[0].args[0]"] == "engine.args.enforce-eager"
    assert mapped["decode.containers[0].args[4]"] == "routing.kvTransfer"
    assert mapped["decode.containers[0].env[2]"] == "routing.kvTransfer.sideChannelPort"
    assert mapped["decode.replicas"] == "decode.replicas"
    assert mapped["routing.parentRefs[0]"] == "routing.httpRoute.gateway"
    skipped = {format_path(e.source) for e in report.of(Status.SKIPPED)}
    assert "decode.containers[0].resources.limits.nvidia.com/gpu" in skipped
    assert "routing.proxy.image" in skipped


@pytest.mark.parametrize(("name", "preset"), [
    ("v0.2-pd-qwen3", "pd-a100"), ("v0.2-pvc-llama70b", "nvidia-h100"),
    ("v0.3-cpu-sim", "cpu-sim"), ("v0.3-pvc-hf-custom", "nvidia-l4"),
    ("v0.4-rebellions-atom", None),
])
def test_closest_preset(name: str, preset: str | None) -> None:
    assert conversion(name).preset == preset


# --- the command ----------------------------------------------------------------------


def run(*args: str) -> Any:
    return CliRunner().invoke(import_group, ["llm-d-modelservice", *args])


def test_command_prints_values_and_reports_on_stderr() -> None:
    result = run(str(FIXTURES / "v0.3-cpu-sim.yaml"))
    assert result.exit_code == 0, result.stderr
    assert yaml.safe_load(result.stdout) == conversion("v0.3-cpu-sim").values
    assert result.stdout.startswith("# Converted by `mst import llm-d-modelservice`")
    assert "closest preset: cpu-sim" in result.stderr
    assert ("v0.3-cpu-sim.yaml:7:3: modelArtifacts.uri -> model.uri: 'hf://{{ .Values."
            "modelArtifacts.name }}' resolved to 'hf://random/model'") in result.stderr


def test_command_writes_values_and_a_json_report(tmp_path: Path) -> None:
    output, report = tmp_path / "model.yaml", tmp_path / "report.json"
    result = run(str(FIXTURES / "v0.3-wide-ep-lws.yaml"), "-o", str(output),
                 "--report", str(report))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert f"wrote {output}" in result.stderr
    assert yaml.safe_load(output.read_text()) == conversion("v0.3-wide-ep-lws").values
    data = json.loads(report.read_text())
    assert data["generation"] == "v0.3"
    statuses = {entry["status"] for entry in data["entries"]}
    assert statuses == {"mapped", "defaulted", "not needed", "needs attention"}


def test_strict_fails_when_keys_need_attention(tmp_path: Path) -> None:
    strict = run(str(FIXTURES / "v0.3-wide-ep-lws.yaml"), "--strict", "-o",
                 str(tmp_path / "a.yaml"))
    assert strict.exit_code == 1
    # 4 keys, plus what `mst validate` rejects: 8 GPUs for ranks the chart cannot read
    # from the custom command's shell variables
    assert "5 input key(s) need attention" in strict.stderr
    assert "mst validate: rejects the converted values" in strict.stderr
    assert run(str(FIXTURES / "v0.3-cpu-sim.yaml"), "--strict").exit_code == 0


@pytest.mark.parametrize(("text", "needles"), [
    ("decode: [\n", ["in.yaml:2:1", "invalid YAML"]),
    ("model:\n  uri: hf://a/b\n", ["not a values file of the llm-d modelservice chart"]),
    ("decode:\n  containers:\n    - name: vllm\n      image: vllm/vllm-openai:v0.10.1\n",
     ["in.yaml:3:7", "decode.containers[0]", "modelCommand is custom", "no command"]),
    ("decode:\n  containers:\n    - image: vllm/vllm-openai:v0.10.1\n"
     "      modelCommand: vllmserve\n", ["in.yaml:4:7", "'vllmserve' is not vllmServe"]),
    ("decode:\n  create: false\n", ["neither decode nor prefill renders any pod"]),
])
def test_bad_input_fails_cleanly(tmp_path: Path, text: str, needles: list[str]) -> None:
    path = tmp_path / "in.yaml"
    path.write_text(text)
    result = run(str(path), "-o", str(tmp_path / "out.yaml"))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.stderr, result.stderr
    assert not (tmp_path / "out.yaml").exists()


def test_missing_file_and_own_values_are_refused(tmp_path: Path) -> None:
    missing = run(str(tmp_path / "nope.yaml"))
    assert missing.exit_code == 2
    assert "values file not found" in missing.stderr
    ours = run(str(EXAMPLES / "llama-3.1-8b.yaml"))
    assert ours.exit_code == 2
    assert "not a values file of the llm-d modelservice chart" in ours.stderr


def test_literal_braces_in_commands_survive_tpl(tmp_path: Path) -> None:
    path = tmp_path / "in.yaml"
    path.write_text(
        "modelArtifacts:\n  uri: hf://Qwen/Qwen3-0.6B\n"
        "decode:\n  containers:\n    - name: vllm\n      image: vllm/vllm-openai:v0.10.1\n"
        "      command: [sh, -c]\n      args: ['echo {{ not a template }}; vllm serve x']\n")
    output = tmp_path / "out.yaml"
    assert run(str(path), "-o", str(output)).exit_code == 0
    decode = one(render(output, release="braces"), "Deployment", "braces-decode")
    assert decode["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "echo {{ not a template }}; vllm serve x"]


# --- the pieces -----------------------------------------------------------------------


def test_vllm_args_are_parsed_like_vllm_reads_them() -> None:
    parsed = parse(["--max-model-len", "8192", "--enforce-eager", "--gpu_memory_utilization=0.9",
                    "--kv-transfer-config", '{"kv_connector": "NixlConnector"}', "--seed", "-1",
                    "--lora-modules", "a=/a", "--lora-modules", "b=/b", "positional", "-tp", "2"])
    assert parsed.flags == {"max-model-len": 8192, "enforce-eager": True,
                            "gpu-memory-utilization": 0.9,
                            "kv-transfer-config": {"kv_connector": "NixlConnector"},
                            "seed": -1, "tensor-parallel-size": 2}
    assert parsed.extra == ["--lora-modules", "a=/a", "--lora-modules", "b=/b", "positional"]
    assert parsed.positionals == ["positional"]
    assert [typed(v) for v in ("0.90", "1e-5", "true", "007", "[1, 2]")] == \
        ["0.90", "1e-5", "true", "007", "[1, 2]"]


def test_templates_resolve_old_values_and_escape_literals() -> None:
    values = {"modelArtifacts": {"name": "org/model"}}
    assert resolve('hf://"{{ .Values.modelArtifacts.name }}"', values) == (
        'hf://"org/model"', [])
    assert resolve("{{ .Release.Name }}-x", values) == ("{{ .Release.Name }}-x", [])
    assert resolve("{{ include \"x\" . }}", values)[1] == ['{{ include "x" . }}']
    assert escape("a {{ b }}") == 'a {{ "{{" }} b }}'


def test_shared_settings_are_split_entry_by_entry() -> None:
    decode = {"args": {"a": 1, "b": 2}, "image": {"repository": "x", "tag": "1"}}
    prefill = {"args": {"a": 1, "b": 3}, "image": {"repository": "y", "tag": "1"}}
    shared, only_decode, only_prefill = split_common(decode, prefill)
    assert shared == {"args": {"a": 1}}
    assert only_decode == {"args": {"b": 2}, "image": {"repository": "x", "tag": "1"}}
    assert only_prefill == {"args": {"b": 3}, "image": {"repository": "y", "tag": "1"}}


@pytest.mark.parametrize(("text", "needles"), [
    ("decode:\n  replicas: two\n", ["in.yaml:2:3", "decode.replicas must be an integer"]),
    ("decode:\n  containers:\n    name: vllm\n",
     ["in.yaml:2:3", "decode.containers must be a list"]),
    ("modelArtifacts:\n  uri: [hf]\n", ["in.yaml:2:3", "modelArtifacts.uri must be a string"]),
    ("routing:\n  servicePort: true\n", ["routing.servicePort must be an integer"]),
])
def test_wrong_shapes_are_located(tmp_path: Path, text: str, needles: list[str]) -> None:
    path = tmp_path / "in.yaml"
    path.write_text(text)
    result = run(str(path))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.stderr, result.stderr


@pytest.mark.parametrize(("kind", "resource"), [
    ("nvidia", "nvidia.com/gpu"), ("amd", "amd.com/gpu"), ("intel-gaudi", "habana.ai/gaudi"),
    ("intel-xe", "gpu.intel.com/xe"), ("intel-i915", "gpu.intel.com/i915"),
    ("google", "google.com/tpu"), ("rebellions-atom", "rebellions.ai/ATOM"), ("cpu", None),
])
def test_each_accelerator_type_requests_its_resource(tmp_path: Path, kind: str,
                                                     resource: str | None) -> None:
    path, output = tmp_path / "in.yaml", tmp_path / "out.yaml"
    path.write_text(
        f"accelerator:\n  type: {kind}\nmodelArtifacts:\n  uri: hf://Qwen/Qwen3-8B\n"
        "decode:\n  parallelism: {tensor: 2, dataLocal: 2, data: 2}\n"
        "  containers:\n    - name: vllm\n      image: vllm/vllm-openai:v0.10.1\n"
        "      modelCommand: vllmServe\n")
    result = run(str(path), "-o", str(output), "--strict")
    if resource is None:  # 4 ranks on a pod without accelerators: `mst validate` objects
        assert result.exit_code == 1, result.stderr
        assert "mst validate: rejects the converted values" in result.stderr
        assert "parallelism needs 4 accelerators per pod but the pod requests none" in \
            result.stderr
    else:
        assert result.exit_code == 0, result.stderr
    decode = one(render(output, release=f"acc-{kind}"), "Deployment", f"acc-{kind}-decode")
    limits = decode["spec"]["template"]["spec"]["containers"][0].get("resources", {}).get(
        "limits", {})
    assert {k: v for k, v in limits.items() if "/" in k} == ({resource: 4} if resource else {})


def test_flags_the_chart_manages_leave_engine_args(tmp_path: Path) -> None:
    """Every flag the chart renders itself (files/facts.yaml, the `always` group), given to
    an old engine, leaves engine.args: mapped to the key the chart reads, or reported. So
    the converted values render, as the chart refuses these flags in engine.args."""
    managed = chart_facts(CHART).managed_flags["always"]
    args = ", ".join(f'"--{flag}"' if flag.startswith("enable-") else f'"--{flag}=1"'
                     for flag in managed)
    values, attention, rendered = _converted(tmp_path, _input(_role("decode", args=args)))
    engines = [values.get("engine") or {}, (values.get("decode") or {}).get("engine") or {}]
    assert not {flag for engine in engines for flag in engine.get("args") or {}} & set(managed)
    assert {"decode.containers[0].args[0]", "decode.containers[0].args[1]"} <= set(attention)
    assert one(rendered, "Deployment", "case-decode")


def test_lora_flags_are_the_ones_the_chart_manages() -> None:
    """The LoRA flags the converter turns into `lora` are those the chart then refuses in
    engine.args (files/facts.yaml, the `lora` group)."""
    from modelservice_tool.importer.lora_args import MODULES, SIZES

    assert {MODULES, "enable-lora", *SIZES} == set(chart_facts(CHART).managed_flags["lora"])
