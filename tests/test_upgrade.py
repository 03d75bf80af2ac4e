"""Upgrade safety: every sample rendered at HEAD vs. the newest stored chart release.

The baselines in tests/upgrade_baseline/<version>/ are written by
scripts/upgrade_baseline.py when a chart release is cut. A changed Deployment selector,
Service or InferencePool selector, or a removed/renamed object fails; pod template changes
(the pods restart on upgrade) are printed; new objects are fine. The checker itself
(modelservice_tool.upgrade) is unit-tested below, including on a deliberately changed
selector.
"""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelservice_tool import upgrade
from support import REPO, default_helm, samples

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
    report = upgrade.compare(load(stored.read_text()),
                             load(SCRIPT.render_sample(sample, str(default_helm()))))
    text = upgrade.format_report(report, f"{sample['name']}: {baseline.name} -> HEAD")
    print(text)  # restarts are reported, not failures
    record_property("upgrade_restarts", ", ".join(report.restarts))
    assert not report.breaking, text


# --------------------------------------------------------------------------- the checker


def deployment(name: str = "m-decode", role: str = "decode", image: str = "v:1") -> dict:
    labels = {"app.kubernetes.io/instance": "m", "llm-d.ai/role": role}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": dict(labels)},
                 "template": {"metadata": {"labels": dict(labels)},
                              "spec": {"containers": [{"name": "vllm", "image": image}]}}},
    }


def service(selector: dict[str, str] | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "m-decode"},
            "spec": {"selector": selector or {"llm-d.ai/role": "decode"}}}


def pool(labels: dict[str, str]) -> dict:
    return {"apiVersion": "inference.networking.k8s.io/v1", "kind": "InferencePool",
            "metadata": {"name": "m"}, "spec": {"selector": {"matchLabels": labels}}}


def test_identical_manifests_report_nothing() -> None:
    objects = [deployment(), service()]
    report = upgrade.compare(objects, copy.deepcopy(objects))
    assert report.findings == () and report.added == ()
    assert "no changes" in upgrade.format_report(report)


def test_a_changed_deployment_selector_is_breaking() -> None:
    new = deployment()
    new["spec"]["selector"]["matchLabels"]["app.kubernetes.io/version"] = "0.2.0"
    report = upgrade.compare([deployment()], [new])
    assert [(f.kind, f.obj) for f in report.breaking] == [("selector", "Deployment/m-decode")]
    assert "immutable" in str(report.breaking[0])


def test_the_upgrade_test_fails_on_a_changed_selector_in_a_real_rendering() -> None:
    """Deliberately change a selector in a real sample rendering: the assertion trips."""
    sample = samples()[0]
    old = load(SCRIPT.render_sample(sample, str(default_helm())))
    new = copy.deepcopy(old)
    workload = next(obj for obj in new if obj["kind"] == "Deployment")
    workload["spec"]["selector"]["matchLabels"]["llm-d.ai/role"] = "renamed"
    report = upgrade.compare(old, new)
    assert report.breaking
    with pytest.raises(AssertionError):
        assert not report.breaking


def test_a_changed_service_or_pool_selector_is_breaking() -> None:
    report = upgrade.compare([service(), pool({"a": "1"})],
                             [service({"llm-d.ai/role": "prefill"}), pool({"a": "2"})])
    assert sorted(f.obj for f in report.breaking) == ["InferencePool/m", "Service/m-decode"]
    assert {f.kind for f in report.breaking} == {"traffic-selector"}


def test_removed_and_renamed_objects_are_breaking_additions_are_not() -> None:
    report = upgrade.compare([deployment(), service()],
                             [deployment("m-decode-v2"), service(), pool({"a": "1"})])
    assert [(f.kind, f.obj) for f in report.breaking] == [("removed", "Deployment/m-decode")]
    assert report.added == ("Deployment/m-decode-v2", "InferencePool/m")


def test_a_kind_change_under_the_same_name_is_breaking() -> None:
    lws = {"apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet",
           "metadata": {"name": "m-decode"}, "spec": {"leaderWorkerTemplate": {}}}
    report = upgrade.compare([deployment()], [lws])
    assert [f.kind for f in report.breaking] == ["kind-changed"]


def test_pod_template_changes_are_restarts_not_breaking() -> None:
    report = upgrade.compare([deployment()], [deployment(image="v:2")])
    assert report.breaking == ()
    assert report.restarts == ("Deployment/m-decode",)
    assert "restart  Deployment/m-decode" in upgrade.format_report(report)


def test_lws_templates_count_as_pod_templates() -> None:
    def lws(image: str) -> dict:
        template = {"spec": {"containers": [{"name": "vllm", "image": image}]}}
        return {"kind": "LeaderWorkerSet", "metadata": {"name": "m-decode"},
                "spec": {"leaderWorkerTemplate": {"size": 2, "workerTemplate": template}}}
    assert upgrade.compare([lws("a")], [lws("b")]).restarts == ("LeaderWorkerSet/m-decode",)


def test_hooks_are_ignored() -> None:
    hook = {"kind": "Pod", "metadata": {"name": "m-test",
                                        "annotations": {"helm.sh/hook": "test"}}}
    assert upgrade.compare([deployment(), hook], [deployment()]).findings == ()
