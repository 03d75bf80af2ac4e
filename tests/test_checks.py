"""Each cross-object check: a real render passes, a broken variant fails with the message a
user sees."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from modelservice_tool.checks import (
    check_accelerators,
    check_engine_port,
    check_lws_size,
    check_model_mounted,
    check_pd_decider,
    check_pool_selector,
    check_service_targets,
    run_checks,
)
from support import one, render, sample_files, samples

Obj = dict[str, Any]


def pd_objects() -> list[Obj]:
    sample = next(s for s in samples() if s["name"] == "gpt-oss-120b-pd")
    return copy.deepcopy(render(*sample_files(sample), release="gpt-oss"))


def engine(objects: list[Obj], name: str = "gpt-oss-decode") -> Obj:
    return one(objects, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]


def messages(findings: Any) -> list[str]:
    return [str(finding) for finding in findings]


@pytest.mark.parametrize("sample", samples(), ids=lambda s: s["name"])
def test_samples_pass_every_check(sample: dict[str, str]) -> None:
    assert run_checks(render(*sample_files(sample), release=sample["release"])) == []


def test_accelerator_count_below_parallelism() -> None:
    objects = pd_objects()
    engine(objects)["resources"]["limits"]["nvidia.com/gpu"] = 2
    assert messages(check_accelerators(objects)) == [
        "Deployment/gpt-oss-decode: 2 x nvidia.com/gpu per pod but tensor x pipeline x "
        "dataLocal = 4: vLLM cannot start; drop accelerator.count / the explicit resource, "
        "or fix parallelism [accelerators]"
    ]


def test_parallelism_without_accelerators() -> None:
    objects = pd_objects()
    del engine(objects)["resources"]["limits"]["nvidia.com/gpu"]
    assert "parallelism needs 4 accelerators per pod but the pod requests none" in messages(
        check_accelerators(objects))[0]


def test_engine_port_disagrees_with_container_port() -> None:
    objects = pd_objects()
    container = engine(objects)
    container["args"] = [a if not a.startswith("--port=") else "--port=9000"
                         for a in container["args"]]
    assert messages(check_engine_port(objects)) == [
        "Deployment/gpt-oss-decode: engine listens on --port=9000 but the container declares "
        "vllm=8200; set engine.port, not an arg [engine-port]"
    ]


def test_service_selecting_nothing() -> None:
    objects = pd_objects()
    one(objects, "Service", "gpt-oss-prefill")["spec"]["selector"]["llm-d.ai/role"] = "prefil"
    assert "matches no pod of this release" in messages(check_service_targets(objects))[0]


def test_service_target_port_missing() -> None:
    objects = pd_objects()
    one(objects, "Service", "gpt-oss-decode")["spec"]["ports"][0]["targetPort"] = "grpc"
    assert messages(check_service_targets(objects)) == [
        "Service/gpt-oss-decode: targetPort grpc is not a port of the selected pods "
        "[service-port]"
    ]


def pool(selector: dict[str, str], port: int = 8000) -> Obj:
    return {"apiVersion": "inference.networking.k8s.io/v1", "kind": "InferencePool",
            "metadata": {"name": "gpt-oss"},
            "spec": {"selector": {"matchLabels": selector}, "targetPorts": [{"number": port}]}}


def test_pool_selector_must_cover_model_pods() -> None:
    objects = pd_objects()
    good = {"app.kubernetes.io/instance": "gpt-oss", "llm-d.ai/inferenceServing": "true"}
    assert messages(check_pool_selector([*objects, pool(good)])) == []
    bad = [*objects, pool({**good, "llm-d.ai/role": "decode"})]
    assert "misses model pods" in messages(check_pool_selector(bad))[0]
    assert "target port 9999 is not a port of the model pods" in messages(
        check_pool_selector([*objects, pool(good, 9999)]))[0]


def test_pool_selector_must_not_match_other_pods() -> None:
    objects = pd_objects()
    epp = copy.deepcopy(one(objects, "Deployment", "gpt-oss-decode"))
    epp["metadata"]["name"] = "gpt-oss-epp"
    epp["spec"]["template"]["metadata"]["labels"] = {"app.kubernetes.io/instance": "gpt-oss"}
    selector = {"app.kubernetes.io/instance": "gpt-oss"}
    assert "also matches non-model pods" in messages(
        check_pool_selector([*objects, epp, pool(selector)]))[-1]


def epp_config(non_cached_tokens: int | None) -> Obj:
    parameters = {} if non_cached_tokens is None else {"nonCachedTokens": non_cached_tokens}
    text = ("apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\nplugins:\n"
            f"- type: prefix-based-pd-decider\n  parameters: {parameters}\n")
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "gpt-oss-epp"},
            "data": {"config.yaml": text}}


def test_pd_decider_needs_non_cached_tokens() -> None:
    objects = pd_objects()
    assert messages(check_pd_decider([*objects, epp_config(16)])) == []
    assert messages(check_pd_decider([*objects, epp_config(None)])) == [
        "ConfigMap/gpt-oss-epp: prefill is enabled but no prefix-based-pd-decider sets "
        "nonCachedTokens: every request would stay decode-only [pd-decider]"
    ]


def lws(size: int, gpus: int, tensor: int) -> Obj:
    template = {"metadata": {"labels": {"llm-d.ai/role": "decode"}},
                "spec": {"containers": [{"name": "vllm",
                                         "args": [f"--tensor-parallel-size={tensor}"],
                                         "resources": {"limits": {"nvidia.com/gpu": gpus}}}]}}
    return {"apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet",
            "metadata": {"name": "big-decode"},
            "spec": {"leaderWorkerTemplate": {"size": size, "workerTemplate": template}}}


def test_lws_size_must_hold_all_ranks() -> None:
    assert messages(check_lws_size([lws(2, 8, 16)])) == []
    assert messages(check_lws_size([lws(1, 8, 16)])) == [
        "LeaderWorkerSet/big-decode: group of 1 pods x 8 accelerators = 8, but the engine "
        "needs 16 ranks: vLLM would hang waiting [lws-size]"
    ]


def test_model_path_must_be_mounted() -> None:
    sample = next(s for s in samples() if s["name"] == "llama-3.3-70b-pvc")
    objects = copy.deepcopy(render(*sample_files(sample), release="llama-70b"))
    container = engine(objects, "llama-70b-decode")
    container["args"][0] = "/models/llama"
    assert "model argument /models/llama is not under any volume mount" in messages(
        check_model_mounted(objects))[0]


def test_hub_cache_must_be_mounted() -> None:
    objects = pd_objects()
    for variable in engine(objects)["env"]:
        if variable["name"] == "HF_HOME":
            variable["value"] = "/root/.cache"
    assert "hub cache /root/.cache for openai/gpt-oss-120b is not on a mounted volume" in (
        messages(check_model_mounted(objects))[0])
