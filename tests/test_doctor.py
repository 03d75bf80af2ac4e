"""`mst doctor` checks without a cluster: helm versions, unreachable API server, CRD parsing."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelservice_tool import doctor
from modelservice_tool import helm as helm_module
from modelservice_tool.doctor import CRDS, Check, crd_checks, exit_code, format_report
from support import SHARED_CRDS, helm_binaries

HELMS = helm_binaries()


@pytest.fixture
def no_cluster(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """KUBECONFIG pointing at an API server that refuses connections at once."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "nowhere",
        "clusters": [{"name": "nowhere", "cluster": {"server": "https://127.0.0.1:1"}}],
        "contexts": [{"name": "nowhere", "context": {"cluster": "nowhere", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
    }))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    return kubeconfig


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


def test_unreachable_cluster_skips_crd_checks(no_cluster: Path) -> None:
    checks = doctor.run_checks()
    found = by_name(checks)
    assert found["helm"].ok and found["kubectl"].ok
    cluster = found["cluster"]
    assert not cluster.ok and cluster.hard
    assert "unreachable (context nowhere)" in cluster.detail
    crds = [check for check in checks if check.name.startswith("CRD ")]
    assert [check.name for check in crds] == [f"CRD {crd.kind}" for crd in CRDS]
    assert all(check.skipped and check.detail == "skipped: cluster unreachable" for check in crds)
    report = format_report(checks)
    assert "[FAIL] cluster" in report and "unreachable" in report
    assert "[skip] CRD InferencePool" in report
    assert "1 failure(s), 0 warning(s)" in report
    assert exit_code(checks) == 1


@pytest.mark.parametrize("name", sorted(HELMS))
def test_helm_major_version_detected(name: str, no_cluster: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    major = name.removeprefix("helm")
    check = doctor.check_helm(str(HELMS[name]))
    assert check.ok
    assert f"(helm {major}.x)" in check.detail and check.detail.startswith(f"{major}.")
    monkeypatch.setenv("MST_HELM", str(HELMS[name]))
    assert f"(helm {major}.x)" in by_name(doctor.run_checks())["helm"].detail


def fake_helm(tmp_path: Path, version: str) -> Path:
    path = tmp_path / "helm"
    path.write_text(f"#!/bin/sh\necho {version}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_other_helm_major_is_a_warning(tmp_path: Path) -> None:
    check = doctor.check_helm(str(fake_helm(tmp_path, "v5.0.0")))
    assert (check.ok, check.hard, check.label) == (False, False, "warn")
    assert exit_code([check]) == 0


def test_missing_helm_fails_the_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                    no_cluster: Path) -> None:
    monkeypatch.setenv("MST_HELM", str(tmp_path / "no-such-helm"))
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(helm_module, "tools_dir", lambda: tmp_path)
    checks = doctor.run_checks()
    helm = by_name(checks)["helm"]
    assert (helm.ok, helm.label, helm.detail) == (False, "FAIL", "not found")
    assert "MST_HELM" in helm.fix
    assert exit_code(checks) == 1


def crd_list(*files: Path) -> dict[str, Any]:
    """What `kubectl get crd NAME... -o json` returns for these upstream CRDs."""
    return {"apiVersion": "v1", "kind": "List",
            "items": [yaml.safe_load(path.read_text()) for path in files]}


@pytest.mark.skipif(not SHARED_CRDS.is_dir(), reason=f"upstream CRDs not found in {SHARED_CRDS}")
def test_crd_checks_from_upstream_crds() -> None:
    listing = crd_list(
        SHARED_CRDS / "lws" / "leaderworkerset.x-k8s.io_leaderworkersets.yaml",
        SHARED_CRDS / "gateway-api" / "gateway.networking.k8s.io_httproutes.yaml",
        SHARED_CRDS / "gateway-api-inference-extension"
        / "inference.networking.k8s.io_inferencepools.yaml",
    )
    installed = doctor.installed_crds(listing)
    assert installed["leaderworkersets.leaderworkerset.x-k8s.io"] == ["v1"]
    assert "v1" in installed["httproutes.gateway.networking.k8s.io"]
    checks = by_name(crd_checks(installed))
    assert checks["CRD LeaderWorkerSet"].ok and checks["CRD HTTPRoute"].ok
    assert checks["CRD InferencePool"].ok
    missing = checks["CRD PodMonitor"]
    assert (missing.ok, missing.label) == (False, "warn")
    assert missing.fix == (
        "kubectl apply --server-side -f https://raw.githubusercontent.com/prometheus-operator/"
        "prometheus-operator/v0.93.0/example/prometheus-operator-crd/"
        "monitoring.coreos.com_podmonitors.yaml")
    assert checks["CRD InferenceObjective"].fix.endswith(
        "llm-d/llm-d-router/releases/download/v0.10.0/manifests.yaml")
    assert exit_code(list(checks.values())) == 0


def test_missing_inferencepool_crd_is_a_hard_failure() -> None:
    """The chart renders an InferencePool by default, so installs fail without its CRD."""
    checks = by_name(crd_checks({}))
    assert checks["CRD InferencePool"].label == "FAIL"
    assert {check.label for name, check in checks.items() if name != "CRD InferencePool"} == {
        "warn"}
    assert exit_code(list(checks.values())) == 1


def test_crd_serving_the_wrong_version_is_reported() -> None:
    single = {"kind": "CustomResourceDefinition",
              "metadata": {"name": "inferencepools.inference.networking.k8s.io"},
              "spec": {"versions": [{"name": "v1alpha2", "served": True},
                                    {"name": "v1", "served": False}]}}
    installed = doctor.installed_crds(single)
    assert installed == {"inferencepools.inference.networking.k8s.io": ["v1alpha2"]}
    pool = by_name(crd_checks(installed))["CRD InferencePool"]
    assert not pool.ok and "the chart needs v1" in pool.detail
    assert doctor.installed_crds({}) == {}


def test_every_fix_is_a_server_side_apply_of_a_pinned_upstream_release() -> None:
    pins = {"InferencePool": "/v1.6.0/", "InferenceObjective": "/v0.10.0/",
            "LeaderWorkerSet": "/v0.10.0/", "HTTPRoute": "/v1.6.1/", "PodMonitor": "/v0.93.0/"}
    for crd in CRDS:
        assert crd.install.startswith("kubectl apply --server-side -f https://")
        assert pins[crd.kind] in crd.install


def test_report_prints_fixes_only_for_problems() -> None:
    checks = [Check("helm", True, "4.3.1", fix="unused"),
              Check("CRD PodMonitor", False, "missing", fix="kubectl apply ...", hard=False)]
    report = format_report(checks).splitlines()
    assert report[0].startswith("[ok  ] helm")
    assert report[1].startswith("[warn] CRD PodMonitor")
    assert report[2].strip() == "fix: kubectl apply ..."
    assert report[-1] == "0 failure(s), 1 warning(s)"
