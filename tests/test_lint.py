"""Chart-testing's checks we can run here: yamllint with lintconf.yaml, the yamale
Chart.yaml schema, and `helm lint --strict` on the chart's ci/ values."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yamale
from yamllint import linter
from yamllint.config import YamlLintConfig

from support import CHART, EXAMPLES, PRESETS, REPO, helm_binaries

LINTED = sorted(
    [CHART / "Chart.yaml", CHART / "values.yaml", *CHART.glob("ci/*.yaml"),
     *PRESETS.glob("*.yaml"), *EXAMPLES.glob("*.yaml")]
)


@pytest.mark.parametrize("path", LINTED, ids=lambda p: str(p.relative_to(REPO)))
def test_yamllint_clean(path) -> None:
    config = YamlLintConfig(file=str(REPO / "lintconf.yaml"))
    problems = list(linter.run(path.read_text(), config, str(path)))
    assert not problems, "\n".join(f"{path}:{p.line}:{p.column}: {p.desc}" for p in problems)


def test_chart_yaml_matches_ct_schema() -> None:
    schema = yamale.make_schema(str(REPO / "ct" / "chart_schema.yaml"))
    yamale.validate(schema, yamale.make_data(str(CHART / "Chart.yaml")))


def test_chart_metadata() -> None:
    import yaml

    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["kubeVersion"] == ">=1.29.0-0"
    major, minor, patch = (int(part) for part in chart["version"].split("."))
    assert (major, minor, patch) >= (0, 1, 0)


@pytest.mark.parametrize("values", sorted(CHART.glob("ci/*-values.yaml")), ids=lambda p: p.name)
def test_ct_values_lint_strict(values) -> None:
    for name, helm in helm_binaries().items():
        result = subprocess.run([str(helm), "lint", "--strict", str(CHART), "-f", str(values)],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{name}: {result.stdout}{result.stderr}"


def test_install_tools_is_idempotent() -> None:
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "install_tools.py")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
