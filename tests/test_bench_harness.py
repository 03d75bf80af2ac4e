"""`mst bench --harness vllm-benchmark|inference-perf`: the Jobs, the profile mapping judged by
each tool's own parser, the options a harness cannot honour, and the llm-d benchmark
reports of real native output.

The native outputs (tests/fixtures/bench/<harness>-<version>-mock/) were written by the
real tools running the Jobs' own scripts against guidellm's mock server
(tests/harness_mock.py, which the slow tests here run again when the tools are installed).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from guidellm_mock import guidellm_bin
from harness_mock import PROFILE, fixture, venv
from harness_mock import run as run_harness

from modelservice_tool.bench.harnesses import HARNESSES, Target, get_harness
from modelservice_tool.bench.harnesses.base import RESULTS_DIR, files_encoder
from modelservice_tool.bench.harnesses.inference_perf import config as ip_config
from modelservice_tool.bench.harnesses.vllm_benchmark import command, range_ratio
from modelservice_tool.bench.plan import LoadSettings, plan_bench
from modelservice_tool.bench.profiles import get_profile
from modelservice_tool.bench.results import extract_from_logs
from modelservice_tool.bench.stack import stack_components
from modelservice_tool.commands import main
from modelservice_tool.commands.bench import bench_command
from modelservice_tool.errors import UserError
from modelservice_tool.layers_io import Inputs
from modelservice_tool.manifests import KubernetesSchemas, load_manifests, validate_manifests
from modelservice_tool.paths import chart_dir
from modelservice_tool.release import Release
from support import EXAMPLES

OTHERS = ("vllm-benchmark", "inference-perf")
SIM = ("-p", "cpu-sim", "-f", str(EXAMPLES / "qwen3-0.6b-cpu-sim.yaml"))
PD = ("-p", "pd-a100", "-f", str(EXAMPLES / "gpt-oss-120b-pd.yaml"))
TARGET = Target("http://qwen-sim-decode.ns.svc:8000", "Qwen/Qwen3-0.6B", "Qwen/Qwen3-0.6B")
RATE = get_profile("chat", rates=(1.5, 4.0), seconds=30)
STREAMS = get_profile("chat", concurrency=(1, 8), max_requests=50)
SWEEP = get_profile("smoke")


def rendered(*args: str, release: str = "qwen-sim", namespace: str = "ns") -> list[dict]:
    presets = tuple(a for flag, a in itertools.pairwise(args) if flag == "-p")
    files = tuple(Path(a) for flag, a in itertools.pairwise(args) if flag == "-f")
    return load_manifests(Release(Inputs(presets, files, ()), release, namespace,
                                  chart_dir()).render())


def bench(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(bench_command, list(args))
    return result.exit_code, result.stdout, result.stderr


def job_for(harness: str, profile=RATE) -> dict:
    load = LoadSettings(profile, harness=get_harness(harness))
    return plan_bench(rendered(*SIM), release="qwen-sim", namespace="ns", load=load).job


def container(job: dict) -> dict:
    return job["spec"]["template"]["spec"]["containers"][0]


# --- the Jobs -----------------------------------------------------------------------------


@pytest.mark.parametrize("harness", HARNESSES)
def test_each_harness_renders_a_valid_job(harness: str) -> None:
    profile = STREAMS if harness == "vllm-benchmark" else RATE
    job = job_for(harness, profile)
    for version in ("1.33", "1.34", "1.35"):
        assert list(validate_manifests([job], KubernetesSchemas(version))) == []
    spec = get_harness(harness)
    pod = container(job)
    assert (pod["name"], pod["image"]) == (spec.container, spec.image)
    assert spec.version in pod["image"] and ":latest" not in pod["image"]
    assert job["metadata"]["annotations"]["mst.llm-d.ai/harness"] == harness
    assert {"name": "results", "mountPath": RESULTS_DIR} in pod["volumeMounts"]


def test_vllm_benchmark_maps_the_profile_onto_its_flags() -> None:
    script = container(job_for("vllm-benchmark"))["command"][2]
    runs = [line for line in script.splitlines() if line.startswith("vllm bench serve")]
    assert len(runs) == 2  # one run per rate
    first = runs[0].split()
    flag = {first[i]: first[i + 1] for i in range(len(first) - 1) if first[i].startswith("--")}
    assert flag["--base-url"] == "http://qwen-sim-decode.ns.svc:8000"
    assert flag["--model"] == flag["--tokenizer"] == "Qwen/Qwen3-0.6B"
    assert (flag["--dataset-name"], flag["--random-input-len"], flag["--random-output-len"]) == (
        "random", "512", "256")
    assert flag["--request-rate"] == "1.5" and flag["--num-prompts"] == "45"  # 1.5/s x 30 s
    assert flag["--result-filename"] == "point-0.json" and "--save-result" in first
    assert range_ratio(RATE) == pytest.approx(3 ** 0.5 * 128 / 512, abs=1e-3)
    streams = command(STREAMS, TARGET, 1)
    assert streams[streams.index("--max-concurrency") + 1] == "8"
    assert streams[streams.index("--num-prompts") + 1] == "50"
    assert "--request-rate" not in streams  # unbounded rate, bounded concurrency


def test_inference_perf_maps_the_profile_onto_its_config() -> None:
    rate = ip_config(RATE, TARGET)
    assert rate["load"]["type"] == "constant"
    assert rate["load"]["stages"] == [{"rate": 1.5, "duration": 30}, {"rate": 4.0, "duration": 30}]
    assert rate["data"]["type"] == "synthetic"
    assert rate["data"]["input_distribution"] == {"mean": 512, "std_dev": 128, "min": 128,
                                                  "max": 896}
    assert rate["server"] == {"type": "vllm", "model_name": "Qwen/Qwen3-0.6B",
                              "base_url": TARGET.url, "ignore_eos": True}
    assert rate["storage"]["local_storage"]["path"] == RESULTS_DIR
    streams = ip_config(STREAMS, TARGET)["load"]
    assert streams["type"] == "concurrent"
    assert streams["stages"][1] == {"concurrency_level": 8, "num_requests": 50}
    sweep = ip_config(SWEEP, TARGET)["load"]
    assert sweep["sweep"] == {"type": "linear", "num_stages": 5, "stage_duration": 4,
                              "timeout": 60}
    env = {e["name"]: e["value"] for e in container(job_for("inference-perf"))["env"]}
    assert json.loads(env["MST_CONFIG"]) == rate


def test_vllm_bench_serve_parses_every_rendered_command() -> None:
    """vLLM 0.17.1's own `bench serve` parser (the function the subcommand registers)
    accepts each command line and reads the profile back."""
    tools = venv("vllm-benchmark")
    if tools is None:
        if os.environ.get("CI") == "true":
            pytest.fail("vLLM venv missing; CI must run this test (`make vllm`)")
        pytest.skip("vLLM not installed: `make vllm` (or set MST_VLLM_VENV)")
    lines = [command(profile, TARGET, i)[3:] for profile in (RATE, STREAMS) for i in (0, 1)]
    judge = """
import json, sys
from vllm.benchmarks.serve import add_cli_args
from vllm.utils.argparse_utils import FlexibleArgumentParser
parser = FlexibleArgumentParser(prog="vllm bench serve")
add_cli_args(parser)
out = []
for argv in json.load(sys.stdin):
    a = parser.parse_args(argv)
    out.append([a.dataset_name, a.random_input_len, a.random_output_len, a.request_rate,
                a.max_concurrency, a.num_prompts, a.save_result, a.result_dir, a.metadata])
print(json.dumps(out))
"""
    done = subprocess.run([str(tools / "bin" / "python"), "-c", judge], input=json.dumps(lines),
                          capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, "VLLM_TARGET_DEVICE": "cpu"})
    assert done.returncode == 0, done.stderr[-3000:]
    parsed = json.loads(done.stdout.strip().splitlines()[-1])
    assert parsed[0][:6] == ["random", 512, 256, 1.5, None, 45]
    assert parsed[3][:6] == ["random", 512, 256, float("inf"), 8, 50]
    assert all(p[6] and p[7] == RESULTS_DIR for p in parsed)


def test_inference_perf_reads_the_generated_config(tmp_path: Path) -> None:
    """inference-perf 0.6.1's own config loader accepts each generated config."""
    tools = venv("inference-perf")
    if tools is None:
        pytest.skip("inference-perf not installed: `make inference-perf` (Python >= 3.12; "
                    "not part of `make test`)")
    for index, profile in enumerate((RATE, STREAMS, SWEEP)):
        (tmp_path / f"{index}.yaml").write_text(json.dumps(ip_config(profile, TARGET)))
    check = """
import sys
from inference_perf.config import read_config
for path in sys.argv[1:]:
    c = read_config(path)
    print(c.load.type.value, len(c.load.stages), c.data.type.value,
          c.data.input_distribution.mean, c.api.type.value)
"""
    done = subprocess.run([str(tools / "bin" / "python"), "-c", check,
                           *sorted(str(p) for p in tmp_path.glob("*.yaml"))],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split("\n")[:3] == ["constant 2 synthetic 512.0 completion",
                                           "concurrent 2 synthetic 512.0 completion",
                                           "constant 0 synthetic 64.0 completion"]


def test_files_encoder_round_trips_the_native_files(tmp_path: Path) -> None:
    source = fixture("inference-perf")
    results = tmp_path / "results"
    results.mkdir()
    for path in source.iterdir():
        if path.name != "mst-harness.json":
            (results / path.name).write_text(path.read_text())
    script = files_encoder("pytest").replace(RESULTS_DIR, str(results))
    logs = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True).stdout
    doc = extract_from_logs("inference-perf output\n" + logs)
    assert sorted(doc["files"]) == sorted(p.name for p in results.iterdir())
    assert doc["files"]["config.yaml"] == (results / "config.yaml").read_text()
    assert doc["version"]  # pytest's own version, read as the Job reads the harness's


# --- options a harness cannot honour --------------------------------------------------------


@pytest.mark.parametrize(("args", "message"), [
    (("--harness", "locust"), "unknown harness 'locust'; choose one of guidellm, "
                              "vllm-benchmark, inference-perf"),
    (("--harness", "vllm-benchmark"), "vllm bench serve has no rate sweep: give --rate"),
    (("--harness", "vllm-benchmark", "--rate", "1", "--sweep-points", "3"),
     "--sweep-points does not apply"),
    (("--harness", "vllm-benchmark", "--concurrency", "4", "--duration", "60"),
     "--duration does not apply: a concurrency point runs --max-requests requests"),
    (("--harness", "inference-perf", "--rate", "2", "--max-requests", "100"),
     "--max-requests does not apply: inference-perf's rate stages run for --duration"),
    (("--harness", "inference-perf", "--concurrency", "2", "--duration", "9"),
     "--duration does not apply"),
])
def test_options_a_harness_cannot_honour_are_one_clear_error(args: tuple[str, ...],
                                                             message: str) -> None:
    code, stdout, stderr = bench("qwen-sim", *SIM, "--dry-run", *args)
    assert code == 2 and stdout == ""
    assert stderr.startswith("mst: error: ") and message in stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1


def test_built_in_profile_settings_do_not_count_as_given() -> None:
    """smoke's own max_requests is not an option the user gave: inference-perf runs it."""
    code, stdout, stderr = bench("qwen-sim", *SIM, "--dry-run", "--harness", "inference-perf",
                                 "--profile", "smoke")
    assert code == 0, stderr
    assert yaml.safe_load(stdout)["metadata"]["annotations"]["mst.llm-d.ai/harness"] == (
        "inference-perf")


@pytest.mark.parametrize("harness", OTHERS)
def test_dry_run_prints_the_harness_job(harness: str) -> None:
    code, stdout, stderr = bench("qwen-sim", *SIM, "-n", "ns", "--dry-run", "--harness",
                                 harness, "--concurrency", "1,4", "--image", "example/x:1")
    assert code == 0, stderr
    job = yaml.safe_load(stdout)
    assert container(job)["image"] == "example/x:1"
    assert container(job)["name"] == harness
    assert "Job valid for Kubernetes" in stderr


def test_get_harness_rejects_unknown_names() -> None:
    with pytest.raises(UserError, match="unknown harness"):
        get_harness("guide-llm")


# --- llm-d benchmark reports from real native output ----------------------------------------


@pytest.mark.parametrize("harness", OTHERS)
def test_reports_from_real_native_output_validate_upstream(harness: str,
                                                           tmp_path: Path) -> None:
    package = pytest.importorskip("llmd_benchmark_report")
    code, stdout, stderr = bench("gpt-oss", *PD, "--harness", harness, "--from-json",
                                 str(fixture(harness)), "-o", str(tmp_path))
    assert code == 0, stderr
    spec = get_harness(harness)
    native = spec.result_files(sorted(p.name for p in fixture(harness).iterdir()))
    assert len(native) == 2
    stack = json.loads(json.dumps(stack_components(rendered(*PD, release="gpt-oss",
                                                                 namespace="default"))))
    for index, name in enumerate(native):
        assert (tmp_path / name).is_file()
        report = package.import_benchmark_report(
            str(tmp_path / f"benchmark_report_v0.2,_{name}.yaml")).dump()
        assert report["scenario"]["stack"] == stack
        load = report["scenario"]["load"]["standardized"]
        assert (load["tool"], load["tool_version"]) == (harness, spec.version)
        assert load["stage"] == index and load["concurrency"] == [1, 4][index]
        assert load["input_seq_len"]["value"] == PROFILE.prompt_tokens
        assert load["output_seq_len"]["value"] == PROFILE.output_tokens
        aggregate = report["results"]["request_performance"]["aggregate"]
        assert aggregate["requests"]["total"] == 20 and aggregate["requests"]["failures"] == 0
        assert aggregate["latency"]["time_to_first_token"]["p50"] > 0
        assert report["run"]["description"] == f"mst bench gpt-oss --harness {harness}"
    assert "| concurrent@1 |" in stdout and "| concurrent@4 |" in stdout
    assert (tmp_path / "summary.md").is_file() and (tmp_path / "throughput.png").is_file()


@pytest.mark.parametrize("harness", OTHERS)
def test_sweep_scores_each_variant_from_its_harness_reports(harness: str,
                                                            tmp_path: Path) -> None:
    """`mst sweep --harness NAME`: what a variant's bench Job printed (real native output of
    the harness) lands in the variant's own folder with llm-d reports carrying the variant's
    stack, and the sweep scores the variant from those reports."""
    package = pytest.importorskip("llmd_benchmark_report")
    from modelservice_tool.bench.output import read_native
    from modelservice_tool.sweep.cluster import ClusterEvaluator
    from modelservice_tool.sweep.objective import Objective
    from modelservice_tool.sweep.results import ResultsFile
    from modelservice_tool.sweep.search import SweepConfig, run_sweep
    from modelservice_tool.sweep.space import SearchSpace
    from modelservice_tool.sweep.variants import Planner

    base = Release(Inputs(("pd-a100",), (EXAMPLES / "gpt-oss-120b-pd.yaml",), ()), "gpt-oss",
                   "default", chart_dir())
    lines: list[str] = []
    evaluator = ClusterEvaluator(base, LoadSettings(PROFILE, harness=get_harness(harness)),
                                 tmp_path, lines.append, llmd_experiment="mst-sweep-test")
    _, doc = read_native(fixture(harness))
    space = SearchSpace.parse(["prefill.replicas=2,3"])
    config = SweepConfig(space, Objective.parse("max:output_tps_per_gpu", ()))
    records = run_sweep(config, Planner(base), lambda rendered: evaluator.record(
        rendered, doc, target="http://gateway", model="openai/gpt-oss-120b"),
        ResultsFile(tmp_path / "results.jsonl"))
    assert [r["status"] for r in records] == ["ok", "ok"], records
    eids = set()
    for record, replicas in zip(records, (2, 3), strict=True):
        folder = tmp_path / record["variant_id"]
        assert record["result_file"] == str(folder)
        assert record["tool"] == f"{harness} {get_harness(harness).version}"
        assert len(record["load_points"]) == 2 and record["objective"]["value"] > 0
        reports = sorted(folder.glob("benchmark_report_v0.2,_*.yaml"))
        assert len(reports) == 2
        for path in reports:
            report = package.import_benchmark_report(str(path)).dump()
            prefill = next(c for c in report["scenario"]["stack"]
                           if c["standardized"].get("role") == "prefill")
            assert prefill["standardized"]["replicas"] == replicas
            assert report["scenario"]["load"]["standardized"]["tool"] == harness
            eids.add(report["run"]["eid"])
    assert len(eids) == 1  # one experiment over the sweep
    assert any(f"{harness} files and llm-d benchmark reports in" in line for line in lines)


def test_sweep_refuses_a_harness_option_it_cannot_honour_and_reports_off() -> None:
    sweep = ["sweep", "--release", "qwen-sim", *SIM, "-P", "decode.replicas=1,2"]
    for args, message in (
            (("--harness", "vllm-benchmark"), "vllm bench serve has no rate sweep: give --rate"),
            (("--harness", "inference-perf", "--concurrency", "2", "--no-llmd-reports"),
             "--harness inference-perf: mst reads its results through the llm-d benchmark "
             "reports it writes: drop --no-llmd-reports"),
            (("--harness", "vllm-benchmark", "--concurrency", "2", "--plan-only",
              "--write-experiment", "experiment.yaml"),
             "--write-experiment writes guidellm workload treatments; it has no mapping for "
             "--harness vllm-benchmark")):
        result = CliRunner().invoke(main, [*sweep, *args])
        assert result.exit_code == 2, result.output
        assert message in result.output and "Traceback" not in result.output


def test_vllm_report_describes_the_random_dataset(tmp_path: Path) -> None:
    package = pytest.importorskip("llmd_benchmark_report")
    code, _, stderr = bench("gpt-oss", "--harness", "vllm-benchmark", "--from-json",
                            str(fixture("vllm-benchmark") / "point-0.json"), "-o", str(tmp_path))
    assert code == 0, stderr
    report = package.import_benchmark_report(
        str(tmp_path / "benchmark_report_v0.2,_point-0.json.yaml")).dump()
    load = report["scenario"]["load"]
    assert "stack" not in report["scenario"]
    assert load["standardized"]["source"] == "random"
    assert load["standardized"]["input_seq_len"] == {"distribution": "uniform", "value": 64,
                                                     "min": 36, "max": 92}
    assert load["native"]["args"]["random-range-ratio"] == "0.433"


def test_a_report_folder_names_its_harness(tmp_path: Path) -> None:
    """A folder `mst bench` wrote says which harness produced it: no --harness needed."""
    pytest.importorskip("llmd_benchmark_report")
    first = tmp_path / "first"
    assert bench("r", "--harness", "inference-perf", "--from-json",
                 str(fixture("inference-perf")), "-o", str(first))[0] == 0
    code, stdout, stderr = bench("r", "--from-json", str(first), "-o", str(tmp_path / "again"))
    assert code == 0, stderr
    assert "inference-perf 0.6.1" in stdout


def test_without_llmd_reports_only_the_native_files_are_written(tmp_path: Path) -> None:
    code, stdout, stderr = bench("r", "--harness", "vllm-benchmark", "--no-llmd-reports",
                                 "--from-json", str(fixture("vllm-benchmark")), "-o",
                                 str(tmp_path))
    assert code == 0, stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "mst-harness.json", "point-0.json", "point-1.json"]
    assert "read from the llm-d benchmark reports" in stdout


def test_a_broken_native_file_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "point-0.json").write_text("{not json")
    code, _, stderr = bench("r", "--harness", "vllm-benchmark", "--from-json", str(tmp_path),
                            "-o", str(tmp_path / "out"))
    assert code == 2 and "point-0.json: not a JSON result" in stderr
    assert "Traceback" not in stderr


# --- the real tools against guidellm's mock server ------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("harness", OTHERS)
def test_real_harness_against_the_mock_server(harness: str, tmp_path: Path) -> None:
    """The Job's own script runs the real tool against guidellm's mock server; mst turns
    what it prints into reports the upstream package validates."""
    package = pytest.importorskip("llmd_benchmark_report")
    guidellm, tools = guidellm_bin(), venv(harness)
    if guidellm is None or tools is None:
        reason = f"needs guidellm and the {harness} venv (tests/harness_mock.py)"
        if os.environ.get("CI") == "true" and harness == "vllm-benchmark":
            pytest.fail(f"{reason}; `make test` installs both")
        pytest.skip(reason)
    doc = run_harness(harness, guidellm, tools, tmp_path / "run")
    assert doc["version"] == get_harness(harness).version
    saved = tmp_path / "saved"
    saved.mkdir()
    for name, content in doc["files"].items():
        (saved / name).write_text(content if isinstance(content, str) else json.dumps(content))
    code, _, stderr = bench("gpt-oss", *PD, "--harness", harness, "--from-json", str(saved),
                            "-o", str(tmp_path / "report"))
    assert code == 0, stderr
    reports = sorted((tmp_path / "report").glob("benchmark_report_v0.2,_*.yaml"))
    assert len(reports) == 2
    for path in reports:
        report = package.import_benchmark_report(str(path)).dump()
        assert report["scenario"]["stack"]
        assert report["results"]["request_performance"]["aggregate"]["requests"]["total"] == 20


# --- a real API server --------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("harness", HARNESSES)
def test_api_server_creates_each_harness_job(harness: str, live_namespace: str) -> None:
    """The API server admits the Job as rendered (never waiting for its pod: no kubelet)."""
    from live import get_json, kubectl

    load = LoadSettings(STREAMS if harness != "guidellm" else RATE,
                        harness=get_harness(harness))
    job = plan_bench(rendered(*SIM), release="qwen-sim", namespace=live_namespace,
                     load=load).job
    kubectl("create", "-f", "-", stdin=json.dumps(job))
    try:
        created = get_json("-n", live_namespace, "job", job["metadata"]["name"])
        assert container(created)["command"] == container(job)["command"]
        assert container(created)["image"] == get_harness(harness).image
        assert created["spec"]["activeDeadlineSeconds"] == job["spec"]["activeDeadlineSeconds"]
    finally:
        kubectl("-n", live_namespace, "delete", "job", job["metadata"]["name"], "--wait=false",
                check=False)


