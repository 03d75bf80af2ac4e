"""`mst import llm-d-modelservice` on the serving paths the chart has its own keys for:
accelerators through Dynamic Resource Allocation and user-brought claims, vLLM KV-cache
events, offloading connectors, plus values files with a duplicate key. Each converted file
must pass `mst validate` (the command reports what validation rejects as "needs attention",
so none may appear) and render the objects and flags the old chart rendered.

Fixtures (tests/fixtures/llm-d-modelservice/) follow the old chart's values layout read at
llm-d-incubation/llm-d-modelservice tag llm-d-modelservice-v0.4.12 (charts/llm-d-modelservice/
values.yaml, templates/_helpers-dra.tpl, templates/resource-claim-template.yaml,
examples/values-dra.yaml, examples/values-pd-mnnvl.yaml) and llm-d's precise-prefix-cache
guide (guides/precise-prefix-cache-aware/ms-kv-events/values_pod_discovery.yaml).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_dra import server_dry_run
from test_import_llmd import FIXTURES, _converted, run

from modelservice_tool.checks import run_checks
from modelservice_tool.errors import UserError
from modelservice_tool.manifests import KubernetesSchemas, validate_manifests
from modelservice_tool.sources import parse_values
from support import Obj, epp_config, find, one, render

GIB = 1 << 30


def _fixture(tmp_path: Path, name: str) -> tuple[dict[str, Any], dict[str, str], list[Obj]]:
    return _converted(tmp_path, (FIXTURES / f"{name}.yaml").read_text())


def _engine(objects: list[Obj], name: str) -> dict[str, Any]:
    return one(objects, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]


def _flag(container: dict[str, Any], flag: str) -> str | None:
    values = [a.split("=", 1)[1] for a in container.get("args", []) if a.startswith(f"--{flag}=")]
    assert len(values) <= 1, f"--{flag} rendered twice: {container['args']}"
    return values[0] if values else None


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def _no_validation_findings(attention: dict[str, str]) -> None:
    assert not [k for k in attention if k == "mst validate"], attention


# --- Dynamic Resource Allocation --------------------------------------------------------


def test_dra_claims_become_a_claim_template_per_role(tmp_path: Path) -> None:
    values, attention, objects = _fixture(tmp_path, "v0.4-dra-pd-imex")
    assert attention == {}
    assert values["pod"]["accelerator"]["dra"] == {"enabled": True, "selectors": {
        "selector-1": 'device.attributes["gpu.nvidia.com"].productName == '
                      '"NVIDIA H100 80GB HBM3"'}}
    assert values["pod"]["resourceClaims"] == {
        "imex-channel": {"resourceClaimTemplateName": "qwen-imex-channel"}}
    templates = {t["metadata"]["name"].rsplit("-", 1)[0]: t["spec"]["spec"]["devices"]
                 for t in find(objects, "ResourceClaimTemplate")}
    assert set(templates) == {"case-decode", "case-prefill"}
    for role, count in (("decode", 2), ("prefill", 1)):  # tensor x dataLocal, as before
        request = templates[f"case-{role}"]["requests"][0]["exactly"]
        assert request["deviceClassName"] == "gpu.nvidia.com"
        assert request["count"] == count
        assert request["selectors"] == [{"cel": {"expression": (
            'device.attributes["gpu.nvidia.com"].productName == "NVIDIA H100 80GB HBM3"')}}]
        pod = one(objects, "Deployment", f"case-{role}")["spec"]["template"]["spec"]
        claims = {c["name"]: c for c in pod["resourceClaims"]}
        assert claims["imex-channel"] == {"name": "imex-channel",
                                          "resourceClaimTemplateName": "qwen-imex-channel"}
        assert claims["accelerators"]["resourceClaimTemplateName"].startswith(f"case-{role}-")
        engine = pod["containers"][0]
        assert {c["name"] for c in engine["resources"]["claims"]} == {"accelerators",
                                                                      "imex-channel"}
        assert "nvidia.com/gpu" not in engine["resources"].get("limits", {})
    schemas = KubernetesSchemas("1.34")
    checked = [o for o in objects if o["kind"] in ("ResourceClaimTemplate", "Deployment")]
    assert [str(p) for p in validate_manifests(checked, schemas)] == []
    assert run_checks(objects) == []


@pytest.mark.e2e
def test_the_api_server_accepts_the_converted_claims(tmp_path: Path,
                                                    live_namespace: str) -> None:
    """The real API server (resource.k8s.io/v1) admits the claim templates, with their CEL
    selectors compiled, and the pods claiming them plus the user's IMEX claim."""
    _, _, objects = _fixture(tmp_path, "v0.4-dra-pd-imex")
    chosen = [copy.deepcopy(o) for o in objects
              if o["kind"] in ("ResourceClaimTemplate", "Deployment")]
    result = server_dry_run(chosen, live_namespace)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("resourceclaimtemplate.resource.k8s.io/") == 2, result.stdout
    assert "deployment.apps/case-decode created" in result.stdout, result.stdout
    assert "deployment.apps/case-prefill created" in result.stdout, result.stdout


DRA_BASE = ("modelArtifacts:\n  uri: hf://Qwen/Qwen3-8B\nrouting:\n  proxy:\n    enabled: false\n"
            "{top}decode:\n  replicas: 1\n  parallelism:\n    tensor: 2\n{role}  containers:\n"
            "    - name: vllm\n      image: ghcr.io/llm-d/llm-d-cuda:v0.4.0\n"
            "      modelCommand: vllmServe\n{container}")


def _dra(tmp_path: Path, top: str = "", role: str = "", container: str = ""
         ) -> tuple[dict[str, Any], dict[str, str], list[Obj]]:
    tmp_path.mkdir(exist_ok=True)
    return _converted(tmp_path, DRA_BASE.format(top=top, role=role, container=container))


def test_dra_class_count_and_a_role_override(tmp_path: Path) -> None:
    """A type this chart has no name for keeps its DeviceClass; an explicit count carries
    over (and `mst validate` flags it against parallelism, as it would the old pods); a
    role's own `dra: false` wins over the global switch (the old chart's draEnabled)."""
    values, attention, objects = _dra(tmp_path, top="accelerator:\n  type: intel-i915\n"
                                      "  dra: true\n")
    assert attention == {}
    assert values["pod"]["accelerator"] == {"resourceName": "gpu.intel.com/i915", "dra": {
        "enabled": True, "deviceClassName": "gpu.intel.com"}}
    request = one(objects, "ResourceClaimTemplate")["spec"]["spec"]["devices"]["requests"][0]
    assert request["exactly"] == {"deviceClassName": "gpu.intel.com",
                                  "allocationMode": "ExactCount", "count": 2}
    values, attention, objects = _dra(tmp_path / "count", top=(
        "accelerator:\n  type: intel-gaudi\n  dra: true\n  resourceClaimTemplates:\n"
        "    intel-gaudi:\n      count: 4\n"))
    assert values["pod"]["accelerator"]["dra"] == {"enabled": True, "count": 4}
    assert "4 x gaudi.intel.com per pod but tensor x pipeline x dataLocal = 2" in \
        attention["mst validate"]
    values, _, objects = _dra(tmp_path / "off", top="accelerator:\n  dra: true\n",
                              role="  accelerator:\n    dra: false\n")
    assert "dra" not in values["pod"]["accelerator"]
    assert find(objects, "ResourceClaimTemplate") == []
    assert _engine(objects, "case-decode")["resources"]["limits"]["nvidia.com/gpu"] == 2


@pytest.mark.parametrize(("top", "role", "container", "key", "needle"), [
    ("accelerator:\n  dra: true\n", "", "      resources:\n        limits:\n"
     "          nvidia.com/gpu: 2\n", "decode.containers[0].resources.limits.nvidia.com/gpu",
     "from the claim only"),
    ("accelerator:\n  type: rebellions-atom\n  dra: true\n", "", "", "accelerator.dra",
     "rendered no ResourceClaimTemplate"),
    ("", "  resourceClaims:\n    - name: accelerators\n      resourceClaimTemplateName: x\n",
     "", "decode.resourceClaims[0]", "rename this claim"),
    ("accelerator:\n  dra: true\n  resourceClaimTemplates:\n    nvidia:\n      match: "
     "firstAvailable\n", "", "", "accelerator.dra", "exact count"),
])
def test_dra_input_the_chart_cannot_express_is_reported(
        tmp_path: Path, top: str, role: str, container: str, key: str, needle: str) -> None:
    _, attention, _ = _dra(tmp_path, top, role, container)
    assert needle in attention[key], attention
    _no_validation_findings(attention)


# --- KV-cache events --------------------------------------------------------------------


def test_kv_events_become_the_precise_prefix_cache_profile(tmp_path: Path) -> None:
    values, attention, objects = _fixture(tmp_path, "v0.4-precise-prefix-cache")
    assert attention == {}
    assert values["routing"]["epp"] == {"profile": "precise-prefix-cache",
                                        "precisePrefixCache": {"blockSize": 64,
                                                               "hashSeed": "42"}}
    assert "kv-events-config" not in values["engine"].get("args", {})
    engine = _engine(objects, "case-decode")
    assert json.loads(_flag(engine, "kv-events-config") or "{}") == {
        "enable_kv_cache_events": True, "publisher": "zmq", "endpoint": "tcp://*:5557",
        "topic": "kv@$(POD_IP):8000@Qwen/Qwen3-32B"}
    assert _flag(engine, "block-size") == "64"
    env = _env(engine)
    assert env["PYTHONHASHSEED"] == "42"
    assert env["POD_IP"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    assert {p["name"]: p["containerPort"] for p in engine["ports"]}["kv-events"] == 5557
    config = yaml.safe_load(one(objects, "ConfigMap", "case-epp")["data"]["config.yaml"])
    plugins = {p["type"]: p.get("parameters", {}) for p in config["plugins"]}
    producer = plugins["precise-prefix-cache-producer"]
    assert producer["tokenProcessorConfig"] == {"blockSizeTokens": 64, "hashSeed": "42"}
    assert producer["kvEventsConfig"]["podDiscoveryConfig"]["socketPort"] == 5557
    assert run_checks(objects) == []


def _events(config: dict[str, Any], uri: str = "hf://Qwen/Qwen3-8B", prefill: bool = False
            ) -> str:
    role = ("{name}:\n  replicas: 1\n  containers:\n    - name: vllm\n"
            "      image: ghcr.io/llm-d/llm-d-cuda:v0.4.0\n      modelCommand: vllmServe\n"
            "      args: [{args}]\n")
    args = f"'--kv-events-config={json.dumps(config)}'"
    pd_args = args + ", '--kv-transfer-config={\"kv_connector\":\"NixlConnector\"," \
        "\"kv_role\":\"kv_both\"}'"
    text = (f"modelArtifacts:\n  name: Qwen/Qwen3-8B\n  uri: {uri}\naccelerator:\n"
            "  type: nvidia\n")
    text += role.format(name="decode", args=pd_args if prefill else args)
    if prefill:
        text += role.format(name="prefill", args=pd_args)
    return text


EVENTS = {"enable_kv_cache_events": True, "publisher": "zmq",
          "endpoint": "tcp://gaie-kv-events-epp.llm-d.svc.cluster.local:5557",
          "topic": "kv@${POD_IP}@Qwen/Qwen3-8B"}


def test_kv_events_sent_to_a_central_subscriber_and_a_pvc_model(tmp_path: Path) -> None:
    """vLLM connecting out to an EPP Service (older llm-d guides) becomes central mode, the
    engines connecting to this release's EPP Service, which binds the port; a pvc:// model
    gets the served name as the tokenizer repo."""
    values, attention, objects = _converted(tmp_path, _events(
        {**EVENTS, "buffer_steps": 10000}, uri="pvc://models/qwen3-8b"))
    assert "buffer_steps" in attention["decode.containers[0].args[0]"]
    _no_validation_findings(attention)
    settings = values["routing"]["epp"]["precisePrefixCache"]
    assert settings == {"mode": "central", "tokenizer": {"model": "Qwen/Qwen3-8B"}}
    engine = _engine(objects, "case-decode")
    endpoint = json.loads(_flag(engine, "kv-events-config") or "{}")["endpoint"]
    assert endpoint.startswith("tcp://case-epp.") and endpoint.endswith(".svc:5557"), endpoint
    producer = next(p for p in epp_config(objects)["plugins"]
                    if p["type"] == "precise-prefix-cache-producer")
    assert producer["parameters"]["kvEventsConfig"]["zmqEndpoint"] == "tcp://*:5557"
    sidecar = next(c for c in one(objects, "Deployment", "case-epp")["spec"]["template"]
                   ["spec"]["containers"] if c["name"] == "tokenizer")
    assert sidecar["args"][0] == "Qwen/Qwen3-8B"


def test_kv_events_with_prefill_decode_stay_a_raw_flag(tmp_path: Path) -> None:
    values, attention, objects = _converted(tmp_path, _events(EVENTS, prefill=True))
    assert "no prefill/decode profiles" in attention["decode.containers[0].args[0]"]
    _no_validation_findings(attention)
    assert "epp" not in values.get("routing", {}) or \
        "profile" not in values["routing"]["epp"]
    for role in ("decode", "prefill"):
        assert json.loads(_flag(_engine(objects, f"case-{role}"), "kv-events-config")
                          or "{}") == EVENTS


# --- offloading connectors --------------------------------------------------------------


def _transfer(container: dict[str, Any]) -> dict[str, Any]:
    return json.loads(_flag(container, "kv-transfer-config") or "{}")


def test_a_multiconnector_splits_into_kv_transfer_and_kv_offload(tmp_path: Path) -> None:
    values, attention, objects = _fixture(tmp_path, "v0.4-pd-offload")
    assert attention == {}
    assert values["kvOffload"] == {"enabled": True, "connector": "OffloadingConnector",
                                   "cpuGiB": 100}
    assert values["routing"]["kvTransfer"] == {"connector": "NixlConnector", "role": "kv_both"}
    old = yaml.safe_load((FIXTURES / "v0.4-pd-offload.yaml").read_text())
    before = json.loads(old["decode"]["containers"][0]["args"][1].split("=", 1)[1])
    for role in ("decode", "prefill"):
        assert _transfer(_engine(objects, f"case-{role}")) == before
    assert run_checks(objects) == []


def _single(args: str, env: str = "") -> str:
    return ("modelArtifacts:\n  uri: hf://Qwen/Qwen3-8B\naccelerator:\n  type: nvidia\n"
            "decode:\n  replicas: 1\n  containers:\n    - name: vllm\n"
            "      image: ghcr.io/llm-d/llm-d-cuda:v0.4.0\n      modelCommand: vllmServe\n"
            f"      args: [{args}]\n{env}      resources:\n        limits:\n"
            "          memory: 96Gi\n")


def test_lmcache_with_its_sizing_variables_becomes_kv_offload(tmp_path: Path) -> None:
    text = _single("'--kv-transfer-config={\"kv_connector\":\"LMCacheConnectorV1\","
                   "\"kv_role\":\"kv_both\"}'",
                   "      env:\n        - name: LMCACHE_LOCAL_CPU\n          value: \"True\"\n"
                   "        - name: LMCACHE_MAX_LOCAL_CPU_SIZE\n          value: \"40\"\n"
                   "        - name: LMCACHE_CHUNK_SIZE\n          value: \"256\"\n")
    values, attention, objects = _converted(tmp_path, text)
    assert attention == {}
    assert values["kvOffload"] == {"enabled": True, "connector": "LMCacheConnectorV1",
                                   "cpuGiB": 40}
    assert values["engine"]["env"] == {"LMCACHE_CHUNK_SIZE": "256"}
    engine = _engine(objects, "case-decode")
    assert _transfer(engine) == {"kv_connector": "LMCacheConnectorV1", "kv_role": "kv_both"}
    assert {k: v for k, v in _env(engine).items() if k.startswith("LMCACHE")} == {
        "LMCACHE_LOCAL_CPU": "True", "LMCACHE_MAX_LOCAL_CPU_SIZE": "40",
        "LMCACHE_CHUNK_SIZE": "256"}


@pytest.mark.parametrize(("config", "needle"), [
    ({"kv_connector": "SharedStorageConnector", "kv_role": "kv_both",
      "kv_connector_extra_config": {"shared_storage_path": "/kv"}}, "not an offloading"),
    ({"kv_connector": "OffloadingConnector", "kv_role": "kv_both",
      "kv_connector_extra_config": {"num_cpu_blocks": 5000}}, "whole GiB"),
])
def test_connectors_kv_offload_cannot_render_stay_raw(tmp_path: Path, config: dict[str, Any],
                                                      needle: str) -> None:
    values, attention, objects = _converted(
        tmp_path, _single(f"'--kv-transfer-config={json.dumps(config)}'"))
    assert needle in attention["decode.containers[0].args[0]"]
    _no_validation_findings(attention)
    assert "kvOffload" not in values
    assert _transfer(_engine(objects, "case-decode")) == config


NIXL = {"kv_connector": "NixlConnector", "kv_role": "kv_both"}
LMCACHE_ENV = ("      env:\n        - name: LMCACHE_MAX_LOCAL_CPU_SIZE\n"
               "          value: \"40\"\n")


@pytest.mark.parametrize(("offload", "env"), [
    ({"kv_connector": "OffloadingConnector", "kv_role": "kv_both",
      "kv_connector_extra_config": {"cpu_bytes_to_use": 16 * GIB}}, ""),
    ({"kv_connector": "LMCacheConnectorV1", "kv_role": "kv_both"}, LMCACHE_ENV),
])
def test_offloading_on_one_role_of_prefill_decode_is_reported(
        tmp_path: Path, offload: dict[str, Any], env: str) -> None:
    """kvOffload is one setting for both roles: a decode-only tier is not converted (the
    report keeps the connector), and LMCache's variables stay on decode."""
    multi = {"kv_connector": "MultiConnector", "kv_role": "kv_both",
             "kv_connector_extra_config": {"connectors": [NIXL, offload]}}
    role = ("{name}:\n  replicas: 1\n  containers:\n    - name: vllm\n"
            "      image: ghcr.io/llm-d/llm-d-cuda:v0.4.0\n      modelCommand: vllmServe\n"
            "      args: ['--kv-transfer-config={config}']\n{env}")
    text = ("modelArtifacts:\n  uri: hf://Qwen/Qwen3-8B\naccelerator:\n  type: nvidia\n"
            + role.format(name="decode", config=json.dumps(multi), env=env)
            + role.format(name="prefill", config=json.dumps(NIXL), env=""))
    values, attention, objects = _converted(tmp_path, text)
    assert "only decode offloaded KV blocks" in attention["kvOffload"]
    assert offload["kv_connector"] in attention["kvOffload"]
    _no_validation_findings(attention)
    assert "kvOffload" not in values
    decode = _engine(objects, "case-decode")
    assert _transfer(decode) == NIXL
    if env:
        assert _env(decode)["LMCACHE_MAX_LOCAL_CPU_SIZE"] == "40"


# --- duplicate keys ---------------------------------------------------------------------


DUPLICATE = ("modelArtifacts:\n  uri: hf://Qwen/Qwen3-8B\naccelerator:\n  type: nvidia\n"
             "decode:\n  replicas: 1\n  containers:\n    - name: vllm\n"
             "      image: ghcr.io/llm-d/llm-d-cuda:v0.4.0\n      modelCommand: vllmServe\n"
             "  replicas: 3\n")


def test_a_duplicate_key_converts_as_helm_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "in.yaml"
    path.write_text(DUPLICATE)
    report = tmp_path / "report.json"
    result = run(str(path), "-o", str(tmp_path / "out.yaml"), "--report", str(report))
    assert result.exit_code == 0, result.stderr
    entry = next(e for e in json.loads(report.read_text())["entries"]
                 if e["target"] == "decode.replicas" and e["status"] == "needs attention")
    assert entry["location"].endswith("in.yaml:11:3")
    assert "in.yaml:6:3 and again at" in result.stderr
    assert "in.yaml:11:3" in result.stderr
    assert "the last one wins, as in helm" in result.stderr
    assert yaml.safe_load((tmp_path / "out.yaml").read_text())["decode"]["replicas"] == 3
    assert run(str(path), "--strict").exit_code == 1


def test_helm_keeps_the_last_of_two_keys_and_mst_refuses_them(tmp_path: Path) -> None:
    """The import follows helm (the real one: last one wins); mst's own inputs stay strict."""
    values = tmp_path / "ours.yaml"
    values.write_text("model:\n  uri: hf://Qwen/Qwen3-8B\ndecode:\n  replicas: 1\n"
                      "  replicas: 3\n")
    assert one(render(values, release="dup"), "Deployment", "dup-decode")["spec"][
        "replicas"] == 3
    with pytest.raises(UserError, match=r"ours.yaml:5:3: duplicate key 'decode.replicas'"):
        parse_values(values.read_text(), "ours.yaml")
    source = parse_values(values.read_text(), "ours.yaml", last_key_wins=True)
    assert source.data["decode"]["replicas"] == 3
    assert [(p, str(a), str(b)) for p, a, b in source.duplicates] == [
        (("decode", "replicas"), "ours.yaml:4:3", "ours.yaml:5:3")]
