"""`mst bench RELEASE`: load a release with guidellm in a Job and report the results."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import wraps
from pathlib import Path
from typing import Any

import click

from .. import helm, validation
from ..bench.harnesses import DEFAULT as DEFAULT_HARNESS
from ..bench.harnesses import HARNESSES, Harness, get_harness
from ..bench.job import DEFAULT_IMAGE, to_yaml
from ..bench.kube import Kubectl
from ..bench.plan import BenchPlan, LoadSettings, plan_bench, resolve
from ..bench.profiles import PROFILES, get_profile
from ..bench.report import markdown, write_report
from ..bench.results import load_result_file, parse_guidellm
from ..bench.stack import stack_components
from ..errors import UserError, ValidationFailed
from ..layers_io import Inputs
from ..manifests import Manifest, load_manifests
from ..paths import chart_dir
from ..release import Release
from .common import export_kubeconfig, handle_errors, kubeconfig_option

RESULT_FILE = "result.json"
# Which harness (and version) wrote the native files of a report folder.
HARNESS_FILE = "mst-harness.json"


def _numbers(kind: Callable[[str], Any]) -> Callable[..., tuple[Any, ...]]:
    def parse(_ctx: click.Context, _param: click.Parameter, value: str | None) -> tuple[Any, ...]:
        if not value:
            return ()
        try:
            return tuple(kind(item) for item in value.split(",") if item.strip())
        except ValueError:
            raise click.BadParameter(f"{value!r} is not a comma-separated list") from None
    return parse


def load_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Load profile options; passes `load: LoadSettings`."""
    options = [
        click.option("--profile", "profile_name", default="chat", show_default=True,
                     type=click.Choice(sorted(PROFILES)), help="Built-in load profile."),
        click.option("--prompt-tokens", type=int, help="Mean prompt tokens (synthetic)."),
        click.option("--output-tokens", type=int, help="Mean output tokens (synthetic)."),
        click.option("--rate", "rates", callback=_numbers(float), metavar="R1,R2,...",
                     help="Constant request rates (req/s) instead of a sweep."),
        click.option("--concurrency", callback=_numbers(int), metavar="C1,C2,...",
                     help="Concurrent streams instead of a sweep."),
        click.option("--sweep-points", type=int, help="Load points of a rate sweep."),
        click.option("--duration", "seconds", type=int, metavar="SECONDS",
                     help="Upper bound per load point."),
        click.option("--max-requests", type=int, help="Upper bound of requests per load point."),
        click.option("--image", metavar="IMAGE",
                     help="Image of the Job (pin a tag); default: the harness's pinned image "
                          f"({DEFAULT_IMAGE} for guidellm)."),
        click.option("--tokenizer", help="Tokenizer (HF id or path); default: the served model."),
    ]

    @wraps(func)
    def wrapper(profile_name: str, prompt_tokens: int | None, output_tokens: int | None,
                rates: tuple[float, ...], concurrency: tuple[int, ...], sweep_points: int | None,
                seconds: int | None, max_requests: int | None, image: str | None,
                tokenizer: str | None, **kwargs: Any) -> Any:
        overrides = {"prompt_tokens": prompt_tokens, "output_tokens": output_tokens,
                     "rates": rates, "concurrency": concurrency, "sweep_points": sweep_points,
                     "seconds": seconds, "max_requests": max_requests}
        profile = get_profile(profile_name, **overrides)
        given = frozenset(key for key, value in overrides.items() if value not in (None, ()))
        return func(load=LoadSettings(profile, image, tokenizer, given=given), **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


def kubernetes_problems(objects: list[Manifest]) -> list[str]:
    """Schema problems of the objects for each Kubernetes version `mst validate` checks."""
    from ..validation import KUBERNETES_VERSIONS
    from ..validation import kubernetes_problems as problems

    return problems(objects, KUBERNETES_VERSIONS)[0]


def release_objects(release: Release, context: str | None) -> list[Manifest]:
    """Rendered from the inputs when any are given, else the live release's manifest."""
    inputs = release.inputs
    if inputs.presets or inputs.values or inputs.set_values:
        return load_manifests(release.render())
    args = ["get", "manifest", release.name, "-n", release.namespace]
    return load_manifests(helm.run_helm([*args, *(["--kube-context", context] if context
                                                   else [])]))


def report(result_doc: dict[str, Any], output_dir: Path, title: str, *,
           llmd: LlmdReports | None = None) -> str:
    """Write the result, its report and (with `llmd`) the llm-d benchmark reports into
    `output_dir`; the summary markdown."""
    output_dir.mkdir(parents=True, exist_ok=True)
    result = parse_guidellm(result_doc)
    native = output_dir / RESULT_FILE
    native.write_text(json.dumps(result_doc) + "\n")
    files = write_report(result, output_dir, title)
    if llmd is not None:
        llmd.write(native, result_doc)
    return markdown(result, title, files.plots)


def report_native(harness: Harness, doc: dict[str, Any], output_dir: Path, title: str, *,
                  llmd: LlmdReports | None, target: str = "?", model: str = "?") -> str:
    """Write a harness's collected native files (`doc["files"]`) into `output_dir`, with
    the llm-d benchmark reports and, from them, the summary; the summary markdown."""
    output_dir.mkdir(parents=True, exist_ok=True)
    files, version = doc.get("files") or {}, str(doc.get("version") or harness.version)
    for name, content in files.items():
        path = output_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else json.dumps(content) + "\n")
    (output_dir / HARNESS_FILE).write_text(json.dumps({"harness": harness.name,
                                                       "version": version}) + "\n")
    if llmd is None:
        return (f"# Benchmark: {title}\n\n{harness.name} {version} results in "
                f"{output_dir}/; the summary is read from the llm-d benchmark reports "
                "(--llmd-reports).\n")
    from ..bench.llmd_points import bench_result

    reports = llmd.write_harness(harness, output_dir, files, version)
    result = bench_result(reports, tool=f"{harness.name} {version}", target=target,
                          model=model)
    files_written = write_report(result, output_dir, title)
    return markdown(result, title, files_written.plots)


def read_native(path: Path) -> tuple[str | None, dict[str, Any]]:
    """A saved run of a harness other than guidellm: a folder as `mst bench` writes it (or
    one result file); the harness it names (None if it does not) and its files."""
    paths = sorted(p for p in path.rglob("*") if p.suffix in (".json", ".yaml")) \
        if path.is_dir() else [path]
    root = path if path.is_dir() else path.parent
    files: dict[str, Any] = {}
    for item in paths:
        name = str(item.relative_to(root))
        if name.startswith(("benchmark_report", "summary.json")):
            continue
        text = item.read_text()
        files[name] = load_result_file(text) if item.suffix == ".json" else text
    saved = files.pop(HARNESS_FILE, None) or {}
    return saved.get("harness"), {"files": files, "version": saved.get("version", "")}


@dataclass(frozen=True)
class LlmdReports:
    """How `mst bench` describes its run in llm-d benchmark reports."""

    release: str
    stack: list[dict[str, Any]]
    experiment: str

    def write(self, native: Path, doc: dict[str, Any]) -> list[Path]:
        """One report per benchmark beside the native file; warnings go to stderr."""
        from ..bench import llmd_report

        run = llmd_report.RunInfo(self.experiment, f"mst bench {self.release}")
        paths, warnings = llmd_report.write_guidellm_reports(native, doc, stack=self.stack,
                                                             run=run)
        self._tell(warnings)
        return paths

    def write_harness(self, harness: Harness, folder: Path, files: dict[str, Any],
                      version: str) -> list[dict[str, Any]]:
        """One report per load point of a harness's native files in `folder`; the reports."""
        from ..bench import llmd_report

        run = llmd_report.RunInfo(self.experiment, f"mst bench {self.release} "
                                  f"--harness {harness.name}")
        reports, warnings = llmd_report.harness_reports(harness, folder, files, version,
                                                        stack=self.stack, run=run)
        names = harness.result_files(list(files))
        for name, report in zip(names, reports, strict=True):
            llmd_report.write_report(report, folder, Path(name).name)
        self._tell(warnings)
        return reports

    def _tell(self, warnings: list[str]) -> None:
        from ..bench import llmd_report

        for warning in warnings:
            click.echo(f"mst: {llmd_report.PACKAGE}: {warning}", err=True)
        if not self.stack:
            click.echo("mst: note: the llm-d benchmark reports have no scenario.stack: give "
                       "the release's inputs (-p/-f/--set) to describe it", err=True)


def llmd_reports(release: str, objects: list[Manifest] | None,
                 gateway_class: str = "") -> LlmdReports:
    """The llm-d report settings of a run (its stack from the release's objects)."""
    return LlmdReports(release, stack_components(objects or [], gateway_class),
                       f"mst-bench-{release}-{time.strftime('%Y%m%d-%H%M%S')}")


def gateway_class(plan: BenchPlan, context: str | None) -> str:
    """The live Gateway's class when the load goes through one ("" otherwise)."""
    if plan.endpoint.kind != "Gateway":
        return ""
    gateway = Kubectl(plan.endpoint.namespace, context).get(
        "gateways.gateway.networking.k8s.io", plan.endpoint.name) or {}
    return str(gateway.get("spec", {}).get("gatewayClassName", ""))


@click.command("bench")
@click.argument("release_name", metavar="RELEASE")
@click.option("--preset", "-p", "presets_", multiple=True, metavar="NAME|FILE",
              help="Render the release from these presets (as `mst template`).")
@click.option("--values", "-f", "values", multiple=True, type=click.Path(path_type=Path),
              metavar="FILE", help="Model values files of the release.")
@click.option("--set", "set_values", multiple=True, metavar="KEY=VALUE",
              help="Overrides of the release.")
@click.option("--namespace", "-n", default="default", show_default=True,
              help="Namespace of the release and of the bench Job.")
@load_options
@click.option("--harness", "harness_name", default=DEFAULT_HARNESS, show_default=True,
              metavar="NAME", help=f"Load generator: {', '.join(HARNESSES)}.")
@click.option("--target", metavar="URL", help="Load this base URL instead of discovering it.")
@click.option("--model", help="Served model name (default: the release's).")
@click.option("--dry-run", is_flag=True, help="Print and validate the Job; touch no cluster.")
@click.option("--from-json", type=click.Path(exists=True, path_type=Path),
              metavar="FILE|DIR", help="Report on a saved result instead of running: a "
              "guidellm JSON file, or a folder (or result file) of another harness.")
@click.option("--output-dir", "-o", type=click.Path(path_type=Path),
              help="Report folder (default: bench-RELEASE-TIMESTAMP).")
@kubeconfig_option
@click.option("--context", metavar="NAME", help="kubeconfig context.")
@click.option("--keep-job", is_flag=True, help="Keep the finished Job.")
@click.option("--llmd-reports/--no-llmd-reports", "llmd_reports_", default=True, show_default=True,
              help="Also write llm-d benchmark reports (v0.2), one per load point.")
@handle_errors
def bench_command(release_name: str, presets_: tuple[str, ...], values: tuple[Path, ...],
                  set_values: tuple[str, ...], namespace: str, load: LoadSettings,
                  harness_name: str, target: str | None, model: str | None, dry_run: bool,
                  from_json: Path | None, output_dir: Path | None, kubeconfig: Path | None,
                  context: str | None, keep_job: bool, llmd_reports_: bool) -> None:
    """Benchmark RELEASE with a load generator in a Kubernetes Job, then write a report.

    The load generator (--harness) is guidellm, vllm-benchmark (`vllm bench serve`) or
    inference-perf, each with a pinned image; the profile maps onto each (docs/bench.md).
    The load goes to the Gateway of the release's HTTPRoute when one is rendered, else
    to its decode Service. The report (summary.md, summary.json, latency.png,
    throughput.png and the harness's native files: result.json for guidellm) lands in
    --output-dir, with one llm-d benchmark report per load point
    (benchmark_report_v0.2,_<native file>[_<i>].yaml, scenario.stack describing the
    release; needs the llmd-benchmark-report package).

    \b
    Examples:
      mst bench qwen-sim -p cpu-sim -f examples/qwen3-0.6b-cpu-sim.yaml --dry-run
      mst bench qwen-sim --profile smoke
      mst bench qwen-sim --harness vllm-benchmark --concurrency 1,8 --max-requests 200
      mst bench qwen-sim --from-json result.json -o report/
    """
    export_kubeconfig(kubeconfig)
    harness = get_harness(harness_name)
    folder = output_dir or Path(f"bench-{release_name}-{time.strftime('%Y%m%d-%H%M%S')}")
    if llmd_reports_ and not dry_run:
        from ..bench.llmd_report import require

        require()
    release = Release(Inputs(presets_, values, set_values), release_name, namespace,
                      chart_dir())
    rendered = bool(presets_ or values or set_values)
    if from_json:
        llmd = llmd_reports(release_name, load_manifests(release.render()) if rendered
                            else None) if llmd_reports_ else None
        click.echo(from_saved(harness, from_json, folder, release_name, llmd), nl=False)
        click.echo(f"wrote {folder}/", err=True)
        return
    harness.check(load.profile, load.given)
    load = replace(load, harness=harness)
    if dry_run and not (rendered or (target and model)):
        raise UserError("--dry-run touches no cluster: give the release's inputs "
                        "(-p/-f/--set) or --target and --model")
    objects = release_objects(release, context) if (rendered or not target or not model) else []
    plan = plan_bench(objects, release=release_name, namespace=namespace, load=load,
                      target=target, model=model)
    if dry_run:
        dry_run_output(plan)
        return
    from ..bench.runner import run_job

    plan = resolve(plan, context)
    click.echo(f"benchmarking {plan.endpoint.describe()} at {plan.target} with "
               f"{harness.name} ({load.job_image}), profile {load.profile.name}", err=True)
    doc = run_job(Kubectl(namespace, context), plan.job, points=plan.points,
                  progress=lambda line: click.echo(line, err=True), keep=keep_job)
    llmd = llmd_reports(release_name, objects, gateway_class(plan, context)) \
        if llmd_reports_ else None
    if harness.name == DEFAULT_HARNESS:
        summary = report(doc, folder, release_name, llmd=llmd)
    else:
        summary = report_native(harness, doc, folder, release_name, llmd=llmd,
                                target=plan.target, model=plan.model)
    click.echo(summary, nl=False)
    click.echo(f"wrote {folder}/", err=True)


def from_saved(harness: Harness, path: Path, folder: Path, title: str,
               llmd: LlmdReports | None) -> str:
    """The report of a saved run (`--from-json`): guidellm's JSON file, or the native
    files of another harness (the harness a folder written by `mst bench` names wins)."""
    if harness.name == DEFAULT_HARNESS and path.is_file():
        return report(load_result_file(path.read_text()), folder, title, llmd=llmd)
    named, doc = read_native(path)
    if named is not None:
        harness = get_harness(named)
    if harness.name == DEFAULT_HARNESS:
        raise UserError(f"{path} is a folder: --from-json takes guidellm's JSON file, or give "
                        f"--harness for another harness's results")
    return report_native(harness, doc, folder, title, llmd=llmd)


def dry_run_output(plan: BenchPlan) -> None:
    """Print the Job, then validate it against the Kubernetes schemas."""
    click.echo(to_yaml(plan.job), nl=False)
    problems = kubernetes_problems([plan.job])
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise ValidationFailed(f"{len(problems)} problem(s) in the bench Job")
    where = plan.endpoint.describe()
    if not plan.endpoint.resolved:
        where += " (its address is read from the Gateway's status when the Job is created)"
    click.echo(f"# target {where}: {plan.target}, model {plan.model}; Job valid for Kubernetes "
               f"{', '.join(validation.KUBERNETES_VERSIONS)}", err=True)
