"""Where the chart, the built-in presets and the examples live."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent


def chart_dir() -> Path:
    """The modelservice chart: $MST_CHART, else the chart next to this package."""
    return Path(os.environ.get("MST_CHART", REPO_ROOT / "charts" / "modelservice"))


def builtin_presets_dir() -> Path:
    """The presets shipped with the project."""
    return REPO_ROOT / "presets"


def tools_dir() -> Path:
    """Ignored folder where scripts/install_tools.py puts pinned helm and kubectl
    ($MST_TOOLS_DIR overrides it)."""
    return Path(os.environ.get("MST_TOOLS_DIR", REPO_ROOT / ".tools"))
