"""The wheel ships the chart and the built-in presets: every file of charts/modelservice and
presets/ is covered by a data-files entry of pyproject.toml (so a new template is not left
out of `pip install modelservice-tool`)."""

from __future__ import annotations

from pathlib import PurePath

import pytest

from support import CHART, PRESETS, REPO


def test_data_files_cover_chart_and_presets() -> None:
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = [p for globs in config["tool"]["setuptools"]["data-files"].values() for p in globs]
    shipped = [*CHART.rglob("*"), *PRESETS.rglob("*")]
    suites = CHART / "tests"  # helm-unittest suites: left out by .helmignore, not shipped
    files = [str(path.relative_to(REPO)) for path in shipped
             if path.is_file() and suites not in path.parents]
    missing = [f for f in files if not any(PurePath(f).match(p) for p in patterns)]
    assert not missing, f"add these to [tool.setuptools.data-files]: {missing}"
