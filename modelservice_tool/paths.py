"""Where the chart, the built-in presets and the examples live."""

from __future__ import annotations

import os
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
INSTALLED_DATA = Path(sys.prefix) / "share" / "modelservice"


def _data_dir(relative: str) -> Path:
    """A shipped data folder: from the repository (editable install) or share/modelservice."""
    in_repo = REPO_ROOT / relative
    return in_repo if in_repo.is_dir() else INSTALLED_DATA / relative


def chart_dir() -> Path:
    """The modelservice chart: $MST_CHART, else the chart shipped with this package."""
    return Path(os.environ.get("MST_CHART", _data_dir("charts/modelservice")))


def builtin_presets_dir() -> Path:
    """The presets shipped with this package."""
    return _data_dir("presets")


def tools_dir() -> Path:
    """Ignored folder where scripts/install_tools.py puts pinned helm and kubectl
    ($MST_TOOLS_DIR overrides it)."""
    return Path(os.environ.get("MST_TOOLS_DIR", REPO_ROOT / ".tools"))


def cache_root() -> Path:
    """Where mst caches what it can rebuild: `$MST_CACHE_DIR`, else
    `${XDG_CACHE_HOME:-~/.cache}/modelservice`."""
    root = os.environ.get("MST_CACHE_DIR")
    if root:
        return Path(root)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "modelservice"


def write_atomically(path: Path, data: bytes) -> None:
    """Write `path` through a temporary file in its folder, so readers never see a part."""
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
        handle.write(data)
    Path(handle.name).replace(path)
