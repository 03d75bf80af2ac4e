"""The `mst` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import click

from . import __version__, presets
from .cli_common import Release, handle_errors, release_options
from .errors import UserError, ValidationFailed
from .layering import describe
from .manifests import load_manifests, object_id
from .sources import KeyPath

KUBERNETES_VERSIONS = ("1.33", "1.34", "1.35")


class LazyGroup(click.Group):
    """A group whose heavier commands (cluster, bench, sweep, import) are imported only when
    used, so `mst template` does not pay for pyhelm3, optuna or matplotlib at start-up."""

    lazy: ClassVar[dict[str, str]] = {
        "install": "cluster_cli:install",
        "upgrade": "cluster_cli:upgrade",
        "diff": "cluster_cli:diff",
        "status": "cluster_cli:status",
        "rollback": "cluster_cli:rollback",
        "uninstall": "cluster_cli:uninstall",
        "doctor": "cluster_cli:doctor_command",
        "kustomize-base": "kustomize_base:kustomize_base",
        "import": "import_cmd:import_group",
        "bench": "bench_cmd:bench_command",
        "sweep": "sweep_cmd:sweep_command",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            import importlib

            module, attribute = self.lazy[name].split(":")
            return getattr(importlib.import_module(f".{module}", __package__), attribute)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="mst")
def main() -> None:
    """ModelService: render, validate and deploy one LLM from a preset plus model values.

    Layers are applied like helm applies -f files: chart defaults, then each --preset, then
    each --values file, then --set. Exit codes: 0 ok, 1 checks failed, 2 bad input.

    \b
    Examples:
      mst presets list
      mst template --preset cpu-sim --values examples/qwen3-0.6b-cpu-sim.yaml
      mst validate --preset pd-a100 --values examples/gpt-oss-120b-pd.yaml
      mst explain --preset pd-a100 --values examples/gpt-oss-120b-pd.yaml decode.replicas
    """


@main.group("presets")
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


@main.command()
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
@release_options
@click.option("--kube-version", "kube_versions", multiple=True, default=KUBERNETES_VERSIONS,
              show_default=True, help="Kubernetes versions whose schemas the objects must pass.")
@click.option("--crds", type=click.Path(path_type=Path, file_okay=False, exists=True),
              envvar="MST_CRDS_DIR", metavar="DIR",
              help="Validate custom resources against the CRD files in DIR "
                   "(default: $MST_CRDS_DIR; without it they get only the cross-object checks).")
@click.option("--cluster", "use_cluster", is_flag=True,
              help="Also check against the live cluster: it must serve every kind the release "
                   "renders (API discovery), and no other release in the namespace may serve "
                   "the same model name.")
@click.option("--kubeconfig", type=click.Path(path_type=Path, dir_okay=False),
              help="kubeconfig for --cluster (default: $KUBECONFIG or ~/.kube/config).")
@click.option("--context", "kube_context", metavar="NAME", help="kubeconfig context.")
@handle_errors
def validate(release: Release, kube_versions: tuple[str, ...], crds: Path | None,
             use_cluster: bool, kubeconfig: Path | None, kube_context: str | None) -> None:
    """Check values (schema), render, then check every object and their consistency.

    Runs the schema check with file:line:col locations, the cross-object checks (GPUs vs
    parallelism, ports, selectors, P/D decider, LWS size, model path), and the Kubernetes
    schemas of each --kube-version when kubernetes-validate is installed.

    \b
    Examples:
      mst validate -p pd-a100 -f examples/gpt-oss-120b-pd.yaml
      mst validate -p pd-a100 -f model.yaml --crds ../shared/crds --cluster -n llm
    """
    from .checks import run_checks

    objects = load_manifests(release.render())
    problems = [str(finding) for finding in run_checks(objects)]
    problems += kubernetes_problems(objects, kube_versions, crds)
    if use_cluster:
        from .cluster_checks import check_cluster
        from .lifecycle import Target

        target = Target(release.name, release.namespace, kubeconfig, kube_context)
        problems += [str(finding) for finding in check_cluster(target, objects)]
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise ValidationFailed(f"{len(problems)} problem(s) in the rendered objects")
    kinds = ", ".join(sorted({obj["kind"] for obj in objects}))
    crd_note = f" and the CRDs in {crds}" if crds else ""
    click.echo(f"ok: {len(objects)} objects ({kinds}) pass the checks and the Kubernetes "
               f"{', '.join(kube_versions)} schemas{crd_note}")


def kubernetes_problems(objects: list[dict[str, Any]], versions: tuple[str, ...],
                        crd_dir: Path | None = None) -> list[str]:
    """Schema problems of core objects per Kubernetes version (needs kubernetes-validate),
    and of custom resources against the CRDs in `crd_dir` when given."""
    from .manifests import CrdSchemas, KubernetesSchemas, validate_manifests

    try:
        schemas = {version: KubernetesSchemas(version) for version in versions}
    except ValueError as error:
        raise UserError(str(error)) from None
    problems, custom = [], []
    for version, kubernetes in schemas.items():
        core = [obj for obj in objects if kubernetes.validator(obj["kind"], obj["apiVersion"])]
        custom = [obj for obj in objects if obj not in core]
        problems += [f"[k8s {version}] {p}" for p in validate_manifests(core, kubernetes)]
    if crd_dir is not None and custom:
        crds = CrdSchemas.from_dir(crd_dir)
        problems += [f"[crd] {p}" for p in validate_manifests(custom, kubernetes, crds)]
    return problems


@main.command()
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
    layered = release.layered()
    paths = sorted(layered.history, key=lambda p: [str(x) for x in p])
    if key is not None:
        wanted = parse_key(key)
        paths = [p for p in paths if p[: len(wanted)] == wanted]
        if not paths:
            raise UserError(f"no layer sets {key!r} (see `mst explain` for every key)")
    for path in paths:
        for line in describe(layered, path):
            click.echo(line)


def parse_key(key: str) -> KeyPath:
    """`decode.engine.args` -> ("decode", "engine", "args")."""
    return tuple(part for part in key.split(".") if part)

