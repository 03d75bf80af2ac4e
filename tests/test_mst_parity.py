"""`mst template` prints exactly what `helm template` prints for the same files and --sets,
and mst's own layering equals helm's: one merged values document renders the same."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from modelservice_tool.layers_io import Inputs, load_layers
from support import CHART, REPO, default_helm, run_helm_template, sample_files, samples

SAMPLES = samples()
MST = [sys.executable, "-m", "modelservice_tool"]


def mst(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MST, *args], capture_output=True, text=True, check=False, cwd=REPO,
                          env={"MST_HELM": str(default_helm()), "PATH": "/usr/bin:/bin"})


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["name"] for s in SAMPLES])
def test_mst_template_is_byte_identical_to_helm(sample: dict[str, str]) -> None:
    preset, model = sample_files(sample)
    sets = ("decode.replicas=3", "engine.args.max-num-seqs=128")
    result = mst("template", "--preset", sample["preset"], "--values", str(model),
                 "--release", sample["release"], "-n", "ns",
                 *[arg for item in sets for arg in ("--set", item)])
    assert result.returncode == 0, result.stderr
    helm = run_helm_template((preset, model), sets, release=sample["release"])
    assert result.stdout == helm.stdout


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["name"] for s in SAMPLES])
def test_mst_layering_matches_helm(sample: dict[str, str], tmp_path: Path) -> None:
    """Helm given mst's merged user values renders what helm renders from the files."""
    preset, model = sample_files(sample)
    layered, _ = load_layers(Inputs((str(preset),), (model,)), CHART)
    merged = tmp_path / "merged.json"
    merged.write_text(json.dumps(layered.user))
    from_files = run_helm_template((preset, model), release=sample["release"])
    from_merged = run_helm_template((merged,), release=sample["release"])
    assert from_files.stdout == from_merged.stdout


def test_computed_values_match_helm_get_values(tmp_path: Path) -> None:
    """mst's final values (defaults coalesced, nulls deleting defaults) equal helm's."""
    preset, model = sample_files(SAMPLES[0])
    override = tmp_path / "o.yaml"
    override.write_text("pod:\n  shm: null\nengine:\n  env:\n    POD_NAME: null\n")
    layered, _ = load_layers(Inputs((str(preset),), (model, override)), CHART)
    probe = tmp_path / "chart"
    subprocess.run(["cp", "-r", str(CHART), str(probe)], check=True)
    (probe / "templates").mkdir(exist_ok=True)
    for path in (probe / "templates").glob("*.yaml"):
        path.unlink()
    (probe / "templates" / "values.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: v}\n"
        "data: {values: {{ toJson .Values | quote }}}\n"
    )
    args = [str(default_helm()), "template", "x", str(probe), "-f", str(preset), "-f",
            str(model), "-f", str(override)]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    import yaml

    configmap = next(d for d in yaml.safe_load_all(out) if d and d["kind"] == "ConfigMap")
    helm_values = json.loads(configmap["data"]["values"])
    assert helm_values == json.loads(json.dumps(layered.values))
