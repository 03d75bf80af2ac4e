"""The upgrade-impact engine (modelservice_tool.upgrade, behind `mst diff` and `mst upgrade`)
and the chart-release upgrade check.

- Release check: every sample rendered at HEAD vs. the newest stored chart release
  (tests/upgrade_baseline/<version>/, written by scripts/upgrade_baseline.py when a release
  is cut). A breaking change or a removed object fails; pod restarts are printed; new
  objects are fine.
- Scenarios a user's upgrade runs into, from the stored renderings (the "live release") to
  HEAD with changed values: a selector change, a kind change (multi-node turned on), a
  removed role, a pure restart.
- The engine's rules on small hand-made objects.
"""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelservice_tool import upgrade
from modelservice_tool.upgrade import Breaking, UpgradeImpact
from support import REPO, default_helm, run_helm_template, sample_files, samples

BASELINES = REPO / "tests" / "upgrade_baseline"


def _load_script() -> Any:
    spec = importlib.util.spec_from_file_location(
        "upgrade_baseline", REPO / "scripts" / "upgrade_baseline.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPT = _load_script()


def version_key(version: str) -> tuple[int, ...]:
    """`0.10.1` -> (0, 10, 1); pre-release suffixes sort with their release."""
    return tuple(int(part) for part in version.split("-")[0].split("."))


def latest_baseline() -> Path | None:
    """The newest stored release's baseline folder."""
    folders = [path for path in BASELINES.iterdir() if path.is_dir()] if BASELINES.is_dir() else []
    return max(folders, key=lambda path: version_key(path.name), default=None)


def load(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


# --------------------------------------------------------------------------- HEAD vs release


def test_a_baseline_exists_and_is_not_newer_than_the_chart() -> None:
    baseline = latest_baseline()
    assert baseline is not None, "no baseline: run scripts/upgrade_baseline.py"
    assert version_key(baseline.name) <= version_key(SCRIPT.chart_version()), (
        f"baseline {baseline.name} is newer than Chart.yaml {SCRIPT.chart_version()}")


@pytest.mark.parametrize("sample", samples(), ids=lambda sample: sample["name"])
def test_upgrade_from_latest_release_keeps_selectors_and_names(
    sample: dict[str, str], record_property: Any,
) -> None:
    baseline = latest_baseline()
    stored = baseline / f"{sample['name']}.yaml" if baseline else None
    if stored is None or not stored.is_file():
        pytest.skip(f"sample {sample['name']} is newer than the stored release baseline")
    impact = upgrade.compare(load(stored.read_text()),
                             load(SCRIPT.render_sample(sample, str(default_helm()))))
    text = upgrade.format_impact(impact, title=f"{sample['name']}: {baseline.name} -> HEAD")
    print(text)  # restarts are reported, not failures
    record_property("upgrade_restarts", ", ".join(impact.restarts))
    # With the same values a chart release must not drop objects, even harmless ones.
    assert not impact.breaking and not impact.removed, text


# --------------------------------------------------------------------------- user scenarios

NAMESPACE = SCRIPT.NAMESPACE  # the stored renderings' namespace


def sample_named(name: str) -> dict[str, str]:
    return next(sample for sample in samples() if sample["name"] == name)


def stored(name: str) -> list[dict[str, Any]]:
    """The stored rendering of a sample in the newest baseline: the release as installed."""
    baseline = latest_baseline()
    path = baseline / f"{name}.yaml" if baseline else None
    if path is None or not path.is_file():
        pytest.skip(f"no stored rendering of {name}: run scripts/upgrade_baseline.py")
    return load(path.read_text())


def head(name: str, *sets: str) -> list[dict[str, Any]]:
    """The sample rendered at HEAD with extra --set values, like the stored renderings."""
    sample = sample_named(name)
    result = run_helm_template(sample_files(sample), sets, release=sample["release"],
                               namespace=NAMESPACE)
    assert result.returncode == 0, result.stderr
    return load(result.stdout)


def scenario(name: str, *sets: str) -> tuple[UpgradeImpact, set[Breaking]]:
    """The impact of upgrading the stored release to HEAD with `sets`, and the breaking
    changes the values cause (beyond those of HEAD itself, which the release check keeps
    at none)."""
    old = stored(name)
    impact = upgrade.compare(old, head(name, *sets))
    print(upgrade.format_impact(impact))
    return impact, set(impact.breaking) - set(upgrade.compare(old, head(name)).breaking)


def reasons(findings: set[Breaking]) -> set[tuple[str, str]]:
    return {(finding.reason, finding.obj) for finding in findings}


def test_selector_change_is_refused_with_what_helm_does_and_what_to_do() -> None:
    """nameOverride feeds the selector labels: the Deployments' immutable selectors change,
    and the Services and the InferencePool select labels no running pod has."""
    impact, caused = scenario("qwen3-0.6b-cpu-sim", "nameOverride=qwen")
    assert reasons(caused) == {
        ("immutable", "Deployment/qwen-sim-decode"), ("immutable", "Deployment/qwen-sim-epp"),
        ("traffic-selector", "Service/qwen-sim-decode"),
        ("traffic-selector", "Service/qwen-sim-epp"),
        ("traffic-selector", "InferencePool/qwen-sim")}
    decode = next(f for f in caused if f.obj == "Deployment/qwen-sim-decode")
    assert "app.kubernetes.io/name: modelservice -> qwen" in decode.detail
    assert "API server rejects" in decode.effect and "half-upgraded" in decode.effect
    text = upgrade.format_impact(impact)
    assert text.index("BREAKING") < text.index("Changes:") < text.index("Pods restart")
    assert ("kubectl delete deployment qwen-sim-decode qwen-sim-epp -n upgrade-check"
            in " ".join(text.split()))
    assert "--release NEW" in text and "mst uninstall" in text


def test_kind_change_when_multi_node_is_turned_on() -> None:
    impact, caused = scenario(
        "llama-3.1-8b", "decode.multiNode.enabled=true",
        "decode.multiNode.acceleratorsPerNode=1", "decode.parallelism.tensor=2")
    assert reasons(caused) == {("kind-changed", "Deployment/llama-8b-decode")}
    (finding,) = caused
    assert "LeaderWorkerSet" in finding.detail and "deletes the Deployment" in finding.effect
    assert "LeaderWorkerSet/llama-8b-decode" in impact.added
    assert "Deployment/llama-8b-decode" in impact.removed


def test_removed_role_is_breaking_its_other_effects_are_changes() -> None:
    impact, caused = scenario("gpt-oss-120b-pd", "prefill.enabled=false")
    assert reasons(caused) == {("removed", "Deployment/gpt-oss-prefill"),
                               ("removed", "Service/gpt-oss-prefill")}
    assert {"Deployment/gpt-oss-decode", "ConfigMap/gpt-oss-epp"} <= {
        change.id for change in impact.changed}


def test_pure_restart_is_not_breaking() -> None:
    impact, caused = scenario("qwen3-0.6b-cpu-sim", "engine.args.max-num-seqs=32")
    assert caused == set() and not impact.breaking
    assert "Deployment/qwen-sim-decode" in impact.restarts
    # Against HEAD itself, exactly one object changes: the decode pod template.
    exact = upgrade.compare(head("qwen3-0.6b-cpu-sim"),
                            head("qwen3-0.6b-cpu-sim", "engine.args.max-num-seqs=32"))
    assert [(c.id, c.restarts_pods) for c in exact.changed] == [
        ("Deployment/qwen-sim-decode", True)]
    assert all(path.startswith("spec.template.spec.containers[0].args")
               for path in exact.changed[0].paths)
    assert "BREAKING" not in upgrade.format_impact(exact)


def test_the_release_check_fails_on_a_changed_selector_in_a_real_rendering() -> None:
    """Deliberately change a selector in a real sample rendering: the assertion trips."""
    sample = samples()[0]
    old = load(SCRIPT.render_sample(sample, str(default_helm())))
    new = copy.deepcopy(old)
    workload = next(obj for obj in new if obj["kind"] == "Deployment")
    workload["spec"]["selector"]["matchLabels"]["llm-d.ai/role"] = "renamed"
    impact = upgrade.compare(old, new)
    assert impact.breaking
    with pytest.raises(AssertionError):
        assert not impact.breaking


# --------------------------------------------------------------------------- the engine's rules

Obj = dict[str, Any]


def deployment(name: str = "m-decode", *, role: str = "decode", image: str = "v:1",
               replicas: int = 1, api: str = "apps/v1", namespace: str | None = "ns") -> Obj:
    labels = {"app.kubernetes.io/instance": "m", "llm-d.ai/role": role}
    metadata: Obj = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {
        "apiVersion": api, "kind": "Deployment", "metadata": metadata,
        "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                 "template": {"metadata": {"labels": dict(labels)},
                              "spec": {"containers": [{"name": "vllm", "image": image}]}}},
    }


def service(selector: dict[str, str] | None = None, port: int = 8000,
            name: str = "m-decode") -> Obj:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "ns"},
            "spec": {"selector": selector or {"llm-d.ai/role": "decode"},
                     "ports": [{"port": port}]}}


def pool(labels: dict[str, str]) -> Obj:
    return {"apiVersion": "inference.networking.k8s.io/v1", "kind": "InferencePool",
            "metadata": {"name": "m", "namespace": "ns"},
            "spec": {"selector": {"matchLabels": labels}}}


def lws(*, size: int = 2, image: str = "a", replicas: int = 1,
        sub_group: int | None = None) -> Obj:
    template = {"metadata": {"labels": {"llm-d.ai/role": "decode"}},
                "spec": {"containers": [{"name": "vllm", "image": image}]}}
    spec: Obj = {"size": size, "workerTemplate": template}
    if sub_group:
        spec["subGroupPolicy"] = {"subGroupSize": sub_group}
    return {"apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet",
            "metadata": {"name": "m-decode", "namespace": "ns"},
            "spec": {"replicas": replicas, "leaderWorkerTemplate": spec}}


def test_identical_manifests_report_nothing_and_order_does_not_matter() -> None:
    objects = [deployment(), service()]
    impact = upgrade.compare(objects, list(reversed(copy.deepcopy(objects))))
    assert impact.empty and impact.breaking == ()
    assert upgrade.format_impact(impact) == "no changes"


def test_added_removed_changed_objects() -> None:
    old = [deployment(), service(), service(name="m-old")]
    new = [deployment(), service(port=9000), service(name="m-new"), pool({"a": "1"})]
    impact = upgrade.compare(old, new)
    assert impact.added == ("Service/m-new", "InferencePool/m")  # core group first
    assert impact.removed == ("Service/m-old",)
    assert [(c.id, c.paths) for c in impact.changed] == [
        ("Service/m-decode", ("spec.ports[0].port",))]
    assert impact.restarts == ()
    assert [(f.reason, f.obj) for f in impact.breaking] == [("removed", "Service/m-old")]


def test_removing_an_object_that_serves_nothing_is_a_change_only() -> None:
    monitor = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor",
               "metadata": {"name": "m-decode", "namespace": "ns"}}
    impact = upgrade.compare([deployment(), monitor], [deployment()])
    assert impact.removed == ("PodMonitor/m-decode",) and impact.breaking == ()


def test_a_changed_deployment_selector_is_immutable() -> None:
    new = deployment()
    new["spec"]["selector"]["matchLabels"]["app.kubernetes.io/version"] = "0.2.0"
    impact = upgrade.compare([deployment()], [new])
    assert [(f.reason, f.obj) for f in impact.breaking] == [("immutable", "Deployment/m-decode")]
    assert "+app.kubernetes.io/version: 0.2.0" in impact.breaking[0].detail
    expressions = deployment()
    expressions["spec"]["selector"]["matchExpressions"] = [
        {"key": "tier", "operator": "In", "values": ["gpu"]}]
    (finding,) = upgrade.compare([deployment()], [expressions]).breaking
    assert "matchExpressions" in finding.detail


def test_leaderworkerset_sub_group_size_is_immutable_but_size_is_a_restart() -> None:
    assert [f.reason for f in upgrade.compare([lws(sub_group=2)],
                                              [lws(sub_group=4)]).breaking] == ["immutable"]
    assert [f.reason for f in upgrade.compare([lws()], [lws(sub_group=2)]).breaking] == [
        "immutable"]
    resized = upgrade.compare([lws(size=2)], [lws(size=4)])
    assert resized.breaking == () and resized.restarts == ("LeaderWorkerSet/m-decode",)
    assert upgrade.compare([lws()], [lws(image="b")]).restarts == ("LeaderWorkerSet/m-decode",)
    assert upgrade.compare([lws()], [lws(replicas=3)]).restarts == ()


def test_a_selector_no_running_pod_matches_is_breaking() -> None:
    old = [deployment(), service(), pool({"llm-d.ai/role": "decode"})]
    new = [deployment(), service({"llm-d.ai/role": "prefill"}),
           pool({"llm-d.ai/role": "prefill"})]
    impact = upgrade.compare(old, new)
    assert sorted((f.reason, f.obj) for f in impact.breaking) == [
        ("traffic-selector", "InferencePool/m"), ("traffic-selector", "Service/m-decode")]


def test_a_narrower_selector_the_running_pods_still_match_is_a_change_only() -> None:
    narrower = {"llm-d.ai/role": "decode", "app.kubernetes.io/instance": "m"}
    impact = upgrade.compare([deployment(), service()], [deployment(), service(narrower)])
    assert impact.breaking == () and [c.id for c in impact.changed] == ["Service/m-decode"]


def test_a_selector_of_pods_from_elsewhere_is_not_judged() -> None:
    impact = upgrade.compare([service({"app": "x"})], [service({"app": "y"})])
    assert impact.breaking == ()


def test_a_kind_or_group_change_under_the_same_name_is_breaking() -> None:
    impact = upgrade.compare([deployment()], [lws()])
    assert [(f.reason, f.obj) for f in impact.breaking] == [
        ("kind-changed", "Deployment/m-decode")]
    other_group = upgrade.compare([deployment()], [deployment(api="example.com/v1")])
    assert [f.reason for f in other_group.breaking] == ["kind-changed"]
    assert "(example.com)" in other_group.breaking[0].detail


def test_pod_template_changes_restart_replicas_and_labels_do_not() -> None:
    impact = upgrade.compare([deployment()], [deployment(image="v:2")])
    assert impact.breaking == () and impact.restarts == ("Deployment/m-decode",)
    assert impact.changed[0].paths == ("spec.template.spec.containers[0].image",)
    scaled = upgrade.compare([deployment()], [deployment(replicas=3)])
    assert scaled.changed[0].paths == ("spec.replicas",) and scaled.restarts == ()
    labelled = deployment()
    labelled["metadata"]["labels"] = {"a": "1"}
    assert upgrade.compare([deployment()], [labelled]).restarts == ()


def test_objects_match_on_group_kind_namespace_name() -> None:
    impact = upgrade.compare([deployment(namespace=None)], [deployment()],
                             default_namespace="ns")
    assert impact.added == impact.removed == () and impact.breaking == ()
    bumped = {"apiVersion": "inference.networking.x-k8s.io/v1alpha2", "kind": "InferencePool",
              "metadata": {"name": "m"}}
    moved = {**bumped, "apiVersion": "inference.networking.x-k8s.io/v1"}
    impact = upgrade.compare([bumped], [moved])
    assert [c.paths for c in impact.changed] == [("apiVersion",)] and not impact.breaking


def test_changed_paths_for_added_keys_and_resized_lists() -> None:
    assert upgrade.changed_paths({"a": {"b": 1}}, {"a": {"b": 1, "c": 2}}) == ["a.c"]
    assert upgrade.changed_paths({"l": [1, 2]}, {"l": [1, 2, 3]}) == ["l"]
    assert upgrade.changed_paths(1, 2) == ["<root>"]


def test_hooks_and_empty_documents_are_ignored() -> None:
    hook = {"kind": "Pod", "metadata": {"name": "m-test",
                                        "annotations": {"helm.sh/hook": "test"}}}
    assert upgrade.without_hooks([None, hook, service()]) == [service()]
    assert upgrade.compare([deployment(), hook], [deployment()]).empty


def test_not_installed_adds_everything() -> None:
    impact = upgrade.not_installed([deployment(), service(), None])
    assert not impact.installed and impact.breaking == () and impact.removed == ()
    assert impact.added == ("Service/m-decode", "Deployment/m-decode")
