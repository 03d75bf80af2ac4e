"""Loading values files with the file:line:col of every key and value.

PyYAML's composer gives node positions; values are built from the nodes ourselves so that
each key path maps to where it was written. Duplicate keys (unless the caller lets the last
one win, as helm does), non-mapping documents and YAML syntax errors become UserErrors that
name the file, line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from .errors import UserError

KeyPath = tuple[str | int, ...]

# libyaml's composer is ~20x faster than the pure-Python one and keeps node positions.
_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# helm reads values with go-yaml's YAML 1.1 rules, where y/Y/n/N are booleans too (PyYAML
# leaves them strings); mst must see the same values helm sees.
_HELM_BOOLEANS = {"y": True, "n": False}


class _HelmLoader(_BASE_LOADER):  # type: ignore[misc,valid-type]
    """Safe loader that also resolves y/Y/n/N as booleans, like helm."""


class _HelmConstructor(yaml.SafeLoader):
    """Scalar constructor that knows the y/n booleans."""

    bool_values: ClassVar[dict[str, bool]] = {**yaml.SafeLoader.bool_values, **_HELM_BOOLEANS}


_HelmLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:y|Y|n|N)$"), list("yYnN"))
_LOADER = _HelmLoader


@dataclass(frozen=True)
class Location:
    """A place in a values source: a file position, or a non-file source such as --set."""

    source: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.column}" if self.line else self.source


@dataclass
class ValuesSource:
    """One layer of values with the location of every key path it writes."""

    name: str
    data: dict[str, Any]
    locations: dict[KeyPath, Location] = field(default_factory=dict)
    # (key path, where it was first set, where it was set again) when duplicates were let
    # through (`parse_values(..., last_key_wins=True)`); the last one holds, as in helm.
    duplicates: list[tuple[KeyPath, Location, Location]] = field(default_factory=list)


def format_path(path: KeyPath) -> str:
    """`decode.engine.args.max-model-len`, with list indexes as `[0]`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _location(name: str, node: yaml.Node) -> Location:
    return Location(name, node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Python values from a composed node tree, recording each key path's location."""

    def __init__(self, name: str, last_key_wins: bool = False) -> None:
        self.name = name
        self.last_key_wins = last_key_wins
        self.locations: dict[KeyPath, Location] = {}
        self.duplicates: list[tuple[KeyPath, Location, Location]] = []
        self._scalars = _HelmConstructor("")

    def build(self, node: yaml.Node, path: KeyPath = ()) -> Any:
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.locations[(*path, index)] = _location(self.name, item)
                items.append(self.build(item, (*path, index)))
            return items
        return self._scalars.construct_object(node)

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        self._scalars.flatten_mapping(node)
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise UserError(f"{_location(self.name, key_node)}: keys must be plain scalars")
            key = str(self._scalars.construct_object(key_node))
            if key in result and self.last_key_wins:
                self.duplicates.append(((*path, key), self.locations[(*path, key)],
                                        _location(self.name, key_node)))
                self._forget((*path, key))
                del result[key]
            elif key in result:
                first = self.locations[(*path, key)]
                raise UserError(
                    f"{_location(self.name, key_node)}: duplicate key "
                    f"{format_path((*path, key))!r} (first set at line {first.line}); "
                    "keep one of them"
                )
            self.locations[(*path, key)] = _location(self.name, key_node)
            result[key] = self.build(value_node, (*path, key))
        return result

    def _forget(self, path: KeyPath) -> None:
        """Drop the locations of an earlier value at `path` and below (it was replaced)."""
        for known in [p for p in self.locations if p[:len(path)] == path]:
            del self.locations[known]


def _line(text: str, index: int) -> str:
    lines = text.splitlines()
    return lines[index] if 0 <= index < len(lines) else ""


def parse_values(text: str, name: str, last_key_wins: bool = False) -> ValuesSource:
    """Values from YAML text; `name` is used in locations and errors. A duplicate key is an
    error unless `last_key_wins` (then, as helm does, the last one holds and the source
    lists it in `duplicates`)."""
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
        problem = error.problem or error.context
        if mark and "\t" in _line(text, mark.line):
            problem = f"{problem}: the line holds a tab; YAML indents with spaces only"
        raise UserError(f"{where}: invalid YAML: {problem}") from None
    except yaml.YAMLError as error:
        raise UserError(f"{name}: invalid YAML: {error}") from None
    if node is None:
        return ValuesSource(name, {})
    if not isinstance(node, yaml.MappingNode):
        raise UserError(
            f"{_location(name, node)}: a values file must be a mapping of keys "
            f"(e.g. `model: {{uri: hf://org/model}}`), not a {node.id}"
        )
    builder = _Builder(name, last_key_wins)
    data = builder.build(node)
    return ValuesSource(name, data, builder.locations, builder.duplicates)


def display_path(path: Path) -> str:
    """`path` relative to the working directory when it is below it, else as given."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_values_file(path: Path, last_key_wins: bool = False) -> ValuesSource:
    """Values from a file, with clean errors for missing, unreadable or non-UTF-8 files
    (`last_key_wins`: see parse_values)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"values file not found: {path}") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a directory, not a values file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"cannot read values file {path}: {error}") from None
    return parse_values(text, display_path(path), last_key_wins)
