"""Shared pytest fixtures: repository paths and the helm binaries to test with."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from support import REPO
from support import helm_binaries as find_helm_binaries

REPO_ROOT = REPO


def missing_helm_reason(name: str) -> str:
    """Skip reason naming the missing helm binary and how to provide it."""
    variable = {"helm4": "MST_HELM", "helm3": "MST_HELM3"}[name]
    return f"{name} binary not found: set {variable} or run scripts/install_tools.py"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def chart_dir(repo_root: Path) -> Path:
    """The modelservice chart directory."""
    return repo_root / "charts" / "modelservice"


@pytest.fixture(scope="session")
def helm_binaries(repo_root: Path) -> dict[str, Path]:
    """The available helm binaries, e.g. ``{"helm4": path, "helm3": path}``."""
    return find_helm_binaries()


@pytest.fixture
def helm_env(tmp_path: Path) -> dict[str, str]:
    """Environment for running helm with its cache, config and data dirs under tmp_path."""
    env = dict(os.environ)
    for var in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
        env[var] = str(tmp_path / "helm" / var.split("_")[1].lower())
    return env


# --------------------------------------------------------------------------- fuzzing


def pytest_addoption(parser: pytest.Parser) -> None:
    """Options of this suite."""
    parser.addoption("--fuzz-examples", type=int, default=520, metavar="N",
                     help="values documents the fuzz tests generate in total (default 520; "
                          "e.g. 5000 for a nightly-size run)")


@pytest.fixture
def fuzz_examples(request: pytest.FixtureRequest) -> int:
    """How many values documents the fuzz tests generate in total."""
    return int(request.config.getoption("--fuzz-examples"))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the fuzz figures (collected from every xdist worker via user_properties)."""
    totals: dict[str, float] = {}
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get(
            "failed", []):
        if getattr(report, "when", "") != "call":
            continue
        for name, value in getattr(report, "user_properties", []):
            if name.startswith("fuzz_"):
                totals[name] = totals.get(name, 0) + value
    if totals:
        terminalreporter.write_line(
            f"fuzz: {int(totals.get('fuzz_documents', 0))} values documents, "
            f"{int(totals.get('fuzz_rendered', 0))} rendered and validated, the rest failed "
            f"cleanly ({totals.get('fuzz_seconds', 0):.0f}s of fuzz-test time)")
