"""llm-d-benchmark scenario keys -> values keys, and experiment files in `mst sweep`:
the table against the values schema and the docs, setup and workload treatments read into
variants and load points, unmapped keys as clear errors, and a written file read back."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from modelservice_tool.bench.profiles import get_profile
from modelservice_tool.commands.sweep import sweep_command
from modelservice_tool.errors import UserError
from modelservice_tool.llmd_scenario import MAPPINGS, markdown_table, translate
from modelservice_tool.schema_check import unknown_key
from modelservice_tool.sweep.experiment import (
    TreatmentSpace,
    load_profile,
    read_experiment,
    write_experiment,
)
from support import CHART, EXAMPLES, REPO

DOC = REPO / "docs" / "llm-d-benchmark.md"
PD = ("-p", "pd-a100", "-f", str(EXAMPLES / "gpt-oss-120b-pd.yaml"), "--release", "gpt-oss")
EXPERIMENT = {
    "experiment": {"name": "pd-small", "harness": "guidellm"},
    "setup": {
        "constants": {"model.maxModelLen": 16384},
        "treatments": [
            {"name": "d1xTP4-p4xTP1", "decode.replicas": 1, "decode.parallelism.tensor": 4,
             "prefill.replicas": 4, "prefill.parallelism.tensor": 1},
            {"name": "d2xTP2-p2xTP2", "decode.replicas": 2, "decode.parallelism.tensor": 2,
             "prefill.replicas": 2, "prefill.parallelism.tensor": 2,
             "decode.extraEnvVars": [{"name": "VLLM_LOGGING_LEVEL", "value": "DEBUG"}]},
        ],
    },
    "treatments": [{"name": "conc1", "spec.profile.streams": 1},
                   {"name": "conc8", "spec.profile.streams": 8,
                    "spec.data.0.prompt_tokens": 128}],
}


def write(tmp_path: Path, doc: dict) -> Path:
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.mark.parametrize("mapping", [m for m in MAPPINGS if m.values],
                         ids=lambda m: m.scenario)
def test_every_mapped_values_key_is_in_the_schema(mapping) -> None:
    for key in mapping.values:
        assert unknown_key(CHART / "values.schema.json", key) is None, key


def test_the_docs_show_the_table() -> None:
    text = DOC.read_text()
    assert "\n".join(markdown_table()) in text
    assert "[docs/llm-d-benchmark.md](docs/llm-d-benchmark.md)" in \
        (REPO / "README.md").read_text()


def test_unmapped_keys_are_named_with_the_reason() -> None:
    with pytest.raises(UserError) as error:
        translate({"decode.replicas": 2, "standalone.enabled": True, "decode.foo": 1}, "t[0]")
    lines = str(error.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("t[0]: standalone.enabled has no ModelService values key: ")
    assert lines[1].startswith("t[0]: decode.foo has no ModelService values key in the mapping")


def test_setup_and_workload_treatments_are_read(tmp_path: Path) -> None:
    doc = dict(EXPERIMENT, treatments=[{"name": "c1", "spec.profile.streams": 1},
                                       {"name": "c8", "max-concurrency": 8}])
    experiment = read_experiment(write(tmp_path, doc))
    assert [t.name for t in experiment.setup] == ["d1xTP4-p4xTP1", "d2xTP2-p2xTP2"]
    space = TreatmentSpace(experiment.setup)
    assert space.size == 2 and space.dimensions[0].values == ("d1xTP4-p4xTP1", "d2xTP2-p2xTP2")
    assert space.set_items((1,)) == (
        "engine.args.max-model-len=16384", "decode.replicas=2",
        "decode.parallelism.tensor=2", "prefill.replicas=2", "prefill.parallelism.tensor=2",
        "decode.engine.env.VLLM_LOGGING_LEVEL.value=DEBUG")
    profile = load_profile(get_profile("chat"), experiment.load)
    assert (profile.mode, profile.concurrency) == ("concurrency", (1, 8))


def test_workload_treatments_mst_cannot_run_are_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="vary prompt_tokens"):
        read_experiment(write(tmp_path, EXPERIMENT))
    bad = dict(EXPERIMENT, treatments=[{"name": "x", "load.stages.0.rate": 1}])
    with pytest.raises(UserError, match=r"treatments\[0\]: load.stages.0.rate is not a load"):
        read_experiment(write(tmp_path, bad))


def test_sweep_plan_from_an_experiment_and_back(tmp_path: Path) -> None:
    doc = dict(EXPERIMENT, treatments=EXPERIMENT["treatments"][:1])
    setup = doc["setup"]["treatments"]
    doc["setup"] = {"constants": {"model.maxModelLen": 16384}, "treatments": [setup[0]]}
    out = tmp_path / "written.yaml"
    result = CliRunner().invoke(sweep_command, [*PD, "--experiment", str(write(tmp_path, doc)),
                                                "--plan-only", "--no-diff",
                                                "--write-experiment", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 to deploy" in result.output
    written = yaml.safe_load(out.read_text())
    treatment = written["setup"]["treatments"][0]
    assert {k: v for k, v in treatment.items() if k != "name"} == {
        "model.maxModelLen": 16384, **{k: v for k, v in setup[0].items() if k != "name"}}
    assert written["treatments"] == [{"name": "conc1", "spec.profile.streams": 1,
                                      "spec.data.0.prompt_tokens": 512,
                                      "spec.data.0.output_tokens": 256}]
    again = read_experiment(out)
    assert again.setup[0].values == read_experiment(write(tmp_path, doc)).setup[0].values


def test_sweep_rejects_an_unmapped_treatment_cleanly(tmp_path: Path) -> None:
    doc = {"setup": {"treatments": [{"name": "sa", "standalone.enabled": True}]}}
    result = CliRunner().invoke(sweep_command, [*PD, "--experiment", str(write(tmp_path, doc)),
                                                "--plan-only"])
    assert result.exit_code == 2
    assert "setup.treatments[0] (sa): standalone.enabled has no ModelService values key" in \
        result.output
    assert "Traceback" not in result.output


def test_write_experiment_needs_plan_only_and_mapped_keys(tmp_path: Path) -> None:
    result = CliRunner().invoke(sweep_command, [*PD, "-P", "decode.replicas=1,2",
                                                "--write-experiment", str(tmp_path / "x")])
    assert result.exit_code == 2 and "add --plan-only" in result.output
    with pytest.raises(UserError, match=r"routing\.epp\.plugins\.x has no llm-d-benchmark"):
        write_experiment(tmp_path / "y.yaml", "n", [("v", {"routing.epp.plugins.x": 1})],
                         get_profile("smoke"))
