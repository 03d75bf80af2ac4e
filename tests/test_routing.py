"""Routing: InferencePool, EPP, InferenceObjective, HTTPRoute and P/D wiring, validated
against the upstream CRDs and checked for consistency across objects."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from support import (
    assert_valid_stack,
    epp_config,
    find,
    one,
    render_values,
    sample_files,
    samples,
)

Obj = dict[str, Any]
GATEWAY = {"routing": {"httpRoute": {"gateway": {"name": "inference-gateway"}},
                       "objective": {"enabled": True, "priority": 5}}}


def pd_sample(tmp_path: Path, extra: dict[str, Any] | None = None) -> list[Obj]:
    sample = next(s for s in samples() if s["name"] == "gpt-oss-120b-pd")
    return render_values(tmp_path, extra or GATEWAY, *sample_files(sample))


def sim_sample(tmp_path: Path, extra: dict[str, Any] | None = None) -> list[Obj]:
    sample = next(s for s in samples() if s["name"] == "qwen3-0.6b-cpu-sim")
    return render_values(tmp_path, extra or GATEWAY, *sample_files(sample))


def kinds(objects: list[Obj]) -> list[tuple[str, str]]:
    return sorted((o["kind"], o["metadata"]["name"]) for o in objects)


def epp_args(objects: list[Obj]) -> list[str]:
    deployment = one(objects, "Deployment", "test-epp")
    return deployment["spec"]["template"]["spec"]["containers"][0]["args"]





def test_pd_sample_renders_the_full_stack(tmp_path: Path) -> None:
    objects = pd_sample(tmp_path)
    assert_valid_stack(objects)
    assert kinds(objects) == [
        ("ConfigMap", "test-epp"),
        ("Deployment", "test-decode"), ("Deployment", "test-epp"), ("Deployment", "test-prefill"),
        ("HTTPRoute", "test"),
        ("InferenceObjective", "test"),
        ("InferencePool", "test"),
        ("Pod", "test-test"),
        ("Role", "test-epp"), ("RoleBinding", "test-epp"),
        ("Service", "test-decode"), ("Service", "test-epp"), ("Service", "test-prefill"),
        ("ServiceAccount", "test"), ("ServiceAccount", "test-epp"),
    ]
    decode = one(objects, "Deployment", "test-decode")["spec"]["template"]["spec"]
    sidecar = decode["initContainers"][0]
    assert sidecar["name"] == "routing-proxy"
    assert sidecar["restartPolicy"] == "Always"
    assert sidecar["args"] == ["--port=8000", "--model-server-port=8200",
                               "--kv-connector=nixlv2", "--secure-proxy=false"]
    assert "--port=8200" in decode["containers"][0]["args"]
    config = epp_config(objects)
    assert [p["name"] for p in config["schedulingProfiles"]] == ["prefill", "decode"]
    decider = next(p for p in config["plugins"] if p["type"] == "prefix-based-pd-decider")
    assert decider["parameters"]["nonCachedTokens"] == 16


def test_pd_roles_carry_kv_transfer_and_nixl(tmp_path: Path) -> None:
    objects = pd_sample(tmp_path)
    for name in ("test-decode", "test-prefill"):
        spec = one(objects, "Deployment", name)["spec"]["template"]["spec"]
        engine = spec["containers"][0]
        assert ('--kv-transfer-config={"kv_connector":"NixlConnector","kv_role":"kv_both"}'
                in engine["args"])
        env = {e["name"]: e for e in engine["env"]}
        assert env["VLLM_NIXL_SIDE_CHANNEL_HOST"]["valueFrom"] == {
            "fieldRef": {"fieldPath": "status.podIP"}}
        assert env["VLLM_NIXL_SIDE_CHANNEL_PORT"]["value"] == "5600"
        assert {"name": "nixl", "containerPort": 5600, "protocol": "TCP"} in engine["ports"]
    prefill = one(objects, "Deployment", "test-prefill")["spec"]["template"]["spec"]
    assert "initContainers" not in prefill
    assert prefill["containers"][0]["ports"][0]["containerPort"] == 8000


def test_single_role_samples_have_no_sidecar_and_the_default_profile(tmp_path: Path) -> None:
    objects = sim_sample(tmp_path)
    assert_valid_stack(objects)
    decode = one(objects, "Deployment", "test-decode")["spec"]["template"]["spec"]
    assert "initContainers" not in decode
    assert not any("kv-transfer" in arg for arg in decode["containers"][0]["args"])
    config = epp_config(objects)
    assert [p["name"] for p in config["schedulingProfiles"]] == ["default"]
    refs = {r["pluginRef"]: r.get("weight") for r in config["schedulingProfiles"][0]["plugins"]}
    assert refs == {"queue-scorer": 2, "kv-cache-utilization-scorer": 2,
                    "prefix-cache-scorer": 3, "max-score-picker": None}


def test_pool_selects_exactly_the_model_pods_on_the_client_port(tmp_path: Path) -> None:
    objects = pd_sample(tmp_path)
    pool = one(objects, "InferencePool", "test")
    selector = pool["spec"]["selector"]["matchLabels"]

    def selected(template: Obj) -> bool:
        labels = template["metadata"]["labels"]
        return all(labels.get(k) == v for k, v in selector.items())

    templates = {d["metadata"]["name"]: d["spec"]["template"] for d in find(objects, "Deployment")}
    assert {name for name, t in templates.items() if selected(t)} == {"test-decode", "test-prefill"}
    port = pool["spec"]["targetPorts"][0]["number"]
    decode = templates["test-decode"]["spec"]
    assert port in [p["containerPort"] for p in decode["initContainers"][0]["ports"]]
    prefill = templates["test-prefill"]["spec"]
    assert port == prefill["containers"][0]["ports"][0]["containerPort"]


def test_pool_points_at_the_epp_and_the_epp_at_the_pool(tmp_path: Path) -> None:
    objects = pd_sample(tmp_path)
    ref = one(objects, "InferencePool", "test")["spec"]["endpointPickerRef"]
    service = one(objects, "Service", ref["name"])
    assert ref["port"]["number"] in [p["port"] for p in service["spec"]["ports"]]
    assert ref["failureMode"] == "FailClose"
    args = epp_args(objects)
    assert "--pool-name=test" in args
    assert "--pool-namespace=ns" in args
    assert "--pool-group=inference.networking.k8s.io" in args
    assert "--config-file=/config/config.yaml" in args
    assert "--ha-enable-leader-election" not in args


def test_metrics_auth_is_the_only_cluster_scoped_opt_in(tmp_path: Path) -> None:
    objects = pd_sample(tmp_path, {"routing": {"epp": {"metricsAuth": {"enabled": True}}}})
    assert_valid_stack(objects)
    cluster_role = one(objects, "ClusterRole")
    assert {r["resources"][0] for r in cluster_role["rules"]} == {
        "tokenreviews", "subjectaccessreviews"}
    binding = one(objects, "ClusterRoleBinding")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "test-epp",
                                    "namespace": "ns"}]
    assert "--metrics-endpoint-auth=true" in epp_args(objects)


def test_httproute_to_the_pool_with_long_timeouts(tmp_path: Path) -> None:
    objects = pd_sample(tmp_path, {"routing": {"httpRoute": {
        "gateway": {"name": "gw", "namespace": "infra", "sectionName": "http"},
        "rewritePrefix": "/", "path": "/llama", "hostnames": ["llm.example.com"]}}})
    assert_valid_stack(objects)
    route = one(objects, "HTTPRoute", "test")
    assert route["spec"]["parentRefs"] == [{"group": "gateway.networking.k8s.io",
                                            "kind": "Gateway", "name": "gw",
                                            "namespace": "infra", "sectionName": "http"}]
    rule = route["spec"]["rules"][0]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/llama"}}]
    assert rule["filters"][0]["urlRewrite"]["path"]["replacePrefixMatch"] == "/"
    assert rule["backendRefs"] == [{"group": "inference.networking.k8s.io",
                                    "kind": "InferencePool", "name": "test"}]
    assert rule["timeouts"] == {"request": "3600s", "backendRequest": "3600s"}
    assert not any("helm.sh/hook" in (o["metadata"].get("annotations") or {})
                   for o in objects if o["kind"] != "Pod")


def without(objects: list[Obj], *pairs: tuple[str, str]) -> list[tuple[str, str]]:
    return [k for k in kinds(objects) if k not in pairs]


@pytest.mark.parametrize(
    ("override", "removed"),
    [
        ({"inferencePool": {"create": False}}, [("InferencePool", "test")]),
        ({"httpRoute": {"enabled": False}}, [("HTTPRoute", "test")]),
        ({"objective": {"enabled": False}}, [("InferenceObjective", "test")]),
        ({"epp": {"enabled": False}},
         [("ConfigMap", "test-epp"), ("Deployment", "test-epp"), ("Role", "test-epp"),
          ("RoleBinding", "test-epp"), ("Service", "test-epp"), ("ServiceAccount", "test-epp")]),
    ],
)
def test_disabling_a_piece_removes_exactly_that_piece(
    tmp_path: Path, override: dict[str, Any], removed: list[tuple[str, str]]
) -> None:
    full = pd_sample(tmp_path)
    values = copy.deepcopy(GATEWAY)
    for key, value in override.items():
        values["routing"].setdefault(key, {}).update(value)
    reduced = pd_sample(tmp_path, values)
    assert kinds(reduced) == without(full, *removed)


def test_legacy_generation_switches_every_piece_together(tmp_path: Path) -> None:
    objects = pd_sample(tmp_path, {"routing": {
        "generation": "v1alpha2", "objective": {"enabled": True, "criticality": "Critical"},
        "httpRoute": {"gateway": {"name": "gw"}}}})
    assert_valid_stack(objects)
    pool = one(objects, "InferencePool", "test")
    assert pool["apiVersion"] == "inference.networking.x-k8s.io/v1alpha2"
    assert pool["spec"]["targetPortNumber"] == 8000
    assert pool["spec"]["extensionRef"] == {"name": "test-epp", "portNumber": 9002,
                                            "failureMode": "FailClose"}
    model = one(objects, "InferenceModel", "test")
    assert model["spec"]["modelName"] == "openai/gpt-oss-120b"
    assert model["spec"]["poolRef"]["group"] == "inference.networking.x-k8s.io"
    args = epp_args(objects)
    assert "--poolName=test" in args and "--configFile=/config/config.yaml" in args
    assert one(objects, "Deployment", "test-epp")["spec"]["template"]["spec"]["containers"][0][
        "image"] == "ghcr.io/llm-d/llm-d-inference-scheduler:v0.2.1"
    config = epp_config(objects)
    assert config["apiVersion"] == "inference.networking.x-k8s.io/v1alpha1"
    handler = next(p for p in config["plugins"] if p["type"] == "pd-profile-handler")
    assert handler["parameters"]["threshold"] == 16
    decode = one(objects, "Deployment", "test-decode")["spec"]["template"]["spec"]
    assert "--connector=nixlv2" in decode["initContainers"][0]["args"]
    route = one(objects, "HTTPRoute", "test")
    assert route["spec"]["rules"][0]["backendRefs"][0]["group"] == "inference.networking.x-k8s.io"


def test_epp_config_change_restarts_the_epp(tmp_path: Path) -> None:
    def checksum(objects: list[Obj]) -> str:
        template = one(objects, "Deployment", "test-epp")["spec"]["template"]
        return template["metadata"]["annotations"]["checksum/config"]

    assert checksum(sim_sample(tmp_path)) != checksum(
        sim_sample(tmp_path, {"routing": {"epp": {"profile": "prefix-cache"}}}))
