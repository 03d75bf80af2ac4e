"""`mst sweep`: search spaces, variants rendered exactly like `mst template`, invalid and
over-budget variants skipped, objectives, resumable JSON-lines results, the Pareto front,
reports, `--plan-only`, and the grid/random/bayes strategies.

The search tests use `synthetic_evaluator`, a STAND-IN FOR A CLUSTER: it invents benchmark
numbers from a variant's overrides with a made-up formula. Nothing is deployed or measured.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelservice_tool.bench.kube import cluster_unreachable_reason
from modelservice_tool.bench.results import BenchResult, Latency, LoadPoint
from modelservice_tool.commands import main
from modelservice_tool.commands.sweep import sweep_command
from modelservice_tool.errors import UserError
from modelservice_tool.layers_io import Inputs
from modelservice_tool.paths import chart_dir
from modelservice_tool.release import Release
from modelservice_tool.sweep.objective import Constraint, Objective, derive
from modelservice_tool.sweep.pareto import best, pareto_front
from modelservice_tool.sweep.report import write_report
from modelservice_tool.sweep.results import SCHEMA, ResultsFile
from modelservice_tool.sweep.search import Evaluation, SweepConfig, run_sweep
from modelservice_tool.sweep.space import SearchSpace, parse_dimension
from modelservice_tool.sweep.variants import (
    Planner,
    RenderedVariant,
    Variant,
    accelerator_count,
    variant_of,
)
from support import EXAMPLES

QWEN = ("nvidia-h100", EXAMPLES / "qwen3-32b-tp2.yaml")  # 8 replicas x TP2 = 16 GPUs
QWEN_ARGS = ["-p", "nvidia-h100", "-f", str(EXAMPLES / "qwen3-32b-tp2.yaml"), "--release",
             "qwen-sweep", "-n", "ns"]
TENSOR, REPLICAS = "decode.parallelism.tensor", "decode.replicas"


def base_release(preset: str = QWEN[0], values: Path = QWEN[1], *sets: str) -> Release:
    return Release(Inputs((preset,), (values,), sets), "qwen-sweep", "ns", chart_dir())


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner(base_release(), gpu_hour_cost=2.5)


def point(rate: float, output_tps: float, ttft_p90: float) -> LoadPoint:
    return LoadPoint(label=f"constant@{rate}", strategy="constant", setpoint=rate,
                     request_rate=rate, concurrency=rate / 2, output_tps=output_tps,
                     total_tps=output_tps * 3, ttft_ms=Latency(ttft_p90 / 2, ttft_p90,
                                                               ttft_p90 * 1.5),
                     itl_ms=Latency(10, 15, 20), e2e_ms=Latency(800, 1200, 1500),
                     successful=100, errored=0, incomplete=0, duration_s=60)


def synthetic_evaluator(calls: list[RenderedVariant]):
    """STAND-IN FOR A CLUSTER (made-up numbers): per variant, three load points whose output
    throughput grows with replicas and tensor parallelism and whose p90 TTFT grows with load
    and shrinks with tensor parallelism."""

    def evaluate(rendered: RenderedVariant) -> Evaluation:
        calls.append(rendered)
        overrides = rendered.variant.overrides
        tensor = int(overrides.get(TENSOR, 2))
        replicas = int(overrides.get(REPLICAS, 8))
        points = tuple(point(rate * replicas, 400.0 * load * replicas * tensor ** 0.8,
                             150.0 * load * load / tensor)
                       for load, rate in ((1, 2.0), (2, 4.0), (3, 6.0)))
        return Evaluation(BenchResult("synthetic stand-in", "none", "m", points))

    return evaluate


def config(*params: str, **kwargs) -> SweepConfig:
    objective = kwargs.pop("objective", Objective.parse("max:output_tps_per_gpu",
                                                         ("ttft_p90_ms<=500",)))
    return SweepConfig(space=SearchSpace.parse(params), objective=objective, **kwargs)


# --- search space -----------------------------------------------------------------------------


def test_parse_dimensions() -> None:
    assert parse_dimension("decode.parallelism.tensor=1,2,4").values == ("1", "2", "4")
    assert parse_dimension("decode.replicas=2..8").values == tuple(str(v) for v in range(2, 9))
    assert parse_dimension("decode.replicas=2..8:3").values == ("2", "5", "8")
    assert parse_dimension("engine.args.max-num-seqs=128, 256").values == ("128", "256")
    assert parse_dimension("engine.args.kv-cache-dtype=auto,fp8").numeric is False
    space = SearchSpace.parse(["a.b=1,2,3", "c=x,y"])
    assert space.size == 6 and len(set(space.points())) == 6
    assert space.set_items(space.point(5)) == ("a.b=3", "c=y")
    assert space.overrides((0, 1)) == {"a.b": 1, "c": "y"}


@pytest.mark.parametrize("text, message", [
    ("decode.replicas", "expected KEY="), ("=1,2", "expected KEY="), ("a..b=1", "expected"),
    ("decode.replicas=8..2", "empty range"), ("decode.replicas=1,,2", "empty value"),
    ("decode.replicas=1,1", "listed twice"),
])
def test_bad_dimensions(text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse_dimension(text)
    with pytest.raises(UserError, match="given twice"):
        SearchSpace.parse(["a=1", "a=2"])


# --- variants -------------------------------------------------------------------------------


@pytest.mark.parametrize("sets", [(f"{TENSOR}=4", f"{REPLICAS}=2"),
                                  ("engine.args.max-num-seqs=256",)])
def test_variant_equals_mst_template(planner: Planner, sets: tuple[str, ...]) -> None:
    space = SearchSpace.parse([item.replace("=", "=", 1) for item in sets])
    rendered = planner.render(variant_of(space, (0,) * len(sets)))
    cli = CliRunner().invoke(main, ["template", *QWEN_ARGS,
                                    *[arg for item in sets for arg in ("--set", item)]])
    assert cli.exit_code == 0, cli.output
    assert rendered.valid and rendered.manifests == cli.stdout


def test_variants_add_their_sets_after_the_base_sets() -> None:
    base = base_release(*QWEN, f"{REPLICAS}=3")
    planner = Planner(base)
    assert planner.base_rendered.gpus == 6
    rendered = planner.render(Variant((f"{REPLICAS}=5",), {REPLICAS: 5}))
    assert rendered.gpus == 10


def test_invalid_variants_are_reported(planner: Planner) -> None:
    helm_error = planner.render(Variant(("decode.parallelism.data=6",
                                         "decode.parallelism.dataLocal=4"), {}))
    assert not helm_error.valid and "must be a multiple of dataLocal" in helm_error.problems[0]
    schema_error = planner.render(Variant(("decode.replica=2",), {}))
    assert not schema_error.valid and "did you mean `replicas`" in schema_error.problems[0]


def test_accelerator_counts(planner: Planner) -> None:
    assert planner.base_rendered.accelerators == {"nvidia.com/gpu": 16}
    assert planner.base_rendered.cost_per_hour == 40.0
    pd = Planner(base_release("pd-a100", EXAMPLES / "gpt-oss-120b-pd.yaml"))
    assert pd.base_rendered.gpus == 8  # decode 1 x TP4 + prefill 4 x 1
    lws = {"kind": "LeaderWorkerSet", "metadata": {"name": "x"}, "spec": {
        "replicas": 2, "leaderWorkerTemplate": {
            "size": 4,
            "leaderTemplate": pod_template(8),
            "workerTemplate": pod_template(8)}}}
    assert accelerator_count([lws]) == {"nvidia.com/gpu": 2 * 4 * 8}


def pod_template(gpus: int) -> dict:
    return {"metadata": {"labels": {"llm-d.ai/role": "decode"}},
            "spec": {"containers": [{"name": "vllm",
                                     "resources": {"limits": {"nvidia.com/gpu": gpus}}}]}}


# --- objective and Pareto front ----------------------------------------------------------------


def test_objective_picks_the_best_feasible_load_point() -> None:
    objective = Objective.parse("max:output_tps_per_gpu", ("ttft_p90_ms<=500",))
    points = [derive(point(r, tps, ttft).metrics(), 4, 10.0)
              for r, tps, ttft in ((1, 100, 100), (2, 300, 400), (3, 500, 900))]
    score = objective.score(points)
    assert score.feasible and score.value == 75.0 and score.point["ttft_p90_ms"] == 400
    assert points[1]["cost_per_mtok"] == pytest.approx(10.0 / (300 * 3600) * 1e6)
    strict = Objective.parse("output_tps", ("ttft_p90_ms<50",))
    missed = strict.score(points)
    assert not missed.feasible and missed.violation == pytest.approx(1.0)
    assert derive(points[0] | {}, 0, None)["output_tps_per_gpu"] is None
    assert Objective.parse("min:cost_per_mtok").maximize is False


@pytest.mark.parametrize("objective, constraints, message", [
    ("max:tokens", (), "unknown metric"), ("up:output_tps", (), "expected"),
    ("output_tps", ("ttft_p90_ms=5",), "expected METRIC<=NUMBER"),
    ("output_tps", ("ttft<=5",), "unknown metric"),
])
def test_bad_objectives(objective: str, constraints: tuple[str, ...], message: str) -> None:
    with pytest.raises(UserError, match=message):
        Objective.parse(objective, constraints)


def test_constraint_violation_is_relative() -> None:
    constraint = Constraint.parse("ttft_p90_ms <= 500")
    assert constraint.violation({"ttft_p90_ms": 400}) == 0
    assert constraint.violation({"ttft_p90_ms": 750}) == 0.5
    assert str(constraint) == "ttft_p90_ms<=500"


def record(variant_id: str, value: float | None, gpus: int, status: str = "ok") -> dict:
    return {"variant_id": variant_id, "label": variant_id, "status": status, "gpus": gpus,
            "objective": {"value": value, "feasible": value is not None}}


def test_pareto_front() -> None:
    records = [record("a", 10, 2), record("b", 15, 4), record("c", 12, 4), record("d", 15, 8),
               record("e", None, 1), record("f", 30, 16), record("g", 99, 1, "invalid")]
    assert [r["variant_id"] for r in pareto_front(records)] == ["a", "b", "f"]
    assert [r["variant_id"] for r in pareto_front(records, maximize=False)] == ["a"]
    assert best(records)["variant_id"] == "f"


# --- the search loop (synthetic stand-in evaluator) --------------------------------------------


def test_grid_sweep_skips_invalid_and_over_budget_and_resumes(planner: Planner,
                                                              tmp_path: Path) -> None:
    calls: list[RenderedVariant] = []
    results = ResultsFile(tmp_path / "results.jsonl")
    sweep = config(f"{TENSOR}=1,2,4", f"{REPLICAS}=2,6", "decode.parallelism.dataLocal=1,2",
                   gpu_budget=16)
    records = run_sweep(sweep, planner, synthetic_evaluator(calls), results)
    statuses = {r["label"]: r["status"] for r in records}
    assert len(records) == 12
    assert statuses["tensor=4 replicas=6 dataLocal=1"] == "over_budget"  # 24 GPUs
    assert statuses["tensor=1 replicas=2 dataLocal=2"] == "invalid"  # dataLocal > data
    assert all(c.valid and c.gpus <= 16 for c in calls)
    assert len(calls) == sum(s == "ok" for s in statuses.values()) == 5
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert len(lines) == 12 and all(json.loads(line)["schema"] == SCHEMA for line in lines)
    ok = next(r for r in records if r["status"] == "ok")
    assert ok["metrics"]["ttft_p90_ms"] <= 500 and ok["load_points"] and ok["gpus"] > 0
    assert ok["objective"]["value"] == ok["metrics"]["output_tps_per_gpu"]
    # a second run finds every variant in the file and evaluates nothing
    again = run_sweep(sweep, planner, synthetic_evaluator(calls), results)
    assert len(calls) == 5 and [r["variant_id"] for r in again] == [r["variant_id"]
                                                                    for r in records]


def test_failed_variants_are_recorded_and_retried_on_request(planner: Planner,
                                                             tmp_path: Path) -> None:
    def broken(rendered: RenderedVariant) -> Evaluation:
        raise UserError("helm upgrade failed: timed out waiting for the condition")

    results = ResultsFile(tmp_path / "r.jsonl")
    sweep = config(f"{REPLICAS}=1,2")
    records = run_sweep(sweep, planner, broken, results)
    assert [r["status"] for r in records] == ["failed", "failed"]
    assert "timed out" in records[0]["error"]
    calls: list[RenderedVariant] = []
    retry = SweepConfig(sweep.space, sweep.objective, retry_failed=True)
    assert [r["status"] for r in run_sweep(retry, planner, synthetic_evaluator(calls),
                                           results)] == ["ok", "ok"]
    assert len(calls) == 2


def test_results_of_another_base_are_refused(planner: Planner, tmp_path: Path) -> None:
    results = ResultsFile(tmp_path / "r.jsonl")
    run_sweep(config(f"{REPLICAS}=1"), planner, synthetic_evaluator([]), results)
    other = Planner(base_release(*QWEN, "engine.args.max-model-len=4096"))
    with pytest.raises(UserError, match="different base release"):
        run_sweep(config(f"{REPLICAS}=1"), other, synthetic_evaluator([]), results)
    (tmp_path / "bad.jsonl").write_text('{"schema": "x"}\n')
    with pytest.raises(UserError, match=r"bad\.jsonl:1: not a mst\.sweep\.result/v1 record"):
        ResultsFile(tmp_path / "bad.jsonl").load()


def test_random_sweep_is_seeded_and_bounded(planner: Planner, tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        calls: list[RenderedVariant] = []
        sweep = config(f"{TENSOR}=1,2,4", f"{REPLICAS}=1..4", strategy="random", trials=3,
                       seed=7)
        run_sweep(sweep, planner, synthetic_evaluator(calls), ResultsFile(tmp_path / name))
        runs.append([c.variant.id for c in calls])
    assert len(runs[0]) == 3 and runs[0] == runs[1]


def test_bayes_deploys_only_valid_variants_within_budget(planner: Planner,
                                                         tmp_path: Path) -> None:
    """Half the space is invalid (dataLocal 2 > data 1) and part is over budget: bayes may
    propose such points, but only valid, affordable ones are ever evaluated."""
    calls: list[RenderedVariant] = []
    sweep = config(f"{TENSOR}=1,2,4,8", f"{REPLICAS}=1..6", "decode.parallelism.dataLocal=1,2",
                   strategy="bayes", trials=8, seed=3, gpu_budget=16)
    records = run_sweep(sweep, planner, synthetic_evaluator(calls), ResultsFile(tmp_path / "b"))
    assert len(calls) == 8
    assert all(c.valid and c.gpus <= 16 for c in calls)
    assert len({c.variant.id for c in calls}) == 8  # no variant deployed twice
    assert all(r["status"] in ("ok", "invalid", "over_budget") for r in records)
    # the stand-in's optimum among feasible points beats the median of the feasible ones
    found = best(records)
    assert found is not None
    assert found["objective"]["value"] >= sorted(
        r["objective"]["value"] for r in records if r["objective"]["feasible"])[
        len([r for r in records if r["objective"]["feasible"]]) // 2]


# --- report, plan-only, CLI ----------------------------------------------------------------


def test_report_and_plots(planner: Planner, tmp_path: Path) -> None:
    results = ResultsFile(tmp_path / "r.jsonl")
    run_sweep(config(f"{TENSOR}=1,2,4", f"{REPLICAS}=2,4,8", gpu_budget=16), planner,
              synthetic_evaluator([]), results)
    summary = write_report(results.load(), tmp_path / "report")
    text = summary.read_text()
    assert "- best: **" in text and "Pareto front (output_tps_per_gpu vs cost_per_hour)" in text
    assert "over_budget" in text
    for name in ("pareto.png", "progress.png"):
        assert (tmp_path / "report" / name).read_bytes()[:4] == b"\x89PNG"
    cli = CliRunner().invoke(sweep_command, [*QWEN_ARGS, "--results", str(results.path),
                                             "--report-only", "-o", str(tmp_path / "again")])
    assert cli.exit_code == 0, cli.output
    assert cli.stdout == (tmp_path / "again" / "summary.md").read_text()


def test_plan_only(tmp_path: Path) -> None:
    result = CliRunner().invoke(sweep_command, [
        *QWEN_ARGS, "-P", f"{TENSOR}=1,4", "-P", f"{REPLICAS}=2,6", "-P",
        "decode.parallelism.dataLocal=1,3", "--gpu-budget", "16", "--gpu-hour-cost", "2.5",
        "--plan-only", "--results", str(tmp_path / "never.jsonl")])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "base qwen-sweep: 16 accelerators, 40.00/h" in out
    assert "search space: 3 parameter(s), 8 variant(s); strategy grid" in out
    assert "3 to deploy, 4 invalid, 1 over budget" in out
    assert "over the GPU budget" in out and "dataLocal (3) is larger than data (1)" in out
    assert "-  replicas: 8\n+  replicas: 2" in out
    assert "+        - --tensor-parallel-size=4" in out
    assert not (tmp_path / "never.jsonl").exists()


def test_plan_only_random_stops_after_trials() -> None:
    result = CliRunner().invoke(sweep_command, [
        *QWEN_ARGS, "-P", f"{REPLICAS}=1..20", "--strategy", "random", "--trials", "3",
        "--plan-only", "--no-diff"])
    assert result.exit_code == 0, result.output
    assert "3 to deploy, 0 invalid, 0 over budget" in result.stdout
    assert "\n# " not in result.stdout


def test_sweep_errors_are_clean(tmp_path: Path) -> None:
    runner = CliRunner()
    no_param = runner.invoke(sweep_command, [*QWEN_ARGS, "--plan-only"])
    assert no_param.exit_code == 2 and "--param" in no_param.stderr
    bad_base = runner.invoke(sweep_command, [*QWEN_ARGS, "--set", "decode.replica=1", "-P",
                                             f"{REPLICAS}=1", "--plan-only"])
    assert bad_base.exit_code == 2 and "base release is invalid" in bad_base.stderr
    assert "Traceback" not in bad_base.output
    if cluster_unreachable_reason() is not None:
        offline = runner.invoke(sweep_command, [*QWEN_ARGS, "-P", f"{REPLICAS}=1",
                                                "--results", str(tmp_path / "r.jsonl")])
        assert offline.exit_code == 2 and "--plan-only" in offline.stderr


@pytest.mark.e2e
def test_sweep_on_a_live_cluster(tmp_path: Path, running_pods: None,
                                 live_namespace: str) -> None:
    """Two CPU-simulator variants: install, bench (smoke profile), record, uninstall.
    Needs nodes that run pods (each variant must become ready and serve)."""
    result = CliRunner().invoke(sweep_command, [
        "-p", "cpu-sim", "-f", str(EXAMPLES / "qwen3-0.6b-cpu-sim.yaml"), "--release",
        "mst-sweep-e2e", "-n", live_namespace, "-P", f"{REPLICAS}=1,2", "--objective",
        "max:output_tps", "--profile", "smoke", "--results", str(tmp_path / "r.jsonl"), "-o",
        str(tmp_path)])
    assert result.exit_code == 0, result.output
    records = ResultsFile(tmp_path / "r.jsonl").load()
    assert [r["status"] for r in records] == ["ok", "ok"]


def test_leaderworkerset_sample_counts_every_pod_of_every_group() -> None:
    sample = EXAMPLES / "deepseek-v3-wide-ep.yaml"  # 2 pods x 8 H100 per LWS group
    if not sample.is_file():
        pytest.skip("no LeaderWorkerSet sample in examples/")
    assert Planner(base_release("nvidia-h100", sample)).base_rendered.gpus == 16
