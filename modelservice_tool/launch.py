"""The `mst` entry point. For `mst template` it starts `helm template` before anything
heavy is imported, so the helm run overlaps Python's start-up and the values checks; the
command later adopts that run only when it builds exactly the same helm arguments, so
nothing it prints can differ from the normal path (see helm.HelmRun.start). A plain
`mst template` that prints to stdout runs without click at all: the same Release, the
same messages (errors.error_line, errors.warning_line), the same exit codes."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

# `mst template` options that take a value; any other token disables the early start.
_VALUED = {"-p": "presets", "--preset": "presets", "-f": "values", "--values": "values",
           "--set": "sets", "--release": "release", "-n": "namespace",
           "--namespace": "namespace", "-o": "output", "--output-dir": "output"}


def template_options(argv: Sequence[str]) -> dict[str, list[str]] | None:
    """The options of a plain `mst template ...` command line, or None for anything else
    (another command, --help, an unknown or incomplete option)."""
    if not argv or argv[0] != "template":
        return None
    found: dict[str, list[str]] = {key: [] for key in set(_VALUED.values())}
    tokens = list(argv[1:])
    while tokens:
        token = tokens.pop(0)
        name, equals, value = token.partition("=")
        if name not in _VALUED or (not equals and not tokens):
            return None
        found[_VALUED[name]].append(value if equals else tokens.pop(0))
    return found


def start_template_early(options: dict[str, list[str]] | None) -> bool:
    """Start the helm run `mst template` will need, when the command line is plain enough
    to know it; any doubt (or error) leaves the work to the command."""
    if options is None or len(options["release"]) > 1 or len(options["namespace"]) > 1:
        return False
    try:  # only `os`-based modules here: helm starts before pathlib or subprocess load
        from . import helm, presets
        from .names import DEFAULT_NAMESPACE, DEFAULT_RELEASE
        from .paths import chart_location

        found = [presets.location(name) for name in options["presets"]]
        if None in found:
            return False  # the command reports the unknown preset
        args = helm.template_args(chart_location(), [*found, *options["values"]],
                                  release=(options["release"] or [DEFAULT_RELEASE])[0],
                                  namespace=(options["namespace"] or [DEFAULT_NAMESPACE])[0],
                                  set_values=options["sets"])
        helm.HelmRun.start_early(args)
    except Exception:
        return False
    return True


def template_to_stdout(options: dict[str, list[str]]) -> int:
    """`mst template` to stdout without click: its manifests, warnings and errors, and the
    exit code the click command would give."""
    from pathlib import Path

    from .errors import UserError, error_line, warning_line
    from .layers_io import Inputs
    from .names import DEFAULT_NAMESPACE, DEFAULT_RELEASE
    from .paths import chart_dir
    from .release import Release

    def warn(message: str) -> None:
        sys.stderr.write(warning_line(message) + "\n")

    try:
        release = Release(Inputs(tuple(options["presets"]),
                                 tuple(Path(v) for v in options["values"]),
                                 tuple(options["sets"])),
                          (options["release"] or [DEFAULT_RELEASE])[0],
                          (options["namespace"] or [DEFAULT_NAMESPACE])[0],
                          chart_dir(), on_warning=warn)
        manifests = release.render()
    except UserError as error:
        sys.stderr.write(error_line(error) + "\n")
        return error.exit_code
    try:
        sys.stdout.write(manifests)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (`mst template | head`): exit 1, as click
        return 1
    return 0


def exit_now(code: int) -> None:
    """Flush and exit without the interpreter's teardown (about 12 ms of freeing modules
    that a finished one-shot command does not need); nothing is left to clean up here."""
    import os

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:
            code = code or 1
    os._exit(code)


def main() -> None:
    """Run `mst` (helm already rendering, for a plain `mst template`)."""
    options = template_options(sys.argv[1:])
    if start_template_early(options) and options is not None and not options["output"]:
        exit_now(template_to_stdout(options))
    from .commands import main as cli

    cli()
