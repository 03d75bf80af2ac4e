"""Shared pytest fixtures: repository paths, the helm binaries to test with, and the
live-cluster fixtures (see tests/live.py)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
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
    """Print how many live-cluster tests ran, and the fuzz figures."""
    live_summary(terminalreporter)
    fuzz_summary(terminalreporter)


def fuzz_summary(terminalreporter: Any) -> None:
    """The fuzz figures (collected from every xdist worker via user_properties)."""
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


# --------------------------------------------------------------------------- live cluster


@pytest.fixture(scope="session")
def live_cluster() -> None:
    """A reachable API server that serves the kinds the samples render. Skips with the
    reason otherwise; MST_E2E_INSTALL_CRDS=1 applies the CRDs from ../shared/crds first."""
    import live

    from support import SHARED_CRDS, cluster_problem

    if (problem := cluster_problem()) is not None:
        pytest.skip(problem)
    missing = live.missing_base_kinds()
    if missing and os.environ.get("MST_E2E_INSTALL_CRDS") == "1" and SHARED_CRDS.is_dir():
        live.apply_crds(*(SHARED_CRDS / folder for folder in live.CRD_DIRS
                          if (SHARED_CRDS / folder).is_dir()))
        missing = live.missing_base_kinds()
    if missing:
        pytest.skip(f"the cluster does not serve {', '.join(missing)}: apply the CRDs "
                    "(.ci/run does; or MST_E2E_INSTALL_CRDS=1 with ../shared/crds)")


@pytest.fixture(scope="session")
def sim_nodes(live_cluster: None) -> dict[str, Any]:
    """preset -> its simulated node pool (`sim-<preset>-N`), created on the ../shared/k8s
    control plane only; elsewhere the cluster's own nodes decide, so the test skips."""
    import live

    if not live.is_sim_cluster():
        pytest.skip("simulated node pools are only added to the ../shared/k8s control plane "
                    f"(kubeconfig context {live.SIM_CONTEXT})")
    return {pool.preset: pool for pool in live.ensure_node_pools()}


@pytest.fixture
def live_namespace(live_cluster: None, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace `<branch>-<test>-<random>`, deleted afterwards (without waiting)."""
    import re

    import live

    purpose = re.sub(r"[^a-z0-9]+", "-", request.node.originalname.lower())
    with live.fresh_namespace(purpose.removeprefix("test-")[:24].strip("-")) as name:
        yield name


@pytest.fixture
def running_pods(live_cluster: None) -> None:
    """Skip unless the cluster's nodes run pods (a benchmark needs a serving engine)."""
    import live

    if (reason := live.pods_do_not_run()) is not None:
        pytest.skip(reason)


def live_summary(terminalreporter: Any) -> None:
    """`live-cluster tests (-m e2e): N passed, ...` plus the skip reasons and the kinds tests
    left out because the cluster does not serve them, so a CI log says what the live part
    really checked."""
    import live

    counts: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    left_out: Counter[str] = Counter()
    seconds = sum(getattr(report, "duration", 0.0)  # setup, call and teardown of each
                  for reports in terminalreporter.stats.values() for report in reports
                  if "e2e" in getattr(report, "keywords", {}))
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            if "e2e" not in getattr(report, "keywords", {}):
                continue
            if outcome == "passed" and report.when != "call":
                continue
            counts[outcome] += 1
            if outcome == "skipped" and isinstance(report.longrepr, tuple):
                reasons[report.longrepr[2].removeprefix("Skipped: ")] += 1
            left_out.update(value for name, value in getattr(report, "user_properties", [])
                            if name == live.LEFT_OUT)
    if not counts:
        return
    terminalreporter.write_line("live-cluster tests (-m e2e): " + ", ".join(
        f"{counts[outcome]} {outcome}" for outcome in ("passed", "failed", "error", "skipped")
        if counts[outcome] or outcome in ("passed", "skipped")) +
        f" ({seconds:.0f}s of test time)")
    for reason, count in reasons.most_common():
        terminalreporter.write_line(f"  {count} skipped: {reason}")
    for kind, count in left_out.most_common():
        terminalreporter.write_line(
            f"  {count} left out {kind}, which the cluster does not serve (no CRD applied; "
            "the sample's other objects were still checked)")
