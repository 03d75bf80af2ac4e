"""`--set key=value` items as a values layer, typed the way helm types them."""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Any

from .errors import UserError
from .sources import KeyPath, Location, ValuesSource

_INDEX = re.compile(r"^(.*)\[(\d+)\]$")


def _split(text: str, separator: str) -> list[str]:
    """Split on `separator` unless escaped with a backslash (escapes are kept)."""
    parts, current, escaped = [], "", False
    for char in text:
        if escaped:
            current += "\\" + char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current + ("\\" if escaped else "")]


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def typed(value: str) -> Any:
    """helm's --set typing: true/false, null, integers without leading zeros, else string."""
    if value in ("true", "false"):
        return value == "true"
    if value == "null":
        return None
    if re.fullmatch(r"-?(0|[1-9]\d*)", value):
        return int(value)
    return value


def _key_path(key: str, item: str) -> KeyPath:
    path: list[str | int] = []
    for part in _split(key, "."):
        match = _INDEX.match(part)
        if match:
            path += [_unescape(match[1]), int(match[2])]
        elif part:
            path.append(_unescape(part))
        else:
            raise UserError(f"--set {item!r}: empty key segment in {key!r}")
    return tuple(path)


def _put(node: dict[str, Any] | list[Any], key: str | int, value: Any) -> None:
    if isinstance(key, int):
        node.extend([None] * (key + 1 - len(node)))  # type: ignore[union-attr]
    node[key] = value  # type: ignore[index]


def _child(node: dict[str, Any] | list[Any], key: str | int, empty: Any) -> Any:
    """The container at `key`, replaced by `empty` when it is missing or a scalar."""
    exists = key < len(node) if isinstance(key, int) else key in node
    current = node[key] if exists else None  # type: ignore[index]
    if not isinstance(current, dict | list):
        _put(node, key, empty)
        current = empty
    return current


def _assign(data: dict[str, Any], path: KeyPath, value: Any) -> None:
    node: Any = data
    for part, following in pairwise(path):
        node = _child(node, part, [] if isinstance(following, int) else {})
    _put(node, path[-1], value)


def parse_set(item: str) -> ValuesSource:
    """One `--set` argument (possibly `a=1,b=2`) as a values layer located at `--set ...`."""
    data: dict[str, Any] = {}
    location = Location(f"--set {item}")
    locations = {}
    for assignment in _split(item, ","):
        key, equals, raw = assignment.partition("=")
        if not equals or not key:
            raise UserError(f"--set {item!r}: expected KEY=VALUE, e.g. --set decode.replicas=2")
        path = _key_path(key, item)
        if isinstance(path[0], int):
            raise UserError(f"--set {item!r}: a key cannot start with a list index")
        _assign(data, path, typed(_unescape(raw)))
        for depth in range(1, len(path) + 1):
            locations[path[:depth]] = location
    return ValuesSource(str(location), data, locations)
