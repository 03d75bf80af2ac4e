"""Plumbing shared by every `mst` command: error handling and the layered-release options."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from pathlib import Path
from typing import Any

import click

from .advice import warnings
from .errors import UserError
from .helm import HelmFailed
from .layering import LayeredValues
from .layers_io import Inputs, SchemaViolation, load_layers, schema_problems
from .paths import chart_dir
from .render import start_render
from .sources import display_path


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


@dataclass
class Release:
    """What every layered command works on: inputs, release name, namespace, chart."""

    inputs: Inputs
    name: str
    namespace: str
    chart: Path

    _layered: LayeredValues | None = field(default=None, init=False, repr=False)

    def layered(self) -> LayeredValues:
        """The layered values, after the schema check (SchemaViolation on any problem);
        loaded once per release, however many steps of a command need them."""
        if self._layered is None:
            layered, _ = load_layers(self.inputs, self.chart)
            problems = schema_problems(layered, self.chart)
            if problems:
                raise SchemaViolation(problems)
            presets = {display_path(path) for path in self.inputs.preset_files()}
            for advice in warnings(layered, presets):
                click.echo(f"mst: warning: {advice}", err=True)
            self._layered = layered
        return self._layered

    def render(self) -> str:
        """Validated values rendered by one `helm template` run; a `fail` of the chart
        comes back located at the file:line that set the key it names."""
        run = start_render(self.inputs, self.chart, release=self.name,
                           namespace=self.namespace)
        try:
            layered = self.layered()  # checked while helm renders
        except BaseException:
            run.cancel()
            raise
        try:
            return run.result()
        except HelmFailed as error:
            failures = error.chart_failures()
            if not failures:
                raise
            defaults = display_path(self.chart / "values.yaml")
            lines = "\n".join(f"  {locate_chart_failure(layered, message, defaults)}"
                              for _, message in failures)
            raise UserError(f"the chart refused the values:\n{lines}") from None


_KEY = re.compile(r"^[A-Za-z][\w-]*(?:\.[\w-]+)*")


def locate_chart_failure(layered: LayeredValues, message: str, defaults: str) -> str:
    """`model.yaml:3:5: decode.parallelism: ...`: a `fail` message of the chart, located
    at the user layer that wrote the key path the message starts with (not located when
    only the chart defaults wrote it)."""
    match = _KEY.match(message)
    location = layered.origin(tuple(match[0].split("."))) if match else None
    where = f"{location}: " if location and location.source != defaults else ""
    return f"{where}{message}"


_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def check_names(release: str, namespace: str) -> None:
    """Release and namespace names helm and Kubernetes accept, checked before any work
    (UserError with a corrected suggestion otherwise)."""
    def suggestion(name: str) -> str:
        fixed = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
        return f" (e.g. `{fixed}`)" if fixed else ""

    if not _DNS_SUBDOMAIN.fullmatch(release) or len(release) > 53:
        raise UserError(f"release name {release!r} is invalid: use at most 53 lowercase "
                        "letters, digits, '-' and '.', starting and ending with a letter or "
                        f"digit{suggestion(release)}")
    if not _DNS_LABEL.fullmatch(namespace) or len(namespace) > 63:
        raise UserError(f"namespace {namespace!r} is invalid: use at most 63 lowercase "
                        "letters, digits and '-', starting and ending with a letter or "
                        f"digit{suggestion(namespace)}")


def release_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by every command that takes layered inputs; passes `release`."""
    options = [
        click.option("--preset", "-p", "presets_", multiple=True, metavar="NAME|FILE",
                     help="Preset name or file; repeat to layer several (first is lowest)."),
        click.option("--values", "-f", "values", multiple=True, metavar="FILE",
                     type=click.Path(path_type=Path),
                     help="Model values file; repeat to layer several (last wins)."),
        click.option("--set", "set_values", multiple=True, metavar="KEY=VALUE",
                     help="Override one value, as `helm --set` (applied last)."),
        click.option("--release", "release_name", default="modelservice", show_default=True,
                     help="Release name."),
        click.option("--namespace", "-n", default="default", show_default=True,
                     help="Namespace of the release."),
    ]

    @wraps(func)
    def wrapper(presets_: tuple[str, ...], values: tuple[Path, ...],
                set_values: tuple[str, ...], release_name: str, namespace: str,
                **kwargs: Any) -> Any:
        check_names(release_name, namespace)
        release = Release(Inputs(presets_, values, set_values), release_name, namespace,
                          chart_dir())
        return func(release=release, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper
