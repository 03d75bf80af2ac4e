"""Autoscaling, disruption budgets, multi-node LeaderWorkerSets, static LoRA and PodMonitors:
rendered objects validate (core and upstream CRDs) and agree with each other."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest

from support import (
    assert_valid_stack,
    find,
    one,
    render_values,
    sample_files,
    samples,
)

Obj = dict[str, Any]
BASE = {"model": {"uri": "hf://org/model"}}


def render(tmp_path: Path, values: dict[str, Any], *files: Path) -> list[Obj]:
    return render_values(tmp_path, {**BASE, **values}, *files)


AUTOSCALING = {
    "enabled": True, "minReplicas": 2, "maxReplicas": 6,
    "metrics": {"waiting": {"type": "Pods", "pods": {
        "metric": {"name": "vllm:num_requests_waiting"},
        "target": {"type": "AverageValue", "averageValue": "5"}}}},
    "behavior": {"scaleDown": {"stabilizationWindowSeconds": 600}},
}


def test_hpa_owns_replicas_of_a_deployment(tmp_path: Path) -> None:
    objects = render(tmp_path, {"decode": {"replicas": 3, "autoscaling": AUTOSCALING}})
    assert_valid_stack(objects)
    assert "replicas" not in one(objects, "Deployment", "test-decode")["spec"]
    hpa = one(objects, "HorizontalPodAutoscaler", "test-decode")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": "test-decode"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)
    assert hpa["spec"]["metrics"][0]["pods"]["metric"]["name"] == "vllm:num_requests_waiting"
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 600


def test_hpa_scales_a_leaderworkerset(tmp_path: Path) -> None:
    objects = render(tmp_path, {"decode": {
        "parallelism": {"tensor": 16}, "multiNode": {"enabled": True},
        "autoscaling": AUTOSCALING}})
    assert_valid_stack(objects)
    assert "replicas" not in one(objects, "LeaderWorkerSet", "test-decode")["spec"]
    hpa = one(objects, "HorizontalPodAutoscaler", "test-decode")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "leaderworkerset.x-k8s.io/v1",
                                             "kind": "LeaderWorkerSet", "name": "test-decode"}


@pytest.mark.parametrize(
    ("budget", "expected"),
    [
        ({"enabled": True}, {"maxUnavailable": 1}),
        ({"enabled": True, "maxUnavailable": 0}, {"maxUnavailable": 0}),
        ({"enabled": True, "minAvailable": "50%"}, {"minAvailable": "50%"}),
    ],
)
def test_pod_disruption_budget(tmp_path: Path, budget: dict[str, Any],
                               expected: dict[str, Any]) -> None:
    objects = render(tmp_path, {"decode": {"podDisruptionBudget": budget}})
    assert_valid_stack(objects)
    pdb = one(objects, "PodDisruptionBudget", "test-decode")
    spec = dict(pdb["spec"])
    selector = spec.pop("selector")
    assert spec == expected
    deployment = one(objects, "Deployment", "test-decode")
    assert selector == deployment["spec"]["selector"]


# (parallelism, multiNode, size, accelerators per pod, mode)
LAYOUTS = [
    # tensor larger than one node: 2 nodes of 8 (the case other tools render with size 1)
    ({"tensor": 16}, {}, 2, 8, "ray"),
    ({"tensor": 8, "pipeline": 2}, {}, 2, 8, "ray"),
    ({"tensor": 8, "pipeline": 4}, {}, 4, 8, "ray"),
    ({"tensor": 4, "pipeline": 2}, {"acceleratorsPerNode": 4}, 2, 4, "ray"),
    # data > dataLocal: one engine's data-parallel ranks spread over pods
    ({"data": 16, "dataLocal": 8, "expert": True}, {}, 2, 8, "dataParallel"),
    ({"tensor": 2, "data": 8, "dataLocal": 4}, {}, 2, 8, "dataParallel"),
    ({"data": 32, "dataLocal": 8}, {}, 4, 8, "dataParallel"),
]


@pytest.mark.parametrize(("parallelism", "multi", "size", "per_pod", "mode"), LAYOUTS)
def test_group_size_follows_parallelism(tmp_path: Path, parallelism: dict[str, Any],
                                        multi: dict[str, Any], size: int, per_pod: int,
                                        mode: str) -> None:
    objects = render(tmp_path, {"decode": {
        "parallelism": parallelism, "multiNode": {"enabled": True, **multi}}})
    assert_valid_stack(objects)
    lws = one(objects, "LeaderWorkerSet", "test-decode")
    template = lws["spec"]["leaderWorkerTemplate"]
    assert template["size"] == size
    for kind in ("leaderTemplate", "workerTemplate"):
        engine = template[kind]["spec"]["containers"][0]
        assert engine["resources"]["limits"]["nvidia.com/gpu"] == per_pod
    leader = template["leaderTemplate"]["spec"]["containers"][0]
    worker = template["workerTemplate"]["spec"]["containers"][0]
    if mode == "ray":
        assert "ray start --head" in leader["args"][0]
        assert "--distributed-executor-backend=ray" in leader["args"][0]
        assert worker["args"] == [
            f"exec ray start --address=$(LWS_LEADER_ADDRESS):6379 --num-gpus={per_pod} "
            "--block --disable-usage-stats"]
    else:
        assert leader["command"] == ["vllm", "serve"]
        assert "--data-parallel-address=$(LWS_LEADER_ADDRESS)" in leader["args"]
        assert "--data-parallel-start-rank=0" in leader["args"]
        script = worker["args"][0]
        local = parallelism["dataLocal"]
        assert script.endswith(
            f"--headless --data-parallel-start-rank=$$((LWS_WORKER_INDEX * {local}))")
        words = shlex.split(script.replace("$$((", "\\$$(("))
        assert f"--data-parallel-size={parallelism['data']}" in words


def test_leader_and_worker_come_from_the_same_partial(tmp_path: Path) -> None:
    objects = render(tmp_path, {"decode": {"parallelism": {"tensor": 16},
                                           "multiNode": {"enabled": True}}})
    template = one(objects, "LeaderWorkerSet", "test-decode")["spec"]["leaderWorkerTemplate"]
    leader, worker = template["leaderTemplate"], template["workerTemplate"]
    for spec in (leader["spec"], worker["spec"]):
        for key in ("args", "command", "startupProbe", "readinessProbe", "livenessProbe"):
            spec["containers"][0].pop(key, None)
    leader["metadata"]["labels"].pop("llm-d.ai/inferenceServing")
    worker["metadata"]["labels"].pop("llm-d.ai/inferenceServing")
    assert leader == worker


def test_only_serving_pods_behind_service_and_pool(tmp_path: Path) -> None:
    objects = render(tmp_path, {"decode": {"parallelism": {"data": 16, "dataLocal": 8},
                                           "multiNode": {"enabled": True}}})
    template = one(objects, "LeaderWorkerSet", "test-decode")["spec"]["leaderWorkerTemplate"]
    leader = template["leaderTemplate"]["metadata"]["labels"]
    worker = template["workerTemplate"]["metadata"]["labels"]
    for selector in (one(objects, "Service", "test-decode")["spec"]["selector"],
                     one(objects, "InferencePool", "test")["spec"]["selector"]["matchLabels"]):
        assert all(leader.get(k) == v for k, v in selector.items())
        assert not all(worker.get(k) == v for k, v in selector.items())
    workers = template["workerTemplate"]["spec"]["containers"][0]
    assert "readinessProbe" not in workers


def test_lws_policies_and_exclusive_topology(tmp_path: Path) -> None:
    objects = render(tmp_path, {"decode": {"parallelism": {"tensor": 16}, "multiNode": {
        "enabled": True, "startupPolicy": "LeaderReady", "restartPolicy": "None",
        "subGroupSize": 1, "exclusiveTopology": "cloud.google.com/gke-nodepool"}}})
    assert_valid_stack(objects)
    lws = one(objects, "LeaderWorkerSet", "test-decode")
    assert lws["metadata"]["annotations"] == {
        "leaderworkerset.sigs.k8s.io/exclusive-topology": "cloud.google.com/gke-nodepool"}
    assert lws["spec"]["startupPolicy"] == "LeaderReady"
    assert lws["spec"]["leaderWorkerTemplate"]["restartPolicy"] == "None"
    assert lws["spec"]["leaderWorkerTemplate"]["subGroupPolicy"] == {"subGroupSize": 1}


LORA = {"adapters": {
    "sql": {"uri": "hf://my-org/sql-lora", "revision": "v2"},
    "chat": {"uri": "pvc://adapters/teams/chat"},
    "car": {"uri": "oci://quay.io/org/lora:1", "imagePath": "adapter"},
    "gone": None,
}, "maxLoras": 3, "maxLoraRank": 64}


def test_lora_modules_point_where_adapters_land(tmp_path: Path) -> None:
    objects = render(tmp_path, {"lora": LORA, "model": {"uri": "hf://org/m",
                                                        "authSecretName": "hf"}})
    assert_valid_stack(objects)
    spec = one(objects, "Deployment", "test-decode")["spec"]["template"]["spec"]
    engine = spec["containers"][0]
    args = engine["args"]
    start = args.index("--lora-modules") + 1
    modules = dict(arg.split("=", 1) for arg in args[start:start + 3])
    assert set(modules) == {"sql", "chat", "car"}
    assert "--enable-lora" in args and "--max-loras=3" in args and "--max-lora-rank=64" in args
    mounts = {m["mountPath"]: m for m in engine["volumeMounts"]}

    def mounted(path: str) -> dict[str, Any]:
        root = max((m for m in mounts if path == m or path.startswith(m + "/")), key=len)
        return mounts[root]

    assert mounted(modules["sql"])["name"] == "lora-downloads"
    assert mounted(modules["chat"]) == {"name": "lora-chat", "mountPath": "/lora-pvc/chat",
                                        "readOnly": True, "subPath": "teams/chat"}
    assert modules["car"] == "/lora-oci/car/adapter"
    assert mounted(modules["car"])["readOnly"] is True
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["lora-chat"]["persistentVolumeClaim"] == {"claimName": "adapters",
                                                             "readOnly": True}
    assert volumes["lora-car"]["image"]["reference"] == "quay.io/org/lora:1"
    downloader = next(c for c in spec["initContainers"] if c["name"] == "lora-download")
    script = downloader["command"][2]
    assert 'snapshot_download(repo_id="my-org/sql-lora", revision="v2", local_dir="/lora/sql")' \
        in script
    assert {"name": "lora-downloads", "mountPath": "/lora"} in downloader["volumeMounts"]
    assert any(e["name"] == "HF_TOKEN" and "secretKeyRef" in e["valueFrom"]
               for e in downloader["env"])


def test_pod_monitors_per_role_and_epp(tmp_path: Path) -> None:
    sample = next(s for s in samples() if s["name"] == "gpt-oss-120b-pd")
    objects = render_values(tmp_path, {"monitoring": {"podMonitor": {
        "enabled": True, "interval": "15s", "labels": {"release": "prometheus"}}}},
        *sample_files(sample))
    assert_valid_stack(objects)
    monitors = {m["metadata"]["name"]: m for m in find(objects, "PodMonitor")}
    assert set(monitors) == {"test-decode", "test-prefill", "test-epp"}
    decode = monitors["test-decode"]
    assert decode["metadata"]["labels"]["release"] == "prometheus"
    endpoint = decode["spec"]["podMetricsEndpoints"][0]
    assert endpoint == {"port": "vllm", "path": "/metrics", "interval": "15s"}
    pod = one(objects, "Deployment", "test-decode")["spec"]["template"]
    assert endpoint["port"] in [p["name"] for p in pod["spec"]["containers"][0]["ports"]]
    assert monitors["test-prefill"]["spec"]["podMetricsEndpoints"][0]["port"] == "http"
    assert monitors["test-epp"]["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"
