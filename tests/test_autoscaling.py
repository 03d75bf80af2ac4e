"""Autoscaling on serving signals: the Workload Variant Autoscaler (WVA) path and KEDA.

Rendered ScaledObjects against the real KEDA v2.20.2 CRD schema; the WVA and KEDA contract
checks of `mst validate` against renderings (and against the upstream sample shape they
exist to catch); what `mst doctor` reports for a release's autoscaling; and, live, the API
server accepting the HPA and the ScaledObject (with the pinned KEDA CRD)."""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelservice_tool import doctor
from modelservice_tool.crd_cache import PINNED
from modelservice_tool.manifests import CrdSchemas
from modelservice_tool.upstream import check_keda, check_wva, run_contract_checks
from support import EXAMPLES, KEDA_CRD, PRESETS, Obj, one, render, render_values

SIM = PRESETS / "cpu-sim.yaml"
KEDA_SAMPLE = (SIM, EXAMPLES / "qwen3-0.6b-cpu-sim-keda.yaml")
WVA_SAMPLE = (PRESETS / "nvidia-h100.yaml", EXAMPLES / "qwen3-32b-wva.yaml")
CPU_TRIGGER = {"cpu": {"type": "cpu", "metricType": "Utilization", "metadata": {"value": "80"}}}
MODEL = {"model": {"uri": "hf://Qwen/Qwen3-0.6B"}}
WVA_KEDA = {**MODEL, "decode": {"autoscaling": {
    "enabled": True, "maxReplicas": 4, "wva": {"enabled": True, "variantCost": "12.5"},
    "keda": {"enabled": True, "prometheus": {
        "serverAddress": "http://prometheus.{{ .Namespace }}:9090",
        "authenticationRef": {"name": "prom-auth"}, "metadata": {"unsafeSsl": "false"}}}}}}
LWS_KEDA = {**MODEL, "decode": {"parallelism": {"tensor": 16},
                       "multiNode": {"enabled": True, "acceleratorsPerNode": 8},
                       "autoscaling": {"enabled": True, "keda": {"enabled": True,
                                                                 "triggers": CPU_TRIGGER}}}}


def keda_validator():  # -> jsonschema validator of the pinned ScaledObject CRD
    if not KEDA_CRD.is_file():
        pinned = next(crd for crd in PINNED if crd.folder == "keda")
        pytest.skip(f"{KEDA_CRD} is missing ({pinned.repo} {pinned.tag}:{pinned.path}); point "
                    "MST_CRDS_DIR at a copy of ../shared/crds that has it")
    validator = CrdSchemas([KEDA_CRD]).validator("ScaledObject", "keda.sh/v1alpha1")
    assert validator is not None
    return validator


def crd_errors(obj: Obj) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in keda_validator().iter_errors(obj)]


# --------------------------------------------------------------------------- KEDA CRD


@pytest.mark.parametrize("case", ["sample", "wva", "multi-node"])
def test_scaled_objects_match_the_pinned_keda_crd(tmp_path: Path, case: str) -> None:
    objects = {"sample": lambda: render(*KEDA_SAMPLE, release="qwen-keda"),
               "wva": lambda: render_values(tmp_path, WVA_KEDA, SIM),
               "multi-node": lambda: render_values(tmp_path, LWS_KEDA,
                                                   PRESETS / "nvidia-h100.yaml")}[case]()
    scaled = one(objects, "ScaledObject")
    assert crd_errors(scaled) == []
    # KEDA owns the HPA of its ScaledObject: the chart renders none beside it
    assert not [o for o in objects if o["kind"] == "HorizontalPodAutoscaler"]
    workload = next(o for o in objects if o["metadata"]["name"] == scaled["spec"][
        "scaleTargetRef"]["name"] and o["kind"] == scaled["spec"]["scaleTargetRef"]["kind"])
    assert "replicas" not in workload["spec"]  # left to KEDA's HPA


def test_the_keda_crd_check_is_live() -> None:
    """The same validator refuses what KEDA's API server would (so the test above can fail)."""
    scaled = one(render(*KEDA_SAMPLE, release="qwen-keda"), "ScaledObject")
    for mutate, where in ((lambda s: s["spec"].pop("triggers"), "triggers"),
                          (lambda s: s["spec"].update(maxReplicaCount=0), "maxReplicaCount"),
                          (lambda s: s["spec"]["triggers"][0]["metadata"].update(threshold=4),
                           "threshold")):
        broken = copy.deepcopy(scaled)
        mutate(broken)
        assert any(where in error for error in crd_errors(broken)), where


# --------------------------------------------------------------------------- contracts


def test_samples_pass_the_wva_and_keda_contract_checks() -> None:
    for files, release in ((KEDA_SAMPLE, "qwen-keda"), (WVA_SAMPLE, "qwen-wva")):
        assert run_contract_checks(render(*files, release=release)) == []


def test_wva_hpa_is_discoverable_and_selects_its_own_variant() -> None:
    objects = render(*WVA_SAMPLE, release="qwen-wva")
    hpa = one(objects, "HorizontalPodAutoscaler")
    assert hpa["metadata"]["annotations"] == {"llm-d.ai/managed": "true",
                                               "llm-d.ai/model-id": "Qwen/Qwen3-32B",
                                               "llm-d.ai/variant-cost": "20.0"}
    metric = hpa["spec"]["metrics"][0]["external"]
    assert metric["metric"]["selector"]["matchLabels"] == {
        "variant_name": "qwen-wva-decode", "exported_namespace": hpa["metadata"]["namespace"]}
    assert metric["target"] == {"type": "AverageValue", "averageValue": "1"}
    # WVA v0.8.0 reads the accelerator from the pods' GPU product affinity first
    affinity = json.dumps(one(objects, "Deployment", "qwen-wva-decode")["spec"]["template"])
    assert "nvidia.com/gpu.product" in affinity


def test_wva_check_catches_what_makes_wva_silently_inert(tmp_path: Path) -> None:
    objects = render_values(tmp_path, {**MODEL, "decode": {"autoscaling": {
        "enabled": True, "wva": {"enabled": True, "modelId": "Qwen3-0.6B"}}}}, SIM)
    hpa = one(objects, "HorizontalPodAutoscaler")
    messages = [f.message for f in check_wva(objects)]
    assert messages == ["llm-d.ai/model-id 'Qwen3-0.6B' is not the name vLLM serves "
                        "('Qwen/Qwen3-0.6B'): WVA finds no vLLM series for it and never scales"]
    # The shape of WVA's own v0.8.0 HPA sample: an HPA named <deployment>-hpa selecting
    # variant_name=<deployment>, though WVA names the variant after the HPA.
    sample = copy.deepcopy(hpa)
    sample["metadata"]["name"] += "-hpa"
    sample["metadata"]["annotations"].update({"llm-d.ai/model-id": "Qwen/Qwen3-0.6B",
                                              "llm-d.ai/varient-cost": "3"})
    findings = [f.message for f in check_wva([*objects, sample]) if f.obj.endswith("-hpa")]
    assert any("names the variant after this object" in m for m in findings), findings
    assert any("'llm-d.ai/varient-cost' is not one WVA v0.8.0 reads (did you mean "
               "'llm-d.ai/variant-cost'?)" in m for m in findings), findings
    unmanaged = copy.deepcopy(hpa)
    unmanaged["metadata"]["annotations"] = {}
    assert ["lacks the llm-d.ai/managed" in f.message for f in check_wva([unmanaged])] == [True]


def test_keda_check_names_metadata_the_prometheus_scaler_does_not_read(tmp_path: Path) -> None:
    values = copy.deepcopy(WVA_KEDA)
    values["decode"]["autoscaling"]["keda"]["prometheus"]["metadata"] = {"unsafeSSL": "true"}
    objects = render_values(tmp_path, values, SIM)
    assert [f.message for f in check_keda(objects)] == [
        "trigger 'wva-desired-replicas': KEDA v2.20.2's prometheus scaler reads no "
        "'unsafeSSL' (did you mean 'unsafeSsl'?)"]
    scaled = one(objects, "ScaledObject")
    del scaled["spec"]["triggers"][0]["metadata"]["threshold"]
    assert any("needs metadata 'threshold'" in f.message for f in check_keda([scaled]))


def test_hpa_metrics_with_keda_are_refused_with_the_reason(tmp_path: Path) -> None:
    from test_mst_errors import assert_clean_error, mst

    values = tmp_path / "keda.yaml"
    values.write_text(yaml.safe_dump({"decode": {"autoscaling": {
        "enabled": True, "epp": {"runningRequests": 4},
        "keda": {"enabled": True, "triggers": CPU_TRIGGER}}}}))
    result = mst("validate", "-p", "cpu-sim", "-f", str(KEDA_SAMPLE[1]), "-f", str(values))
    assert_clean_error(result, 2, f"{values}:5:7: decode.autoscaling.epp.runningRequests: "
                       "not allowed here: an HPA metric, but autoscaling.keda.enabled renders "
                       "a KEDA ScaledObject instead of the HPA")


def test_keda_check_applies_kedas_admission_rules(tmp_path: Path) -> None:
    """What KEDA v2.20.2's webhook refuses although the CRD schema takes it."""
    values = {**MODEL, "decode": {"autoscaling": {"enabled": True, "keda": {
        "enabled": True, "fallback": {"failureThreshold": 3, "replicas": 2},
        "triggers": {"cpu": {**CPU_TRIGGER["cpu"], "useCachedMetrics": True}}}}},
        # another HPA on the same Deployment (KEDA owns the HPA of its ScaledObject)
        "extraObjects": {"hpa": {
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "mine"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": "test-decode"}, "maxReplicas": 3}}}}
    objects = render_values(tmp_path, values, SIM)
    if KEDA_CRD.is_file():  # the CRD schema alone takes it
        assert crd_errors(one(objects, "ScaledObject")) == []
    messages = sorted(f.message for f in check_keda(objects))
    assert messages == sorted([
        "KEDA v2.20.2 refuses it: useCachedMetrics is not supported for the cpu scaler",
        "KEDA v2.20.2 refuses it: a fallback needs a trigger other than cpu/memory",
        "KEDA v2.20.2 refuses it: HorizontalPodAutoscaler/mine already scales test-decode: "
        "KEDA creates and owns the HPA of a ScaledObject and refuses a second one"])


# --------------------------------------------------------------------------- doctor


def served(*kinds: tuple[str, str]) -> doctor.ServedApis:
    """Discovery answers of a cluster serving these (apiVersion, kind)."""
    listing: dict[str, list[dict[str, str]]] = {}
    for api_version, kind in kinds:
        listing.setdefault(api_version, []).append({"name": kind.lower() + "s", "kind": kind})

    def fetch(path: str) -> dict[str, Any] | None:
        if path == "/apis":
            return {"groups": [{"name": api.split("/")[0], "versions": [
                {"version": api.split("/")[1]}]} for api in listing if "/" in api]}
        found = listing.get(path.removeprefix("/apis/").removeprefix("/api/"))
        return None if found is None else {"resources": found}

    return doctor.ServedApis(fetch)


def layered(*files: Path, values: dict[str, Any] | None = None) -> dict[str, Any]:
    from modelservice_tool.layers_io import Inputs
    from modelservice_tool.release import Release
    from support import CHART

    release = Release(Inputs((), files), "t", "default", CHART)
    data = release.layered().values
    return {**data, **(values or {})}


def test_doctor_knows_which_autoscalers_a_release_uses() -> None:
    assert doctor.Autoscalers.of(layered(*KEDA_SAMPLE)) == doctor.Autoscalers(keda=True)
    assert doctor.Autoscalers.of(layered(*WVA_SAMPLE)) == doctor.Autoscalers(wva=True, hpa=True)
    assert doctor.Autoscalers.of(layered(SIM)) == doctor.Autoscalers()
    off = {"decode": {"enabled": False, "autoscaling": {"enabled": True}}}
    assert doctor.Autoscalers.of(off) == doctor.Autoscalers()


def test_doctor_checks_what_keda_and_wva_need() -> None:
    keda = doctor.Autoscalers(keda=True, wva=True)
    missing = {c.name: c for c in doctor.autoscaler_checks(served(), keda)}
    assert missing["CRD ScaledObject"].label == "FAIL"
    assert "kedacore/keda/releases/download/v2.20.2/" in missing["CRD ScaledObject"].fix
    assert missing["WVA controller"].label == "warn"
    assert "WVA metric" not in missing  # KEDA queries Prometheus itself
    ok = {c.name: c for c in doctor.autoscaler_checks(
        served(("keda.sh/v1alpha1", "ScaledObject")), keda)}
    assert ok["CRD ScaledObject"].label == "ok"
    hpa = doctor.Autoscalers(wva=True, hpa=True)
    checks = {c.name: c for c in doctor.autoscaler_checks(served(), hpa)}
    assert checks["WVA metric"].label == "warn"
    assert "wva_desired_replicas" in checks["WVA metric"].detail
    served_external = served(("external.metrics.k8s.io/v1beta1", "ExternalMetricValueList"))
    assert {c.name: c.label for c in doctor.autoscaler_checks(served_external, hpa)} == {
        "WVA metric": "ok", "WVA controller": "warn"}
    assert doctor.autoscaler_checks(served(), doctor.Autoscalers(hpa=True)) == []


def test_mst_doctor_checks_the_release_values_first(tmp_path: Path) -> None:
    from test_mst_errors import assert_clean_error, mst

    bad = tmp_path / "bad.yaml"
    bad.write_text("decode:\n  autoscaling:\n    keda: {enable: true}\n")
    result = mst("doctor", "-p", "cpu-sim", "-f", str(bad),
                 env={"KUBECONFIG": str(tmp_path / "none")})
    assert_clean_error(result, 2, "decode.autoscaling.keda", "enable")


# --------------------------------------------------------------------------- live


@pytest.mark.e2e
def test_api_server_accepts_the_hpa_and_the_scaled_object(live_namespace: str,
                                                          tmp_path: Path) -> None:
    """Real create (no kubelet: nothing scales) of the WVA HPA and, with the pinned KEDA CRD
    applied if the cluster lacks it (never removed: CRDs are cluster-wide), the
    ScaledObject; then the CRD's own CEL rule refuses min above max."""
    import live

    if not KEDA_CRD.is_file():
        keda_validator()  # skips with the reason
    if not live.served("keda.sh/v1alpha1", "ScaledObject"):
        live.apply_crds(KEDA_CRD)
    wva = one(render(*WVA_SAMPLE, release="qwen-wva"), "HorizontalPodAutoscaler")
    scaled = one(render_values(tmp_path, WVA_KEDA, SIM), "ScaledObject")
    for obj in (wva, scaled):
        obj["metadata"]["namespace"] = live_namespace
        live.kubectl("create", "-f", "-", stdin=json.dumps(obj))
    stored = live.get_json("horizontalpodautoscalers.autoscaling", "qwen-wva-decode",
                           "-n", live_namespace)
    assert stored["metadata"]["annotations"]["llm-d.ai/model-id"] == "Qwen/Qwen3-32B"
    assert stored["spec"]["metrics"] == wva["spec"]["metrics"]
    kept = live.get_json("scaledobjects.keda.sh", "test-decode", "-n", live_namespace)
    assert kept["spec"]["triggers"] == scaled["spec"]["triggers"]
    bad = copy.deepcopy(scaled)
    bad["metadata"]["name"] = "test-bad"
    bad["spec"].update(minReplicaCount=5, maxReplicaCount=2)
    refused = live.kubectl("create", "--dry-run=server", "-f", "-", stdin=json.dumps(bad),
                           check=False)
    assert refused.returncode != 0
    assert "minReplicaCount must be less than or equal to maxReplicaCount" in refused.stderr
    # and `mst doctor` with the release's values now finds KEDA's kind served
    from test_mst_errors import mst

    report = mst("doctor", "-p", "cpu-sim", "-f", str(KEDA_SAMPLE[1]),
                 env={"KUBECONFIG": os.environ.get("KUBECONFIG", ""),
                      "HOME": str(tmp_path)}).stdout  # kubectl's cache goes to $HOME/.kube
    assert any(line.startswith("[ok  ] CRD ScaledObject") for line in report.splitlines()), report


def test_templates_cite_the_tags_of_the_contract_data() -> None:
    from modelservice_tool.upstream import load

    index = load("index.yaml")
    wva, keda = load(index["wva"]), load(index["keda"])
    templates = Path(__file__).parent.parent / "charts" / "modelservice" / "templates"
    for name, data in (("_autoscaling.tpl", wva), ("scaledobject.yaml", keda)):
        cited = rf"{re.escape(data['upstream'])}\s+{re.escape(data['version'])}\b"
        assert re.search(cited, (templates / name).read_text()), name
    assert [(c.repo, c.tag) for c in PINNED if c.folder == "keda"] == [
        (keda["upstream"], keda["version"])]
