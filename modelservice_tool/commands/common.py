"""Plumbing shared by every `mst` command: error printing and the layered-release options."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from ..errors import UserError, error_line, warning_line
from ..layers_io import Inputs
from ..names import DEFAULT_NAMESPACE, DEFAULT_RELEASE
from ..paths import chart_dir
from ..release import Release


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Print user errors as `mst: error: ...` and exit with their code, no traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UserError as error:
            click.echo(error_line(error), err=True)
            sys.exit(error.exit_code)

    return wrapper


def kubeconfig_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """--kubeconfig FILE: must exist (a missing file is named, not a connection error)."""
    return click.option("--kubeconfig", metavar="FILE",
                        type=click.Path(path_type=Path, dir_okay=False, exists=True),
                        help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config).")(func)


def export_kubeconfig(kubeconfig: Path | None) -> None:
    """Hand --kubeconfig to every kubectl and helm this command runs (as $KUBECONFIG)."""
    if kubeconfig is not None:
        import os

        os.environ["KUBECONFIG"] = str(kubeconfig.resolve())


def stderr(line: str) -> None:
    """One line of progress or a note, on standard error."""
    click.echo(line, err=True)


def warn(message: str) -> None:
    """A warning about the values, on standard error."""
    click.echo(warning_line(message), err=True)


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
        click.option("--release", "release_name", default=DEFAULT_RELEASE, show_default=True,
                     help="Release name (object names derive from it; plain `helm template` "
                          "without a name uses `release-name`, so pass the same name to "
                          "compare)."),
        click.option("--namespace", "-n", default=DEFAULT_NAMESPACE, show_default=True,
                     help="Namespace of the release."),
    ]

    @wraps(func)
    def wrapper(presets_: tuple[str, ...], values: tuple[Path, ...],
                set_values: tuple[str, ...], release_name: str, namespace: str,
                **kwargs: Any) -> Any:
        release = Release(Inputs(presets_, values, set_values), release_name, namespace,
                          chart_dir(), on_warning=warn)
        return func(release=release, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper
