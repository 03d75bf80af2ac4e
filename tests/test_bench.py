"""`mst bench`: load profiles, endpoint discovery, the Job (dry run, validated against the
Kubernetes schemas), the result the Job prints, and the report built from real guidellm output.

The report tests run on tests/fixtures/bench/guidellm-0.8.1-mock-sweep.json: output of a
real guidellm 0.8.1 run against guidellm's OpenAI-compatible mock server on 127.0.0.1, driven
by the bench Job's own script (see tests/fixtures/bench/README.md).
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from modelservice_tool.bench import job as job_module
from modelservice_tool.bench.endpoint import Endpoint, discover, resolve_gateway, served_model
from modelservice_tool.bench.harnesses import guidellm as guidellm_harness
from modelservice_tool.bench.harnesses.guidellm import GUIDELLM_VERSION
from modelservice_tool.bench.job import DEFAULT_IMAGE
from modelservice_tool.bench.plan import LoadSettings, plan_bench
from modelservice_tool.bench.profiles import PROFILES, RESULT_PATH, get_profile, scenario
from modelservice_tool.bench.report import write_report
from modelservice_tool.bench.results import (
    BEGIN_MARKER,
    END_MARKER,
    extract_from_logs,
    parse_guidellm,
    trim_result,
)
from modelservice_tool.commands.bench import bench_command
from modelservice_tool.errors import UserError
from modelservice_tool.layers_io import Inputs
from modelservice_tool.manifests import KubernetesSchemas, load_manifests, validate_manifests
from modelservice_tool.paths import chart_dir
from modelservice_tool.release import Release
from support import EXAMPLES, PRESETS, REPO

FIXTURE = REPO / "tests" / "fixtures" / "bench" / "guidellm-0.8.1-mock-sweep.json"
SIM = ("-p", "cpu-sim", "-f", str(EXAMPLES / "qwen3-0.6b-cpu-sim.yaml"))
KUBE_VERSIONS = ("1.33", "1.34", "1.35")


def fixture_doc() -> dict:
    return json.loads(FIXTURE.read_text())


def rendered(preset: str, example: str, *sets: str, release: str = "qwen-sim") -> list[dict]:
    inputs = Inputs((preset,), (EXAMPLES / example,), sets)
    return load_manifests(Release(inputs, release, "ns", chart_dir()).render())


def smoke() -> LoadSettings:
    return LoadSettings(get_profile("smoke"), DEFAULT_IMAGE)


# --- profiles -------------------------------------------------------------------------------


def test_profiles_and_overrides() -> None:
    assert {"chat", "rag", "generation", "smoke"} <= set(PROFILES)
    chat = get_profile("chat", output_tokens=100, seconds=30)
    assert (chat.mode, chat.output_tokens, chat.seconds) == ("sweep", 100, 30)
    assert chat.planned_seconds() == chat.sweep_points * 30
    rates = get_profile("chat", rates=(1.0, 2.5))
    assert (rates.mode, rates.load_points()) == ("rate", 2)
    assert get_profile("chat", concurrency=(1, 8, 32)).mode == "concurrency"


@pytest.mark.parametrize("overrides, message", [
    ({"rates": (1.0,), "concurrency": (2,)}, "not both"),
    ({"rates": (0.0,)}, "rates"),
    ({"sweep_points": 1}, "at least 2"),
    ({"seconds": 0}, "duration"),
    ({"prompt_tokens": 0}, "at least 1"),
])
def test_bad_profile_settings_are_user_errors(overrides: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        get_profile("chat", **overrides)


def test_scenario_is_a_guidellm_scenario() -> None:
    doc = scenario(get_profile("chat", rates=(2.0, 4.0), max_requests=50),
                   target="http://x:8000", model="m", tokenizer="t")
    spec = doc["spec"]
    assert spec["backend"] == {"kind": "openai_http", "target": "http://x:8000", "model": "m",
                               "request_format": "/v1/chat/completions"}
    assert spec["profile"] == {"kind": "constant", "rate": [2.0, 4.0]}
    assert spec["data"][0]["prompt_tokens"] == 512
    assert spec["data"][0]["prompt_tokens_min"] == 512 - 3 * 128
    assert {"kind": "max_requests", "count": 50} in spec["constraints"]
    concurrent = scenario(get_profile("chat", concurrency=(4,)), target="u", model="m",
                          tokenizer="t")
    assert concurrent["spec"]["profile"] == {"kind": "concurrent", "streams": [4]}


# --- endpoint -------------------------------------------------------------------------------


def test_decode_service_is_the_endpoint_without_a_route() -> None:
    objects = rendered("cpu-sim", "qwen3-0.6b-cpu-sim.yaml")
    endpoint = discover(objects, "qwen-sim", "ns")
    assert (endpoint.kind, endpoint.name, endpoint.port) == ("Service", "qwen-sim-decode", 8000)
    assert endpoint.url == "http://qwen-sim-decode.ns.svc:8000"
    assert served_model(objects) == "Qwen/Qwen3-0.6B"


def test_httproute_gateway_is_preferred() -> None:
    objects = rendered("cpu-sim", "qwen3-0.6b-cpu-sim.yaml")
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
             "metadata": {"name": "r", "namespace": "ns"},
             "spec": {"parentRefs": [{"kind": "Service", "name": "mesh"},
                                     {"name": "inference-gw", "namespace": "gw",
                                      "sectionName": "web"}],
                      "rules": [{"matches": [{"path": {"type": "PathPrefix",
                                                       "value": "/qwen/"}}]}]}}
    endpoint = discover([*objects, route], "qwen-sim", "ns")
    assert (endpoint.kind, endpoint.name, endpoint.namespace) == ("Gateway", "inference-gw", "gw")
    assert not endpoint.resolved
    gateway = {"spec": {"listeners": [{"name": "tls", "port": 443, "protocol": "HTTPS"},
                                      {"name": "web", "port": 8080, "protocol": "HTTP"}]},
               "status": {"addresses": [{"type": "IPAddress", "value": "10.0.0.7"}]}}
    live = resolve_gateway(endpoint, gateway)
    assert live.resolved and live.url == "http://10.0.0.7:8080/qwen"
    with pytest.raises(UserError, match="no address yet"):
        resolve_gateway(endpoint, {"spec": {}, "status": {}})


def test_chart_httproute_is_discovered() -> None:
    """The chart's own HTTPRoute (routing.httpRoute.gateway.name) wins over the Service."""
    objects = rendered("cpu-sim", "qwen3-0.6b-cpu-sim.yaml",
                       "routing.httpRoute.gateway.name=inference-gateway")
    if not any(obj["kind"] == "HTTPRoute" for obj in objects):
        pytest.skip("this chart renders no HTTPRoute for routing.httpRoute.gateway.name")
    endpoint = discover(objects, "qwen-sim", "ns")
    assert (endpoint.kind, endpoint.name) == ("Gateway", "inference-gateway")


def test_nothing_to_benchmark_is_a_user_error() -> None:
    with pytest.raises(UserError, match="neither an HTTPRoute nor a decode Service"):
        discover([], "r", "ns")


# --- the Job ----------------------------------------------------------------------------------


def test_job_validates_against_kubernetes_schemas() -> None:
    plan = plan_bench(rendered("cpu-sim", "qwen3-0.6b-cpu-sim.yaml"), release="qwen-sim",
                      namespace="ns", load=smoke())
    for version in KUBE_VERSIONS:
        assert list(validate_manifests([plan.job], KubernetesSchemas(version))) == []
    spec = plan.job["spec"]
    assert spec["backoffLimit"] == 0
    assert spec["activeDeadlineSeconds"] == 5 * 4 + job_module.STARTUP_ALLOWANCE_S
    container = spec["template"]["spec"]["containers"][0]
    assert container["image"] == f"ghcr.io/vllm-project/guidellm:v{GUIDELLM_VERSION}"
    env = {item["name"]: item for item in container["env"]}
    config = json.loads(env["MST_SCENARIO"]["value"])
    assert config["spec"]["backend"]["target"] == "http://qwen-sim-decode.ns.svc:8000"
    assert config["spec"]["tokenizer"]["model"] == "Qwen/Qwen3-0.6B"


def test_job_reads_the_hf_token_secret_of_the_engine() -> None:
    objects = rendered("nvidia-l4", "llama-3.1-8b.yaml", release="llama")
    plan = plan_bench(objects, release="llama", namespace="ns", load=smoke())
    env = {e["name"]: e for e in plan.job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["HF_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "hf-token"


def test_dry_run_prints_a_valid_job() -> None:
    result = CliRunner().invoke(bench_command, ["qwen-sim", *SIM, "-n", "ns", "--dry-run",
                                                "--profile", "smoke", "--rate", "1,2"])
    assert result.exit_code == 0, result.output
    job = yaml.safe_load(result.stdout)
    assert job["kind"] == "Job" and job["metadata"]["name"] == "qwen-sim-bench"
    assert "Job valid for Kubernetes 1.33, 1.34, 1.35" in result.stderr
    scenario_doc = json.loads(job["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"])
    assert scenario_doc["spec"]["profile"] == {"kind": "constant", "rate": [1.0, 2.0]}


def test_dry_run_with_target_needs_no_inputs() -> None:
    result = CliRunner().invoke(bench_command, ["x", "--dry-run", "--target", "http://gw:80/",
                                                "--model", "m"])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.stdout)["metadata"]["annotations"]["mst.llm-d.ai/target"] == (
        "http://gw:80")


def test_dry_run_without_inputs_is_a_clean_error() -> None:
    result = CliRunner().invoke(bench_command, ["x", "--dry-run"])
    assert result.exit_code == 2
    assert result.stderr.startswith("mst: error: --dry-run touches no cluster")


def test_job_script_prints_the_trimmed_result(tmp_path: Path) -> None:
    """The encoder the Job runs after guidellm trims exactly like results.trim_result."""
    doc = fixture_doc()
    for benchmark in doc["benchmarks"]:  # what the trimmed fixture lost: put some back
        benchmark["requests"] = {"successful": [{"request_id": "x"}], "errored": []}
        benchmark["metrics"]["text"] = {"tokens": {}}
    result_file = tmp_path / "benchmarks.json"
    result_file.write_text(json.dumps(doc))
    script = guidellm_harness.ENCODER.replace(RESULT_PATH, str(result_file))
    logs = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True).stdout
    assert extract_from_logs("guidellm output\n" + logs) == trim_result(copy.deepcopy(doc))
    assert extract_from_logs(logs) == fixture_doc()


def test_missing_or_corrupt_result_is_a_user_error() -> None:
    with pytest.raises(UserError, match="printed no result; last log lines:\nstarting\nboom"):
        extract_from_logs("starting\nboom")
    with pytest.raises(UserError, match="corrupt"):
        extract_from_logs(f"{BEGIN_MARKER}\nnot-base64!!\n{END_MARKER}")
    bad = base64.b64encode(gzip.compress(b"{}")).decode()
    with pytest.raises(UserError, match="no benchmarks"):
        parse_guidellm(extract_from_logs(f"{BEGIN_MARKER}\n{bad}\n{END_MARKER}"))


# --- results and report (real guidellm output) ---------------------------------------------


def test_parse_real_guidellm_output() -> None:
    result = parse_guidellm(fixture_doc())
    assert result.tool == "guidellm 0.8.1"
    assert (result.target, result.model) == ("http://127.0.0.1:18000", "Qwen/Qwen3-0.6B")
    labels = [point.label for point in result.points]
    assert labels == ["synchronous", "throughput", "constant@30.15", "constant@57.8",
                      "constant@85.46"]
    sync, saturated = result.points[0], result.points[1]
    assert sync.concurrency == pytest.approx(1.0, abs=0.05)
    assert sync.ttft_ms.p90 == pytest.approx(75.74, abs=0.01)
    assert saturated.ttft_ms.p90 == pytest.approx(1023.51, abs=0.01)
    assert result.peak() is saturated
    assert saturated.output_tps == pytest.approx(2726.05, abs=0.01)
    assert saturated.e2e_ms.p50 > 1000  # request latency is reported in seconds, shown in ms
    assert result.points[2].incomplete == 10 and all(p.errored == 0 for p in result.points)
    metrics = saturated.metrics()
    assert {"ttft_p90_ms", "itl_p99_ms", "e2e_p50_ms", "output_tps", "error_rate"} <= set(metrics)
    assert len(result.warnings) == 3


def test_report_from_real_output(tmp_path: Path) -> None:
    files = write_report(parse_guidellm(fixture_doc()), tmp_path, "qwen-sim")
    text = files.summary.read_text()
    assert "peak output throughput: **2726 tokens/s** at throughput" in text
    assert "| constant@57.8 | 51.63 |" in text
    assert "![latency](latency.png)" in text
    for plot in files.plots:
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 10_000
    data = json.loads(files.data.read_text())
    assert len(data["points"]) == 5 and data["points"][0]["ttft_ms"]["p50"] > 0


def test_from_json_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(bench_command, ["qwen-sim", "--from-json", str(FIXTURE),
                                                "-o", str(out), "--no-llmd-reports"])
    assert result.exit_code == 0, result.output
    assert "# Benchmark: qwen-sim" in result.stdout
    assert {p.name for p in out.iterdir()} == {"result.json", "summary.md", "summary.json",
                                               "latency.png", "throughput.png"}


def test_from_json_rejects_other_files(tmp_path: Path) -> None:
    other = tmp_path / "x.json"
    other.write_text("[1, 2]")
    result = CliRunner().invoke(bench_command, ["r", "--from-json", str(other),
                                                "--no-llmd-reports"])
    assert result.exit_code == 2 and "not a guidellm JSON result" in result.stderr


def test_endpoint_describe() -> None:
    assert Endpoint("Service", "a", "ns", "a.ns.svc", 80).describe() == "Service ns/a"


# --- cluster --------------------------------------------------------------------------------


@pytest.mark.e2e
def test_bench_against_a_live_cpu_sim_release(tmp_path: Path, running_pods: None,
                                              live_namespace: str) -> None:
    """Install the CPU simulator sample, bench it with the smoke profile, uninstall.
    Needs nodes that run pods (the simulator must serve); tests/test_bench_sweep_e2e.py
    checks the bench Job on any cluster."""
    from modelservice_tool import helm

    release, namespace = "mst-bench-e2e", live_namespace
    files = ["-f", str(PRESETS / "cpu-sim.yaml"), "-f", str(EXAMPLES / "qwen3-0.6b-cpu-sim.yaml")]
    helm.run_helm(["upgrade", "--install", release, str(chart_dir()), "-n", namespace,
                   "--wait", "--timeout", "300s", *files])
    try:
        result = CliRunner().invoke(bench_command, [release, *SIM, "-n", namespace,
                                                    "--profile", "smoke", "-o",
                                                    str(tmp_path)])
        assert result.exit_code == 0, result.output
        assert (tmp_path / "summary.md").is_file()
    finally:
        helm.run_helm(["uninstall", release, "-n", namespace])
