"""The `mst` command line."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from . import __version__, presets
from .errors import UserError, ValidationFailed
from .manifests import load_manifests, object_id
from .render import Layers, render

KUBERNETES_VERSIONS = ("1.33", "1.34", "1.35")


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Print user errors as `mst: error: ...` and exit with their code, no traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UserError as error:
            click.echo(f"mst: error: {error}", err=True)
            sys.exit(error.exit_code)

    return wrapper


def layer_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options shared by every command that takes layered inputs."""
    options = [
        click.option("--preset", "-p", "presets_", multiple=True, metavar="NAME|FILE",
                     help="Preset name or file; repeat to layer several (first is lowest)."),
        click.option("--values", "-f", "values", multiple=True, metavar="FILE",
                     type=click.Path(path_type=Path),
                     help="Model values file; repeat to layer several (last wins)."),
        click.option("--set", "set_values", multiple=True, metavar="KEY=VALUE",
                     help="Override one value, as `helm --set` (applied last)."),
        click.option("--release", default="modelservice", show_default=True,
                     help="Release name."),
        click.option("--namespace", "-n", default="default", show_default=True,
                     help="Namespace of the release."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def make_layers(presets_: tuple[str, ...], values: tuple[Path, ...], set_values: tuple[str, ...],
                release: str, namespace: str) -> Layers:
    """Layers from the shared CLI options."""
    return Layers(presets=presets_, values=values, set_values=set_values,
                  release=release, namespace=namespace)


@click.group()
@click.version_option(__version__, prog_name="mst")
def main() -> None:
    """ModelService: render, validate and deploy one LLM from a preset plus model values.

    \b
    Examples:
      mst presets list
      mst template --preset cpu-sim --values examples/qwen3-0.6b-cpu-sim.yaml
      mst validate --preset pd-a100 --values examples/gpt-oss-120b-pd.yaml
    """


@main.group("presets")
def presets_group() -> None:
    """List and show platform presets (built-in and $MST_PRESET_PATH)."""


@presets_group.command("list")
@handle_errors
def presets_list() -> None:
    """List preset names with the first line of their header comment."""
    for name, path in presets.available().items():
        summary = next((line.lstrip("# ").strip() for line in path.read_text().splitlines()
                        if line.startswith("#") and line.strip("# ")), "")
        click.echo(f"{name:<16} {summary}")


@presets_group.command("show")
@click.argument("name")
@handle_errors
def presets_show(name: str) -> None:
    """Print a preset file."""
    path = presets.resolve(name)
    click.echo(f"# {path}")
    click.echo(path.read_text(), nl=False)


@main.command()
@layer_options
@click.option("--output-dir", "-o", type=click.Path(path_type=Path),
              help="Write one file per object into DIR instead of printing.")
@handle_errors
def template(presets_: tuple[str, ...], values: tuple[Path, ...], set_values: tuple[str, ...],
             release: str, namespace: str, output_dir: Path | None) -> None:
    """Render the manifests, exactly as `helm template -f PRESET... -f VALUES...` would.

    \b
    Example:
      mst template -p cpu-sim -f examples/qwen3-0.6b-cpu-sim.yaml --release qwen3-sim
    """
    manifests = render(make_layers(presets_, values, set_values, release, namespace))
    if output_dir is None:
        click.echo(manifests, nl=False)
        return
    write_objects(manifests, output_dir)
    click.echo(f"wrote {len(load_manifests(manifests))} objects to {output_dir}/", err=True)


def write_objects(manifests: str, output_dir: Path) -> None:
    """One `<kind>-<name>.yaml` file per rendered object."""
    import yaml

    output_dir.mkdir(parents=True, exist_ok=True)
    for obj in load_manifests(manifests):
        name = object_id(obj).replace("/", "-").lower()
        (output_dir / f"{name}.yaml").write_text(yaml.safe_dump(obj, sort_keys=False))


@main.command()
@layer_options
@click.option("--kube-version", "kube_versions", multiple=True, default=KUBERNETES_VERSIONS,
              show_default=True, help="Kubernetes versions whose schemas the objects must pass.")
@handle_errors
def validate(presets_: tuple[str, ...], values: tuple[Path, ...], set_values: tuple[str, ...],
             release: str, namespace: str, kube_versions: tuple[str, ...]) -> None:
    """Check values against the chart schema, render, and validate every object.

    Exit code 0 when everything passes, 1 when an object or value breaks a rule,
    2 for unusable input (missing file, unknown preset, helm missing).

    \b
    Example:
      mst validate -p pd-a100 -f examples/gpt-oss-120b-pd.yaml
    """
    from .manifests import KubernetesSchemas, validate_manifests

    layers = make_layers(presets_, values, set_values, release, namespace)
    objects = load_manifests(render(layers))
    problems = [
        f"[k8s {version}] {problem}"
        for version in kube_versions
        for problem in validate_manifests(objects, KubernetesSchemas(version))
    ]
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise ValidationFailed(f"{len(problems)} problem(s) in the rendered objects")
    kinds = ", ".join(sorted({obj["kind"] for obj in objects}))
    click.echo(f"ok: {len(objects)} objects ({kinds}) valid for Kubernetes "
               f"{', '.join(kube_versions)}")
