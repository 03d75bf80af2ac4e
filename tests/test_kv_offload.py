"""Tiered prefix cache (kvOffload) and role files: the engines' --kv-transfer-config as vLLM
reads it (a MultiConnector's `connectors` list of KVTransferConfig dicts, vLLM's
kv_connector/v1/multi_connector.py) agreeing with the routing sidecar and the pod's memory, and
every files ConfigMap a pod mounts being rendered."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from modelservice_tool.upstream import check_contracts, run_contract_checks
from support import Obj, epp_config, find, render, render_values, sample_files, samples

SAMPLE = next(s for s in samples() if s["name"] == "qwen3-32b-pd-offload")
GIB = 1 << 30
# The routing sidecar's --kv-connector and the vLLM connector it drives (chart's P/D default).
SIDECAR_CONNECTOR = {"nixlv2": "NixlConnector"}


def engines(objects: list[Obj]) -> list[dict]:
    return [d["spec"]["template"]["spec"] for d in find(objects, "Deployment")
            if "llm-d.ai/role" in d["spec"]["template"]["metadata"]["labels"]]


def transfer_config(pod: dict) -> dict:
    flag = next(a for a in pod["containers"][0]["args"] if a.startswith("--kv-transfer-config="))
    return json.loads(flag.split("=", 1)[1])


def quantity_gib(value: str) -> int:
    assert value.endswith("Gi"), value
    return int(value[:-2])


def test_each_engine_composes_nixl_and_the_cpu_tier() -> None:
    objects = render(*sample_files(SAMPLE), release=SAMPLE["release"])
    pods = engines(objects)
    assert len(pods) == 2
    for pod in pods:
        config = transfer_config(pod)
        assert config["kv_connector"] == "MultiConnector"
        nixl, offload = config["kv_connector_extra_config"]["connectors"]
        assert nixl["kv_connector"] == "NixlConnector"
        assert offload["kv_connector"] == "OffloadingConnector"
        tier = offload["kv_connector_extra_config"]["cpu_bytes_to_use"]
        memory = pod["containers"][0]["resources"]["requests"]["memory"]
        assert tier < quantity_gib(memory) * GIB, "the memory request holds the CPU tier"
    decode = next(p for p in pods if p.get("initContainers"))
    sidecar = decode["initContainers"][0]
    connector = next(a.split("=", 1)[1] for a in sidecar["args"]
                     if a.startswith("--kv-connector="))
    assert SIDECAR_CONNECTOR[connector] == "NixlConnector"


def test_without_pd_the_offloading_connector_stands_alone(tmp_path: Path) -> None:
    objects = render_values(tmp_path, {"model": {"uri": "hf://org/m"},
                                       "kvOffload": {"enabled": True, "cpuGiB": 8}})
    (pod,) = engines(objects)
    assert transfer_config(pod) == {
        "kv_connector": "OffloadingConnector", "kv_role": "kv_both",
        "kv_connector_extra_config": {"cpu_bytes_to_use": 8 * GIB}}


def test_every_mounted_files_configmap_is_rendered(tmp_path: Path) -> None:
    objects = render_values(tmp_path, {"prefill": {"files": {"x.json": "{}"}}},
                            *sample_files(SAMPLE))
    names = {c["metadata"]["name"] for c in find(objects, "ConfigMap")}
    mounted = {v["configMap"]["name"] for pod in engines(objects) for v in pod["volumes"]
               if "configMap" in v}
    assert mounted == {"test-prefill-files"}
    assert mounted <= names


def test_the_epp_scores_the_cpu_tier_with_its_own_producer() -> None:
    """kvOffload.prefixScoring: a second, named approx-prefix-cache-producer sized to the
    CPU tier, and a scorer reading it, in both P/D profiles (llm-d-router v0.10.0 named
    producer instances); the sample's config passes the EPP contract, and a scorer pointed
    at an undeclared producer is caught."""
    sample = next(s for s in samples() if s["name"] == "qwen3-32b-pd-offload")
    objects = render(*sample_files(sample))
    config = epp_config(objects)
    by_name = {p.get("name") or p["type"]: p for p in config["plugins"]}
    producer = by_name["cpu-prefix-cache-producer"]
    assert producer["type"] == "approx-prefix-cache-producer"
    assert producer["parameters"]["autoTune"] is False
    # 100 GiB / (256 KiB per token x 64 tokens per block)
    assert producer["parameters"]["lruCapacityPerServer"] == 100 * 2**30 // (256 * 2**10 * 64)
    scorer = by_name["cpu-prefix-cache-scorer"]["parameters"]
    assert scorer == {"prefixMatchInfoProducerName": "cpu-prefix-cache-producer"}
    for profile in config["schedulingProfiles"]:
        assert {"pluginRef": "cpu-prefix-cache-scorer", "weight": 1} in profile["plugins"]
    assert [str(f) for f in run_contract_checks(objects)] == []
    by_name["cpu-prefix-cache-scorer"]["parameters"]["prefixMatchInfoProducerName"] = "cpu-tier"
    broken = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "epp"},
               "data": {"config.yaml": yaml.safe_dump(config)}}]
    assert any("prefixMatchInfoProducerName 'cpu-tier' is no prefix-cache producer" in f.message
               for f in check_contracts(broken))
