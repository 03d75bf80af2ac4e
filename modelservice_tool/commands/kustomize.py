"""`mst kustomize-base`: write a kustomize base that renders one release through helmCharts."""

from __future__ import annotations

from pathlib import Path

import click

from ..kustomize import write_base
from ..layers_io import Inputs
from ..paths import chart_dir
from .common import handle_errors


@click.command("kustomize-base")
@click.option("--preset", "-p", "presets_", multiple=True, metavar="NAME|FILE",
              help="Preset name or file; repeat to layer several (first is lowest).")
@click.option("--values", "-f", "values", multiple=True, metavar="FILE",
              type=click.Path(path_type=Path),
              help="Model values file; repeat to layer several (last wins).")
@click.option("--release", "release_name", default="modelservice", show_default=True,
              help="Release name.")
@click.option("--namespace", "-n", default="default", show_default=True,
              help="Namespace of the release (set on every object by the chart).")
@click.option("--force", is_flag=True, help="Overwrite an existing kustomization.yaml.")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def kustomize_base(presets_: tuple[str, ...], values: tuple[Path, ...], release_name: str,
                   namespace: str, force: bool, directory: Path) -> None:
    """Write a kustomize base in DIRECTORY that renders this release via helmCharts.

    The layers are validated and rendered once first. Overlays then patch the base's output
    (strategic merge or JSON patches, labels, ...) without forking the chart.

    \b
    Example:
      mst kustomize-base -p nvidia-l4 -f examples/llama-3.1-8b.yaml --release llama-8b \\
          -n llm deploy/base
      kubectl kustomize --enable-helm deploy/base
    """

    @handle_errors
    def run() -> None:
        written = write_base(Inputs(presets_, values), directory, release=release_name,
                             namespace=namespace, chart=chart_dir(), force=force)
        for path in written:
            click.echo(f"wrote {path}", err=True)

    run()
