"""Where the chart, the built-in presets and the tools live.

Plain `os.path` strings underneath (`*_location`), so that `mst template` can find the
chart and start helm before importing pathlib; the `*_dir` functions give `Path`s."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

PACKAGE_LOCATION = os.path.dirname(os.path.realpath(__file__))
REPO_LOCATION = os.path.dirname(PACKAGE_LOCATION)


def _data_location(relative: str) -> str:
    """A shipped data folder: from the repository (editable install) or share/modelservice."""
    in_repo = os.path.join(REPO_LOCATION, relative)
    if os.path.isdir(in_repo):
        return in_repo
    return os.path.join(sys.prefix, "share", "modelservice", relative)


def chart_location() -> str:
    """The modelservice chart: $MST_CHART, else the chart shipped with this package."""
    return os.environ.get("MST_CHART", _data_location(os.path.join("charts", "modelservice")))


def presets_location() -> str:
    """The presets shipped with this package."""
    return _data_location("presets")


def tools_location() -> str:
    """Ignored folder where scripts/install_tools.py puts pinned helm and kubectl
    ($MST_TOOLS_DIR overrides it)."""
    return os.environ.get("MST_TOOLS_DIR", os.path.join(REPO_LOCATION, ".tools"))


def chart_dir() -> Path:
    """The modelservice chart (see chart_location)."""
    from pathlib import Path

    return Path(chart_location())


def tools_dir() -> Path:
    """The pinned tools folder (see tools_location)."""
    from pathlib import Path

    return Path(tools_location())


def cache_root() -> Path:
    """Where mst caches what it can rebuild: `$MST_CACHE_DIR`, else
    `${XDG_CACHE_HOME:-~/.cache}/modelservice`."""
    from pathlib import Path

    root = os.environ.get("MST_CACHE_DIR")
    if root:
        return Path(root)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "modelservice"


def write_atomically(path: Path, data: bytes) -> None:
    """Write `path` through a temporary file in its folder, so readers never see a part."""
    import tempfile
    from pathlib import Path

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
        handle.write(data)
    Path(handle.name).replace(path)
