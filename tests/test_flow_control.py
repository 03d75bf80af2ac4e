"""EPP flow control and InferenceObjectives keyed by name: the EPP config against the
llm-d-router v0.10.0 contract data (feature gate, FlowControlConfig and PriorityBandConfig
fields), the objectives against the upstream InferenceObjective CRD, and every objective's
priority having a band of its own."""

from __future__ import annotations

import copy

import yaml

from modelservice_tool.upstream import check_contracts, run_contract_checks
from support import Obj, assert_valid_stack, epp_config, find, render, sample_files, samples

SAMPLE = next(s for s in samples() if s["name"] == "llama-3.1-8b-flow-control")


def objects() -> list[Obj]:
    return render(*sample_files(SAMPLE), release=SAMPLE["release"])



def with_config(config: dict) -> list[Obj]:
    return [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "epp"},
             "data": {"config.yaml": yaml.safe_dump(config)}}]


def test_the_sample_matches_the_contract_and_the_crds() -> None:
    objs = objects()
    assert [str(f) for f in run_contract_checks(objs)] == []
    assert_valid_stack(objs)


def test_every_objective_priority_has_its_band() -> None:
    objs = objects()
    bands = {b["priority"] for b in epp_config(objs)["flowControl"]["priorityBands"]}
    objectives = find(objs, "InferenceObjective")
    assert {o["metadata"]["name"] for o in objectives} == {"interactive", "batch"}
    assert {o["spec"]["priority"] for o in objectives} <= bands
    pool = find(objs, "InferencePool")[0]["metadata"]["name"]
    assert {o["spec"]["poolRef"]["name"] for o in objectives} == {pool}


def test_the_contract_check_sees_flow_control_mistakes() -> None:
    config = copy.deepcopy(epp_config(objects()))
    config["featureGates"] = []
    config["flowControl"]["maxRequest"] = 1
    config["flowControl"]["priorityBands"][0]["prio"] = 1
    messages = [f.message for f in check_contracts(with_config(config))]
    assert "flowControl is configured but the flowControl feature gate is not on" in messages
    assert any("flowControl: unknown field 'maxRequest'" in m for m in messages), messages
    assert any("priority band: unknown field 'prio'" in m for m in messages), messages


def test_the_hpa_reads_series_the_epp_reports_by_their_labels() -> None:
    objs = objects()
    (hpa,) = find(objs, "HorizontalPodAutoscaler")
    (metric,) = hpa["spec"]["metrics"]
    assert metric["external"]["metric"]["name"] == "llm_d_epp_flow_control_queue_size"
    pool = find(objs, "InferencePool")[0]["metadata"]["name"]
    assert metric["external"]["metric"]["selector"]["matchLabels"] == {"inference_pool": pool}
    assert "flowControl" in epp_config(objs)["featureGates"]
    bad = copy.deepcopy(hpa)
    bad["spec"]["metrics"][0]["external"]["metric"]["selector"]["matchLabels"] = {"pool": pool}
    bad["spec"]["metrics"].append({"type": "External", "external": {
        "metric": {"name": "llm_d_epp_queue_size"}, "target": {"type": "Value", "value": "1"}}})
    messages = [f.message for f in run_contract_checks([*objs, bad])
                if f.check == "epp-metrics"]
    assert any("has no label 'pool'" in m for m in messages), messages
    assert any("reports no series 'llm_d_epp_queue_size'" in m for m in messages), messages
