"""Precise prefix-cache-aware routing (routing.epp.profile precise-prefix-cache): the EPP
config against the llm-d-router v0.10.0 contract data (plugin types, parameters, the nested
fields of token-producer / precise-prefix-cache-producer, dataLayer), and the objects agreeing
with each other: the ports the engines publish KV events on are the ones the EPP dials, the
token-producer calls the render sidecar's port, and the EPP pod is not in the pool."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from modelservice_tool.upstream import check_contracts, run_contract_checks
from support import Obj, epp_config, one, render, render_values, sample_files, samples

SAMPLE = next(s for s in samples() if s["name"] == "qwen3-8b-precise-prefix-cache")


def objects() -> list[Obj]:
    return render(*sample_files(SAMPLE), release=SAMPLE["release"])



def plugin(config: dict, kind: str) -> dict:
    return next(p for p in config["plugins"] if p["type"] == kind)


def with_config(config: dict) -> list[Obj]:
    return [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "epp"},
             "data": {"config.yaml": yaml.safe_dump(config)}}]


def test_the_sample_matches_the_contract_data() -> None:
    assert [str(f) for f in run_contract_checks(objects())] == []


def test_a_wrong_nested_field_is_caught() -> None:
    config = copy.deepcopy(epp_config(objects()))
    producer = plugin(config, "precise-prefix-cache-producer")
    producer["parameters"]["kvEventsConfig"]["podDiscoveryConfig"]["socketPorts"] = 1
    plugin(config, "token-producer")["parameters"]["vllm"]["endpoint"] = "x"
    messages = [f.message for f in check_contracts(with_config(config))]
    assert any("kvEventsConfig.podDiscoveryConfig has no field 'socketPorts'" in m
               for m in messages), messages
    assert any("vllm has no field 'endpoint'" in m for m in messages), messages


def test_a_data_layer_reference_to_an_undeclared_plugin_is_caught() -> None:
    config = copy.deepcopy(epp_config(objects()))
    config["dataLayer"]["sources"][0]["extractors"].append({"pluginRef": "ghost"})
    config["dataLayer"]["source"] = []
    messages = [f.message for f in check_contracts(with_config(config))]
    assert "dataLayer extractor references undeclared plugin 'ghost'" in messages
    assert any("dataLayer: unknown field 'source'" in m for m in messages), messages


def test_each_rank_publishes_on_its_own_container_port(tmp_path: Path) -> None:
    """vLLM offsets the publisher port by the data-parallel rank, so a pod with two ranks
    exposes socketPort and socketPort + 1. The EPP dials socketPort + the endpoint's position
    in the pool's targetPorts: with one targetPort it subscribes to rank 0 only; with
    parallelism.httpPerRank it dials every rank (tests/test_per_rank.py)."""
    objs = render_values(tmp_path, {"decode": {"parallelism": {"data": 2, "dataLocal": 2}}},
                         *sample_files(SAMPLE))
    socket_port = plugin(epp_config(objs), "precise-prefix-cache-producer")["parameters"][
        "kvEventsConfig"]["podDiscoveryConfig"]["socketPort"]
    engine = one(objs, "Deployment", "test-decode")["spec"]["template"]["spec"][
        "containers"][0]
    ports = {p["containerPort"] for p in engine["ports"] if p["name"].startswith("kv-events")}
    assert ports == {socket_port, socket_port + 1}
    flag = next(a for a in engine["args"] if a.startswith("--kv-events-config="))
    assert f'"endpoint":"tcp://*:{socket_port}"' in flag


def test_in_central_mode_the_engines_reach_the_socket_the_epp_binds(tmp_path: Path) -> None:
    """Central mode: vLLM connects to the endpoint's host (it binds only `*` endpoints), the
    EPP listens on its zmqEndpoint; the host is the EPP Service, whose port leads to it."""
    objs = render_values(tmp_path, {"routing": {"epp": {
        "replicas": 1, "precisePrefixCache": {"mode": "central"}}}}, *sample_files(SAMPLE))
    events = plugin(epp_config(objs), "precise-prefix-cache-producer")["parameters"][
        "kvEventsConfig"]
    assert "discoverPods" not in events and events["topicFilter"] == "kv@"
    bound = int(events["zmqEndpoint"].removeprefix("tcp://*:"))
    engine = one(objs, "Deployment", "test-decode")["spec"]["template"]["spec"]["containers"][0]
    flag = next(a for a in engine["args"] if a.startswith("--kv-events-config="))
    endpoint = yaml.safe_load(flag.split("=", 1)[1])["endpoint"]
    host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
    service = one(objs, "Service", "test-epp")
    assert host == "test-epp.ns.svc"
    service_port = next(p for p in service["spec"]["ports"] if p["port"] == int(port))
    epp = one(objs, "Deployment", "test-epp")["spec"]["template"]["spec"]["containers"][0]
    target = next(p for p in epp["ports"] if p["name"] == service_port["targetPort"])
    assert target["containerPort"] == bound
    assert not [p for p in engine["ports"] if p["name"].startswith("kv-events")]
    assert [str(f) for f in run_contract_checks(objs)] == []


def test_block_size_and_seed_agree_between_engine_and_producer() -> None:
    objs = objects()
    processor = plugin(epp_config(objs), "precise-prefix-cache-producer")["parameters"][
        "tokenProcessorConfig"]
    engine = one(objs, "Deployment", "qwen-precise-decode")["spec"]["template"]["spec"][
        "containers"][0]
    assert f"--block-size={processor['blockSizeTokens']}" in engine["args"]
    env = {e["name"]: e.get("value") for e in engine["env"]}
    assert env["PYTHONHASHSEED"] == processor["hashSeed"]


def test_the_token_producer_calls_the_render_sidecar() -> None:
    objs = objects()
    url = plugin(epp_config(objs), "token-producer")["parameters"]["vllm"]["url"]
    pod = one(objs, "Deployment", "qwen-precise-epp")["spec"]["template"]
    sidecar = next(c for c in pod["spec"]["containers"] if c["name"] == "tokenizer")
    assert url == f"http://localhost:{sidecar['ports'][0]['containerPort']}"
    assert sidecar["args"][0] == "Qwen/Qwen3-8B"
    selector = one(objs, "InferencePool")["spec"]["selector"]["matchLabels"]
    labels = pod["metadata"]["labels"]
    assert not all(labels.get(k) == v for k, v in selector.items()), "EPP pod in the pool"
