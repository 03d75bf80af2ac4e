"""Kustomize `helmCharts` overlays, built offline with `kubectl kustomize --enable-helm`:
the base renders what `helm template` renders with the same files, each overlay differs from
the base by exactly its patch, and `mst kustomize-base` writes such a base (the committed
example included)."""

from __future__ import annotations

import copy
import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from modelservice_tool.commands.kustomize import kustomize_base
from support import CHART, EXAMPLES, PRESETS, REPO, Obj, default_helm, helm_or_skip

KUSTOMIZE = EXAMPLES / "kustomize"
BASE = KUSTOMIZE / "base"
KUBECTL = Path(os.environ.get("MST_KUBECTL", REPO / ".tools" / "bin" / "kubectl"))
RELEASE, NAMESPACE = "llama-8b", "llm"
BASE_FILES = (PRESETS / "nvidia-l4.yaml", EXAMPLES / "llama-3.1-8b.yaml")

pytestmark = pytest.mark.skipif(not KUBECTL.is_file(),
                                reason="kubectl not found: run scripts/install_tools.py")

Key = tuple[str, str, str, str]


def key(obj: Obj) -> Key:
    """apiVersion, kind, namespace and name: what identifies an object."""
    meta = obj["metadata"]
    return obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"]


def by_key(text: str) -> dict[Key, Obj]:
    objects = [doc for doc in yaml.safe_load_all(text) if doc]
    keyed = {key(obj): obj for obj in objects}
    assert len(keyed) == len(objects), "two objects share apiVersion/kind/namespace/name"
    return keyed


@cache
def kustomize(directory: Path, helm: Path) -> dict[Key, Obj]:
    """The objects `kubectl kustomize --enable-helm` builds from a directory (offline)."""
    result = subprocess.run(
        [str(KUBECTL), "kustomize", "--enable-helm", "--helm-command", str(helm),
         str(directory)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    return by_key(result.stdout)


@cache
def helm_template(helm: Path, release: str, namespace: str, files: tuple[Path, ...]
                  ) -> dict[Key, Obj]:
    args = [str(helm), "template", release, str(CHART), "--namespace", namespace,
            "--skip-tests"]  # the base leaves out the `helm test` hook pod
    for path in files:
        args += ["-f", str(path)]
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return by_key(result.stdout)


def base() -> dict[Key, Obj]:
    return kustomize(BASE, default_helm())


def model_deployments(objects: dict[Key, Obj]) -> list[Key]:
    """Deployments whose pods serve the model (they carry llm-d.ai/role)."""
    return [k for k, obj in objects.items()
            if obj["kind"] == "Deployment" and "llm-d.ai/role" in obj["metadata"]["labels"]]


def assert_same_objects(actual: dict[Key, Obj], expected: dict[Key, Obj]) -> None:
    assert sorted(actual) == sorted(expected)
    for object_key, obj in expected.items():
        assert actual[object_key] == obj, object_key


@pytest.mark.parametrize("helm_name", ["helm4", "helm3"])
def test_base_equals_helm_template(helm_name: str) -> None:
    helm = helm_or_skip(helm_name)
    built = kustomize(BASE, helm)
    assert model_deployments(built)
    assert_same_objects(built, helm_template(helm, RELEASE, NAMESPACE, BASE_FILES))


def test_base_copies_are_the_sample_and_preset() -> None:
    for original in BASE_FILES:
        assert (BASE / "values" / original.name).read_text() == original.read_text()


def test_toleration_overlay_adds_one_toleration_to_model_pods() -> None:
    expected = copy.deepcopy(base())
    for object_key in model_deployments(expected):
        pod = expected[object_key]["spec"]["template"]["spec"]
        pod["tolerations"] = [*pod.get("tolerations", []), {
            "key": "dedicated", "operator": "Equal", "value": "inference",
            "effect": "NoSchedule"}]
    assert_same_objects(kustomize(KUSTOMIZE / "overlays" / "toleration", default_helm()),
                        expected)


def test_engine_arg_overlay_changes_one_argument() -> None:
    expected = copy.deepcopy(base())
    decode = expected[("apps/v1", "Deployment", NAMESPACE, f"{RELEASE}-decode")]
    engine = decode["spec"]["template"]["spec"]["containers"][0]
    assert engine["args"].count("--max-model-len=8192") == 1, engine["args"]
    engine["args"] = ["--max-model-len=4096" if arg == "--max-model-len=8192" else arg
                      for arg in engine["args"]]
    assert_same_objects(kustomize(KUSTOMIZE / "overlays" / "engine-arg", default_helm()),
                        expected)


def _label(obj: Obj, labels: dict[str, str]) -> None:
    obj["metadata"].setdefault("labels", {}).update(labels)
    template = obj.get("spec", {}).get("template") if obj["kind"] == "Deployment" else None
    if template is not None:
        template["metadata"].setdefault("labels", {}).update(labels)


def test_team_label_overlay_labels_every_object_but_no_selector() -> None:
    expected = copy.deepcopy(base())
    for obj in expected.values():
        _label(obj, {"team": "ml-platform"})
    assert_same_objects(kustomize(KUSTOMIZE / "overlays" / "team-label", default_helm()),
                        expected)


def generate(directory: Path, *args: str) -> Any:
    return CliRunner().invoke(kustomize_base, [*args, str(directory)])


def test_committed_base_is_what_the_command_writes(tmp_path: Path) -> None:
    result = generate(tmp_path, "-p", "nvidia-l4", "-f", str(BASE_FILES[1]),
                      "--release", RELEASE, "-n", NAMESPACE)
    assert result.exit_code == 0, result.output
    written = yaml.safe_load((tmp_path / "kustomization.yaml").read_text())
    committed = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    chart_home = written.pop("helmGlobals")["chartHome"]
    assert (tmp_path / chart_home).resolve() == CHART.parent.resolve()
    assert committed.pop("helmGlobals") == {"chartHome": "../../../charts"}
    assert written == committed
    for name in ("nvidia-l4.yaml", "llama-3.1-8b.yaml"):
        assert (tmp_path / "values" / name).read_bytes() == (BASE / "values" / name).read_bytes()


def test_generated_base_builds_what_helm_renders(tmp_path: Path) -> None:
    sample = EXAMPLES / "qwen3-0.6b-cpu-sim.yaml"
    target = tmp_path / "deploy" / "base"
    result = generate(target, "-p", "cpu-sim", "-f", str(sample), "--release", "qwen-sim",
                      "-n", "sim")
    assert result.exit_code == 0, result.output
    document = yaml.safe_load((target / "kustomization.yaml").read_text())
    assert (target / document["helmGlobals"]["chartHome"]).resolve() == CHART.parent.resolve()
    helm = default_helm()
    assert_same_objects(kustomize(target, helm),
                        helm_template(helm, "qwen-sim", "sim", (PRESETS / "cpu-sim.yaml", sample)))


def test_same_named_layers_get_distinct_copies(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "model.yaml", tmp_path / "b" / "model.yaml"
    for path, text in ((first, "model:\n  uri: hf://Qwen/Qwen3-0.6B\n"),
                       (second, "decode:\n  replicas: 2\n")):
        path.parent.mkdir()
        path.write_text(text)
    result = generate(tmp_path / "base", "-p", "cpu-sim", "-f", str(first), "-f", str(second))
    assert result.exit_code == 0, result.output
    document = yaml.safe_load((tmp_path / "base" / "kustomization.yaml").read_text())
    chart = document["helmCharts"][0]
    assert chart["valuesFile"] == "values/cpu-sim.yaml"
    assert chart["additionalValuesFiles"] == ["values/model.yaml", "values/02-model.yaml"]
    built = kustomize(tmp_path / "base", default_helm())
    decode = built[("apps/v1", "Deployment", "default", "modelservice-decode")]
    assert decode["spec"]["replicas"] == 2


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["-p", "nvidai-l4", "-f", str(BASE_FILES[1])], ["unknown preset", "nvidia-l4"]),
        ([], ["give the layers"]),
        (["-p", "cpu-sim"], ["the chart refused the values", "model.uri is required"]),
        (["-p", "cpu-sim", "-f", "missing.yaml"], ["values file not found: missing.yaml"]),
    ],
)
def test_bad_inputs_fail_cleanly(tmp_path: Path, args: list[str], needles: list[str]) -> None:
    result = generate(tmp_path / "base", *args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.output, result.output
    assert not (tmp_path / "base" / "kustomization.yaml").exists()


def test_schema_errors_are_located_and_nothing_is_written(tmp_path: Path) -> None:
    model = tmp_path / "model.yaml"
    model.write_text("model:\n  uri: hf://Qwen/Qwen3-0.6B\ndecode:\n  replica: 2\n")
    result = generate(tmp_path / "base", "-p", "cpu-sim", "-f", str(model))
    assert result.exit_code == 2
    assert "model.yaml:4:3: decode.replica" in result.output
    assert not (tmp_path / "base").exists()


def test_existing_base_needs_force(tmp_path: Path) -> None:
    args = ["-p", "cpu-sim", "-f", str(EXAMPLES / "qwen3-0.6b-cpu-sim.yaml")]
    assert generate(tmp_path, *args).exit_code == 0
    again = generate(tmp_path, *args)
    assert again.exit_code == 2
    assert "pass --force" in again.output
    assert generate(tmp_path, *args, "--force").exit_code == 0
