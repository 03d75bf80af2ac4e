"""llm-d benchmark reports from `mst bench`: scenario.stack from the rendered release, the
package's own converter and loader on real guidellm output, file names, and a missing package.

Fixtures are real guidellm 0.8.1 output against guidellm's mock server
(tests/fixtures/bench/README.md). The end-to-end test runs guidellm itself when
`make guidellm` installed it.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from guidellm_mock import guidellm_bin
from guidellm_mock import run as run_guidellm

from modelservice_tool.bench.plan import LoadSettings
from modelservice_tool.bench.profiles import get_profile
from modelservice_tool.bench.stack import EPP_LABEL, stack_components
from modelservice_tool.checks import engine_flags, model_workloads, serving_template
from modelservice_tool.commands.bench import bench_command
from modelservice_tool.layers_io import Inputs
from modelservice_tool.manifests import KubernetesSchemas, load_manifests, validate_manifests
from modelservice_tool.paths import chart_dir
from modelservice_tool.release import Release
from support import EXAMPLES, REPO

FIXTURES = REPO / "tests" / "fixtures" / "bench"
CONCURRENT = FIXTURES / "guidellm-0.8.1-mock-concurrent.json"
PD = ("-p", "pd-a100", "-f", str(EXAMPLES / "gpt-oss-120b-pd.yaml"),
      "--set", "routing.httpRoute.gateway.name=inference-gateway")


def render(*args: str, release: str = "gpt-oss") -> list[dict]:
    presets = tuple(a for flag, a in itertools.pairwise(args) if flag == "-p")
    values = tuple(Path(a) for flag, a in itertools.pairwise(args) if flag == "-f")
    sets = tuple(a for flag, a in itertools.pairwise(args) if flag == "--set")
    return load_manifests(Release(Inputs(presets, values, sets), release, "default",
                                  chart_dir()).render())


def by_label(stack: list[dict]) -> dict[str, dict]:
    return {component["metadata"]["label"]: component for component in stack}


def test_pd_stack_matches_the_rendered_objects() -> None:
    objects = render(*PD)
    stack = by_label(stack_components(objects))
    assert list(stack) == ["gpt-oss-prefill", "gpt-oss-decode", EPP_LABEL, "Inference Gateway"]
    for workload in model_workloads(objects):
        engine = stack[workload["metadata"]["name"]]
        container = serving_template(workload)["spec"]["containers"][0]
        flags = engine_flags(container)
        standardized = engine["standardized"]
        assert standardized["role"] == workload["metadata"]["labels"]["llm-d.ai/role"]
        assert standardized["replicas"] == workload["spec"]["replicas"]
        assert standardized["model"]["name"] == flags["served-model-name"]
        assert standardized["accelerator"]["count"] == int(
            container["resources"]["limits"]["nvidia.com/gpu"])
        assert standardized["accelerator"]["parallelism"]["tp"] == int(
            flags.get("tensor-parallel-size", 1))
        assert standardized["accelerator"]["model"] == "NVIDIA-A100-SXM4-80GB"
        assert standardized["tool_version"] == container["image"]
        assert {k: v for k, v in engine["native"]["args"].items() if k != "model"} == {
            k: v or None for k, v in flags.items()}
        assert set(engine["native"]["envars"]) == {env["name"] for env in container["env"]}
    prefill, decode = stack["gpt-oss-prefill"], stack["gpt-oss-decode"]
    assert (prefill["standardized"]["replicas"], decode["standardized"]["replicas"]) == (4, 1)
    assert decode["standardized"]["accelerator"]["parallelism"]["tp"] == 4
    assert "scheduler" in EPP_LABEL.lower()
    assert stack[EPP_LABEL]["native"]["config"]["kind"] == "EndpointPickerConfig"
    assert stack["Inference Gateway"]["native"]["config"]["name"] == "inference-gateway"


def test_stack_without_pd_has_replica_engines() -> None:
    stack = stack_components(render("-p", "cpu-sim", "-f",
                                    str(EXAMPLES / "qwen3-0.6b-cpu-sim.yaml")))
    engines = [c for c in stack if c["standardized"]["kind"] == "inference_engine"]
    assert [e["standardized"]["role"] for e in engines] == ["replica"]
    assert engines[0]["standardized"]["accelerator"] == {
        "model": "cpu", "count": 0,
        "parallelism": {"tp": 1, "dp": 1, "dp_local": 1, "ep": 1, "pp": 1, "workers": 1}}
    assert not any(c["metadata"]["label"] == "Inference Gateway" for c in stack)


def test_multinode_stack_counts_the_group() -> None:
    objects = render("-p", "nvidia-h100", "-f", str(EXAMPLES / "llama-3.1-405b-multinode.yaml"))
    lws = next(o for o in objects if o["kind"] == "LeaderWorkerSet")
    size = lws["spec"]["leaderWorkerTemplate"]["size"]
    engine = stack_components(objects)[0]["standardized"]
    assert engine["accelerator"]["parallelism"] | {"workers": size} == \
        engine["accelerator"]["parallelism"]
    assert engine["accelerator"]["parallelism"]["pp"] == 2
    assert engine["accelerator"]["count"] == 8 * size
    assert engine["model"]["name"] == "meta-llama/Llama-3.1-405B-Instruct"


def bench_from_json(fixture: Path, out: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(bench_command, ["gpt-oss", *args, "--from-json", str(fixture),
                                                "-o", str(out)])
    return result.exit_code, result.output


def test_reports_from_real_guidellm_validate_upstream(tmp_path: Path) -> None:
    package = pytest.importorskip("llmd_benchmark_report")
    code, output = bench_from_json(CONCURRENT, tmp_path, *PD)
    assert code == 0, output
    native = json.loads(CONCURRENT.read_text())
    names = sorted(p.name for p in tmp_path.glob("benchmark_report_v0.2,_*.yaml"))
    assert names == [f"benchmark_report_v0.2,_result.json_{i}.yaml"
                     for i in range(len(native["benchmarks"]))]
    assert (tmp_path / "result.json").is_file()
    stack = stack_components(render(*PD))
    for index, name in enumerate(names):
        report = package.import_benchmark_report(str(tmp_path / name)).dump()
        assert report["version"].startswith("0.2")
        assert report["scenario"]["stack"] == json.loads(json.dumps(stack))
        load = report["scenario"]["load"]["standardized"]
        assert load["tool"] == "guidellm"
        assert load["tool_version"] == native["metadata"]["guidellm_version"] == "0.8.1"
        assert load["stage"] == index
        assert load["concurrency"] == [1, 4][index]
        assert report["run"]["eid"] and report["run"]["description"] == "mst bench gpt-oss"
        requests = report["results"]["request_performance"]["aggregate"]["requests"]
        totals = native["benchmarks"][index]["metrics"]["request_totals"]
        assert requests["total"] == totals["total"]


def test_without_release_inputs_reports_have_no_stack(tmp_path: Path) -> None:
    package = pytest.importorskip("llmd_benchmark_report")
    code, output = bench_from_json(CONCURRENT, tmp_path)
    assert code == 0, output
    assert "no scenario.stack" in output  # no inputs: nothing describes the release
    for path in tmp_path.glob("benchmark_report_v0.2,_result.json_*.yaml"):
        assert "stack" not in package.import_benchmark_report(str(path)).dump()["scenario"]


def test_no_llmd_reports_writes_only_native(tmp_path: Path) -> None:
    code, output = bench_from_json(CONCURRENT, tmp_path, "--no-llmd-reports")
    assert code == 0, output
    assert not list(tmp_path.glob("benchmark_report*"))
    assert (tmp_path / "result.json").is_file()


def test_missing_report_package_is_one_clear_line(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llmd_benchmark_report", None)  # import fails
    code, output = bench_from_json(CONCURRENT, tmp_path / "out", *PD)
    assert code == 2
    lines = output.strip().splitlines()
    assert len(lines) == 1 and "llmd-benchmark-report" in lines[0]
    assert "--no-llmd-reports" in lines[0] and "Traceback" not in output
    assert not (tmp_path / "out").exists()  # nothing half-written


@pytest.mark.slow
def test_real_guidellm_against_its_mock_server(tmp_path: Path) -> None:
    """guidellm runs mst's scenario against its mock server; mst writes reports the
    upstream package validates, the stack matching the rendered release."""
    package = pytest.importorskip("llmd_benchmark_report")
    guidellm = guidellm_bin()
    if guidellm is None:
        reason = "guidellm not installed: `make guidellm` (or set MST_GUIDELLM)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must run this test")  # `make test` installs it
        pytest.skip(reason)
    result = tmp_path / "guidellm.json"
    result.write_text(json.dumps(run_guidellm(guidellm, tmp_path)))
    code, output = bench_from_json(result, tmp_path / "report", *PD)
    assert code == 0, output
    reports = sorted((tmp_path / "report").glob("benchmark_report_v0.2,_result.json_*.yaml"))
    assert len(reports) == 2
    stack = json.loads(json.dumps(stack_components(render(*PD))))
    for path in reports:
        report = package.import_benchmark_report(str(path)).dump()
        assert report["scenario"]["stack"] == stack
        aggregate = report["results"]["request_performance"]["aggregate"]
        assert aggregate["requests"]["total"] > 0
        assert aggregate["latency"]["time_to_first_token"]["mean"] > 0


def standup_parameters(*args: str) -> dict:
    objects = render(*args, "--set", "llmdBenchmark.standupParameters.enabled=true")
    config_map = next(o for o in objects if o["kind"] == "ConfigMap"
                      and o["metadata"]["name"] == "llm-d-benchmark-standup-parameters")
    problems = list(validate_manifests([config_map], KubernetesSchemas("1.35")))
    assert not problems, problems
    return config_map


@pytest.mark.parametrize("args", [PD, ("-p", "nvidia-h100", "-f",
                                        str(EXAMPLES / "llama-3.1-405b-multinode.yaml"))],
                         ids=["pd", "multinode"])
def test_standup_parameters_describe_the_stack_to_llm_d_benchmark(args: tuple[str, ...]) -> None:
    """The upstream converter reads the ConfigMap (its own key mapping and stack builder for
    llm-d-benchmark's modelservice deploy method) into the stack mst describes itself."""
    pytest.importorskip("llmd_benchmark_report")
    from llmd_benchmark_report.native_to_br0_2 import (
        _ev_dict_from_params,
        _populate_disaggregate_stack,
    )
    from llmd_benchmark_report.schema_v0_2 import Component

    data = standup_parameters(*args)["data"]
    assert all(isinstance(value, str) for value in data.values())
    upstream = _populate_disaggregate_stack(_ev_dict_from_params(data))["scenario"]["stack"]
    engines = [Component(**c).standardized for c in upstream
               if c["standardized"]["kind"] == "inference_engine"]
    ours = [c["standardized"] for c in stack_components(render(*args))
            if c["standardized"]["kind"] == "inference_engine"]
    assert len(engines) == len(ours)
    for theirs, mine in zip(engines, ours, strict=True):
        assert theirs.role in (mine["role"], "decode")  # upstream says decode for `replica`
        assert theirs.replicas == mine["replicas"]
        assert theirs.model.name == mine["model"]["name"]
        assert theirs.accelerator.model == mine["accelerator"]["model"]
        parallelism = mine["accelerator"]["parallelism"]
        assert (theirs.accelerator.parallelism.tp, theirs.accelerator.parallelism.dp,
                theirs.accelerator.parallelism.dp_local,
                theirs.accelerator.parallelism.workers) == (
            parallelism["tp"], parallelism["dp"], parallelism["dp_local"],
            parallelism["workers"])
    assert data["namespace"] == "default" and data["release"] == "gpt-oss"


def test_sweep_variants_get_reports_with_their_own_stack(tmp_path: Path) -> None:
    """Each variant's result becomes llm-d reports in its own folder (cross-treatment
    analysis reads one folder per treatment), one experiment id over the sweep."""
    package = pytest.importorskip("llmd_benchmark_report")
    from modelservice_tool.sweep.cluster import ClusterEvaluator
    from modelservice_tool.sweep.space import SearchSpace
    from modelservice_tool.sweep.variants import Planner, variant_of

    base = Release(Inputs(("pd-a100",), (EXAMPLES / "gpt-oss-120b-pd.yaml",), ()), "gpt-oss",
                   "default", chart_dir())
    planner = Planner(base)
    space = SearchSpace.parse(["prefill.replicas=2,3"])
    evaluator = ClusterEvaluator(base, LoadSettings(get_profile("chat")), tmp_path,
                                 lambda line: None, llmd_experiment="mst-sweep-test")
    doc = json.loads(CONCURRENT.read_text())
    eids = set()
    for point, replicas in zip(space.points(), (2, 3), strict=True):
        rendered = planner.render(variant_of(space, point))
        artifact = tmp_path / f"{rendered.variant.id}.json"
        artifact.write_text(json.dumps(doc))
        evaluator._llmd_reports(rendered, artifact, doc)
        paths = sorted((tmp_path / rendered.variant.id).glob("benchmark_report_v0.2,_*.yaml"))
        assert [p.name for p in paths] == [f"benchmark_report_v0.2,_{artifact.name}_{i}.yaml"
                                           for i in range(2)]
        for path in paths:
            report = package.import_benchmark_report(str(path)).dump()
            prefill = next(c for c in report["scenario"]["stack"]
                           if c["standardized"].get("role") == "prefill")
            assert prefill["standardized"]["replicas"] == replicas
            eids.add(report["run"]["eid"])
    assert len(eids) == 1


def test_wide_ep_stack_records_expert_and_data_parallelism() -> None:
    objects = render("-p", "nvidia-h100", "-f", str(EXAMPLES / "deepseek-v3-wide-ep.yaml"))
    lws = next(o for o in objects if o["kind"] == "LeaderWorkerSet")
    flags = engine_flags(lws["spec"]["leaderWorkerTemplate"]["leaderTemplate"]["spec"]
                         ["containers"][0])
    engine = stack_components(objects)[0]["standardized"]
    data, local = int(flags["data-parallel-size"]), int(flags["data-parallel-size-local"])
    assert "enable-expert-parallel" in flags
    assert engine["accelerator"]["parallelism"] == {
        "tp": 1, "dp": data, "dp_local": local, "ep": data, "pp": 1,
        "workers": lws["spec"]["leaderWorkerTemplate"]["size"]}
    assert engine["accelerator"]["count"] == local * lws["spec"]["leaderWorkerTemplate"]["size"]
