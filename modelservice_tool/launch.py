"""The `mst` entry point. For `mst template` it starts `helm template` before anything
heavy is imported, so the helm run overlaps Python's start-up and the values checks; the
command later adopts that run only when it builds exactly the same helm arguments, so
nothing it prints can differ from the normal path (see helm.HelmRun.start)."""

from __future__ import annotations

import sys
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


def start_template_early(argv: Sequence[str]) -> None:
    """Start the helm run `mst template` will need, when the command line is plain enough
    to know it; any doubt (or error) leaves the work to the command."""
    options = template_options(argv)
    if options is None or len(options["release"]) > 1 or len(options["namespace"]) > 1:
        return
    try:
        from pathlib import Path

        from . import helm
        from .layers_io import Inputs
        from .names import DEFAULT_NAMESPACE, DEFAULT_RELEASE
        from .paths import chart_dir

        inputs = Inputs(tuple(options["presets"]), tuple(Path(v) for v in options["values"]),
                        tuple(options["sets"]))
        args = helm.template_args(chart_dir(), inputs.files(),
                                  release=(options["release"] or [DEFAULT_RELEASE])[0],
                                  namespace=(options["namespace"] or [DEFAULT_NAMESPACE])[0],
                                  set_values=inputs.set_values)
        helm.HelmRun.start_early(args)
    except Exception:
        return


def main() -> None:
    """Run `mst` (helm already rendering, for a plain `mst template`)."""
    start_template_early(sys.argv[1:])
    from .commands import main as cli

    cli()
