"""Checking layered values against the chart's values.schema.json, with every problem
located at the file:line:col of the layer that wrote the offending key."""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import marshal
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .layering import LayeredValues
from .paths import cache_root, write_atomically
from .schema_hints import enum_message, list_for_map_message, pattern_message
from .sources import KeyPath, Location, format_path

if TYPE_CHECKING:  # imported when first used: `mst template` starts helm before that
    import jsonschema


@dataclass(frozen=True)
class ValueProblem:
    """One schema violation: where, which key, which rule, and a hint."""

    location: Location | None
    path: KeyPath
    rule: str
    message: str

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{format_path(self.path) or '<top level>'}: {self.message} [{self.rule}]"


MAX_MESSAGE = 300


@cache
def load_validator(schema_file: Path) -> jsonschema.Draft7Validator:
    """A draft-07 validator for the chart schema (built once per process)."""
    import jsonschema

    return jsonschema.Draft7Validator(_go_anchors(json.loads(schema_file.read_text())))


def _go_anchors(node: Any) -> Any:
    """The schema with every pattern's `$` made to match only at the very end, as in Go's
    RE2 that helm uses (Python's `$` also matches before a final newline)."""
    if isinstance(node, dict):
        return {key: re.sub(r"(?<!\\)\$", r"\\Z", value)
                if key == "pattern" and isinstance(value, str) else _go_anchors(value)
                for key, value in node.items()}
    if isinstance(node, list):
        return [_go_anchors(item) for item in node]
    return node


def _short(message: str) -> str:
    """A message cut to a readable length (a huge value would otherwise be printed whole)."""
    return message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE] + "... (cut)"


def _subschema(error: jsonschema.ValidationError) -> dict[str, Any]:
    return error.schema if isinstance(error.schema, dict) else {}


def _unknown_keys(error: jsonschema.ValidationError) -> list[ValueProblem]:
    schema = _subschema(error)
    allowed = list(schema.get("properties", {}))
    problems = []
    for key in error.instance:
        if key in allowed:
            continue
        path = (*error.absolute_path, key)
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = f"did you mean `{close[0]}`?" if close else f"valid keys: {', '.join(allowed)}"
        problems.append(ValueProblem(None, tuple(path), "additionalProperties",
                                     f"unknown key `{key}` ({hint})"))
    return problems


def _enum_hint(error: jsonschema.ValidationError) -> str:
    if not isinstance(error.instance, str):
        return ""
    choices = [str(choice) for choice in error.validator_value if choice is not None]
    close = difflib.get_close_matches(error.instance, choices, n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""


def _message(error: jsonschema.ValidationError) -> str:
    """The rule a value broke, in words a user can act on."""
    if error.validator == "pattern":
        return pattern_message(error.instance, error.validator_value)
    if error.validator == "enum":
        return enum_message(error.instance, error.validator_value) + _enum_hint(error)
    if error.validator == "type" and error.validator_value == "null" and isinstance(
            error.schema, dict) and error.schema.get("description"):
        return f"not allowed here: {error.schema['description']}"  # a conditional rule
    if error.validator == "type" and isinstance(error.instance, list):
        key = format_path(tuple(error.absolute_path)).rsplit(".", 1)[-1]
        explained = list_for_map_message(error.instance, key)
        if explained and "object" in _as_list(error.validator_value):
            return explained
    return _short(error.message)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _leaf_errors(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """Errors of anyOf/oneOf/allOf are only as useful as their most specific branch."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        from jsonschema.exceptions import best_match

        best = best_match(error.context)
        return _leaf_errors(best) if best is not None else [error]
    return [error]


def _problems(error: jsonschema.ValidationError) -> list[ValueProblem]:
    problems = []
    for leaf in _leaf_errors(error):
        if leaf.validator == "additionalProperties" and isinstance(leaf.instance, dict):
            problems += _unknown_keys(leaf)
        else:
            problems.append(ValueProblem(None, tuple(leaf.absolute_path), str(leaf.validator),
                                         _message(leaf)))
    return problems


@cache
def fast_validator(schema_file: Path) -> Callable[[Any], Any]:
    """A validator generated by fastjsonschema for the chart schema (patterns anchored like
    Go's, as `load_validator`), cached as compiled code in the user cache, so most runs
    pay neither for importing jsonschema nor for generating the code. It only says valid
    or not: problems are reported by the jsonschema validator, located and explained."""
    text = schema_file.read_bytes()
    key = hashlib.sha256(text + sys.version.encode()).hexdigest()[:20]
    cached = cache_root() / f"values-schema-{key}.marshal"
    try:
        code = marshal.loads(cached.read_bytes())
    except (OSError, ValueError, EOFError):
        import fastjsonschema

        source = fastjsonschema.compile_to_code(_go_anchors(json.loads(text)))
        code = compile(source, f"<fastjsonschema of {schema_file.name}>", "exec")
        # a cache that cannot be written only costs the next run some time
        with contextlib.suppress(OSError):
            write_atomically(cached, marshal.dumps(code))
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    return namespace["validate"]


def is_valid(values: Any, schema_file: Path) -> bool:
    """True when the values pass the schema (the fast, report-less check)."""
    from fastjsonschema import JsonSchemaException

    try:
        fast_validator(schema_file)(values)
    except JsonSchemaException:
        return False
    return True


def check_values(layered: LayeredValues, schema_file: Path) -> list[ValueProblem]:
    """All schema problems of the final values, located and sorted by location (the
    fast validator first; the explaining one only when it finds a problem)."""
    if is_valid(layered.values, schema_file):
        return []
    validator = load_validator(schema_file)
    located = []
    for error in validator.iter_errors(layered.values):
        for problem in _problems(error):
            location = layered.origin(problem.path)
            located.append(ValueProblem(location, problem.path, problem.rule, problem.message))
    unique = {(str(p.location), p.path, p.message): p for p in located}
    return sorted(unique.values(), key=_sort_key)


def _sort_key(problem: ValueProblem) -> tuple[str, int, int, str]:
    location = problem.location or Location("")
    return (location.source, location.line, location.column, format_path(problem.path))


def schema_properties(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any] | None:
    """The named properties of a node of `schema`, following local `$ref`s and `allOf`
    (None for a node without fixed properties: an open map or a leaf)."""
    while "$ref" in node and node["$ref"].startswith("#/"):
        target: Any = schema
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    found = dict(node["properties"]) if "properties" in node else None
    for part in node.get("allOf", []):
        nested = schema_properties(schema, part)
        if nested is not None:
            found = {**(found or {}), **nested}
    return found


def unknown_key(schema_file: Path, key: str) -> str | None:
    """Why the dotted `key` names no value of the chart (with the closest valid key), or
    None when it does. Open maps (engine.args, env, ...) accept any key below them."""
    schema: dict[str, Any] = json.loads(schema_file.read_text())
    node, done = schema, []
    for part in key.split("."):
        properties = schema_properties(schema, node)
        if properties is None:
            return None  # an open map: its keys are the user's
        if part not in properties:
            close = difflib.get_close_matches(part, list(properties), n=1, cutoff=0.6)
            hint = f"did you mean `{'.'.join([*done, close[0]])}`?" if close else \
                f"valid keys: {', '.join(properties)}"
            return f"unknown key `{'.'.join([*done, part])}` ({hint})"
        done.append(part)
        node = properties[part]
    return None
