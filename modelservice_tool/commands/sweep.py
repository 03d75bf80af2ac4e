"""`mst sweep`: search deployment parameters; every variant is validated before it deploys."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from ..bench.harnesses import DEFAULT as DEFAULT_HARNESS
from ..bench.kube import cluster_unreachable_reason
from ..bench.plan import LoadSettings
from ..errors import UserError, ValidationFailed
from ..release import Release
from ..schema_check import unknown_key
from ..sweep.experiment import TreatmentSpace, load_profile, read_experiment, write_experiment
from ..sweep.objective import Objective
from ..sweep.plan import format_plan, plan
from ..sweep.report import write_report
from ..sweep.results import ResultsFile
from ..sweep.search import SweepConfig, run_sweep
from ..sweep.space import SearchSpace
from ..sweep.strategies import STRATEGIES
from ..sweep.variants import Planner
from .bench import load_options
from .common import (
    export_kubeconfig,
    handle_errors,
    kubeconfig_option,
    release_options,
    stderr,
)


@click.command("sweep")
@release_options
@click.option("--param", "-P", "params", multiple=True, metavar="KEY=V1,V2|LOW..HIGH[:STEP]",
              help="A values key and the values to try; repeat for more keys.")
@click.option("--strategy", type=click.Choice(STRATEGIES), default="grid", show_default=True,
              help="grid: every point; random: seeded order; bayes: optuna TPE.")
@click.option("--trials", type=int, help="Variants to benchmark (default: all for grid/random).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of random/bayes.")
@click.option("--objective", default="max:output_tps_per_gpu", show_default=True,
              metavar="[max:|min:]METRIC", help="What to optimise (see docs/sweep-results.md).")
@click.option("--constraint", "constraints", multiple=True, metavar="METRIC<=X",
              help="Must hold at the load point that counts, e.g. ttft_p90_ms<=500.")
@click.option("--gpu-budget", type=int, help="Skip variants needing more accelerators.")
@click.option("--gpu-hour-cost", type=float, metavar="USD", help="Price of one accelerator-hour.")
@click.option("--results", "results_path", type=click.Path(path_type=Path),
              default=Path("sweep-results.jsonl"), show_default=True,
              help="JSON-lines results file; an existing one is resumed.")
@click.option("--output-dir", "-o", type=click.Path(path_type=Path), default=Path("sweep-report"),
              show_default=True, help="Report, plots and raw bench results.")
@click.option("--plan-only", is_flag=True, help="Show variants, accelerators, cost and diffs only.")
@click.option("--no-diff", is_flag=True, help="With --plan-only: leave out the manifest diffs.")
@click.option("--report-only", is_flag=True, help="Rebuild the report from --results.")
@click.option("--from-reports", type=click.Path(path_type=Path, exists=True, file_okay=False),
              metavar="DIR", help="Build the report from llm-d benchmark reports (v0.2) "
                                  "instead of --results: one subfolder of DIR per variant, as "
                                  "llm-d-benchmark and mst sweep write them (implies "
                                  "--report-only).")
@click.option("--retry-failed", is_flag=True, help="Run again variants that failed before.")
@click.option("--experiment", "experiment_file", type=click.Path(path_type=Path), metavar="FILE",
              help="llm-d-benchmark experiment file: its setup.treatments are the variants, "
                   "its treatments the load points (instead of --param).")
@click.option("--write-experiment", type=click.Path(path_type=Path), metavar="FILE",
              help="With --plan-only: write the deployable variants as an llm-d-benchmark "
                   "experiment file.")
@click.option("--llmd-reports/--no-llmd-reports", "llmd_reports", default=True,
              show_default=True, help="Also write llm-d benchmark reports (v0.2) per variant.")
@kubeconfig_option
@click.option("--context", metavar="NAME", help="kubeconfig context.")
@click.option("--ready-timeout", type=int, default=1800, show_default=True, metavar="SECONDS",
              help="How long a variant may take to become ready.")
@load_options
@handle_errors
def sweep_command(release: Release, params: tuple[str, ...], strategy: str, trials: int | None,
                  seed: int, objective: str, constraints: tuple[str, ...],
                  gpu_budget: int | None, gpu_hour_cost: float | None, results_path: Path,
                  output_dir: Path, plan_only: bool, no_diff: bool, report_only: bool,
                  from_reports: Path | None, retry_failed: bool, experiment_file: Path | None,
                  write_experiment: Path | None, llmd_reports: bool, kubeconfig: Path | None,
                  context: str | None, ready_timeout: int, load: LoadSettings) -> None:
    """Benchmark variants of a release and find the best one for an objective.

    Each variant is the base release (presets, values, --set) plus one value per --param,
    layered, schema-checked, rendered and cross-checked exactly like `mst template` /
    `mst validate`. Invalid and over-budget variants are reported and never deployed.
    With a cluster, each remaining variant is installed, benchmarked with the --harness
    load generator (guidellm by default; see `mst bench`), recorded in --results and
    uninstalled; a rerun resumes.
    --from-reports scores llm-d benchmark reports instead (llm-d-benchmark's or mst's).

    \b
    Examples:
      mst sweep -p nvidia-h100 -f examples/qwen3-32b-tp2.yaml --release qwen-sweep \\
        -P decode.parallelism.tensor=1,2,4 -P decode.replicas=2..8:2 --gpu-budget 16 --plan-only
      mst sweep -p nvidia-h100 -f examples/qwen3-32b-tp2.yaml --release qwen-sweep \\
        -P decode.parallelism.tensor=1,2,4 -P engine.args.max-num-seqs=128,256 \\
        --strategy bayes --trials 8 --constraint 'ttft_p90_ms<=500' --gpu-hour-cost 2.5
      mst sweep --from-reports sweep-report/bench --constraint 'ttft_p90_ms<=500'
    """
    export_kubeconfig(kubeconfig)
    if from_reports is not None:
        if params or experiment_file or plan_only:
            raise UserError("--from-reports builds a report from benchmark reports: leave out "
                            "--param, --experiment and --plan-only")
        report_from_llmd(from_reports, Objective.parse(objective, constraints), gpu_hour_cost,
                         output_dir)
        return
    results = ResultsFile(results_path)
    if report_only:
        records = results.load()
        if not records:
            raise UserError(f"no results in {results_path}")
        click.echo(write_report(records, output_dir).read_text(), nl=False)
        return
    if write_experiment and not plan_only:
        raise UserError("--write-experiment writes the variants of a plan: add --plan-only")
    if write_experiment and load.harness.name != DEFAULT_HARNESS:
        raise UserError(f"--write-experiment writes guidellm workload treatments; it has no "
                        f"mapping for --harness {load.harness.name}: leave out --harness")
    if experiment_file:
        if params:
            raise UserError("give --experiment or --param, not both")
        experiment = read_experiment(experiment_file)
        space: SearchSpace | TreatmentSpace = TreatmentSpace(experiment.setup)
        load = replace(load, profile=load_profile(load.profile, experiment.load))
    elif not params:
        raise UserError("give at least one --param KEY=VALUES to search over "
                        "(or --experiment FILE)")
    else:
        space = SearchSpace.parse(params)
        problems = [f"--param {d.key}: {problem}" for d in space.dimensions
                    if (problem := unknown_key(release.chart / "values.schema.json", d.key))]
        if problems:
            raise UserError("\n".join(problems))
    load.harness.check(load.profile, load.given)
    config = SweepConfig(space=space,
                         objective=Objective.parse(objective, constraints), strategy=strategy,
                         trials=trials, seed=seed, gpu_budget=gpu_budget,
                         retry_failed=retry_failed)
    planner = Planner(release, gpu_hour_cost)
    if plan_only:
        entries = plan(config, planner)
        for line in format_plan(entries, planner, config, diffs=not no_diff):
            click.echo(line)
        if write_experiment:
            deployable = [(f"mst-{e.rendered.variant.id}", e.rendered.variant.overrides)
                          for e in entries if e.status == "deploy"]
            write_experiment_file(write_experiment, release.name, deployable, load)
        if not any(entry.status == "deploy" for entry in entries):
            raise ValidationFailed("no variant of this plan can be deployed (see above)")
        return
    if llmd_reports:
        from ..bench.llmd_report import require

        require()
    from ..sweep.cluster import ClusterEvaluator

    experiment = f"mst-sweep-{release.name}-{results_path.stem}" if llmd_reports else None
    evaluator = ClusterEvaluator(release, load, output_dir / "bench", stderr, context,
                                 ready_timeout, llmd_experiment=experiment)
    reason = cluster_unreachable_reason(context)
    if reason:
        raise UserError(f"{reason}\n(use --plan-only to check the variants without a cluster)")
    evaluator.check_release_is_ours()  # before any variant: a clash is no variant's failure
    run_sweep(config, planner, evaluator, results, stderr)
    click.echo(write_report(results.load(), output_dir).read_text(), nl=False)
    click.echo(f"results in {results_path}, report in {output_dir}/", err=True)


def report_from_llmd(folder: Path, objective: Objective, gpu_hour_cost: float | None,
                     output_dir: Path) -> None:
    """Score every variant folder of llm-d benchmark reports and write the sweep report."""
    from ..sweep.llmd_reports import read_reports

    records, notes = read_reports(folder, objective, gpu_hour_cost)
    summary = write_report(records, output_dir, trace=False,
                           notes=(f"source: llm-d benchmark reports in {folder}/", *notes))
    click.echo(summary.read_text(), nl=False)


def write_experiment_file(path: Path, name: str, variants: list[tuple[str, dict]],
                          load: LoadSettings) -> None:
    """Write the plan's deployable variants as an llm-d-benchmark experiment file."""
    write_experiment(path, name, variants, load.profile)
    click.echo(f"wrote {path}: {len(variants)} setup treatment(s)", err=True)
