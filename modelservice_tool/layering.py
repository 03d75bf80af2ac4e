"""Layering values exactly as helm does, remembering which layer set every key.

helm merges `-f` files in order (maps merge key by key, anything else, null included,
replaces), applies `--set` on top, then coalesces the result with the chart defaults: a
null over a default deletes that key, a null with no default stays null. This module
reproduces those rules so that `mst` can validate, explain and hand helm one values
document that renders the same manifests as the files would.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from .sources import KeyPath, Location, ValuesSource, format_path


@dataclass
class Assignment:
    """One layer writing one key: where, and what it wrote (None = null)."""

    location: Location
    value: Any


@dataclass
class LayeredValues:
    """The final values plus, for every key path, the layers that wrote it, in order.

    `user` is the user layers merged without the chart defaults: the one values document
    that, given to helm, renders what the layer files render (nulls kept for helm to apply).
    """

    values: dict[str, Any]
    user: dict[str, Any] = field(default_factory=dict)
    history: dict[KeyPath, list[Assignment]] = field(default_factory=dict)

    def origin(self, path: KeyPath) -> Location | None:
        """The layer whose write of `path` (or of its nearest written parent) wins."""
        for depth in range(len(path), 0, -1):
            writes = self.history.get(path[:depth])
            if writes:
                return writes[-1].location
        return None

    def lookup(self, path: KeyPath) -> tuple[bool, Any]:
        """(present, value) of a key path in the final values."""
        node: Any = self.values
        for part in path:
            in_map = isinstance(node, dict) and part in node
            in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
            if not (in_map or in_list):
                return False, None
            node = node[part]
        return True, node


def _record(history: dict[KeyPath, list[Assignment]], source: ValuesSource, path: KeyPath,
            value: Any) -> None:
    location = source.locations.get(path, Location(source.name))
    history.setdefault(path, []).append(Assignment(location, copy.deepcopy(value)))


def _record_tree(history: dict[KeyPath, list[Assignment]], source: ValuesSource, path: KeyPath,
                 value: Any) -> None:
    _record(history, source, path, value)
    if isinstance(value, dict):
        for key, child in value.items():
            _record_tree(history, source, (*path, key), child)


def merge_maps(dst: dict[str, Any], src: dict[str, Any]) -> dict[str, Any]:
    """helm's mergeMaps for -f files: `src` over `dst` in place; maps merge, all else replaces."""
    for key, value in src.items():
        if isinstance(value, dict) and isinstance(dst.get(key), dict):
            merge_maps(dst[key], value)
        else:
            dst[key] = copy.deepcopy(value)
    return dst


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return copy.deepcopy(value)


def coalesce(defaults: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    """helm's coalesce of user values with chart defaults (new dict): user wins, maps merge,
    a user null deletes a defaulted key and stays null where there is no default; nulls
    among the chart defaults themselves are dropped."""
    result = copy.deepcopy(user)
    for key, default in defaults.items():
        if key not in result:
            if default is not None:
                result[key] = _without_nulls(default)
        elif result[key] is None:
            del result[key]
        elif isinstance(result[key], dict) and isinstance(default, dict):
            result[key] = coalesce(default, result[key])
    return result


def layer(defaults: ValuesSource, layers: list[ValuesSource]) -> LayeredValues:
    """Final values of chart defaults plus user layers (files, then --set sources)."""
    history: dict[KeyPath, list[Assignment]] = {}
    _record_tree(history, defaults, (), defaults.data)
    user: dict[str, Any] = {}
    for source in layers:
        merge_maps(user, source.data)
        for key, value in source.data.items():
            _record_tree(history, source, (key,), value)
    history.pop((), None)
    return LayeredValues(coalesce(defaults.data, user), user, history)


def describe(layered: LayeredValues, path: KeyPath) -> list[str]:
    """Lines explaining the final value of `path` and every layer that wrote it, newest first."""
    present, value = layered.lookup(path)
    name = format_path(path)
    if not present:
        lines = [f"{name} is not set (a later layer removed it)"]
    else:
        lines = [f"{name} = {_show(value)}" + (" (unset)" if value is None else "")]
    for index, write in enumerate(reversed(layered.history.get(path, []))):
        if isinstance(write.value, dict):
            lines.append(f"  {'merged in':<10} {write.location}")
        elif index == 0:
            verb = "unset by" if write.value is None else "set by"
            lines.append(f"  {verb:<10} {write.location}")
        else:
            lines.append(f"  {'overrode':<10} {write.location}  ({_show(write.value)})")
    return lines


def _show(value: Any) -> str:
    """A value as YAML would show it, maps abbreviated."""
    if isinstance(value, dict):
        return "{...}" if value else "{}"
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    return repr(value) if isinstance(value, str) else str(value)
