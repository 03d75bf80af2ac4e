"""`mst bench RELEASE`: load a release with a load generator (guidellm, vllm-benchmark,
inference-perf) in a Job and report the results."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from .. import helm, validation
from ..bench.harnesses import DEFAULT as DEFAULT_HARNESS
from ..bench.harnesses import HARNESSES, get_harness
from ..bench.job import DEFAULT_IMAGE, to_yaml
from ..bench.kube import Kubectl
from ..bench.output import from_saved, llmd_reports, report, report_native
from ..bench.plan import BenchPlan, LoadSettings, plan_bench, resolve
from ..bench.profiles import PROFILES, get_profile
from ..errors import UserError, ValidationFailed
from ..layers_io import Inputs
from ..manifests import Manifest, load_manifests
from ..paths import chart_dir
from ..release import Release
from .common import export_kubeconfig, handle_errors, kubeconfig_option, stderr


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
        click.option("--harness", "harness_name", default=DEFAULT_HARNESS, show_default=True,
                     metavar="NAME", help=f"Load generator: {', '.join(HARNESSES)}."),
    ]

    @wraps(func)
    def wrapper(profile_name: str, prompt_tokens: int | None, output_tokens: int | None,
                rates: tuple[float, ...], concurrency: tuple[int, ...], sweep_points: int | None,
                seconds: int | None, max_requests: int | None, image: str | None,
                tokenizer: str | None, harness_name: str, **kwargs: Any) -> Any:
        overrides = {"prompt_tokens": prompt_tokens, "output_tokens": output_tokens,
                     "rates": rates, "concurrency": concurrency, "sweep_points": sweep_points,
                     "seconds": seconds, "max_requests": max_requests}
        profile = get_profile(profile_name, **overrides)
        given = frozenset(key for key, value in overrides.items() if value not in (None, ()))
        return func(load=LoadSettings(profile, image, tokenizer, get_harness(harness_name),
                                      given), **kwargs)

    wrapper = handle_errors(wrapper)  # an unknown harness or a clashing profile option
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
                  target: str | None, model: str | None, dry_run: bool,
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
    harness = load.harness
    folder = output_dir or Path(f"bench-{release_name}-{time.strftime('%Y%m%d-%H%M%S')}")
    if llmd_reports_ and not dry_run:
        from ..bench.llmd_report import require

        require()
    release = Release(Inputs(presets_, values, set_values), release_name, namespace,
                      chart_dir())
    rendered = bool(presets_ or values or set_values)
    if from_json:
        llmd = llmd_reports(release_name, load_manifests(release.render()) if rendered
                            else None, stderr) if llmd_reports_ else None
        click.echo(from_saved(harness, from_json, folder, release_name, llmd), nl=False)
        click.echo(f"wrote {folder}/", err=True)
        return
    harness.check(load.profile, load.given)
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
                  progress=stderr, keep=keep_job)
    llmd = llmd_reports(release_name, objects, stderr, gateway_class(plan, context)) \
        if llmd_reports_ else None
    if harness.name == DEFAULT_HARNESS:
        summary = report(doc, folder, release_name, llmd=llmd)
    else:
        summary = report_native(harness, doc, folder, release_name, llmd=llmd,
                                target=plan.target, model=plan.model)
    click.echo(summary, nl=False)
    click.echo(f"wrote {folder}/", err=True)


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
