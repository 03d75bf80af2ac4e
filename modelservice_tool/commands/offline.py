"""The commands that need no cluster: template, validate, explain, presets, crds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .. import presets
from ..errors import UserError, ValidationFailed
from ..release import Release
from ..render import write_objects
from ..validation import KUBERNETES_VERSIONS
from .common import handle_errors, kubeconfig_option, release_options


@click.group("presets")
def presets_group() -> None:
    """List and show platform presets (built-in and $MST_PRESET_PATH)."""


@presets_group.command("list")
@handle_errors
def presets_list() -> None:
    """List preset names with the first line of their header comment.

    \b
    Example:
      MST_PRESET_PATH=./my-presets mst presets list
    """
    for name, path in presets.available().items():
        summary = next((line.lstrip("# ").strip() for line in path.read_text().splitlines()
                        if line.startswith("#") and line.strip("# ")), "")
        click.echo(f"{name:<16} {summary}")


@presets_group.command("show")
@click.argument("name")
@handle_errors
def presets_show(name: str) -> None:
    """Print a preset file.

    \b
    Example:
      mst presets show pd-h100
    """
    path = presets.resolve(name)
    click.echo(f"# {path}")
    click.echo(path.read_text(), nl=False)


@click.group("crds")
def crds_group() -> None:
    """The upstream CRDs that `mst validate` checks custom resources against."""


@crds_group.command("fetch")
@click.option("--base-url", default=None, metavar="URL",
              help="Where the upstream repositories' raw files are served "
                   "(default: raw.githubusercontent.com; $MST_CRDS_BASE_URL).")
@handle_errors
def crds_fetch(base_url: str | None) -> None:
    """Download the CRDs of the kinds the chart renders, at the release tags it targets,
    into the local cache (each file checked by sha256). `mst validate` then checks custom
    resources against them without --crds.

    \b
    Example:
      mst crds fetch && mst validate -p pd-a100 -f examples/gpt-oss-120b-pd.yaml
    """
    import os

    from .. import crd_cache

    base = base_url or os.environ.get("MST_CRDS_BASE_URL") or crd_cache.DEFAULT_BASE_URL
    folder, count = crd_cache.fetch(base)
    click.echo(f"{count} CRD file(s) downloaded; {len(crd_cache.PINNED)} in {folder}")


@crds_group.command("list")
@handle_errors
def crds_list() -> None:
    """The pinned CRD files (repository, tag, path) and whether each is cached."""
    from .. import crd_cache

    folder = crd_cache.cache_dir()
    for crd in crd_cache.PINNED:
        state = "cached" if (folder / crd.folder / crd.name).is_file() else "missing"
        click.echo(f"{state:<8} {crd.repo}@{crd.tag} {crd.path}")


@click.command()
@release_options
@click.option("--output-dir", "-o", type=click.Path(path_type=Path),
              help="Write one file per object into DIR instead of printing.")
@handle_errors
def template(release: Release, output_dir: Path | None) -> None:
    """Render the manifests, exactly as `helm template -f PRESET... -f VALUES...` would.

    Values are checked against the chart schema first; problems are reported with the
    file:line:col that set them.

    \b
    Example:
      mst template -p cpu-sim -f examples/qwen3-0.6b-cpu-sim.yaml --release qwen-sim
    """
    manifests = release.render()
    if output_dir is None:
        click.echo(manifests, nl=False)
        return
    written, hooks = write_objects(manifests, output_dir)
    skipped = f" (left out {hooks} `helm test` hook(s): run them with `helm test`)" if hooks else ""
    click.echo(f"wrote {written} objects to {output_dir}/{skipped}", err=True)


@click.command()
@release_options
@click.option("--kube-version", "kube_versions", multiple=True, default=KUBERNETES_VERSIONS,
              show_default=True, help="Kubernetes versions whose schemas the objects must pass.")
@click.option("--crds", type=click.Path(path_type=Path, file_okay=False, exists=True),
              envvar="MST_CRDS_DIR", metavar="DIR",
              help="Validate custom resources against the CRD files in DIR (default: "
                   "$MST_CRDS_DIR, else the cache `mst crds fetch` fills; without CRDs they "
                   "get only the cross-object checks).")
@click.option("--cluster", "use_cluster", is_flag=True,
              help="Also check against the live cluster: it must serve every kind the release "
                   "renders (API discovery), and no other release in the namespace may serve "
                   "the same model name.")
@kubeconfig_option
@click.option("--context", "kube_context", metavar="NAME", help="kubeconfig context.")
@handle_errors
def validate(release: Release, kube_versions: tuple[str, ...], crds: Path | None,
             use_cluster: bool, kubeconfig: Path | None, kube_context: str | None) -> None:
    """Check values (schema), render, then check every object and their consistency.

    Runs the schema check with file:line:col locations, the cross-object checks (GPUs vs
    parallelism, ports, selectors, P/D decider, LWS size, model path, and the upstream
    contracts: EPP plugin types and parameters, EPP and sidecar flags and connector values,
    LWS variables of the pinned versions), and the Kubernetes
    schemas of each --kube-version when kubernetes-validate is installed.

    \b
    Examples:
      mst validate -p pd-a100 -f examples/gpt-oss-120b-pd.yaml
      mst validate -p pd-a100 -f model.yaml --crds ../shared/crds --cluster -n llm
    """
    from ..checks import run_checks
    from ..crd_cache import cached
    from ..manifests import load_manifests
    from ..validation import kubernetes_problems, validate_summary

    crds = crds or cached()
    objects = load_manifests(release.render())
    problems = [str(finding) for finding in run_checks(objects)]
    kube_problems, custom = kubernetes_problems(objects, kube_versions, crds)
    problems += kube_problems
    if use_cluster:
        from ..cluster_checks import check_cluster
        from ..lifecycle import Target

        target = Target(release.name, release.namespace, kubeconfig, kube_context)
        problems += [str(finding) for finding in check_cluster(target, objects)]
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise ValidationFailed(f"{len(problems)} problem(s) in the rendered objects")
    click.echo(validate_summary(objects, custom, kube_versions, crds))


@click.command()
@release_options
@click.argument("key", required=False)
@handle_errors
def explain(release: Release, key: str | None) -> None:
    """Show the final value of KEY (or of every key) and the layer that set it.

    Each line names the file:line:col (or --set, or the chart default) that wrote the
    value, then the earlier layers it overrode, including writes a later null deleted.

    \b
    Examples:
      mst explain -p nvidia-h100 -f examples/qwen3-32b-tp2.yaml decode.replicas
      mst explain -p pd-a100 -f examples/gpt-oss-120b-pd.yaml engine.args
    """
    from ..layering import describe

    layered = release.layered()
    paths = sorted(layered.history, key=lambda p: [str(x) for x in p])
    if key is not None:
        wanted = parse_key(key)
        paths = [p for p in paths if p[: len(wanted)] == wanted]
        if not paths:
            raise UserError(f"no layer sets {key!r}{_closest_key(key, layered.history)} "
                            "(see `mst explain` for every key)")
    for path in paths:
        for line in describe(layered, path):
            click.echo(line)


def _closest_key(key: str, history: Any) -> str:
    """` (did you mean `decode.replicas`?)` among every key and parent key that was set."""
    import difflib

    known = {".".join(str(part) for part in path[:depth])
             for path in history for depth in range(1, len(path) + 1)}
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""


def parse_key(key: str) -> tuple[str, ...]:
    """`decode.engine.args` -> ("decode", "engine", "args")."""
    return tuple(part for part in key.split(".") if part)

