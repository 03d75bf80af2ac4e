"""`mst sweep --from-reports`: the sweep's analysis (objective, constraints, best variant,
Pareto front) from folders of llm-d benchmark reports v0.2, one per variant.

The round trip starts from the committed REAL guidellm 0.8.1 output
(tests/fixtures/bench/README.md). For variants to differ, two of three variants get a copy
whose throughput and latency statistics are multiplied by a factor (`scaled`): both paths,
guidellm records and llm-d reports, read that same document, so the comparison is exact.
The package's own example report stands for a report llm-d-benchmark wrote.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from modelservice_tool.bench.plan import LoadSettings
from modelservice_tool.bench.profiles import get_profile
from modelservice_tool.bench.results import parse_guidellm
from modelservice_tool.commands.sweep import sweep_command
from modelservice_tool.errors import UserError
from modelservice_tool.layers_io import Inputs
from modelservice_tool.paths import chart_dir
from modelservice_tool.release import Release
from modelservice_tool.sweep.llmd_reports import read_reports
from modelservice_tool.sweep.objective import POINT_METRICS, Objective
from modelservice_tool.sweep.pareto import best, cost_axis, pareto_front
from modelservice_tool.sweep.results import ResultsFile
from modelservice_tool.sweep.search import Evaluation, SweepConfig, run_sweep
from modelservice_tool.sweep.space import SearchSpace
from modelservice_tool.sweep.variants import Planner, RenderedVariant
from support import EXAMPLES, REPO

CONCURRENT = REPO / "tests" / "fixtures" / "bench" / "guidellm-0.8.1-mock-concurrent.json"
THROUGHPUT = ("requests_per_second", "output_tokens_per_second", "tokens_per_second",
              "prompt_tokens_per_second")
LATENCY = ("time_to_first_token_ms", "inter_token_latency_ms", "time_per_output_token_ms",
           "request_latency")
# prefill replicas -> (throughput factor, latency factor) applied to the real result
FACTORS = {1: (1.0, 1.0), 2: (1.6, 1.05), 4: (2.1, 1.1)}
OBJECTIVES = [("max:output_tps", ("ttft_p90_ms<=35",), None),
              ("max:output_tps_per_gpu", ("ttft_p90_ms<=35", "error_rate<=0.01"), 2.5),
              ("min:e2e_p90_ms", ("output_tps>=900",), None)]


def _scale(stats: Any, factor: float) -> Any:
    if isinstance(stats, dict):
        return {k: v if k == "count" else _scale(v, factor) for k, v in stats.items()}
    if isinstance(stats, float | int) and not isinstance(stats, bool):
        return stats * factor
    return stats


def scaled(doc: dict, throughput: float, latency: float) -> dict:
    """The guidellm document with throughput and latency statistics multiplied."""
    doc = copy.deepcopy(doc)
    for benchmark in doc["benchmarks"]:
        metrics = benchmark["metrics"]
        for name in THROUGHPUT:
            metrics[name] = _scale(metrics[name], throughput)
        for name in LATENCY:
            metrics[name] = _scale(metrics[name], latency)
        metrics["request_concurrency"] = _scale(metrics["request_concurrency"],
                                                throughput * latency)
    return doc


@functools.cache
def planner(price: float | None = 2.5) -> Planner:
    base = Release(Inputs(("pd-a100",), (EXAMPLES / "gpt-oss-120b-pd.yaml",), ()), "gpt-oss",
                   "default", chart_dir())
    return Planner(base, gpu_hour_cost=price)


def sweep_with_reports(planner: Planner, objective: Objective, out: Path) -> list[dict]:
    """What `mst sweep` does after each variant's bench Job: the guidellm result becomes the
    variant's record and its llm-d reports (`ClusterEvaluator._llmd_reports`), no cluster."""
    pytest.importorskip("llmd_benchmark_report")
    from modelservice_tool.sweep.cluster import ClusterEvaluator

    writer = ClusterEvaluator(planner.base, LoadSettings(get_profile("chat")), out,
                              lambda _: None, llmd_experiment="mst-sweep-roundtrip")
    real = json.loads(CONCURRENT.read_text())
    out.mkdir(parents=True, exist_ok=True)

    def evaluate(rendered: RenderedVariant) -> Evaluation:
        replicas = rendered.variant.overrides["prefill.replicas"]
        doc = scaled(real, *FACTORS[replicas])
        artifact = out / f"{rendered.variant.id}.json"
        artifact.write_text(json.dumps(doc))
        writer._llmd_reports(rendered, artifact, doc)
        return Evaluation(parse_guidellm(doc), str(artifact))

    config = SweepConfig(SearchSpace.parse(["prefill.replicas=1,2,4"]), objective)
    return run_sweep(config, planner, evaluate, ResultsFile(out / "results.jsonl"))


def ids(records: list[dict]) -> list[str]:
    return [record["variant_id"] for record in records]


@pytest.mark.parametrize("objective, constraints, price", OBJECTIVES,
                         ids=[o[0] for o in OBJECTIVES])
def test_reports_give_the_same_front_and_best_as_guidellm(
        tmp_path: Path, objective: str, constraints: tuple[str, ...],
        price: float | None) -> None:
    goal = Objective.parse(objective, constraints)
    direct = sweep_with_reports(planner(price), goal, tmp_path)
    from_reports, notes = read_reports(tmp_path, goal, price)
    assert notes == []
    assert ids(from_reports) == sorted(ids(direct))
    by_id = {record["variant_id"]: record for record in from_reports}
    for record in direct:
        other = by_id[record["variant_id"]]
        assert other["gpus"] == record["gpus"]  # scenario.stack counts what the plan counts
        assert other["cost_per_hour"] == record["cost_per_hour"]
        assert other["objective"] | {"value": None} == record["objective"] | {"value": None}
        assert other["objective"]["value"] == pytest.approx(record["objective"]["value"])
        assert len(other["load_points"]) == len(record["load_points"]) == 2
        for theirs, ours in zip(other["load_points"], record["load_points"], strict=True):
            assert {k: v for k, v in theirs.items() if k != "concurrency"} == pytest.approx(
                {k: v for k, v in ours.items() if k != "concurrency"})
            # Little's law from the report's rate and mean latency vs guidellm's measure
            assert theirs["concurrency"] == pytest.approx(ours["concurrency"], rel=0.05)
        assert other["tool"] == record["tool"] == "guidellm 0.8.1"
    maximize = goal.maximize
    cost = cost_axis(direct)
    assert cost == cost_axis(from_reports) == ("gpus" if price is None else "cost_per_hour")
    front = ids(pareto_front(direct, maximize=maximize, cost=cost))
    assert front == ids(pareto_front(from_reports, maximize=maximize, cost=cost))
    assert best(direct, maximize=maximize)["variant_id"] == \
        best(from_reports, maximize=maximize)["variant_id"]
    assert len(front) >= (1 if objective.startswith("min:") else 2)


def test_from_reports_cli_writes_the_report(tmp_path: Path) -> None:
    goal = Objective.parse("max:output_tps", ("ttft_p90_ms<=35",))
    direct = sweep_with_reports(planner(), goal, tmp_path / "bench")
    top = best(direct)
    result = CliRunner().invoke(sweep_command, [
        "--from-reports", str(tmp_path / "bench"), "--objective", "max:output_tps",
        "--constraint", "ttft_p90_ms<=35", "--gpu-hour-cost", "2.5", "-o",
        str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    summary = (tmp_path / "report" / "summary.md").read_text()
    assert result.stdout == summary
    assert f"(`{top['variant_id']}`): output_tps = {top['objective']['value']:.2f}" in summary
    assert "prefill 2x1 decode 1x4 (15.0)" in summary  # label from scenario.stack, $/h
    assert f"- source: llm-d benchmark reports in {tmp_path / 'bench'}/" in summary
    assert (tmp_path / "report" / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    assert not (tmp_path / "report" / "progress.png").exists()  # folders have no run order


def example_report() -> dict:
    package = pytest.importorskip("llmd_benchmark_report")
    return yaml.safe_load((resources.files(package) / "br_v0_2_example.yaml").read_text())


def write(folder: Path, report: dict, name: str = "stage_0.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"benchmark_report_v0.2,_{name}"
    path.write_text(yaml.safe_dump(report))
    return path


def test_the_packages_example_report_reads_as_a_third_party_variant(tmp_path: Path) -> None:
    report = example_report()
    write(tmp_path / "inference-perf-baseline-1762365642-abc123_1", report)
    bigger = copy.deepcopy(report)
    bigger["scenario"]["stack"][0]["standardized"]["replicas"] = 4
    write(tmp_path / "four-replicas", bigger)
    goal = Objective.parse("max:output_tps_per_gpu", ("ttft_p90_ms<=50",))
    records, _ = read_reports(tmp_path, goal, 3.0)
    first = next(r for r in records if r["variant_id"].startswith("inference-perf"))
    assert (first["gpus"], first["label"]) == (16, "decode 2x8")  # 8 accelerators x 2
    assert first["accelerators"] == {"NVIDIA-H100-80GB-HBM3": 16}
    assert first["cost_per_hour"] == 48.0
    aggregate = report["results"]["request_performance"]["aggregate"]
    point = first["metrics"]
    assert point["ttft_p90_ms"] == pytest.approx(
        aggregate["latency"]["time_to_first_token"]["p90"] * 1000)  # seconds in the report
    assert point["output_tps"] == aggregate["throughput"]["output_token_rate"]["mean"]
    assert point["error_rate"] == 0.0 and point["itl_p90_ms"] is None  # it has the mean only
    assert point["concurrency"] == pytest.approx(
        aggregate["throughput"]["request_rate"]["mean"]
        * aggregate["latency"]["request_latency"]["mean"])
    assert first["tool"] == "inference-perf 0.3.0"
    assert first["description"].startswith("Baseline latency test")
    assert ids(pareto_front(records)) == ["inference-perf-baseline-1762365642-abc123_1"]
    assert best(records)["variant_id"] == "inference-perf-baseline-1762365642-abc123_1"


def run_cli(root: Path, *args: str) -> Any:
    return CliRunner().invoke(sweep_command, ["--report-only", "--from-reports", str(root),
                                              "-o", str(root.parent / "out"), *args])


def test_missing_field_names_the_file_and_the_field(tmp_path: Path) -> None:
    path = write(tmp_path / "reports" / "a", example_report())
    result = run_cli(tmp_path / "reports", "--constraint", "itl_p90_ms<=40")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert str(path) in result.stderr
    assert "results.request_performance.aggregate.latency.inter_token_latency.p90 is " \
           "missing; --constraint itl_p90_ms<=40 needs it" in result.stderr
    assert not (tmp_path / "out").exists()  # nothing half-written
    price = run_cli(tmp_path / "reports", "--objective", "min:cost_per_mtok")
    assert price.exit_code == 2 and "--gpu-hour-cost" in price.stderr


@pytest.mark.parametrize("edit, message", [
    (lambda r: r["results"]["request_performance"]["aggregate"]["latency"][
        "time_to_first_token"].update(units="tokens/s"),
     "latency.time_to_first_token.units is 'tokens/s'; mst reads ms or s"),
    (lambda r: r["results"]["request_performance"]["aggregate"]["throughput"][
        "output_token_rate"].update(mean="fast"),
     "throughput.output_token_rate.mean is 'fast', not a number"),
    (lambda r: r.update(version="0.1"), "version '0.1' is not a v0.2.x llm-d benchmark report"),
    (lambda r: r["scenario"]["stack"][0]["standardized"]["accelerator"].pop("count"),
     "scenario.stack[0].standardized: an inference_engine needs replicas and "
     "accelerator.count"),
], ids=["units", "not-a-number", "version", "no-count"])
def test_bad_reports(tmp_path: Path, edit: Any, message: str) -> None:
    report = example_report()
    edit(report)
    path = write(tmp_path / "a", report)
    with pytest.raises(UserError, match="^" + re.escape(f"{path}: ")) as error:
        read_reports(tmp_path, Objective.parse("max:output_tps_per_gpu"))
    assert message in str(error.value)


def test_reports_without_a_stack_score_on_throughput_only(tmp_path: Path) -> None:
    report = example_report()
    del report["scenario"]["stack"]
    path = write(tmp_path / "reports" / "a", report)
    per_gpu = run_cli(tmp_path / "reports")
    assert per_gpu.exit_code == 2
    assert f"{path}: scenario.stack has no inference_engine component" in per_gpu.stderr
    assert "--objective max:output_tps" in per_gpu.stderr
    plain = run_cli(tmp_path / "reports", "--objective", "max:output_tps")
    assert plain.exit_code == 0, plain.output
    assert "| a | a | - | - | 2262.45 |" in plain.stdout
    assert "Pareto front (output_tps vs gpus): empty" in plain.stdout


def test_a_stack_without_accelerator_counts_has_no_per_gpu_metric(tmp_path: Path) -> None:
    """llm-d-benchmark's run-only mode writes one engine with accelerator.count 0
    (`_populate_minimal_stack` in the package's native_to_br0_2.py)."""
    report = example_report()
    report["scenario"]["stack"][0]["standardized"] |= {"replicas": 1}
    report["scenario"]["stack"][0]["standardized"]["accelerator"]["count"] = 0
    path = write(tmp_path / "reports" / "run-only", report)
    per_gpu = run_cli(tmp_path / "reports")
    assert per_gpu.exit_code == 2
    assert f"{path}: scenario.stack counts no accelerators" in per_gpu.stderr
    by_gpus = run_cli(tmp_path / "reports", "--objective", "max:output_tps")
    assert by_gpus.exit_code == 0, by_gpus.output
    assert "Pareto front (output_tps vs gpus): decode 1x0 (0)" in by_gpus.stdout


def test_folders_without_reports_are_reported(tmp_path: Path) -> None:
    report = example_report()
    write(tmp_path / "reports" / "a", report)
    (tmp_path / "reports" / "failed-run").mkdir()
    (tmp_path / "reports" / "failed-run" / "stdout.log").write_text("oom\n")
    session = {"version": "0.2", "run": {"uid": "x"},
               "results": {"session_performance": {"sessions": {"total": 3}}}}
    write(tmp_path / "reports" / "a", session, "stage_0_session_lifecycle_metrics.json.yaml")
    write(tmp_path / "reports" / "sessions-only", session)
    result = run_cli(tmp_path / "reports", "--objective", "max:output_tps")
    assert result.exit_code == 0, result.output
    assert "- failed-run/: no llm-d benchmark report (benchmark_report_v0.2,_*.yaml)" \
        in result.stdout
    assert "- a/: 1 report(s) without results.request_performance.aggregate (e.g. session " \
           "lifecycle reports) are not load points" in result.stdout
    assert "- sessions-only/: 1 report(s) without" in result.stdout
    assert "- variants: 1 (1 benchmarked" in result.stdout


def test_a_folder_is_one_stack(tmp_path: Path) -> None:
    report = example_report()
    write(tmp_path / "a", report, "stage_0.yaml")
    report["scenario"]["stack"][0]["standardized"]["replicas"] = 3
    other = write(tmp_path / "a", report, "stage_1.yaml")
    with pytest.raises(UserError, match="one folder is one variant") as error:
        read_reports(tmp_path, Objective.parse("max:output_tps"))
    assert str(error.value).startswith(f"{other}: scenario.stack has other accelerators")
    assert "(decode 3x8 vs decode 2x8)" in str(error.value)


def test_no_variant_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    empty = run_cli(tmp_path / "reports")
    assert empty.exit_code == 2 and "no subfolder with llm-d benchmark reports" in empty.stderr
    shutil.rmtree(tmp_path / "reports")
    write(tmp_path / "reports", example_report())
    flat = run_cli(tmp_path / "reports")
    assert flat.exit_code == 2 and "it holds reports itself: give the folder above it" \
        in flat.stderr
    both = CliRunner().invoke(sweep_command, ["--from-reports", str(tmp_path), "-P",
                                              "decode.replicas=1,2"])
    assert both.exit_code == 2 and "leave out --param" in both.stderr
    bad_yaml = tmp_path / "y" / "a"
    bad_yaml.mkdir(parents=True)
    (bad_yaml / "benchmark_report_v0.2,_x.yaml").write_text("results: [\n")
    broken = run_cli(tmp_path / "y")
    assert broken.exit_code == 2 and "cannot be read as YAML" in broken.stderr
    assert "Traceback" not in broken.output


def test_point_metrics_are_the_objective_metrics(tmp_path: Path) -> None:
    write(tmp_path / "a", example_report())
    records, _ = read_reports(tmp_path, Objective.parse("max:output_tps"))
    assert list(records[0]["load_points"][0])[:len(POINT_METRICS)] == list(POINT_METRICS)
