"""The package layout shows the architecture: the engine (everything but
`modelservice_tool.commands`) imports without click, and the public API works on its own."""

from __future__ import annotations

import subprocess
import sys

from support import REPO

CORE_WITHOUT_CLICK = """
import importlib, pkgutil, sys
sys.modules["click"] = None  # any import of click now fails
import modelservice_tool
for module in pkgutil.walk_packages(modelservice_tool.__path__, "modelservice_tool."):
    if module.name.startswith(("modelservice_tool.commands", "modelservice_tool.__main__")):
        continue
    importlib.import_module(module.name)
"""

API = """
from pathlib import Path
from modelservice_tool import Inputs, Release, chart_dir, compare, validate_objects
from modelservice_tool.manifests import load_manifests
release = Release(Inputs(presets=("cpu-sim",),
                         values=(Path("examples/qwen3-0.6b-cpu-sim.yaml"),)),
                  "qwen", "llm", chart_dir())
manifests = release.render()
assert validate_objects(manifests) == [], validate_objects(manifests)
objects = load_manifests(manifests)
assert compare(objects, objects).empty
print(len(objects))
"""


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, check=False)


def test_the_engine_imports_without_click() -> None:
    result = run(CORE_WITHOUT_CLICK)
    assert result.returncode == 0, result.stderr


def test_public_api_layers_renders_validates_and_compares() -> None:
    result = run(API)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 5


def test_accelerator_table_is_the_charts() -> None:
    """modelservice_tool.accelerators restates the chart's `ms.acceleratorResource`: each
    type renders a pod that requests exactly that resource (cpu: none)."""
    import yaml

    from modelservice_tool.accelerators import RESOURCES
    from support import default_helm

    for kind, resource in RESOURCES.items():
        result = subprocess.run(
            [str(default_helm()), "template", "t", str(REPO / "charts" / "modelservice"),
             "--set", "model.uri=hf://a/b", "--set", f"pod.accelerator.type={kind}",
             "--show-only", "templates/workloads.yaml"],
            capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        limits = next(d for d in yaml.safe_load_all(result.stdout) if d)["spec"]["template"][
            "spec"]["containers"][0].get("resources", {}).get("limits", {})
        assert {k for k in limits if "/" in k} == ({resource} if resource else set()), kind


def test_only_a_plain_template_command_line_starts_helm_early() -> None:
    from modelservice_tool.launch import template_options

    options = template_options(["template", "-p", "cpu-sim", "--values=m.yaml", "--set",
                                "a=1", "--release", "r", "-n", "ns", "-o", "out"])
    assert options is not None
    assert (options["presets"], options["values"], options["sets"]) == (
        ["cpu-sim"], ["m.yaml"], ["a=1"])
    for argv in (["validate", "-p", "x"], ["template", "--help"], ["template", "-p"],
                 ["template", "-pcpu-sim"], ["template", "--kube-version", "1.34"], []):
        assert template_options(argv) is None, argv


def test_an_early_helm_run_is_adopted_only_for_the_same_arguments() -> None:
    from modelservice_tool.helm import HelmRun

    args = ["version", "--short"]
    HelmRun.start_early(args)
    early = HelmRun._early
    assert HelmRun.start(args) is early and HelmRun._early is None
    early.result()
    HelmRun.start_early(args)
    other = HelmRun.start(["version"])
    assert other is not early and HelmRun._early is None
    assert "Version" in other.result()
