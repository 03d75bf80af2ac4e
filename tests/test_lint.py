"""Lint: `ct lint --config ct.yaml` (chart-testing: the yamale Chart.yaml schema, yamllint of
Chart.yaml, values.yaml and ci/*-values.yaml, `helm lint --strict` with each ci/ values
file) under helm 4 and helm 3, plus yamllint of the YAML ct does not see: presets, examples
and the helm-unittest suites."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from yamllint import linter
from yamllint.config import YamlLintConfig

from support import CHART, EXAMPLES, PRESETS, REPO, chart_tool_or_skip, helm_or_skip

LINTED = sorted(
    [*PRESETS.glob("*.yaml"), *EXAMPLES.glob("*.yaml"), *CHART.glob("tests/**/*.yaml")]
)


@pytest.mark.parametrize("path", LINTED, ids=lambda p: str(p.relative_to(REPO)))
def test_yamllint_clean(path) -> None:
    config = YamlLintConfig(file=str(REPO / "lintconf.yaml"))
    problems = list(linter.run(path.read_text(), config, str(path)))
    assert not problems, "\n".join(f"{path}:{p.line}:{p.column}: {p.desc}" for p in problems)


@pytest.mark.parametrize("helm_name", ["helm4", "helm3"])
def test_ct_lint(helm_name: str) -> None:
    """ct runs `helm`, `yamllint` and `yamale` from PATH: this helm, this venv's linters."""
    ct = chart_tool_or_skip("ct")
    helm = helm_or_skip(helm_name)
    path = os.pathsep.join([str(helm.parent), str(Path(sys.executable).parent),
                            os.environ.get("PATH", "")])
    result = subprocess.run(
        [str(ct), "lint", "--config", "ct.yaml", "--all", "--check-version-increment=false"],
        capture_output=True, text=True, check=False, cwd=REPO, env={**os.environ, "PATH": path})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All charts linted successfully" in result.stdout


def test_chart_metadata() -> None:
    import yaml

    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["kubeVersion"] == ">=1.29.0-0"
    major, minor, patch = (int(part) for part in chart["version"].split("."))
    assert (major, minor, patch) >= (0, 1, 0)


def test_install_tools_is_idempotent() -> None:
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "install_tools.py")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
