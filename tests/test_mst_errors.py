"""User errors reach the user as a located, actionable message, a non-zero exit and no
traceback: schema violations, bad YAML, missing files, unknown presets, missing helm."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from support import REPO, default_helm

MST = [sys.executable, "-m", "modelservice_tool"]


def mst(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # no CRD cache a developer's `mst crds fetch` filled: validate output stays the same
    environment = {"MST_HELM": str(default_helm()), "PATH": "/usr/bin:/bin",
                   "MST_CACHE_DIR": str(Path(tempfile.gettempdir()) / "mst-tests-no-cache"),
                   **(env or {})}
    return subprocess.run([*MST, *args], capture_output=True, text=True, check=False,
                          cwd=REPO, env=environment)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "model.yaml"
    path.write_text(text)
    return path


def assert_clean_error(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    for needle in needles:
        assert needle in result.stderr, result.stderr


@pytest.mark.parametrize("command", ["template", "validate", "explain"])
@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("model:\n  uri: hf://a/b\ndecode:\n  replica: 2\n",
         ["model.yaml:4:3", "decode.replica", "did you mean `replicas`?"]),
        ("model:\n  uri: hf://a/b\n  urii: x\n",
         ["model.yaml:3:3", "model.urii", "did you mean `uri`?"]),
        ("model:\n  uri: hf://a/b\ndecode:\n  parallelism:\n    tensr: 2\n",
         ["model.yaml:5:5", "decode.parallelism.tensr", "did you mean `tensor`?"]),
        ("model:\n  uri: hf://a/b\nengine:\n  imag: {}\n",
         ["model.yaml:4:3", "engine.imag", "did you mean `image`?"]),
        ("modle:\n  uri: hf://a/b\n",
         ["model.yaml:1:1", "modle", "did you mean `model`?"]),
        ("model:\n  uri: hf://a/b\ndecode:\n  replicas: two\n",
         ["model.yaml:4:3", "decode.replicas", "is not of type 'integer'", "[type]"]),
        ("model:\n  uri: ftp://a/b\n", ["model.yaml:2:3", "model.uri", "[pattern]"]),
        ("model: [\n", ["model.yaml:2:1", "invalid YAML"]),
        ("model:\n  uri: a\nmodel:\n  uri: b\n", ["model.yaml:3:1", "duplicate key 'model'"]),
        ("- a\n- b\n", ["must be a mapping"]),
    ],
)
def test_bad_values_are_located(tmp_path: Path, command: str, text: str,
                                needles: list[str]) -> None:
    result = mst(command, "--values", str(write(tmp_path, text)))
    assert_clean_error(result, 2, *needles)


def test_bad_set_is_located() -> None:
    result = mst("template", "--set", "model.uri=hf://a/b", "--set", "decode.replicas=x")
    assert_clean_error(result, 2, "--set decode.replicas=x", "decode.replicas")


def test_missing_values_file() -> None:
    assert_clean_error(mst("template", "--values", "nope.yaml"), 2,
                       "values file not found: nope.yaml")


def test_unknown_preset_suggests_closest() -> None:
    assert_clean_error(mst("template", "--preset", "nvidia-h10", "--set", "model.uri=hf://a/b"),
                       2, "unknown preset 'nvidia-h10'", "Did you mean", "nvidia-h100")


def test_helm_missing(tmp_path: Path) -> None:
    result = mst("template", "--set", "model.uri=hf://a/b",
                 env={"MST_HELM": str(tmp_path / "no-helm"), "PATH": str(tmp_path),
                      "MST_TOOLS_DIR": str(tmp_path)})
    assert_clean_error(result, 2, "helm not found")


def test_helm_template_failure_is_reported() -> None:
    result = mst("template", "--set", "model.uri=hf://a/b/c")
    assert_clean_error(result, 2, "the chart refused the values", "--set model.uri=hf://a/b/c:",
                       "hf:// URI names one repository")


def test_output_dir_not_written_on_error(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = mst("template", "--set", "decode.replica=1", "--output-dir", str(out))
    assert result.returncode == 2
    assert not out.exists()


def test_validate_reports_cross_object_problem() -> None:
    result = mst("validate", "--preset", "pd-a100", "--values", "examples/gpt-oss-120b-pd.yaml",
                 "--set", "decode.accelerator.count=2")
    assert result.returncode == 1
    assert ("2 x nvidia.com/gpu per pod but tensor x pipeline x dataLocal = 4: vLLM cannot "
            "start") in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_passes_a_sample() -> None:
    result = mst("validate", "--preset", "pd-a100", "--values", "examples/gpt-oss-120b-pd.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: ")


def test_explain_shows_layers_and_deletions(tmp_path: Path) -> None:
    model = write(tmp_path, "model:\n  uri: hf://a/b\nengine:\n  env:\n    UCX_TLS: null\n"
                  "decode:\n  replicas: 3\n")
    result = mst("explain", "--preset", "pd-a100", "--values", str(model), "engine.env.UCX_TLS")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "engine.env.UCX_TLS = null (unset)"
    assert "unset by" in lines[1] and "model.yaml:5:5" in lines[1]
    assert "overrode" in lines[2] and "presets/pd-a100.yaml" in lines[2]
    result = mst("explain", "--preset", "pd-a100", "--values", str(model), "decode.replicas")
    assert result.stdout.splitlines()[:3] == [
        "decode.replicas = 3",
        f"  set by     {model}:7:3",
        "  overrode   charts/modelservice/values.yaml:"
        + result.stdout.splitlines()[2].split("values.yaml:")[1],
    ]


def test_explain_reports_keys_a_later_layer_deleted(tmp_path: Path) -> None:
    model = write(tmp_path, "model:\n  uri: hf://a/b\npod:\n  shm: null\n")
    result = mst("explain", "--values", str(model), "pod.shm")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "pod.shm is not set (a later layer removed it)"
    assert "unset by" in result.stdout


def test_yaml_11_booleans_read_like_helm(tmp_path: Path) -> None:
    """helm reads a bare `n` as false; so must mst (else mst and helm disagree)."""
    model = write(tmp_path, "model:\n  uri: hf://a/b\nnameOverride: n\n")
    result = mst("validate", "--values", str(model))
    assert_clean_error(result, 2, "model.yaml:3:1", "nameOverride", "is not of type")


def test_patterns_anchor_like_go(tmp_path: Path) -> None:
    model = write(tmp_path, 'model:\n  uri: hf://a/b\nfullnameOverride: "abc\\n"\n')
    assert_clean_error(mst("validate", "--values", str(model)), 2, "fullnameOverride", "[pattern]")


def test_huge_values_are_cut_in_messages(tmp_path: Path) -> None:
    model = write(tmp_path, "model:\n  uri: hf://a/b\ndecode:\n  replicas: '" + "9" * 5000 + "'\n")
    result = mst("validate", "--values", str(model))
    assert_clean_error(result, 2, "decode.replicas", "(cut)")
    assert len(result.stderr) < 1000


def test_absurd_replica_counts_are_refused(tmp_path: Path) -> None:
    model = write(tmp_path, "model:\n  uri: hf://a/b\ndecode:\n  replicas: 3000000000\n")
    assert_clean_error(mst("validate", "--values", str(model)), 2, "decode.replicas", "[maximum]")
