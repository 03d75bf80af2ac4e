"""The package layout shows the architecture: the engine (everything but
`modelservice_tool.commands`) imports without click, and the public API works on its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
    """The chart and modelservice_tool.chart_facts read one table (files/facts.yaml): each
    type renders a pod that requests exactly the resource Python reads (cpu: none)."""
    import yaml

    from modelservice_tool.chart_facts import chart_facts
    from support import default_helm

    facts = chart_facts(REPO / "charts" / "modelservice")
    for kind in facts.accelerators:
        resource = facts.resource(kind)
        result = subprocess.run(
            [str(default_helm()), "template", "t", str(REPO / "charts" / "modelservice"),
             "--set", "model.uri=hf://a/b", "--set", f"pod.accelerator.type={kind}",
             "--show-only", "templates/workloads.yaml"],
            capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        limits = next(d for d in yaml.safe_load_all(result.stdout) if d)["spec"]["template"][
            "spec"]["containers"][0].get("resources", {}).get("limits", {})
        assert {k for k in limits if "/" in k} == ({resource} if resource else set()), kind


def test_schema_accelerator_types_are_the_facts() -> None:
    """values.schema.json accepts exactly the accelerator types of files/facts.yaml."""
    import json

    from modelservice_tool.chart_facts import chart_facts

    chart = REPO / "charts" / "modelservice"
    schema = json.loads((chart / "values.schema.json").read_text())
    accelerator = schema["definitions"]["podSettings"]["properties"]["accelerator"]
    assert accelerator["properties"]["type"]["enum"] == [*chart_facts(chart).accelerators,
                                                         None]


def test_a_chart_without_its_facts_file_fails_clearly(tmp_path: Path) -> None:
    """helm and mst both stop with one message naming files/facts.yaml, never render a pod
    without its accelerators."""
    import shutil

    from modelservice_tool.chart_facts import chart_facts
    from modelservice_tool.errors import UserError
    from support import default_helm

    chart = tmp_path / "modelservice"
    shutil.copytree(REPO / "charts" / "modelservice", chart)
    (chart / "files" / "facts.yaml").unlink()
    result = subprocess.run([str(default_helm()), "template", "t", str(chart), "--set",
                             "model.uri=hf://a/b"], capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "files/facts.yaml is missing from the modelservice chart" in result.stderr
    with pytest.raises(UserError, match=r"files/facts\.yaml: cannot read the chart's facts"):
        chart_facts(chart)


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


FAST_AND_CLICK = [
    ["-p", "cpu-sim", "-f", "examples/qwen3-0.6b-cpu-sim.yaml", "--release", "qwen"],
    ["-p", "pd-a100", "--values=examples/gpt-oss-120b-pd.yaml", "-n", "llm"],
    # a warning (tensor parallelism models rarely support), then the manifests
    ["-p", "nvidia-h100", "-f", "examples/qwen3-32b-tp2.yaml",
     "--set", "decode.parallelism.tensor=3"],
    ["-p", "cpu-sim", "--set", "decode.replcias=2"],  # schema error, located at --set
    ["-p", "nvidia-l4", "-f", "examples/llama-3.1-8b.yaml",
     "--set", "engine.image.tag=latest"],  # the chart's own `fail`, located
    ["-p", "cpu-sim", "--release", "Bad_Name"],  # refused before any work
    ["-p", "cpu-sim", "-f", "missing.yaml"],  # helm was started, the values file is absent
]


def test_plain_template_without_click_prints_what_the_click_command_prints() -> None:
    """`mst template` to stdout skips click (launch.template_to_stdout); for successes,
    warnings and every kind of error it prints the same bytes and exits with the same code
    as the click command run directly."""
    from support import default_helm

    env = {**os.environ, "MST_HELM": str(default_helm())}
    for args in FAST_AND_CLICK:
        fast, slow = (subprocess.run([sys.executable, "-c", code, "template", *args], cwd=REPO,
                                     capture_output=True, text=True, env=env, check=False)
                      for code in ("import sys; sys.argv[0] = 'mst'; "
                                   "from modelservice_tool.launch import main; main()",
                                   "from modelservice_tool.commands import main; "
                                   "main(prog_name='mst')"))
        assert (fast.returncode, fast.stdout, fast.stderr) == (
            slow.returncode, slow.stdout, slow.stderr), args
        assert fast.stdout or fast.stderr.startswith("mst: error:"), args


def test_template_starts_helm_with_nothing_heavy_imported() -> None:
    """The early start (launch.start_template_early) finds the chart, the presets and helm
    and spawns helm with `os` alone: pathlib, subprocess, re, yaml and click load later,
    while helm renders (`-S`: no site packages, whose .pth files may import pathlib)."""
    code = """
import sys
from modelservice_tool import launch
from modelservice_tool.helm import HelmRun
assert launch.start_template_early(launch.template_options(
    ["template", "-p", "pd-a100", "-f", "examples/gpt-oss-120b-pd.yaml"]))
heavy = {"pathlib", "subprocess", "re", "yaml", "click"} & set(sys.modules)
assert not heavy, heavy
assert HelmRun._early.args[:2] == ["template", "modelservice"], HelmRun._early.args
"""
    from support import default_helm

    result = subprocess.run([sys.executable, "-S", "-c", code], cwd=REPO, capture_output=True,
                            text=True, env={**os.environ, "MST_HELM": str(default_helm())},
                            check=False)
    assert result.returncode == 0, result.stderr


def test_a_helm_run_reads_large_stdout_and_stderr_together(tmp_path) -> None:
    """HelmRun drains both pipes at once (a helm that fills stderr while mst waits on
    stdout must not hang), returns stdout on success and stderr in HelmFailed."""
    from modelservice_tool.helm import HelmFailed, HelmRun

    fake = tmp_path / "helm"
    fake.write_text("#!/bin/sh\nhead -c 300000 /dev/zero | tr '\\0' e >&2\n"
                    "head -c 1000000 /dev/zero | tr '\\0' o\nexit \"$1\"\n")
    fake.chmod(0o755)
    os.environ["MST_HELM"], saved = str(fake), os.environ.get("MST_HELM")
    try:
        assert HelmRun(["0"]).result() == "o" * 1_000_000
        try:
            HelmRun(["3"]).result()
        except HelmFailed as failed:
            assert failed.lines == ["e" * 300_000]
        else:
            raise AssertionError("a non-zero exit must raise HelmFailed")
        run = HelmRun(["0"])
        run.cancel()
        run.cancel()  # a second cancel, like one after result(), does nothing
    finally:
        if saved is None:
            del os.environ["MST_HELM"]
        else:
            os.environ["MST_HELM"] = saved
