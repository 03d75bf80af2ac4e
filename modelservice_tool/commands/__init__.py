"""The `mst` command line: one module per command group, each thin (parse options, call the
core in `modelservice_tool`, print). Commands are imported only when used, so
`mst template` does not pay for pyhelm3, optuna or matplotlib at start-up."""

from __future__ import annotations

from typing import Any, ClassVar

import click

from .. import __version__
from ..errors import UserError, error_line


class LazyGroup(click.Group):
    """A group whose commands are imported only when used."""

    lazy: ClassVar[dict[str, str]] = {
        "template": "offline:template",
        "validate": "offline:validate",
        "explain": "offline:explain",
        "presets": "offline:presets_group",
        "crds": "offline:crds_group",
        "install": "cluster:install",
        "upgrade": "cluster:upgrade",
        "diff": "cluster:diff",
        "status": "cluster:status",
        "rollback": "cluster:rollback",
        "uninstall": "cluster:uninstall",
        "doctor": "cluster:doctor_command",
        "kustomize-base": "kustomize:kustomize_base",
        "import": "imports:import_group",
        "bench": "bench:bench_command",
        "sweep": "sweep:sweep_command",
    }

    def invoke(self, ctx: click.Context) -> Any:
        """Every command's user errors end as one `mst: error:` line, never a traceback,
        including those raised while its options are turned into a release."""
        try:
            return super().invoke(ctx)
        except UserError as error:
            click.echo(error_line(error), err=True)
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
