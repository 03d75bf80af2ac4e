"""The served-name check: pure logic on canned `kubectl get -o json` items, plus a live run
when a cluster is reachable."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import live
import pytest
from click.testing import CliRunner

from modelservice_tool.cluster_checks import name_conflicts, served_models
from modelservice_tool.commands import main as mst
from support import (
    CHART,
    EXAMPLES,
    REPO,
    default_helm,
    one,
    render,
    sample_files,
    samples,
)


def sim_objects() -> list[dict[str, Any]]:
    sample = next(s for s in samples() if s["name"] == "qwen3-0.6b-cpu-sim")
    return render(*sample_files(sample), release="qwen-sim")


def test_served_models_come_from_the_model_pods() -> None:
    assert served_models(sim_objects()) == {"Qwen-Qwen3-0.6B"}


def test_another_release_serving_the_same_name_conflicts() -> None:
    objects = sim_objects()
    other = copy.deepcopy(one(objects, "Deployment", "qwen-sim-decode"))
    other["metadata"]["name"] = "other-decode"
    other["metadata"]["labels"]["app.kubernetes.io/instance"] = "other"
    findings = name_conflicts("qwen-sim", served_models(objects), [other])
    assert [str(f) for f in findings] == [
        "Deployment/other-decode: release other already serves model 'Qwen-Qwen3-0.6B' in "
        "this namespace; set model.name to a different served name or remove that release "
        "[served-name]"
    ]


def test_the_release_itself_and_other_models_do_not_conflict() -> None:
    objects = sim_objects()
    own = copy.deepcopy(one(objects, "Deployment", "qwen-sim-decode"))
    different = copy.deepcopy(own)
    different["metadata"]["labels"]["app.kubernetes.io/instance"] = "other"
    different["spec"]["template"]["metadata"]["labels"]["llm-d.ai/model"] = "llama"
    assert name_conflicts("qwen-sim", served_models(objects), [own, different]) == []


@pytest.mark.e2e
def test_live_cluster_refuses_a_second_release_with_the_same_served_name(
    live_namespace: str,
) -> None:
    """Install the simulator sample as `first`, then `mst validate --cluster` a second
    release of the same model in the same namespace: exit 1 with the served-name finding.
    (Before the fix the check selected workloads by a label only their pods carry, so it
    found nothing and let the second release through.)"""
    preset, model = sample_files(next(s for s in samples() if s["name"] == "qwen3-0.6b-cpu-sim"))
    install = subprocess.run(
        [str(default_helm()), "install", "first", str(CHART), "-n", live_namespace,
         "-f", str(preset), "-f", str(model)], capture_output=True, text=True, check=False)
    assert install.returncode == 0, install.stderr
    validate = [sys.executable, "-m", "modelservice_tool", "validate", "-p", "cpu-sim", "-f",
                str(model), "-n", live_namespace, "--cluster"]
    result = subprocess.run([*validate, "--release", "second"], capture_output=True,
                            text=True, check=False, cwd=REPO)
    assert result.returncode == 1, result.stderr
    assert "release first already serves model 'Qwen-Qwen3-0.6B'" in result.stderr
    renamed = subprocess.run([*validate, "--release", "second", "--set", "model.name=other"],
                             capture_output=True, text=True, check=False, cwd=REPO)
    assert renamed.returncode == 0, renamed.stderr
    itself = subprocess.run([*validate, "--release", "first"], capture_output=True, text=True,
                            check=False, cwd=REPO)
    assert itself.returncode == 0, itself.stderr  # upgrading the release itself is fine


LEGACY_POOL = ("inference.networking.x-k8s.io/v1alpha2", "InferencePool")
LEGACY_SETS = ("--set", "routing.generation=v1alpha2", "--set", "routing.objective.enabled=true")


def legacy_crd_files() -> list[Path]:
    """The v1alpha2 InferencePool and InferenceModel CRDs (GIE v1.4.0 / v0.5.1 copies)."""
    return [live.LEGACY_CRDS / f"inference.networking.x-k8s.io_{name}.yaml"
            for name in ("inferencepools", "inferencemodels")]


def remove_legacy_crds() -> None:
    import time

    files = [arg for path in legacy_crd_files() for arg in ("-f", str(path))]
    live.kubectl("delete", "--ignore-not-found", "--wait=true", *files, timeout=180)
    deadline = time.monotonic() + 60
    while live.served(*LEGACY_POOL) and time.monotonic() < deadline:
        time.sleep(1)


@pytest.mark.e2e
@pytest.mark.skipif(not live.LEGACY_CRDS.is_dir(), reason=f"no legacy CRDs in {live.LEGACY_CRDS}")
def test_legacy_generation_is_refused_until_its_removed_crds_are_installed(
    live_namespace: str,
) -> None:
    """routing.generation v1alpha2 renders kinds GIE removed. On a current cluster (the CRDs
    .ci/run applies) `mst validate --cluster` and `mst doctor --generation v1alpha2` name
    the CRDs to install; with those CRDs applied both pass and the server accepts the
    objects. The legacy CRDs are removed again at the end (they are absent by design)."""
    runner = CliRunner()
    validate = ["validate", "-p", "cpu-sim", "-f", str(EXAMPLES / "qwen3-0.6b-cpu-sim.yaml"),
                "--release", "legacy", "-n", live_namespace, "--cluster", *LEGACY_SETS]
    remove_legacy_crds()
    try:
        refused = runner.invoke(mst, validate)
        assert refused.exit_code == 1, refused.output
        assert ("InferencePool/legacy: the cluster does not serve InferencePool "
                "inference.networking.x-k8s.io/v1alpha2") in refused.stderr
        assert "gateway-api-inference-extension/v1.4.0/config/crd/bases/" in refused.stderr
        assert "InferenceModel/legacy: the cluster does not serve InferenceModel" in \
            refused.stderr
        assert "or switch to routing.generation: v1" in refused.stderr
        doctor = runner.invoke(mst, ["doctor", "--generation", "v1alpha2"])
        assert doctor.exit_code == 1
        assert "[FAIL] CRD InferencePool" in doctor.stdout and "dropped in v1.5.0" in \
            doctor.stdout
        current = runner.invoke(mst, ["doctor"])
        assert current.exit_code == 0, current.stdout
        assert "[ok  ] CRD InferencePool" in current.stdout
        assert "inferencepools.inference.networking.k8s.io (v1)" in current.stdout

        live.apply_crds(*legacy_crd_files())
        accepted = runner.invoke(mst, validate)
        assert accepted.exit_code == 0, accepted.output
        doctor = runner.invoke(mst, ["doctor", "--generation", "v1alpha2"])
        assert doctor.exit_code == 0, doctor.stdout
        assert "[ok  ] CRD InferenceModel" in doctor.stdout
        rendered = runner.invoke(mst, ["template", "-p", "cpu-sim", "-f", str(
            EXAMPLES / "qwen3-0.6b-cpu-sim.yaml"), "--release", "legacy", "-n", live_namespace,
            *LEGACY_SETS])
        assert rendered.exit_code == 0, rendered.output
        dry_run = live.kubectl("apply", "--dry-run=server", "-n", live_namespace, "-f", "-",
                               stdin=rendered.stdout, check=False)
        assert dry_run.returncode == 0, dry_run.stderr
        assert "inferencepool.inference.networking.x-k8s.io/legacy created (server dry run)" \
            in dry_run.stdout
    finally:
        remove_legacy_crds()
    assert not live.served(*LEGACY_POOL)


@pytest.mark.e2e
def test_doctor_reports_the_dra_drivers_and_the_external_metrics_api(
        sim_nodes: dict[str, Any]) -> None:
    """On the project's control plane the DRA node pools publish DeviceClasses (as drivers
    would) and no metrics adapter serves external.metrics.k8s.io."""
    result = CliRunner().invoke(mst, ["doctor"])
    assert "[ok  ] DRA" in result.stdout and "gpu.nvidia.com" in result.stdout, result.stdout
    assert "[warn] External metrics" in result.stdout


@pytest.mark.e2e
def test_doctor_names_each_crd_a_releases_values_need_present_or_missing(
        live_cluster: None) -> None:
    """`mst doctor` with the KEDA sample's values: the CRDs .ci/run applies are reported
    present; KEDA's ScaledObject is a failure with the pinned install command while its CRD
    is missing (../shared/crds has no keda folder), present once it is applied."""
    keda = next(s for s in samples() if s["name"] == "qwen3-0.6b-cpu-sim-keda")
    preset, model = sample_files(keda)
    result = CliRunner().invoke(mst, ["doctor", "-p", str(preset), "-f", str(model)])
    lines = result.stdout.splitlines()
    for kind, crd in (("InferencePool", "inferencepools.inference.networking.k8s.io"),
                      ("PodMonitor", "podmonitors.monitoring.coreos.com")):
        assert any(line.startswith(f"[ok  ] CRD {kind}") and crd in line for line in lines), \
            result.stdout
    if live.served("keda.sh/v1alpha1", "ScaledObject"):
        assert any(line.startswith("[ok  ] CRD ScaledObject") for line in lines), result.stdout
        return
    assert result.exit_code == 1, result.stdout
    assert any(line.startswith("[FAIL] CRD ScaledObject") and
               "the cluster does not serve ScaledObject keda.sh/v1alpha1" in line
               for line in lines), result.stdout
    assert "releases/download/v2.20.2/keda-2.20.2.yaml" in result.stdout
