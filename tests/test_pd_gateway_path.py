"""The prefill/decode sample's request path, walked object by object through the rendered
manifests: Gateway parentRef -> HTTPRoute backendRef -> InferencePool -> EPP Service and
Deployment -> decode pod's routing sidecar -> vLLM. And `mst bench` on a P/D release goes
through that route or says which option points it at a gateway."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from modelservice_tool.bench.endpoint import discover
from modelservice_tool.checks import engine_flags, model_workloads, pod_templates
from modelservice_tool.errors import UserError
from support import assert_valid_stack, find, one, render, sample_files, samples

Obj = dict[str, Any]
RELEASE = "gpt-oss"


def pd_objects() -> list[Obj]:
    sample = next(s for s in samples() if s["name"] == "gpt-oss-120b-pd")
    return render(*sample_files(sample), release=RELEASE)


def flags(args: list[str]) -> dict[str, str]:
    return engine_flags({"args": args})


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def container_ports(container: Obj) -> list[int]:
    return [p["containerPort"] for p in container.get("ports", [])]


def test_pd_sample_request_path_is_consistent_end_to_end() -> None:
    objects = pd_objects()
    assert_valid_stack(objects)

    # Gateway -> HTTPRoute
    route = one(objects, "HTTPRoute", RELEASE)
    parent = route["spec"]["parentRefs"][0]
    assert (parent["group"], parent["kind"]) == ("gateway.networking.k8s.io", "Gateway")
    assert parent["name"] == "inference-gateway"

    # HTTPRoute -> InferencePool
    backend = route["spec"]["rules"][0]["backendRefs"][0]
    pool = one(objects, "InferencePool", backend["name"])
    assert backend["group"] == pool["apiVersion"].split("/")[0]
    assert backend["kind"] == "InferencePool"
    assert "port" not in backend  # an InferencePool backendRef takes no port (GIE v1)

    # InferencePool -> model pods of both roles, on the port their front container listens on
    selector = pool["spec"]["selector"]["matchLabels"]
    deployments = {d["metadata"]["name"]: d["spec"]["template"]
                   for d in find(objects, "Deployment")}
    selected = {name for name, t in deployments.items()
                if selects(selector, t["metadata"]["labels"])}
    assert selected == {f"{RELEASE}-decode", f"{RELEASE}-prefill"}
    target_port = pool["spec"]["targetPorts"][0]["number"]
    decode = deployments[f"{RELEASE}-decode"]["spec"]
    prefill = deployments[f"{RELEASE}-prefill"]["spec"]
    sidecar = next(c for c in decode["initContainers"] if c.get("restartPolicy") == "Always")
    assert target_port in container_ports(sidecar)
    assert container_ports(prefill["containers"][0])[0] == target_port

    # InferencePool -> EPP Service (name + port) -> EPP Deployment
    ref = pool["spec"]["endpointPickerRef"]
    epp_service = one(objects, "Service", ref["name"])
    service_port = next(p for p in epp_service["spec"]["ports"]
                        if p["port"] == ref["port"]["number"])
    epp_selector = epp_service["spec"]["selector"]
    epp = next(d for d in find(objects, "Deployment")
               if selects(epp_selector, d["spec"]["template"]["metadata"]["labels"]))
    epp_container = epp["spec"]["template"]["spec"]["containers"][0]
    assert service_port["targetPort"] in [p["name"] for p in epp_container["ports"]]
    epp_flags = flags(epp_container["args"])
    assert epp_flags["pool-name"] == pool["metadata"]["name"]
    assert epp_flags["pool-namespace"] == "ns"
    assert epp_flags["pool-group"] == pool["apiVersion"].split("/")[0]
    assert epp_flags["grpc-port"] == str(ref["port"]["number"])
    configmap = one(objects, "ConfigMap", epp["metadata"]["name"])
    config = yaml.safe_load(configmap["data"][epp_flags["config-file"].rsplit("/", 1)[1]])
    assert [p["name"] for p in config["schedulingProfiles"]] == ["prefill", "decode"]
    assert any(p["type"] == "disagg-profile-handler" for p in config["plugins"])

    # decode pod: sidecar on the pool port forwards to the port vLLM listens on
    sidecar_flags = flags(sidecar["args"])
    assert int(sidecar_flags["port"]) == target_port
    vllm = decode["containers"][0]
    vllm_port = int(engine_flags(vllm)["port"])
    assert int(sidecar_flags["model-server-port"]) == vllm_port
    assert container_ports(vllm)[0] == vllm_port != target_port
    # prefill pods are reached directly by the sidecar: vLLM listens on the pool port
    assert int(engine_flags(prefill["containers"][0])["port"]) == target_port


def roles(sample: dict[str, str]) -> set[str]:
    objects = render(*sample_files(sample), release=sample["release"])
    return {template["metadata"]["labels"]["llm-d.ai/role"]
            for workload in model_workloads(objects) for template in pod_templates(workload)}


PD_SAMPLES = [sample for sample in samples() if "prefill" in roles(sample)]


def walk(objects: list[Obj]) -> str:
    """Gateway -> HTTPRoute -> InferencePool -> EPP and -> every pod template of both roles:
    decode pods answer every pool port with the routing sidecar, which forwards rank i to the
    engine's port + i; prefill engines listen on the pool ports. Returns the Gateway name."""
    route = one(objects, "HTTPRoute")
    parent = route["spec"]["parentRefs"][0]
    assert (parent["group"], parent["kind"]) == ("gateway.networking.k8s.io", "Gateway")
    backend = route["spec"]["rules"][0]["backendRefs"][0]
    pool = one(objects, "InferencePool", backend["name"])
    assert (backend["group"], backend["kind"]) == (pool["apiVersion"].split("/")[0],
                                                   "InferencePool")
    ref = pool["spec"]["endpointPickerRef"]
    service = one(objects, "Service", ref["name"])
    epp = next(d for d in find(objects, "Deployment")
               if selects(service["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"]))
    epp_flags = flags(epp["spec"]["template"]["spec"]["containers"][0]["args"])
    assert (epp_flags["pool-name"], epp_flags["grpc-port"]) == (
        pool["metadata"]["name"], str(ref["port"]["number"]))
    config = yaml.safe_load(one(objects, "ConfigMap", epp["metadata"]["name"])["data"][
        epp_flags["config-file"].rsplit("/", 1)[1]])
    assert {p["name"] for p in config["schedulingProfiles"]} == {"prefill", "decode"}
    ports = [p["number"] for p in pool["spec"]["targetPorts"]]
    reached = set()
    for workload in model_workloads(objects):
        for template in pod_templates(workload):
            if not selects(pool["spec"]["selector"]["matchLabels"], template["metadata"]["labels"]):
                continue
            role = template["metadata"]["labels"]["llm-d.ai/role"]
            reached.add(role)
            engine = template["spec"]["containers"][0]
            if role == "prefill":
                assert set(ports) <= set(container_ports(engine)), workload["metadata"]["name"]
                continue
            sidecar = next(c for c in template["spec"]["initContainers"]
                           if c["name"] == "routing-proxy")
            assert set(ports) <= set(container_ports(sidecar))
            proxy = flags(sidecar["args"])
            assert int(proxy["port"]) == ports[0]
            first = int(proxy["model-server-port"])
            ranks = int(proxy.get("data-parallel-size", "1"))
            assert {first + i for i in range(ranks)} <= set(container_ports(engine))
            assert first not in ports
    assert reached == {"prefill", "decode"}
    return parent["name"]


@pytest.mark.parametrize("sample", PD_SAMPLES, ids=lambda s: s["name"])
def test_every_pd_sample_is_reached_through_a_gateway(sample: dict[str, str]) -> None:
    """Without the route, requests never reach the EPP and the prefill pods sit idle: every
    P/D sample renders the whole path, and `mst bench` takes it."""
    objects = render(*sample_files(sample), release=sample["release"])
    gateway = walk(objects)
    endpoint = discover(objects, sample["release"], "ns")
    assert (endpoint.kind, endpoint.name) == ("Gateway", gateway)


def test_the_walk_sees_a_broken_link() -> None:
    objects = pd_objects()
    route = one(objects, "HTTPRoute", RELEASE)
    route["spec"]["rules"][0]["backendRefs"][0]["name"] = "elsewhere"
    with pytest.raises(AssertionError):
        walk(objects)


def test_bench_on_the_pd_sample_goes_through_the_gateway() -> None:
    endpoint = discover(pd_objects(), RELEASE, "ns")
    assert (endpoint.kind, endpoint.name) == ("Gateway", "inference-gateway")


def test_bench_on_a_pd_release_without_a_route_names_the_option() -> None:
    objects = [o for o in pd_objects() if o["kind"] != "HTTPRoute"]
    with pytest.raises(UserError) as error:
        discover(objects, RELEASE, "ns")
    message = str(error.value)
    assert "routing.httpRoute.gateway.name" in message and "--target" in message


def test_bench_without_prefill_may_use_the_decode_service() -> None:
    objects = [copy.deepcopy(o) for o in pd_objects()
               if o["kind"] != "HTTPRoute" and "prefill" not in o["metadata"]["name"]]
    assert discover(objects, RELEASE, "ns").kind == "Service"
