#!/usr/bin/env python3
"""Build ``charts/modelservice/values.schema.json`` from ``schema/values.schema.yaml``.

The YAML source uses anchors (``&name``) and merge keys (``<<: *name``) to share schema
pieces (e.g. the pod-level property set of ``pod``, ``decode`` and ``prefill``). PyYAML's
``safe_load`` resolves both, so the JSON written here is plain, self-contained JSON Schema
draft-07 that Helm validates values against. Key order is kept.

Usage::

    python3 scripts/build_schema.py           # (re)write values.schema.json and docs/values.md
    python3 scripts/build_schema.py --check   # exit 1 if the committed JSON is stale

Needs PyYAML.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCE = REPO_ROOT / "schema" / "values.schema.yaml"
TARGET = REPO_ROOT / "charts" / "modelservice" / "values.schema.json"


def load_source(path: Path) -> dict[str, Any]:
    """Load the YAML schema source, resolving anchors and merge keys."""
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return data


def render(schema: dict[str, Any]) -> str:
    """Serialise the schema as the committed JSON text (2-space indent, trailing newline)."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def build(source: Path = SOURCE) -> str:
    """Return the JSON text that ``source`` produces."""
    return render(load_source(source))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if the JSON file differs from what the source gives",
    )
    parser.add_argument("--source", type=Path, default=SOURCE, help="YAML schema source")
    parser.add_argument("--target", type=Path, default=TARGET, help="JSON schema to write")
    args = parser.parse_args(argv)

    text = build(args.source)
    if args.check:
        current = args.target.read_text(encoding="utf-8") if args.target.exists() else None
        if current != text:
            state = "is missing" if current is None else "is out of date"
            print(
                f"{args.target} {state}: run `python3 scripts/build_schema.py` "
                f"after editing {args.source}",
                file=sys.stderr,
            )
            return 1
        print(f"{args.target} is up to date")
        return 0

    args.target.write_text(text, encoding="utf-8")
    print(f"wrote {args.target}")
    if args.target == TARGET:  # the values reference follows the chart's schema
        import build_values_reference

        build_values_reference.OUTPUT.write_text(build_values_reference.build())
        print(f"wrote {build_values_reference.OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
