#!/usr/bin/env python3
"""Write docs/values.md, the reference of every chart value, from the values schema
(descriptions, types, allowed values, examples) and values.yaml (defaults).

    python3 scripts/build_values_reference.py          # rewrite docs/values.md
    python3 scripts/build_values_reference.py --check  # exit 1 when it is out of date
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
CHART = REPO / "charts" / "modelservice"
OUTPUT = REPO / "docs" / "values.md"
# Keys whose subtree is the same as another key's: described once, referred to elsewhere.
SHARED = {("decode",): "role", ("prefill",): "role", ("engine",): "engine"}

HEADER = """# Values reference

Every value of the `modelservice` chart: type, default (from `values.yaml`), what it does
and an example. Generated from `schema/values.schema.yaml` by
`scripts/build_values_reference.py` (a test keeps it current); do not edit by hand.
Every key also accepts `null`, which removes what an earlier layer set.

`decode` and `prefill` are *roles*: each takes every key of `pod` (overriding it for that
role) plus the role keys listed under [Roles](#roles-decode-and-prefill). `engine` at the
top level holds the engine settings both roles share; `decode.engine` / `prefill.engine`
override them per role.
"""


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """The node with `$ref`s and `allOf` parts merged into one mapping."""
    while "$ref" in node:
        target: Any = schema
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    merged = {k: v for k, v in node.items() if k != "allOf"}
    for part in node.get("allOf", []):
        part = resolve(schema, part)
        merged["properties"] = {**part.get("properties", {}), **merged.get("properties", {})}
        for key, value in part.items():
            merged.setdefault(key, value)
    return merged


def type_text(node: dict[str, Any]) -> str:
    types = node.get("type", [])
    types = [types] if isinstance(types, str) else types
    named = [t for t in types if t != "null"]
    if "enum" in node:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in node["enum"] if v is not None)
    if named == ["object"] and isinstance(node.get("additionalProperties"), dict):
        return "map"
    return " \\| ".join(named) or "any"


def cell(value: Any) -> str:
    if value is None:
        return ""
    text = json.dumps(value) if not isinstance(value, str) or not value else value
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 80 else text[:77] + "..."


def default_of(defaults: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(defaults, dict) or part not in defaults:
            return None
        defaults = defaults[part]
    return defaults


def rows(schema: dict[str, Any], node: dict[str, Any], path: tuple[str, ...],
         defaults: Any, shared_ok: bool = True) -> list[str]:
    """One table row per key below `node` (depth first, in schema order)."""
    out = []
    for key, child in (resolve(schema, node).get("properties") or {}).items():
        child_path = (*path, key)
        child = resolve(schema, child)
        default = default_of(defaults, child_path)
        default = None if isinstance(default, dict) else default  # maps: see their keys
        example = (child.get("examples") or [None])[0]
        description = " ".join(child.get("description", "").split())
        name = ".".join(child_path)
        out.append(f"| `{name}` | {type_text(child)} | {cell(default) and f'`{cell(default)}`'} "
                   f"| {description} | {cell(example) and f'`{cell(example)}`'} |")
        if shared_ok and (child_path in SHARED or child_path[1:] == ("engine",)):
            continue  # described in its own section
        if "properties" in child and type_text(child) != "map":
            out += rows(schema, child, child_path, defaults)
    return out


def table(lines: list[str]) -> list[str]:
    return ["| key | type | default | description | example |", "|---|---|---|---|---|",
            *lines, ""]


def build() -> str:
    schema = json.loads((CHART / "values.schema.json").read_text())
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    parts = [HEADER]
    sections = {key: resolve(schema, node) for key, node in schema["properties"].items()
                if key != "global" and (key,) not in SHARED}
    general = {key: node for key, node in sections.items()
               if "properties" not in node or type_text(node) == "map"}
    parts.append("## General\n")
    parts += table(rows(schema, {"properties": general}, (), defaults))
    for key, node in sections.items():
        if key in general:
            continue
        parts.append(f"## {key}\n")
        parts.append(" ".join(node.get("description", "").split()) + "\n")
        parts += table(rows(schema, {"properties": {key: node}}, (), defaults))
    parts.append("## engine (shared by both roles; `decode.engine` / `prefill.engine` "
                 "override it)\n")
    parts += table(rows(schema, {"properties": {"engine": schema["properties"]["engine"]}}, (),
                        defaults, shared_ok=False))
    role = resolve(schema, schema["definitions"]["role"])
    pod_keys = set(resolve(schema, schema["properties"]["pod"]).get("properties") or {})
    only_role = {k: v for k, v in role["properties"].items() if k not in pod_keys}
    parts.append("## Roles: decode and prefill\n")
    parts.append("Each role takes every key of [pod](#pod) and these. Defaults are decode's.\n")
    role_rows = rows(schema, {"properties": {"decode": {"properties": only_role}}}, (),
                     defaults, shared_ok=False)[1:]  # [0] is `decode` itself
    parts += table([row.replace("`decode.", "`<role>.", 1) for row in role_rows])
    return "\n".join(parts).rstrip() + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when docs/values.md is stale")
    text = build()
    if parser.parse_args().check:
        if not OUTPUT.is_file() or OUTPUT.read_text() != text:
            print(f"{OUTPUT.relative_to(REPO)} is out of date: run "
                  "python3 scripts/build_values_reference.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
