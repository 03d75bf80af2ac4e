"""The chart's helm-unittest suites (charts/modelservice/tests/*_test.yaml): one test per
suite with the standalone binary, the whole folder as a helm 3 and a helm 4 plugin, the
suites behind the values schema, and proof that a broken template fails its suite. Also
checks that every template file has a suite and every `fail` message of the chart is
asserted by one."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from support import CHART, REPO, chart_tool_or_skip, helm_binaries, helm_or_skip

SUITES = sorted((CHART / "tests").glob("*_test.yaml"))
UNCHECKED = "tests/unchecked/*_test.yaml"  # run with --skip-schema-validation


def helm_unittest() -> Path:
    return chart_tool_or_skip("helm-unittest")


def run_unittest(command: list[str], *args: str, chart: Path = CHART,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*command, *args, str(chart)],
                          capture_output=True, text=True, check=False, env=env)


@pytest.mark.parametrize("suite", SUITES, ids=lambda p: p.stem)
def test_suite(suite: Path) -> None:
    result = run_unittest([str(helm_unittest())], "-f", f"tests/{suite.name}")
    assert result.returncode == 0, result.stdout + result.stderr


def test_suites_behind_the_values_schema() -> None:
    result = run_unittest([str(helm_unittest())], "--skip-schema-validation", "-f", UNCHECKED)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Test Suites: 1 passed" in result.stdout, result.stdout


@pytest.mark.parametrize("helm_name", ["helm4", "helm3"])
def test_suites_as_helm_plugin(helm_name: str, tmp_path: Path) -> None:
    """`helm plugin install` into a throw-away HELM_DATA_HOME, then `helm unittest CHART`."""
    plugin = chart_tool_or_skip("helm-unittest-plugin")
    helm = helm_or_skip(helm_name)
    env = dict(os.environ)
    for part in ("cache", "config", "data"):
        env[f"HELM_{part.upper()}_HOME"] = str(tmp_path / part)
    env["HELM_PLUGINS"] = str(tmp_path / "data" / "plugins")
    install = subprocess.run([str(helm), "plugin", "install", str(plugin)],
                             capture_output=True, text=True, check=False, env=env)
    assert install.returncode == 0, install.stdout + install.stderr
    result = run_unittest([str(helm), "unittest"], env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Test Suites: {len(SUITES)} passed, {len(SUITES)} total" in result.stdout


def test_a_broken_template_fails_its_suite(tmp_path: Path) -> None:
    """Copy the chart (the suites read presets/ and examples/ beside it), rename the Service
    port, and the Services suite fails by name while helm-unittest exits non-zero."""
    binary = helm_unittest()
    chart = tmp_path / "charts" / "modelservice"
    shutil.copytree(CHART, chart)
    for folder in ("presets", "examples"):
        (tmp_path / folder).symlink_to(REPO / folder)
    template = chart / "templates" / "services.yaml"
    text = template.read_text()
    assert "- name: http\n" in text
    template.write_text(text.replace("- name: http\n", "- name: web\n"))
    result = run_unittest([str(binary)], "-f", "tests/services_test.yaml",
                          "-f", "tests/hpa_test.yaml", chart=chart)
    assert result.returncode != 0
    failed = [line for line in result.stdout.splitlines() if line.startswith(" FAIL ")]
    assert len(failed) == 1, result.stdout
    assert failed[0].startswith(" FAIL  role Services\t"), result.stdout
    assert failed[0].endswith("/tests/services_test.yaml"), result.stdout
    assert "Expected to equal" in result.stdout and "name: web" in result.stdout
    assert "Test Suites: 1 failed, 1 passed, 2 total" in result.stdout


def suite_documents() -> list[dict]:
    files = [*SUITES, *sorted((CHART / "tests" / "unchecked").glob("*_test.yaml"))]
    return [yaml.safe_load(path.read_text()) for path in files]


def test_every_template_file_has_a_suite() -> None:
    """Named explicitly in some suite's `templates` (a glob does not count)."""
    named = {entry for suite in suite_documents() for entry in suite.get("templates", [])}
    templates = CHART / "templates"
    files = [p.relative_to(templates).as_posix() for p in templates.rglob("*")
             if p.is_file() and not p.name.startswith("_")]
    assert sorted(set(files) - named) == []


def fail_formats() -> list[str]:
    """The format strings of every `fail` in the templates."""
    pattern = re.compile(r'\bfail\s+(?:\(printf\s+)?"((?:[^"\\]|\\.)*)"')
    found = []
    for path in sorted((CHART / "templates").rglob("*")):
        if path.is_file():
            found += [m.replace('\\"', '"').replace("\\\\", "\\")
                      for m in pattern.findall(path.read_text())]
    return found


def test_every_fail_message_is_asserted_by_a_suite() -> None:
    messages = [asserts["failedTemplate"].get("errorMessage", "")
                for suite in suite_documents() for job in suite["tests"]
                for asserts in job["asserts"] if "failedTemplate" in asserts]
    formats = fail_formats()
    assert len(formats) > 30
    missing = [text for text in formats
               if not any(re.fullmatch(re.sub("%[sdqvt]", ".+", re.escape(text)), message)
                          for message in messages)]
    assert missing == [], "no suite asserts these (failedTemplate: {errorMessage: ...})"


def test_suites_are_left_out_of_the_packaged_chart(tmp_path: Path) -> None:
    helm = next(iter(helm_binaries().values()), None)
    if helm is None:
        pytest.skip("no helm binary: run scripts/install_tools.py")
    result = subprocess.run([str(helm), "package", str(CHART), "-d", str(tmp_path)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    with tarfile.open(next(tmp_path.glob("*.tgz"))) as archive:
        names = archive.getnames()
    assert "modelservice/templates/tests/test-models-endpoint.yaml" in names
    assert not [n for n in names if n.startswith("modelservice/tests/")]
