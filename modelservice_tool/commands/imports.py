"""`mst import`: bring values of other charts over to this one."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import ValidationFailed
from ..paths import chart_dir
from ..sources import display_path
from .common import handle_errors


@click.group("import")
def import_group() -> None:
    """Convert values files of other charts into this chart's values."""


@import_group.command("llm-d-modelservice")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the converted values to FILE instead of standard output.")
@click.option("--report", "report_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the report as JSON to FILE (for tools).")
@click.option("--strict", is_flag=True,
              help="Exit with code 1 when any input key needs attention.")
def import_llmd(file: Path, output: Path | None, report_file: Path | None, strict: bool) -> None:
    """Convert a values FILE of the llm-d modelservice chart (v0.2 to v0.4).

    Prints the converted values (or writes them to --output) and, on standard error, a
    report of every input key: mapped (and where to), defaulted (a new default applies),
    not needed (and why), or needing attention (and what to do). The values are complete on
    their own and pass this chart's schema; the report names the closest built-in preset.
    Exit codes: 0 converted, 1 with --strict when keys need attention, 2 bad input.

    \b
    Examples:
      mst import llm-d-modelservice ms-values.yaml -o model.yaml
      mst import llm-d-modelservice ms-values.yaml --report report.json --strict
      helm template my-model charts/modelservice -f model.yaml
    """

    @handle_errors
    def run() -> None:
        from ..importer import (
            Status,
            check_schema,
            convert_file,
            document,
            report_data,
            report_text,
            validation_problems,
        )

        chart = chart_dir()
        conversion = convert_file(file, chart)
        name = display_path(file)
        text = document(conversion, name)
        check_schema(text, chart)
        for problem in validation_problems(text, chart):
            conversion.report.unmapped(None, f"rejects the converted values: {problem}",
                                       "mst validate")
        if output is None:
            click.echo(text, nl=False)
        else:
            output.write_text(text)
        if report_file is not None:
            report_file.write_text(json.dumps(report_data(conversion, name), indent=2) + "\n")
        click.echo(report_text(conversion, name), err=True, nl=False)
        if output is not None:
            click.echo(f"wrote {output}", err=True)
        attention = conversion.report.of(Status.UNMAPPED)
        if strict and attention:
            raise ValidationFailed(f"{len(attention)} input key(s) need attention")

    run()
