"""The `mst` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import click

from . import __version__, presets
from .cli_common import Release, handle_errors, release_options
from .errors import UserError, ValidationFailed
from .layering import describe
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

    def invoke(self, ctx: click.Context) -> Any:
        """Every command's user errors end as one `mst: error:` line, never a traceback,
        including those raised while its options are turned into a release."""
        try:
            return super().invoke(ctx)
        except UserError as error:
            click.echo(f"mst: error: {error}", err=True)
            ctx.exit(error.exit_code)

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


@main.group("crds")
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

    from . import crd_cache

    base = base_url or os.environ.get("MST_CRDS_BASE_URL") or crd_cache.DEFAULT_BASE_URL
    folder, count = crd_cache.fetch(base)
    click.echo(f"{count} CRD file(s) downloaded; {len(crd_cache.PINNED)} in {folder}")


@crds_group.command("list")
@handle_errors
def crds_list() -> None:
    """The pinned CRD files (repository, tag, path) and whether each is cached."""
    from . import crd_cache

    folder = crd_cache.cache_dir()
    for crd in crd_cache.PINNED:
        state = "cached" if (folder / crd.folder / crd.name).is_file() else "missing"
        click.echo(f"{state:<8} {crd.repo}@{crd.tag} {crd.path}")


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
    written, hooks = write_objects(manifests, output_dir)
    skipped = f" (left out {hooks} `helm test` hook(s): run them with `helm test`)" if hooks else ""
    click.echo(f"wrote {written} objects to {output_dir}/{skipped}", err=True)


RECORD = ".mst-objects"


def write_objects(manifests: str, output_dir: Path) -> tuple[int, int]:
    """One `<kind>-<name>.yaml` file per rendered object, `helm test` hooks left out (an
    `kubectl apply -f DIR` would create them as ordinary pods). DIR holds exactly this
    render afterwards: files an earlier `mst template -o` wrote (listed in `.mst-objects`)
    are removed; a DIR with files mst did not write is refused before anything changes.
    Returns the numbers of objects written and hooks left out."""
    import yaml

    from .manifests import load_manifests, object_id

    objects = load_manifests(manifests)
    tests = [obj for obj in objects if _is_test_hook(obj)]
    files = {f"{object_id(obj).replace('/', '-').lower()}.yaml":
             yaml.safe_dump(obj, sort_keys=False) for obj in objects if obj not in tests}
    earlier = _earlier_render(output_dir)
    for name in earlier:
        (output_dir / name).unlink(missing_ok=True)
    output_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (output_dir / name).write_text(text)
    (output_dir / RECORD).write_text("".join(f"{name}\n" for name in sorted(files)))
    return len(files), len(tests)


def _earlier_render(output_dir: Path) -> list[str]:
    """Files a previous `mst template -o` wrote into DIR; UserError when DIR is not a
    directory or holds anything else."""
    if not output_dir.exists():
        return []
    if not output_dir.is_dir():
        raise UserError(f"--output-dir {output_dir} is a file, not a directory: "
                        "name a new or empty directory")
    record = output_dir / RECORD
    ours = set(record.read_text().split()) if record.is_file() else set()
    foreign = sorted(p.name for p in output_dir.iterdir() if p.name not in ours | {RECORD})
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise UserError(f"--output-dir {output_dir} holds files mst did not write ({shown}): "
                        "mst writes only into a new or empty directory, or one it wrote "
                        "before (whose old objects it replaces); name another directory")
    return sorted(ours)


def _is_test_hook(obj: dict[str, Any]) -> bool:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return "test" in str(annotations.get("helm.sh/hook", "")).split(",")


@main.command()
@release_options
@click.option("--kube-version", "kube_versions", multiple=True, default=KUBERNETES_VERSIONS,
              show_default=True, help="Kubernetes versions whose schemas the objects must pass.")
@click.option("--crds", type=click.Path(path_type=Path, file_okay=False, exists=True),
              envvar="MST_CRDS_DIR", metavar="DIR",
              help="Validate custom resources against the CRD files in DIR (default: "
                   "$MST_CRDS_DIR, else the cache `mst crds fetch` fills; without CRDs they "
                   "get only the cross-object checks).")
@click.option("--cluster", "use_cluster", is_flag=True,
              help="Also check against the live cluster: the served model name must not be "
                   "served by another release in the namespace.")
@click.option("--kubeconfig", type=click.Path(path_type=Path, dir_okay=False),
              help="kubeconfig for --cluster (default: $KUBECONFIG or ~/.kube/config).")
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
    from .checks import run_checks
    from .crd_cache import cached
    from .manifests import load_manifests

    crds = crds or cached()
    objects = load_manifests(release.render())
    problems = [str(finding) for finding in run_checks(objects)]
    kube_problems, custom = kubernetes_problems(objects, kube_versions, crds)
    problems += kube_problems
    if use_cluster:
        from .cluster_checks import check_served_names
        from .lifecycle import Target

        target = Target(release.name, release.namespace, kubeconfig, kube_context)
        problems += [str(finding) for finding in check_served_names(target, objects)]
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise ValidationFailed(f"{len(problems)} problem(s) in the rendered objects")
    click.echo(validate_summary(objects, custom, kube_versions, crds))


def validate_summary(objects: list[dict[str, Any]], custom: list[dict[str, Any]],
                     versions: tuple[str, ...], crds: Path | None) -> str:
    """What `mst validate` checked, and no more: custom resources are schema-checked only
    against CRD files."""
    def kinds(group: list[dict[str, Any]]) -> str:
        return ", ".join(sorted({obj["kind"] for obj in group}))

    core = [obj for obj in objects if obj not in custom]
    lines = [f"ok: {len(objects)} objects pass the cross-object checks",
             f"  {len(core)} core objects ({kinds(core)}) pass the Kubernetes "
             f"{', '.join(versions)} schemas"]
    if custom and crds:
        lines.append(f"  {len(custom)} custom resources ({kinds(custom)}) pass the CRDs in {crds}")
    elif custom:
        lines.append(f"  {len(custom)} custom resources ({kinds(custom)}) were not "
                     "schema-checked: run `mst crds fetch` once, or pass --crds DIR, to check "
                     "them against their CRDs")
    return "\n".join(lines)


def kubernetes_problems(objects: list[dict[str, Any]], versions: tuple[str, ...],
                        crd_dir: Path | None = None) -> tuple[list[str], list[dict[str, Any]]]:
    """Schema problems of core objects per Kubernetes version (needs kubernetes-validate),
    and of custom resources against the CRDs in `crd_dir` when given; also the custom
    resources (objects no Kubernetes schema knows)."""
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
    return problems, custom


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


def parse_key(key: str) -> KeyPath:
    """`decode.engine.args` -> ("decode", "engine", "args")."""
    return tuple(part for part in key.split(".") if part)

