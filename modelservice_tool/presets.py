"""Resolving preset names to files: built-in presets, $MST_PRESET_PATH, or a path.

`location` needs only `os` (`mst template` resolves presets before starting helm, ahead
of any heavy import); the rest gives `Path`s and the errors."""

from __future__ import annotations

import os

from .errors import UserError
from .paths import presets_location

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path


def search_locations() -> list[str]:
    """Directories searched for presets, in priority order."""
    extra = os.environ.get("MST_PRESET_PATH", "")
    return [*(entry for entry in extra.split(os.pathsep) if entry), presets_location()]


def search_dirs() -> list[Path]:
    """Directories searched for presets, in priority order."""
    from pathlib import Path

    return [Path(entry) for entry in search_locations()]


def location(name_or_path: str) -> str | None:
    """The file of a preset given by name (first search directory that has NAME.yaml) or
    by path (ending in .yaml/.yml or holding a `/`); None when there is no such file."""
    if os.path.splitext(name_or_path)[1] in (".yaml", ".yml") or os.sep in name_or_path:
        return name_or_path if os.path.isfile(name_or_path) else None
    for directory in search_locations():
        candidate = os.path.join(directory, f"{name_or_path}.yaml")
        if os.path.isfile(candidate):
            return candidate
    return None


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
    import difflib
    from pathlib import Path

    found = location(name_or_path)
    if found is not None:
        return Path(found)
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or os.sep in name_or_path:
        hint = (f" (the built-in preset is named `{path.stem}`: pass `-p {path.stem}`)"
                if os.sep not in name_or_path and path.stem in available() else "")
        raise UserError(f"preset file not found: {name_or_path}{hint}")
    presets = available()
    close = difflib.get_close_matches(name_or_path, presets, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise UserError(
        f"unknown preset {name_or_path!r}.{hint} Available: {', '.join(presets) or 'none'}"
        " (see `mst presets list`)"
    )
