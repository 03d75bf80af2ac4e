"""What a new user meets first: messages in words they can act on, and no traceback or
half-written output for the mistakes of a first hour (issue 15's reproductions)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_mst_errors import assert_clean_error, mst, write

from modelservice_tool.schema_hints import PATTERN_WORDS, normalize_pattern
from support import REPO

SAMPLE = ("-p", "cpu-sim", "-f", "examples/qwen3-0.6b-cpu-sim.yaml")


def schema_patterns() -> set[str]:
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "pattern" and isinstance(value, str):
                    found.add(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(json.loads((REPO / "charts/modelservice/values.schema.json").read_text()))
    return found


@pytest.mark.parametrize("pattern", sorted(schema_patterns()))
def test_every_schema_pattern_is_said_in_words(pattern: str) -> None:
    assert normalize_pattern(pattern)[0] in PATTERN_WORDS


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("model:\n  uri: Qwen/Qwen2.5-7B-Instruct\n",
         ["model.uri", "scheme hf://", "did you mean `hf://Qwen/Qwen2.5-7B-Instruct`?"]),
        ("model:\n  uri: hf://a/b\n  size: 40GB\n",
         ["model.size", "Kubernetes quantity", "did you mean `40Gi`?"]),
        ("model:\n  uri: hf://a/b\nengine:\n  env:\n    - name: VLLM_LOGGING_LEVEL\n"
         "      value: DEBUG\n",
         ["model.yaml:4:3", "engine.env", "map keyed by name",
          "`env: {VLLM_LOGGING_LEVEL: DEBUG}`"]),
        ("model:\n  uri: hf://a/b\ndecode:\n  accelerator:\n    type: nvidai\n",
         ["is not one of: nvidia,", ", null", "did you mean `nvidia`?"]),
        ("model:\n\turi: hf://a/b\n", ["model.yaml:2:1", "tab", "spaces only"]),
    ],
)
def test_values_mistakes_are_explained(tmp_path: Path, text: str, needles: list[str]) -> None:
    result = mst("template", "-f", str(write(tmp_path, text)))
    assert_clean_error(result, 2, *needles)
    assert "\\Z" not in result.stderr and "None" not in result.stderr


def test_chart_failures_are_located_without_helm_noise(tmp_path: Path) -> None:
    values = write(tmp_path, "model:\n  uri: hf://a/b\ndecode:\n  parallelism:\n"
                             "    data: 2\n    dataLocal: 4\n")
    result = mst("template", "-f", str(values))
    assert_clean_error(result, 2, "the chart refused the values", "model.yaml:4:3:",
                       "decode.parallelism: dataLocal (4) is larger than data (2)")
    assert "--debug" not in result.stderr and "execution error" not in result.stderr


@pytest.mark.parametrize(("option", "needles"), [
    (("--release", "Bad_Name"), ["invalid release name 'Bad_Name'", "`bad-name`"]),
    (("-n", "My_NS"), ["invalid namespace 'My_NS'", "`my-ns`"]),
])
def test_invalid_names_are_refused_once(option: tuple[str, str], needles: list[str]) -> None:
    result = mst("template", *SAMPLE, *option)
    assert_clean_error(result, 2, *needles)
    assert result.stderr.count("invalid") == 1


@pytest.mark.parametrize(("version", "needle"), [
    ("banana", "'banana' is not a Kubernetes version"),
    ("1.99", "no schemas for Kubernetes 1.99"),
])
def test_kube_version_must_be_one_with_schemas(version: str, needle: str) -> None:
    assert_clean_error(mst("validate", *SAMPLE, "--kube-version", version), 2, needle)


def test_validate_says_custom_resources_were_not_schema_checked_without_crds() -> None:
    result = mst("validate", *SAMPLE)
    assert result.returncode == 0, result.stderr
    assert "custom resources (InferencePool) were not schema-checked" in result.stdout
    assert "InferencePool) pass the Kubernetes" not in result.stdout


def test_preset_file_name_suggests_the_preset_name() -> None:
    assert_clean_error(mst("template", "-p", "pd-a100.yaml", "--set", "model.uri=hf://a/b"), 2,
                       "preset file not found: pd-a100.yaml", "`-p pd-a100`")


def test_explain_suggests_the_closest_key() -> None:
    assert_clean_error(mst("explain", *SAMPLE, "decode.replcias"), 2,
                       "did you mean `decode.replicas`?")


def test_output_to_an_existing_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "out.yaml"
    target.write_text("keep me\n")
    assert_clean_error(mst("template", *SAMPLE, "-o", str(target)), 2, "is a file")
    assert target.read_text() == "keep me\n"


def test_output_dir_holds_exactly_the_latest_render(tmp_path: Path) -> None:
    out = tmp_path / "out"
    pd = ("-p", "pd-a100", "-f", "examples/gpt-oss-120b-pd.yaml", "--release", "gpt-oss")
    assert mst("template", *pd, "-o", str(out)).returncode == 0
    prefill = out / "deployment-gpt-oss-prefill.yaml"
    assert prefill.is_file()
    assert not list(out.glob("pod-*")), "helm test hooks are not objects to apply"
    result = mst("template", *pd, "--set", "prefill.enabled=false", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert not prefill.exists(), "a stale object of the earlier render was left behind"
    assert (out / "deployment-gpt-oss-decode.yaml").is_file()


def test_output_dir_with_foreign_files_is_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.yaml").write_text("kind: Mine\n")
    assert_clean_error(mst("template", *SAMPLE, "-o", str(out)), 2,
                       "holds files mst did not write (mine.yaml)")
    assert [p.name for p in out.iterdir()] == ["mine.yaml"]


def test_a_pod_larger_than_a_node_fails_to_render(tmp_path: Path) -> None:
    values = write(tmp_path, "model:\n  uri: hf://a/b\ndecode:\n  parallelism:\n    tensor: 16\n")
    assert_clean_error(mst("template", "-p", "nvidia-h100", "-f", str(values)), 2,
                       "model.yaml:4:3: decode.parallelism: one pod needs 16 accelerators "
                       "but a node has 8", "multiNode.enabled: true")


@pytest.mark.parametrize("env", [
    "HF_TOKEN: hf_abcdefghijklmnopqrstuv",
    "HF_TOKEN: {value: secret}",
    "MY_TOKEN: hf_abcdefghijklmnopqrstuv",
])
def test_plaintext_tokens_are_refused(tmp_path: Path, env: str) -> None:
    values = write(tmp_path, f"model:\n  uri: hf://a/b\nengine:\n  env:\n    {env}\n")
    assert_clean_error(mst("template", "-f", str(values)), 2, "model.yaml:5:5",
                       "holds a token in plain text", "model.authSecretName")


def test_token_from_a_secret_is_fine(tmp_path: Path) -> None:
    values = write(tmp_path, "model:\n  uri: hf://a/b\nengine:\n  env:\n    HF_TOKEN:\n"
                             "      valueFrom: {secretKeyRef: {name: hf, key: token}}\n")
    assert mst("template", "-f", str(values)).returncode == 0


def test_latest_image_tag_is_refused() -> None:
    assert_clean_error(mst("template", "--set", "model.uri=hf://a/b",
                           "--set", "engine.image.tag=latest"), 2,
                       "--set engine.image.tag=latest:", "tag is latest", "pin a release tag")


def test_settings_the_chart_would_ignore_are_warned_about(tmp_path: Path) -> None:
    values = write(tmp_path, "model:\n  uri: hf://a/b\ndecode:\n  replicas: 3\n"
                             "  parallelism:\n    tensor: 3\n  autoscaling:\n    enabled: true\n"
                             "    maxReplicas: 4\nprefill:\n  replicas: 2\n")
    result = mst("template", "-p", "nvidia-h100", "-f", str(values))
    assert result.returncode == 0, result.stderr
    for needle in ["11:3: prefill.replicas: ignored: prefill is not enabled",
                   "4:3: decode.replicas: ignored: decode.autoscaling is on",
                   "8:5: decode.autoscaling.enabled: the HPA has no metrics",
                   "6:5: decode.parallelism.tensor: tensor parallelism 3 is not a "
                   "power of two"]:
        assert f"/model.yaml:{needle}" in result.stderr, result.stderr
    assert result.stderr.count("mst: warning: ") == 4


@pytest.mark.parametrize("sample", ["qwen3-0.6b-cpu-sim", "gpt-oss-120b-pd",
                                    "deepseek-v3-wide-ep", "llama-3.1-8b-lora"])
def test_samples_get_no_warnings(sample: str) -> None:
    import yaml

    entry = next(s for s in yaml.safe_load((REPO / "examples/index.yaml").read_text())["samples"]
                 if s["name"] == sample)
    result = mst("template", "-p", entry["preset"], "-f", f"examples/{entry['file']}")
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_sweep_refuses_a_misspelled_parameter() -> None:
    result = mst("sweep", *SAMPLE, "-P", "decode.replcias=1,2", "--plan-only")
    assert_clean_error(result, 2, "--param decode.replcias: unknown key",
                       "did you mean `decode.replicas`?")


def test_sweep_plan_with_nothing_to_deploy_fails() -> None:
    result = mst("sweep", "-p", "nvidia-h100", "-f", "examples/qwen3-32b-tp2.yaml",
                 "-P", "decode.parallelism.tensor=16,32", "--plan-only", "--no-diff")
    assert result.returncode == 1, result.stderr
    assert "0 to deploy, 2 invalid" in result.stdout
    assert "no variant of this plan can be deployed" in result.stderr


def test_every_managed_engine_flag_is_reported_at_once(tmp_path: Path) -> None:
    values = write(tmp_path, "model:\n  uri: hf://a/b\nengine:\n  args:\n    port: 9000\n"
                             "    served-model-name: x\ndecode:\n  engine:\n    args:\n"
                             "      tensor-parallel-size: 2\n")
    assert_clean_error(mst("template", "-f", str(values)), 2,
                       "model.yaml:5:5: engine.args.port is managed by the chart: set "
                       "engine.port instead",
                       "model.yaml:6:5: engine.args.served-model-name is managed",
                       "model.yaml:10:7: decode.engine.args.tensor-parallel-size is managed "
                       "by the chart: set decode.parallelism.tensor instead")


def test_client_go_log_lines_are_left_out_of_messages() -> None:
    from modelservice_tool.errors import tool_message

    stderr = ("E1128 21:00:00.123456   4242 memcache.go:265] couldn't get current server API "
              "group list: connection refused\n"
              "E1128 21:00:00.223456   4242 memcache.go:265] couldn't get current server API "
              "group list: connection refused\n"
              "The connection to the server localhost:8080 was refused\n")
    assert tool_message(stderr) == "The connection to the server localhost:8080 was refused"


def test_install_without_a_cluster_says_how_to_point_at_one(tmp_path: Path) -> None:
    empty = tmp_path / "kubeconfig"
    empty.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    result = mst("install", *SAMPLE, "--release", "q", "--kubeconfig", str(empty),
                 env={"PATH": f"{REPO / '.tools' / 'bin'}:/usr/bin:/bin"})
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "memcache.go" not in result.stderr
    assert "--kubeconfig" in result.stderr


@pytest.mark.parametrize("command", [("status",), ("doctor",), ("bench", "q", "--dry-run"),
                                     ("sweep", *SAMPLE, "-P", "decode.replicas=1,2"),
                                     ("install", *SAMPLE), ("validate", *SAMPLE, "--cluster")])
def test_a_missing_kubeconfig_file_is_named(command: tuple[str, ...]) -> None:
    result = mst(*command, "--kubeconfig", "/nonexistent/kubeconfig")
    assert result.returncode == 2
    assert "'/nonexistent/kubeconfig' does not exist" in result.stderr


@pytest.mark.parametrize("command", ["install", "upgrade", "status", "rollback", "uninstall"])
def test_timeout_is_documented(command: str) -> None:
    result = mst(command, "--help")
    assert "--timeout SECONDS" in result.stdout, result.stdout
