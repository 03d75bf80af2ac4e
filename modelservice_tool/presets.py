"""Resolving preset names to files: built-in presets, $MST_PRESET_PATH, or a path."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from .errors import UserError
from .paths import builtin_presets_dir


def search_dirs() -> list[Path]:
    """Directories searched for presets, in priority order."""
    extra = os.environ.get("MST_PRESET_PATH", "")
    dirs = [Path(entry) for entry in extra.split(os.pathsep) if entry]
    return [*dirs, builtin_presets_dir()]


def available() -> dict[str, Path]:
    """All presets by name; a directory earlier in the search path wins."""
    found: dict[str, Path] = {}
    for directory in reversed(search_dirs()):
        if directory.is_dir():
            for path in sorted(directory.glob("*.yaml")):
                found[path.stem] = path
    return dict(sorted(found.items()))


def resolve(name_or_path: str) -> Path:
    """The file of a preset given by name or path; unknown names list the closest ones."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or os.sep in name_or_path:
        if not path.is_file():
            hint = (f" (the built-in preset is named `{path.stem}`: pass `-p {path.stem}`)"
                    if os.sep not in name_or_path and path.stem in available() else "")
            raise UserError(f"preset file not found: {name_or_path}{hint}")
        return path
    presets = available()
    if name_or_path in presets:
        return presets[name_or_path]
    close = difflib.get_close_matches(name_or_path, presets, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise UserError(
        f"unknown preset {name_or_path!r}.{hint} Available: {', '.join(presets) or 'none'}"
        " (see `mst presets list`)"
    )
