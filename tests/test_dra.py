"""Accelerators through Dynamic Resource Allocation (accelerator.dra, resourceClaims): the
rendered ResourceClaimTemplates and pod claims against the Kubernetes 1.34+ schemas
(resource.k8s.io/v1, bundled by kubernetes-validate), the refusal on older clusters, the
accelerator cross-check over claims, and (marker `e2e`) the real API server, which also
compiles the CEL selectors."""

from __future__ import annotations

import copy
import subprocess

import pytest
import yaml

from modelservice_tool import lifecycle
from modelservice_tool.checks import run_checks
from modelservice_tool.manifests import KubernetesSchemas, validate_manifests
from support import (
    Obj,
    find,
    one,
    render,
    render_values,
    run_helm_template,
    sample_files,
    samples,
)

DRA_SAMPLES = [s for s in samples() if s["name"].endswith("-dra")]
DRA_VERSIONS = ("1.34", "1.35")


def claim_templates(objects: list[Obj]) -> list[Obj]:
    return find(objects, "ResourceClaimTemplate")


def test_the_dra_samples_exist() -> None:
    assert {s["name"] for s in DRA_SAMPLES} == {"qwen3-8b-pd-xpu-dra", "qwen3-32b-gpu-nic-dra"}


@pytest.mark.parametrize("sample", DRA_SAMPLES, ids=lambda s: s["name"])
@pytest.mark.parametrize("version", DRA_VERSIONS)
def test_claim_templates_and_pods_match_the_kubernetes_schema(sample: dict[str, str],
                                                              version: str) -> None:
    objects = render(*sample_files(sample), release=sample["release"])
    templates = claim_templates(objects)
    assert len(templates) == 2, "one ResourceClaimTemplate per role"
    schemas = KubernetesSchemas(version)
    checked = [o for o in objects if o["kind"] in ("ResourceClaimTemplate", "Deployment")]
    assert all(schemas.validator(o["kind"], o["apiVersion"]) for o in checked)
    assert list(validate_manifests(checked, schemas)) == []
    assert run_checks(objects) == []


def test_the_schema_check_sees_into_a_claim_template() -> None:
    """A claim template the API would reject fails the same validation (not skipped)."""
    sample = DRA_SAMPLES[0]
    good = claim_templates(render(*sample_files(sample), release=sample["release"]))[0]
    bad = copy.deepcopy(good)
    bad["spec"]["spec"]["devices"]["requests"][0]["exactly"]["count"] = "two"
    schemas = KubernetesSchemas("1.35")
    assert list(validate_manifests([good], schemas)) == []
    assert list(validate_manifests([bad], schemas)), "count must be an integer"


def test_each_role_claims_its_own_template_sized_from_parallelism() -> None:
    sample = next(s for s in DRA_SAMPLES if s["name"] == "qwen3-8b-pd-xpu-dra")
    objects = render(*sample_files(sample), release=sample["release"])
    for role, count in (("decode", 2), ("prefill", 1)):
        pod = one(objects, "Deployment", f"qwen-xpu-{role}")["spec"]["template"]["spec"]
        claim = pod["resourceClaims"][0]
        template = one(objects, "ResourceClaimTemplate", claim["resourceClaimTemplateName"])
        request = template["spec"]["spec"]["devices"]["requests"][0]
        assert request["exactly"]["deviceClassName"] == "gpu.intel.com"
        assert request["exactly"]["count"] == count
        engine = pod["containers"][0]
        assert engine["resources"]["claims"] == [{"name": "accelerators"}]
        assert not any("gpu.intel.com/" in name
                       for name in engine["resources"].get("limits", {})), "no device plugin"


def test_the_template_name_follows_its_spec(tmp_path) -> None:
    """Same spec, same name (an upgrade keeps the template); another spec, another name
    (the spec is immutable, so a changed claim must be a new object)."""
    values = {"model": {"uri": "hf://org/m"}, "pod": {"accelerator": {"dra": {"enabled": True}}}}
    first = claim_templates(render_values(tmp_path, values))[0]["metadata"]["name"]
    again = claim_templates(render_values(tmp_path, values))[0]["metadata"]["name"]
    values["decode"] = {"parallelism": {"tensor": 2}}
    changed = claim_templates(render_values(tmp_path, values))[0]["metadata"]["name"]
    assert first == again != changed


def test_the_accelerator_check_counts_claimed_devices(tmp_path) -> None:
    values = {"model": {"uri": "hf://org/m"}, "decode": {"parallelism": {"tensor": 2}},
              "pod": {"accelerator": {"dra": {"enabled": True, "count": 4}}}}
    findings = run_checks(render_values(tmp_path, values))
    assert [f.check for f in findings] == ["accelerators"]
    assert "4 x gpu.nvidia.com per pod" in findings[0].message


def test_an_older_cluster_is_refused_with_the_reason() -> None:
    sample = DRA_SAMPLES[0]
    result = run_helm_template(sample_files(sample), extra=("--kube-version", "1.33.4"))
    assert result.returncode != 0
    assert "need Dynamic Resource Allocation (resource.k8s.io/v1, GA in Kubernetes 1.34)" \
        in result.stderr
    assert "the target cluster is v1.33.4" in result.stderr


# --------------------------------------------------------------------------- live API server


def server_dry_run(objects: list[Obj], namespace: str) -> subprocess.CompletedProcess[str]:
    for obj in objects:
        obj["metadata"]["namespace"] = namespace
    return subprocess.run(
        [lifecycle.find_kubectl(), "apply", "--dry-run=server", "-n", namespace, "-f", "-"],
        input=yaml.safe_dump_all(objects), capture_output=True, text=True, check=False,
        timeout=120)


@pytest.mark.e2e
@pytest.mark.parametrize("sample", DRA_SAMPLES, ids=lambda s: s["name"])
def test_the_api_server_accepts_the_claims(sample: dict[str, str],
                                          live_namespace: str) -> None:
    objects = [copy.deepcopy(o) for o in render(*sample_files(sample), release=sample["release"])
               if o["kind"] in ("ResourceClaimTemplate", "Deployment")]
    result = server_dry_run(objects, live_namespace)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("resourceclaimtemplate.resource.k8s.io/") == 2, result.stdout


@pytest.mark.e2e
def test_the_api_server_compiles_the_cel_selectors(live_namespace: str) -> None:
    """The server rejects a selector that does not compile: the accepted samples' selectors
    were really checked, not just stored."""
    sample = DRA_SAMPLES[0]
    template = copy.deepcopy(
        claim_templates(render(*sample_files(sample), release=sample["release"]))[0])
    request = template["spec"]["spec"]["devices"]["requests"][0]["exactly"]
    request["selectors"] = [{"cel": {"expression": "device.attributes[\"gpu.intel.com\"]..family"}}]
    result = server_dry_run([template], live_namespace)
    assert result.returncode != 0
    assert "compil" in result.stderr.lower() or "syntax" in result.stderr.lower(), result.stderr
