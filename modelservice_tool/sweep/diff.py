"""What a variant changes in the rendered manifests, object by object."""

from __future__ import annotations

import difflib

import yaml

from ..manifests import Manifest, object_id


def _by_id(objects: tuple[Manifest, ...] | list[Manifest]) -> dict[str, Manifest]:
    return {object_id(obj): obj for obj in objects}


def _text(obj: Manifest) -> list[str]:
    return yaml.safe_dump(obj, sort_keys=False, width=1000).splitlines()


def manifest_diff(base: list[Manifest] | tuple[Manifest, ...],
                  variant: list[Manifest] | tuple[Manifest, ...], context: int = 1) -> list[str]:
    """Unified diff lines per changed object; added and removed objects named once."""
    before, after = _by_id(base), _by_id(variant)
    lines = [f"+ {name} (new object)" for name in after if name not in before]
    lines += [f"- {name} (removed)" for name in before if name not in after]
    for name in (name for name in before if name in after):
        if before[name] == after[name]:
            continue
        diff = difflib.unified_diff(_text(before[name]), _text(after[name]), f"base {name}",
                                    f"variant {name}", n=context, lineterm="")
        lines += list(diff)
    return lines
