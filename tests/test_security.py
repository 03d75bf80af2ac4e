"""Security posture of the rendered samples and the chart defaults.

checkov runs over every rendered sample with the suppressions of .checkov.yaml (the one
documented place) and must report 0 failed checks. The properties the chart guarantees are
asserted directly: no privileged containers, no host namespaces or hostPath, no privilege
escalation, dropped capabilities, seccomp RuntimeDefault, read-only model mounts, resources
on the EPP and the routing sidecar, no token-like secrets in the output, no cluster-scoped
object by default.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from support import REPO, find, render, render_values, sample_files, samples

Obj = dict[str, Any]
CHECKOV_CONFIG = REPO / ".checkov.yaml"
SAMPLES = samples()
SAMPLE_IDS = [sample["name"] for sample in SAMPLES]
# Chart bugs checkov found in samples (reported; strict xfail until fixed).
CHECKOV_KNOWN_BUGS: dict[str, str] = {}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                  "PriorityClass", "StorageClass", "PersistentVolume", "IngressClass",
                  "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
                  "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
                  "RuntimeClass", "APIService", "GatewayClass"}
TOKEN_PATTERNS = {
    "Hugging Face token": re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"),
    "GitHub token": re.compile(r"\b(ghp|gho|ghs|ghu|github_pat)_[A-Za-z0-9_]{30,}\b"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "long base64 blob": re.compile(r"[A-Za-z0-9+/]{48,}={0,2}"),
}
HEX = re.compile(r"^[0-9a-f]+$")


def sample_objects(sample: dict[str, str]) -> list[Obj]:
    return render(*sample_files(sample), release=sample["release"])


def pod_specs(objects: list[Obj]) -> Iterator[tuple[str, Obj]]:
    """(Kind/name, pod spec) of every pod the objects create, LWS templates included."""
    for obj in objects:
        spec = obj.get("spec") or {}
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] == "Pod":
            yield name, spec
        if isinstance(spec.get("template"), dict):
            yield name, spec["template"]["spec"]
        lwt = spec.get("leaderWorkerTemplate") or {}
        for key in ("leaderTemplate", "workerTemplate"):
            if lwt.get(key):
                yield f"{name} {key}", lwt[key]["spec"]


def containers(pod: Obj) -> list[Obj]:
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


@pytest.fixture(scope="module", params=SAMPLES, ids=SAMPLE_IDS)
def objects(request: pytest.FixtureRequest) -> list[Obj]:
    return sample_objects(request.param)


# --------------------------------------------------------------------------- checkov


def checkov_binary() -> str | None:
    """$MST_CHECKOV, else the `make checkov` venv, else checkov on PATH."""
    for candidate in (os.environ.get("MST_CHECKOV"), REPO / ".tools" / "checkov" / "bin" /
                      "checkov", shutil.which("checkov")):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    return None


def checkov_failures(directory: Path) -> list[str]:
    """Failed checks (after .checkov.yaml suppressions) over the manifests in `directory`."""
    binary = checkov_binary()
    if binary is None:
        pytest.skip("checkov not installed: run `make checkov` (or set MST_CHECKOV)")
    result = subprocess.run(
        [binary, "-d", str(directory), "--config-file", str(CHECKOV_CONFIG), "-o", "json"],
        capture_output=True, text=True, check=False, timeout=600)
    assert result.returncode in (0, 1), result.stderr[-2000:]
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    assert sum(r.get("summary", {}).get("resource_count", 0) for r in reports
               if isinstance(r, dict)) > 0, "checkov scanned nothing"
    return [f"{check['check_id']} {check['check_name']}: {check['resource']}"
            for report in reports if isinstance(report, dict) and "results" in report
            for check in report["results"]["failed_checks"]]


@pytest.mark.parametrize("sample", [
    pytest.param(s, marks=pytest.mark.xfail(strict=True, reason=CHECKOV_KNOWN_BUGS[s["name"]]))
    if s["name"] in CHECKOV_KNOWN_BUGS else s for s in SAMPLES], ids=SAMPLE_IDS)
def test_checkov_passes_on_every_sample(sample: dict[str, str], tmp_path: Path) -> None:
    text = yaml.safe_dump_all(sample_objects(sample), sort_keys=False)
    (tmp_path / f"{sample['name']}.yaml").write_text(text)
    failures = checkov_failures(tmp_path)
    assert failures == [], "\n".join(failures)


def test_every_suppression_has_a_reason() -> None:
    text = CHECKOV_CONFIG.read_text()
    config = yaml.safe_load(text)
    lines = text.splitlines()
    for check in config["skip-check"]:
        index = next(i for i, line in enumerate(lines) if line.strip() == f"- {check}")
        above = [line for line in lines[:index] if line.strip()][-1].strip()
        assert above.startswith("#") or above.startswith("- CKV"), f"{check}: no reason"


# --------------------------------------------------------------------------- chart defaults


def test_no_privileged_containers_host_namespaces_or_host_paths(objects: list[Obj]) -> None:
    for name, pod in pod_specs(objects):
        assert not any(pod.get(key) for key in ("hostNetwork", "hostPID", "hostIPC")), name
        assert not [v for v in pod.get("volumes", []) if "hostPath" in v], name
        for container in containers(pod):
            context = container.get("securityContext") or {}
            assert not context.get("privileged"), f"{name}/{container['name']}"


def test_no_privilege_escalation_and_capabilities_dropped(objects: list[Obj]) -> None:
    for name, pod in pod_specs(objects):
        for container in containers(pod):
            context = container.get("securityContext") or {}
            where = f"{name}/{container['name']}"
            assert context.get("allowPrivilegeEscalation") is False, where
            assert "ALL" in (context.get("capabilities") or {}).get("drop", []), where


def test_seccomp_runtime_default(objects: list[Obj]) -> None:
    for name, pod in pod_specs(objects):
        pod_profile = ((pod.get("securityContext") or {}).get("seccompProfile") or {})
        for container in containers(pod):
            profile = ((container.get("securityContext") or {}).get("seccompProfile")
                       or pod_profile)
            assert profile.get("type") == "RuntimeDefault", f"{name}/{container['name']}"


def test_model_pods_do_not_mount_the_service_account_token(objects: list[Obj]) -> None:
    for name, pod in pod_specs(objects):
        if not name.endswith("-epp"):
            assert pod.get("automountServiceAccountToken") is False, name


def test_epp_sidecar_and_test_pod_are_hardened(objects: list[Obj]) -> None:
    """Requests and limits on the EPP and the routing sidecar; non-root, read-only root."""
    checked = 0
    for name, pod in pod_specs(objects):
        for container in containers(pod):
            if container["name"] not in ("epp", "routing-proxy", "models-endpoint"):
                continue
            checked += 1
            resources = container.get("resources") or {}
            where = f"{name}/{container['name']}"
            assert resources.get("requests") and resources.get("limits"), where
            assert container["securityContext"].get("readOnlyRootFilesystem") is True, where
            if container["name"] != "routing-proxy":
                assert (pod.get("securityContext") or {}).get("runAsNonRoot") is True, where
    assert checked, "no EPP, sidecar or test container rendered"


def test_pvc_and_oci_model_mounts_are_read_only() -> None:
    found = 0
    for sample in SAMPLES:
        model = yaml.safe_load((REPO / "examples" / sample["file"]).read_text())["model"]
        if not str(model.get("uri", "")).startswith(("pvc", "oci")) or model.get(
                "readOnly") is False:
            continue
        for name, pod in pod_specs(sample_objects(sample)):
            for container in pod.get("containers", [])[:1]:
                mounts = [m for m in container.get("volumeMounts", [])
                          if m["name"] == "model-storage"]
                if mounts:
                    found += 1
                    assert mounts[0].get("readOnly") is True, f"{sample['name']} {name}"
    assert found, "no sample mounts a pvc:// or oci:// model"


def test_model_probes_on_every_long_running_container(objects: list[Obj]) -> None:
    for name, pod in pod_specs(objects):
        if name.startswith("Pod/") or name.endswith("workerTemplate"):
            continue  # the helm test hook (one curl); LWS workers serve no HTTP
        engine = pod["containers"][0]
        assert "readinessProbe" in engine and "livenessProbe" in engine, name


def test_no_token_like_secrets_in_rendered_output() -> None:
    for sample in SAMPLES:
        text = yaml.safe_dump_all(sample_objects(sample))
        for what, pattern in TOKEN_PATTERNS.items():
            hits = [m for m in pattern.findall(text)
                    if not (isinstance(m, str) and HEX.match(m))]
            assert not hits, f"{sample['name']}: {what} in the rendered output: {hits[:3]}"


def test_hf_token_only_from_a_secret_reference() -> None:
    for sample in SAMPLES:
        for name, pod in pod_specs(sample_objects(sample)):
            for container in containers(pod):
                for env in container.get("env", []):
                    if env["name"] in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
                        assert "secretKeyRef" in (env.get("valueFrom") or {}), (
                            f"{sample['name']} {name}: {env['name']} has a literal value")


def test_no_cluster_scoped_object_by_default(objects: list[Obj]) -> None:
    for obj in objects:
        assert obj["kind"] not in CLUSTER_SCOPED, f"{obj['kind']}/{obj['metadata']['name']}"
        assert obj["metadata"].get("namespace"), f"{obj['kind']} without a namespace"


def test_chart_defaults_render_nothing_cluster_scoped(tmp_path: Path) -> None:
    objects = render_values(tmp_path, {"model": {"uri": "hf://Qwen/Qwen3-0.6B"}})
    assert not [o for o in objects if o["kind"] in CLUSTER_SCOPED]
    opted_in = render_values(tmp_path, {"model": {"uri": "hf://Qwen/Qwen3-0.6B"},
                                        "routing": {"epp": {"metricsAuth": {"enabled": True}}}})
    assert {o["kind"] for o in opted_in} & CLUSTER_SCOPED == {"ClusterRole",
                                                               "ClusterRoleBinding"}
    assert find(opted_in, "ClusterRole")
