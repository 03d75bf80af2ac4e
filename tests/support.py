"""Shared helpers for the chart tests: real `helm template` runs and lookups in its output."""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
CHART = REPO / "charts" / "modelservice"
PRESETS = REPO / "presets"
EXAMPLES = REPO / "examples"
SHARED_CRDS = Path(os.environ.get("MST_CRDS_DIR", REPO.parent / "shared" / "crds"))
# CRDs of the gateway-provider kinds (routing.provider: Istio DestinationRule, GKE
# HealthCheckPolicy/GCPBackendPolicy), which ../shared/crds lacks: a directory holding
# istio/api's kubernetes/customresourcedefinitions.gen.yaml and GoogleCloudPlatform/
# gke-gateway-api's config/crd/networking.gke.io_*.yaml. Unset: those objects are not
# schema-checked (and say so where a test needs them).
PROVIDER_CRDS = Path(os.environ["MST_PROVIDER_CRDS"]) if os.environ.get("MST_PROVIDER_CRDS") \
    else None
PROVIDER_GROUPS = ("networking.istio.io/", "networking.gke.io/")

Obj = dict[str, Any]


NO_CLUSTER = ("no reachable Kubernetes cluster (KUBECONFIG unset or API server down; .ci/run "
              "starts ../shared/k8s when it sits beside the checkout)")


@cache
def cluster_problem() -> str | None:
    """None when a Kubernetes API server answers, else the reason e2e tests skip."""
    from modelservice_tool import lifecycle
    from modelservice_tool.errors import UserError

    configured = os.environ.get("KUBECONFIG") or (Path.home() / ".kube" / "config").is_file()
    if not configured:
        return NO_CLUSTER
    try:
        command = [lifecycle.find_kubectl(), "version", "-o", "json", "--request-timeout=5s"]
        result = subprocess.run(command, capture_output=True, text=True, check=False,
                                timeout=20)
    except (UserError, subprocess.TimeoutExpired) as error:
        return f"{NO_CLUSTER}: {error}"
    if "serverVersion" not in result.stdout:
        return f"{NO_CLUSTER}: {' '.join(result.stderr.strip().splitlines()[-1:])}"
    return None


@cache
def crd_schemas():  # -> CrdSchemas | None
    """Validators from the upstream CRDs in ../shared/crds ($MST_CRDS_DIR), None if absent."""
    from modelservice_tool.manifests import CrdSchemas

    if not SHARED_CRDS.is_dir():
        return None
    files = sorted(SHARED_CRDS.rglob("*.yaml"))
    if PROVIDER_CRDS is not None and PROVIDER_CRDS.is_dir():
        files += sorted(PROVIDER_CRDS.rglob("*.yaml"))
    return CrdSchemas(files)


# KEDA's ScaledObject CRD (crd_cache.PINNED: kedacore/keda v2.20.2) is not in every copy of
# ../shared/crds yet; where it is missing, ScaledObjects are not schema-checked (the tests
# that need it say so and skip).
KEDA_CRD = SHARED_CRDS / "keda" / "keda.sh_scaledobjects.yaml"


def unverifiable(obj: Obj) -> bool:
    """An object whose CRD is not available here: a gateway-provider kind (see
    PROVIDER_CRDS), or a KEDA kind without KEDA_CRD."""
    api_version = obj.get("apiVersion", "")
    if api_version.startswith("keda.sh/"):
        return not KEDA_CRD.is_file()
    return api_version.startswith(PROVIDER_GROUPS) and not (
        PROVIDER_CRDS is not None and PROVIDER_CRDS.is_dir())


def helm_binaries() -> dict[str, Path]:
    """The helm binaries to test with: helm 4 and helm 3 from .tools (or $MST_HELM/$MST_HELM3)."""
    found = {
        "helm4": Path(os.environ.get("MST_HELM", REPO / ".tools" / "helm4" / "helm")),
        "helm3": Path(os.environ.get("MST_HELM3", REPO / ".tools" / "helm3" / "helm")),
    }
    return {name: path for name, path in found.items() if path.is_file()}


def helm_or_skip(name: str) -> Path:
    """The `helm4` or `helm3` binary; the test skips, saying how to get it, when absent."""
    import pytest

    helm = helm_binaries().get(name)
    if helm is None:
        pytest.skip(f"{name} not installed: run scripts/install_tools.py")
    return helm


def default_helm() -> Path:
    """helm 4 if present, else whatever helm binary the project has."""
    binaries = helm_binaries()
    if not binaries:
        raise RuntimeError("no helm binary: run `python scripts/install_tools.py` first")
    return binaries.get("helm4") or next(iter(binaries.values()))


def run_helm_template(
    files: tuple[str | Path, ...] = (),
    sets: tuple[str, ...] = (),
    *,
    helm: Path | None = None,
    release: str = "test",
    namespace: str = "ns",
    extra: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """Run `helm template` on the chart; the caller checks the outcome."""
    args = [str(helm or default_helm()), "template", release, str(CHART), "-n", namespace]
    for path in files:
        args += ["-f", str(path)]
    for item in sets:
        args += ["--set", item]
    return subprocess.run([*args, *extra], capture_output=True, text=True, check=False)


@cache
def _render_text(files: tuple[str, ...], sets: tuple[str, ...], helm: str, release: str) -> str:
    result = run_helm_template(files, sets, helm=Path(helm), release=release)
    if result.returncode != 0:
        raise AssertionError(f"helm template failed:\n{result.stderr}")
    return result.stdout


def render(
    *files: str | Path,
    sets: tuple[str, ...] = (),
    helm: Path | None = None,
    release: str = "test",
) -> list[Obj]:
    """Rendered objects for the value files and --set items (cached per input)."""
    text = _render_text(
        tuple(str(f) for f in files), tuple(sets), str(helm or default_helm()), release
    )
    return [doc for doc in yaml.safe_load_all(text) if doc]


def render_values(tmp_path: Path, values: dict[str, Any], *files: str | Path) -> list[Obj]:
    """Render with `files` then an inline values document (written to tmp_path)."""
    path = tmp_path / f"values-{len(list(tmp_path.iterdir()))}.yaml"
    path.write_text(yaml.safe_dump(values))
    return render(*files, path)


def find(objects: list[Obj], kind: str, name: str | None = None) -> list[Obj]:
    """Objects of a kind (and name, if given)."""
    return [
        obj for obj in objects
        if obj["kind"] == kind and (name is None or obj["metadata"]["name"] == name)
    ]


def one(objects: list[Obj], kind: str, name: str | None = None) -> Obj:
    """The single object of a kind (and name)."""
    matches = find(objects, kind, name)
    assert len(matches) == 1, f"expected one {kind} {name or ''}, got {len(matches)}"
    return matches[0]


def engine_container(deployment: Obj) -> Obj:
    """The engine container of a model Deployment (the first container)."""
    return deployment["spec"]["template"]["spec"]["containers"][0]


def samples() -> list[dict[str, str]]:
    """Entries of examples/index.yaml."""
    return yaml.safe_load((EXAMPLES / "index.yaml").read_text())["samples"]


def sample_files(sample: dict[str, str]) -> tuple[Path, Path]:
    """The preset and model files of one sample."""
    return PRESETS / f"{sample['preset']}.yaml", EXAMPLES / sample["file"]


def assert_valid_stack(objects: list[Obj], versions: tuple[str, ...] = ("1.33", "1.35")) -> None:
    """Core objects valid for each Kubernetes version, custom resources valid against the
    upstream CRDs (skips when they are absent), and no cross-object finding."""
    import pytest

    from modelservice_tool.checks import run_checks
    from modelservice_tool.manifests import KubernetesSchemas, validate_manifests

    crds = crd_schemas()
    if crds is None:
        pytest.skip(f"upstream CRDs not found at {SHARED_CRDS} (set MST_CRDS_DIR)")
    checked = [obj for obj in objects if not unverifiable(obj)]
    for version in versions:
        problems = list(validate_manifests(checked, KubernetesSchemas(version), crds))
        assert not problems, f"k8s {version}:\n" + "\n".join(map(str, problems))
    assert run_checks(objects) == []


SHARED_TOOLS_UNPACK = REPO.parent / "shared" / "tools" / "unpack"


@cache
def chart_tool(name: str) -> tuple[Path | None, str]:
    """(path, "") of helm-unittest, ct or the helm-unittest-plugin folder, else (None, why).

    $MST_HELM_UNITTEST / $MST_CT / $MST_HELM_UNITTEST_PLUGIN win; otherwise the static builds
    in ../shared/tools beside the repository (unpacked on first use)."""
    variable = "MST_" + name.upper().replace("-", "_")
    if os.environ.get(variable):
        return Path(os.environ[variable]), ""
    if not SHARED_TOOLS_UNPACK.is_file():
        return None, (f"{name} not found: set {variable} or put the shared tools beside the "
                      f"repository ({SHARED_TOOLS_UNPACK})")
    result = subprocess.run([str(SHARED_TOOLS_UNPACK)], capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        return None, f"{SHARED_TOOLS_UNPACK} failed: {result.stderr.strip()}"
    folder = Path(result.stdout.strip())
    path = folder / name if name.endswith("-plugin") else folder / "bin" / name
    return (path, "") if path.exists() else (None, f"{name} not found in {folder}")


def epp_config(objects: list[Obj]) -> dict[str, Any]:
    """The EndpointPickerConfig of a rendering (the `-epp` ConfigMap's config.yaml)."""
    configmap = next(o for o in objects if o["kind"] == "ConfigMap"
                     and o["metadata"]["name"].endswith("-epp"))
    return yaml.safe_load(configmap["data"]["config.yaml"])


def chart_tool_or_skip(name: str) -> Path:
    """`chart_tool(name)`'s path; the test skips with its reason when the tool is absent."""
    import pytest

    path, reason = chart_tool(name)
    if path is None:
        pytest.skip(reason)
    return path
