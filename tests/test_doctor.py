"""`mst doctor` checks without a cluster: helm versions, unreachable API server, CRD parsing."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelservice_tool import doctor
from modelservice_tool.doctor import CRDS, Check, crd_checks, exit_code, format_report
from modelservice_tool.served_apis import ServedApis
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
    monkeypatch.setenv("MST_TOOLS_DIR", str(tmp_path))
    checks = doctor.run_checks()
    helm = by_name(checks)["helm"]
    assert (helm.ok, helm.label, helm.detail) == (False, "FAIL", "not found")
    assert "MST_HELM" in helm.fix
    assert exit_code(checks) == 1


def discovery(*crds: dict[str, Any]) -> ServedApis:
    """What an API server's discovery (`/apis`, `/apis/G/V`) answers with these CRDs."""
    groups: dict[str, list[str]] = {}
    resources: dict[str, list[dict[str, str]]] = {}
    for crd in crds:
        spec = crd["spec"]
        for version in (v for v in spec["versions"] if v.get("served", True)):
            groups.setdefault(spec["group"], []).append(version["name"])
            resources.setdefault(f"{spec['group']}/{version['name']}", []).append(
                {"name": spec["names"]["plural"], "kind": spec["names"]["kind"]})

    def fetch(path: str) -> dict[str, Any] | None:
        if path == "/apis":
            return {"groups": [{"name": group, "versions": [{"version": v} for v in versions]}
                               for group, versions in groups.items()]}
        found = resources.get(path.removeprefix("/apis/"))
        return None if found is None else {"resources": found}

    return ServedApis(fetch)


def crd_files(*files: Path) -> list[dict[str, Any]]:
    return [yaml.safe_load(path.read_text()) for path in files]


@pytest.mark.skipif(not SHARED_CRDS.is_dir(), reason=f"upstream CRDs not found in {SHARED_CRDS}")
def test_crd_checks_from_upstream_crds() -> None:
    served = discovery(*crd_files(
        SHARED_CRDS / "lws" / "leaderworkerset.x-k8s.io_leaderworkersets.yaml",
        SHARED_CRDS / "gateway-api" / "gateway.networking.k8s.io_httproutes.yaml",
        SHARED_CRDS / "gateway-api-inference-extension"
        / "inference.networking.k8s.io_inferencepools.yaml",
    ))
    installed = doctor.served_crds(served)
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
    single["spec"] |= {"group": "inference.networking.k8s.io",
                       "names": {"plural": "inferencepools", "kind": "InferencePool"}}
    installed = doctor.served_crds(discovery(single))
    assert installed == {"inferencepools.inference.networking.k8s.io": ["v1alpha2"]}
    pool = by_name(crd_checks(installed))["CRD InferencePool"]
    assert not pool.ok and "the chart needs v1" in pool.detail
    assert doctor.served_crds(discovery()) == {}


@pytest.mark.skipif(not SHARED_CRDS.is_dir(), reason=f"upstream CRDs not found in {SHARED_CRDS}")
def test_legacy_generation_needs_the_crds_upstream_removed() -> None:
    """GIE v1.6.0 serves x-k8s.io only for InferencePoolImport: the v1alpha2 InferencePool and
    InferenceModel of routing.generation v1alpha2 are missing, and the check says why."""
    gie = SHARED_CRDS / "gateway-api-inference-extension"
    current = discovery(*crd_files(*sorted(gie.glob("*.yaml"))))
    checks = by_name(crd_checks(doctor.served_crds(current, doctor.LEGACY_CRDS),
                                doctor.LEGACY_CRDS))
    pool, model = checks["CRD InferencePool"], checks["CRD InferenceModel"]
    assert pool.label == "FAIL" and "dropped in v1.5.0" in pool.detail
    assert "/v1.4.0/config/crd/bases/inference.networking.x-k8s.io_inferencepools" in pool.fix
    assert model.label == "warn" and "/v0.5.1/" in model.fix
    legacy = discovery(*crd_files(*sorted((gie / "legacy").glob("*.yaml"))))
    checks = by_name(crd_checks(doctor.served_crds(legacy, doctor.LEGACY_CRDS),
                                doctor.LEGACY_CRDS))
    assert checks["CRD InferencePool"].ok and checks["CRD InferenceModel"].ok


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


def test_addons_missing_are_warnings_that_say_what_needs_them() -> None:
    checks = by_name(doctor.addon_checks(doctor.ServedApis(lambda path: None), list))
    assert checks["DRA"].label == "warn" and "accelerator.dra" in checks["DRA"].detail
    assert checks["External metrics"].label == "warn"
    assert "autoscaling.epp" in checks["External metrics"].detail
    assert doctor.exit_code(list(checks.values())) == 0
