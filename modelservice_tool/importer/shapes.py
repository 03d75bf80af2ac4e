"""Up-front type checks of the keys the converter reads, so a malformed file fails with its
file:line and the expected type instead of half-converting."""

from __future__ import annotations

from typing import Any

from ..errors import UserError
from ..sources import KeyPath, ValuesSource, format_path

ROLE: dict[tuple[str, ...], type] = {
    (): dict,
    ("replicas",): int,
    ("parallelism",): dict,
    ("parallelism", "tensor"): int,
    ("parallelism", "data"): int,
    ("parallelism", "dataLocal"): int,
    ("parallelism", "workers"): int,
    ("containers",): list,
    ("containers", "*"): dict,
    ("containers", "*", "image"): str,
    ("containers", "*", "command"): list,
    ("containers", "*", "args"): list,
    ("containers", "*", "env"): list,
    ("containers", "*", "ports"): list,
    ("containers", "*", "resources"): dict,
    ("containers", "*", "volumeMounts"): list,
    ("containers", "*", "extraConfig"): dict,
    ("volumes",): list,
    ("initContainers",): list,
    ("tolerations",): list,
    ("acceleratorTypes",): dict,
    ("acceleratorTypes", "labelValues"): list,
    ("extraConfig",): dict,
}
TOP: dict[tuple[str, ...], type] = {
    ("modelArtifacts",): dict,
    ("modelArtifacts", "uri"): str,
    ("modelArtifacts", "labels"): dict,
    ("routing",): dict,
    ("routing", "servicePort"): int,
    ("routing", "proxy"): dict,
    ("routing", "proxy", "targetPort"): int,
    ("routing", "parentRefs"): list,
    ("routing", "epp"): dict,
    ("routing", "epp", "replicas"): int,
    ("routing", "epp", "debugLevel"): int,
    ("routing", "epp", "env"): list,
    ("accelerator",): dict,
    ("extraObjects",): list,
    ("tracing",): dict,
    **{(role, *path): kind for role in ("decode", "prefill") for path, kind in ROLE.items()},
}
NAMES = {dict: "a mapping", list: "a list", str: "a string", int: "an integer"}


def _matches(pattern: tuple[str, ...], path: KeyPath) -> bool:
    return len(pattern) == len(path) and all(
        (p == "*" and isinstance(part, int)) or p == part for p, part in zip(pattern, path,
                                                                            strict=True))


def _walk(node: Any, path: KeyPath = ()) -> list[tuple[KeyPath, Any]]:
    items = [(path, node)]
    if isinstance(node, dict):
        for key, value in node.items():
            items += _walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            items += _walk(value, (*path, index))
    return items


def check_shapes(source: ValuesSource) -> None:
    """Raise a located UserError for the first key whose value has the wrong type."""
    for path, value in _walk(source.data):
        if value is None or not path:
            continue
        for pattern, kind in TOP.items():
            if _matches(pattern, path) and (not isinstance(value, kind)
                                            or (isinstance(value, bool) and kind is int)):
                where = source.locations.get(path, source.name)
                raise UserError(f"{where}: {format_path(path)} must be {NAMES[kind]} in the "
                                f"llm-d modelservice chart, not {value!r}")
