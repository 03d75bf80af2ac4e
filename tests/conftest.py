"""Shared pytest fixtures: repository paths and the helm binaries to test with."""

from __future__ import annotations

import os
from pathlib import Path

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
