"""Every sample in examples/index.yaml renders with plain helm (3 and 4), passes
`helm lint --strict`, and every object validates against the Kubernetes schemas."""

from __future__ import annotations

import subprocess
from functools import cache

import pytest

from modelservice_tool.manifests import KubernetesSchemas, validate_manifests
from support import (
    CHART,
    EXAMPLES,
    PRESETS,
    SHARED_CRDS,
    crd_schemas,
    helm_binaries,
    helm_or_skip,
    render,
    sample_files,
    samples,
    unverifiable,
)

KUBERNETES_VERSIONS = ("1.33", "1.34", "1.35")
SAMPLES = samples()
SAMPLE_IDS = [sample["name"] for sample in SAMPLES]


@cache
def kubernetes_schemas(version: str) -> KubernetesSchemas:
    return KubernetesSchemas(version)


def test_index_lists_existing_files_with_unique_names() -> None:
    names = [sample["name"] for sample in SAMPLES]
    assert len(names) == len(set(names))
    for sample in SAMPLES:
        assert set(sample) == {"name", "file", "preset", "release", "scenario"}
        preset, model = sample_files(sample)
        assert preset.is_file(), preset
        assert model.is_file(), model


def test_every_example_and_preset_is_indexed_or_used() -> None:
    indexed = {sample["file"] for sample in SAMPLES}
    on_disk = {path.name for path in EXAMPLES.glob("*.yaml")} - {"index.yaml"}
    assert on_disk == indexed
    used = {sample["preset"] for sample in SAMPLES}
    assert used <= {path.stem for path in PRESETS.glob("*.yaml")}


@pytest.mark.parametrize("helm_name", ["helm4", "helm3"])
@pytest.mark.parametrize("sample", SAMPLES, ids=SAMPLE_IDS)
def test_sample_renders_valid_objects(sample: dict[str, str], helm_name: str) -> None:
    helm = helm_or_skip(helm_name)
    objects = render(*sample_files(sample), helm=helm, release=sample["release"])
    assert any(obj["kind"] == "Deployment" for obj in objects)
    for version in KUBERNETES_VERSIONS:
        schemas = kubernetes_schemas(version)
        core = [obj for obj in objects if schemas.validator(obj["kind"], obj["apiVersion"])]
        problems = list(validate_manifests(core, schemas))
        assert not problems, f"k8s {version}: " + "\n".join(map(str, problems))


@pytest.mark.parametrize("sample", SAMPLES, ids=SAMPLE_IDS)
def test_sample_custom_resources_match_upstream_crds(sample: dict[str, str]) -> None:
    crds = crd_schemas()
    if crds is None:
        pytest.skip(f"upstream CRDs not found at {SHARED_CRDS} (set MST_CRDS_DIR)")
    objects = render(*sample_files(sample), release=sample["release"])
    schemas = kubernetes_schemas("1.35")
    custom = [obj for obj in objects if not schemas.validator(obj["kind"], obj["apiVersion"])]
    assert custom, "every sample renders at least the InferencePool"
    custom = [obj for obj in custom if not unverifiable(obj)]  # e.g. KEDA without its CRD
    problems = list(validate_manifests(custom, schemas, crds))
    assert not problems, "\n".join(map(str, problems))


@pytest.mark.parametrize("sample", SAMPLES, ids=SAMPLE_IDS)
def test_sample_passes_helm_lint_strict(sample: dict[str, str]) -> None:
    preset, model = sample_files(sample)
    for name, helm in helm_binaries().items():
        result = subprocess.run(
            [str(helm), "lint", "--strict", str(CHART), "-f", str(preset), "-f", str(model)],
            capture_output=True, text=True, check=False,
        )
        assert result.returncode == 0, f"{name}:\n{result.stdout}\n{result.stderr}"


def test_both_helm_versions_render_identically() -> None:
    binaries = helm_binaries()
    if len(binaries) < 2:
        pytest.skip("needs helm 3 and helm 4 (scripts/install_tools.py)")
    for sample in SAMPLES:
        renders = {
            name: render(*sample_files(sample), helm=helm, release=sample["release"])
            for name, helm in binaries.items()
        }
        assert renders["helm3"] == renders["helm4"], sample["name"]
