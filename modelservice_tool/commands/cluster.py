"""`mst` commands that talk to a cluster: install, upgrade, diff, status, rollback,
uninstall and doctor. Values always reach helm as ONE merged user document (see
LayeredValues.user), so they render exactly what `mst template` renders."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from .. import doctor, lifecycle
from ..release import Release
from ..upgrade import format_breaking, format_impact
from .common import export_kubeconfig, handle_errors, kubeconfig_option, release_options

DIFF_CHANGES, DIFF_BREAKING = 1, 3  # `mst diff --detailed-exitcode`


def cluster_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--kubeconfig / --context, shared by every command that talks to a cluster."""
    func = click.option("--context", "kube_context", metavar="NAME",
                        help="kubeconfig context (default: the current one).")(func)
    return kubeconfig_option(func)


def apply_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--dry-run / --wait / --timeout / --atomic of install and upgrade."""
    options = [
        click.option("--dry-run", is_flag=True, help="Simulate; print the manifests."),
        click.option("--wait", is_flag=True,
                     help="Follow pod readiness per role until every role is ready."),
        click.option("--timeout", default=600, show_default=True, metavar="SECONDS",
                     type=click.IntRange(1), help="Time limit for helm and for --wait."),
        click.option("--atomic", is_flag=True,
                     help="Roll back if the release does not become ready "
                          "(helm --atomic / --rollback-on-failure; waits inside helm)."),
        click.option("--create-namespace", is_flag=True,
                     help="Create the namespace if missing."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def target_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--release / --namespace / cluster options for commands without layered inputs."""

    @wraps(func)
    def wrapper(release_name: str, namespace: str, kubeconfig: Path | None,
                kube_context: str | None, **kwargs: Any) -> Any:
        target = lifecycle.Target(release_name, namespace, kubeconfig, kube_context)
        return func(target=target, **kwargs)

    wrapper = cluster_options(wrapper)
    wrapper = click.option("--namespace", "-n", default="default", show_default=True,
                           help="Namespace of the release.")(wrapper)
    return click.option("--release", "release_name", default="modelservice",
                        show_default=True, help="Release name.")(wrapper)


def release_target(release: Release, kubeconfig: Path | None,
                   kube_context: str | None) -> lifecycle.Target:
    """The cluster target of a layered release."""
    return lifecycle.Target(release.name, release.namespace, kubeconfig, kube_context)


def show_revision(revision: lifecycle.Revision, dry_run: bool) -> None:
    """One summary line; on --dry-run the manifests helm would apply."""
    if dry_run:
        import yaml

        click.echo(yaml.safe_dump_all(revision.objects, sort_keys=False), nl=False)
    click.echo(f"{revision.release}: revision {revision.revision} {revision.status} in "
               f"namespace {revision.namespace}" + (" (dry run)" if dry_run else ""), err=True)


def follow(target: lifecycle.Target, timeout: int) -> None:
    """Print per-role readiness every few seconds until all roles are ready."""
    last = ""
    for state in lifecycle.watch(target, timeout=timeout):
        if state.summary() != last:
            last = state.summary()
            click.echo(f"  {last}", err=True)
    click.echo("ready", err=True)


def deploy(action: Callable[..., lifecycle.Revision], release: Release,
           target: lifecycle.Target, *, dry_run: bool, wait: bool, timeout: int,
           atomic: bool, **extra: Any) -> None:
    """install/upgrade with the one merged user values dict, then optional live progress.
    The cross-object checks (and, on a real run, the served-name check against the cluster)
    run first: nothing is applied when one fails."""
    preflight(release, target, cluster=not dry_run)
    revision = action(target, release.layered().user, chart=release.chart, dry_run=dry_run,
                      wait=atomic, timeout=timeout, atomic=atomic, **extra)
    show_revision(revision, dry_run)
    if revision.impact and revision.impact.breaking:
        click.echo(f"applied with {len(revision.impact.breaking)} breaking change(s) accepted "
                   "(--accept-breaking):\n" + "\n".join(format_breaking(revision.impact.breaking)),
                   err=True)
    if wait and not dry_run:
        follow(target, timeout)


def preflight(release: Release, target: lifecycle.Target, *, cluster: bool) -> None:
    """Render once and refuse to deploy when a cross-object check fails."""
    from ..checks import run_checks
    from ..cluster_checks import check_cluster
    from ..errors import ValidationFailed
    from ..manifests import load_manifests

    objects = load_manifests(release.render())
    findings = run_checks(objects)
    if cluster:
        findings += check_cluster(target, objects)
    if findings:
        details = "\n".join(f"  {finding}" for finding in findings)
        raise ValidationFailed(f"not deployed: {len(findings)} problem(s)\n{details}")


@click.command()
@release_options
@cluster_options
@apply_options
@handle_errors
def install(release: Release, kubeconfig: Path | None, kube_context: str | None,
            dry_run: bool, wait: bool, timeout: int, atomic: bool,
            create_namespace: bool) -> None:
    """Install the release; fails if it exists (use `mst upgrade --install`).

    \b
    Example:
      mst install -p cpu-sim -f examples/qwen3-0.6b-cpu-sim.yaml --release qwen-sim --wait
    """
    deploy(lifecycle.install, release, release_target(release, kubeconfig, kube_context),
           dry_run=dry_run, wait=wait, timeout=timeout, atomic=atomic,
           create_namespace=create_namespace)


@click.command()
@release_options
@cluster_options
@apply_options
@click.option("--install", "-i", "install_", is_flag=True,
              help="Install the release if it does not exist yet.")
@click.option("--accept-breaking", is_flag=True,
              help="Apply the upgrade even when `mst diff` reports breaking changes "
                   "(immutable fields, traffic selectors, kind changes, removed workloads).")
@handle_errors
def upgrade(release: Release, kubeconfig: Path | None, kube_context: str | None,
            dry_run: bool, wait: bool, timeout: int, atomic: bool, create_namespace: bool,
            install_: bool, accept_breaking: bool) -> None:
    """Upgrade the release to the given layers (`mst diff` shows what would change).

    The upgrade is first compared with the release's current manifest, like `mst diff`. A
    breaking change (one helm cannot apply in place: the API server rejects it, or traffic
    or pods stop) is refused with the report and exit code 1, and nothing is applied,
    unless --accept-breaking is given.

    \b
    Example:
      mst upgrade -p cpu-sim -f examples/qwen3-0.6b-cpu-sim.yaml --release qwen-sim \\
        --set decode.replicas=3 --wait
    """
    deploy(lifecycle.upgrade, release, release_target(release, kubeconfig, kube_context),
           dry_run=dry_run, wait=wait, timeout=timeout, atomic=atomic,
           create_namespace=create_namespace, install=install_,
           accept_breaking=accept_breaking)


@click.command()
@release_options
@cluster_options
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 1 when something would change, 3 when a change is breaking, "
                   "0 when nothing would change.")
@handle_errors
def diff(release: Release, kubeconfig: Path | None, kube_context: str | None,
         detailed_exitcode: bool) -> None:
    """What an upgrade would do to the release: breaking changes first (why, and what to do
    instead), then the objects it adds (+), removes (-) and changes (~), then the workloads
    whose pods restart.

    \b
    Example:
      mst diff -p cpu-sim -f examples/qwen3-0.6b-cpu-sim.yaml --release qwen-sim \\
        --set engine.args.max-num-seqs=128
    """
    impact = lifecycle.diff(release_target(release, kubeconfig, kube_context),
                            release.layered().user, chart=release.chart)
    if not impact.installed:
        click.echo(f"release {release.name} is not installed: everything would be added",
                   err=True)
    click.echo(format_impact(impact))
    if detailed_exitcode and not impact.empty:
        sys.exit(DIFF_BREAKING if impact.breaking else DIFF_CHANGES)


@click.command()
@target_options
@click.option("--wait", is_flag=True,
              help="Follow readiness until every role is ready, naming why pods are pending.")
@click.option("--timeout", default=600, show_default=True, type=click.IntRange(1),
              metavar="SECONDS", help="Time limit for helm and for --wait.")
@handle_errors
def status(target: lifecycle.Target, wait: bool, timeout: int) -> None:
    """helm revision plus desired/ready/available replicas per role (decode, prefill, epp),
    and the role's pods: scheduled, ready, and pending with the scheduler's reason.

    \b
    Example:
      mst status --release qwen-sim -n llm
    """
    click.echo(lifecycle.format_status(lifecycle.status(target)))
    if wait:
        follow(target, timeout)


@click.command()
@target_options
@click.argument("revision", type=click.IntRange(1), required=False)
@click.option("--dry-run", is_flag=True, help="Simulate the rollback.")
@click.option("--wait", is_flag=True, help="Wait inside helm until resources are ready.")
@click.option("--timeout", default=600, show_default=True, type=click.IntRange(1),
              metavar="SECONDS", help="Time limit for helm and for --wait.")
@handle_errors
def rollback(target: lifecycle.Target, revision: int | None, dry_run: bool, wait: bool,
             timeout: int) -> None:
    """Roll back to REVISION (default: the previous one).

    \b
    Example:
      mst rollback --release qwen-sim 1
    """
    result = lifecycle.rollback(target, revision, dry_run=dry_run, wait=wait, timeout=timeout)
    click.echo(f"{result.release}: now revision {result.revision} {result.status}")


@click.command()
@target_options
@click.option("--dry-run", is_flag=True, help="Simulate the uninstall.")
@click.option("--wait", is_flag=True, help="Wait until the release's objects are deleted.")
@click.option("--timeout", default=600, show_default=True, type=click.IntRange(1),
              metavar="SECONDS", help="Time limit for helm and for --wait.")
@click.option("--ignore-not-found", is_flag=True, help="No error if the release is absent.")
@handle_errors
def uninstall(target: lifecycle.Target, dry_run: bool, wait: bool, timeout: int,
              ignore_not_found: bool) -> None:
    """Uninstall the release.

    \b
    Example:
      mst uninstall --release qwen-sim --wait
    """
    lifecycle.uninstall(target, dry_run=dry_run, wait=wait, timeout=timeout,
                        missing_ok=ignore_not_found)
    click.echo(f"uninstalled {target.release} from {target.namespace}"
               + (" (dry run)" if dry_run else ""))


@click.command("doctor")
@click.option("--generation", type=click.Choice(sorted(doctor.GENERATIONS)), default="v1",
              show_default=True,
              help="routing.generation whose custom resource kinds the cluster must serve "
                   "(v1alpha2: the legacy x-k8s.io InferencePool and InferenceModel).")
@kubeconfig_option
@release_options
@handle_errors
def doctor_command(generation: str, kubeconfig: Path | None, release: Release) -> None:
    """Check helm, kubectl, the cluster and the CRDs the chart's objects need.

    With a release's values (-p/-f/--set), also what its autoscaling needs: KEDA's
    ScaledObject for autoscaling.keda, the External metrics API and the WVA controller for
    autoscaling.wva.

    \b
    Examples:
      KUBECONFIG=~/.kube/kind mst doctor
      mst doctor --generation v1alpha2
      mst doctor -p cpu-sim -f examples/qwen3-0.6b-cpu-sim-keda.yaml
    """
    export_kubeconfig(kubeconfig)
    inputs = release.inputs
    used = (doctor.Autoscalers.of(release.layered().values)
            if inputs.presets or inputs.values or inputs.set_values else None)
    checks = doctor.run_checks(generation=generation, used=used)
    click.echo(doctor.format_report(checks))
    sys.exit(doctor.exit_code(checks))

