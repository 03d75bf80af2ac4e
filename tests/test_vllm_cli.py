"""Every engine command line the chart renders, judged by vLLM's real `serve` parser.

The vLLM pinned in the Makefile (`VLLM_VERSION`, the vLLM of the default engine image) is
installed without its GPU stack in .tools/vllm (`make vllm`). scripts/vllm_cli_judge.py,
run with that venv's python, puts each command line through `make_arg_parser` +
`parse_args`, `validate_parsed_serve_args` and `AsyncEngineArgs.from_cli_args`, many lines
per process because importing vLLM takes ~20 s.

A command line is what the container would run: Kubernetes `$(VAR)` references expanded
against the container's env (plus the env LeaderWorkerSet injects), and for `sh -c` launch
scripts the `vllm serve` line expanded and split by a real /bin/sh. The inference simulator
(cpu-sim preset) is not vLLM and has no `vllm serve` line; Ray workers run `ray start`:
both are listed as not judged, with the reason. The VLLM_* variables the engines set are
checked against the ones that vLLM reads (vllm/envs.py).

Without the venv the tests skip, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from test_fuzz import MODELS, case_strategy, render_case, schema

from modelservice_tool.checks import model_workloads, pod_templates
from support import CHART, REPO, render, run_helm_template, sample_files, samples

VLLM_VENV = REPO / ".tools" / "vllm"
JUDGE = REPO / "scripts" / "vllm_cli_judge.py"
SIMULATOR = "llm-d-inference-sim"
# Values LeaderWorkerSet injects into every pod of a group (leader: index 0).
LWS_LEADER = "10.0.0.10"
# Plausible values for env vars whose value Kubernetes fills in at run time.
VALUE_FROM = {"status.podIP": "10.0.0.11", "metadata.name": "pod-0",
              "metadata.namespace": "ns"}
KUBE_REFERENCE = re.compile(r"\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)")
FUZZ_DOCUMENTS = 48
FOCUSED_DOCUMENTS = 96
FUZZ_SEED = 20261128
# Fuzzed keys that hold raw user flags or commands: vLLM rightly rejects random flag names,
# which says nothing about the chart. Everything the chart derives a flag from stays.
USER_FLAG_KEYS = ("args", "extraArgs", "command", "mode")


@cache
def pinned_version() -> str:
    match = re.search(r"^VLLM_VERSION\s*:=\s*(\S+)", (REPO / "Makefile").read_text(), re.M)
    assert match, "Makefile has no VLLM_VERSION"
    return match[1]


def vllm_python() -> Path:
    """The vLLM venv's python ($MST_VLLM_PYTHON or .tools/vllm); skip, or fail in CI."""
    override = os.environ.get("MST_VLLM_PYTHON")
    python = Path(override) if override else VLLM_VENV / "bin" / "python"
    installed = override or (VLLM_VENV / f".installed-{pinned_version()}").is_file()
    if python.is_file() and installed:
        return python
    reason = f"vLLM {pinned_version()}'s serve parser is not installed ({python}): `make vllm`"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must run this test")
    pytest.skip(reason)


@dataclass(frozen=True)
class Line:
    """One container's engine command line: `argv` follows `vllm serve`, or why not judged."""

    where: str
    argv: tuple[str, ...] | None
    skipped: str = ""


def judge(lines: list[tuple[str, list[str]]]) -> dict[str, dict[str, Any]]:
    """Verdicts of vLLM's parser for (id, argv) pairs, in one process."""
    payload = json.dumps([{"id": key, "argv": argv} for key, argv in lines])
    result = subprocess.run([str(vllm_python()), str(JUDGE)], input=payload, text=True,
                            capture_output=True, check=False, timeout=600)
    assert result.returncode == 0, f"the judge failed:\n{result.stderr[-3000:]}"
    answer = json.loads(result.stdout)
    assert answer["vllm"] == pinned_version(), (
        f"{VLLM_VENV} has vLLM {answer['vllm']}, the Makefile pins {pinned_version()}: "
        "run `make vllm`")
    assert answer["platform"] == "CpuPlatform"
    return {"meta": answer, **{verdict["id"]: verdict for verdict in answer["verdicts"]}}


# ----------------------------------------------------------------- command line extraction

def kube_expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' expansion of command/args: `$(VAR)` from env, `$$` -> `$`, unknown
    references left as they are."""
    def replace(match: re.Match[str]) -> str:
        if match[0] == "$$":
            return "$"
        return env.get(match[1], match[0])
    return KUBE_REFERENCE.sub(replace, text)


def container_env(container: dict[str, Any], lws_index: int | None) -> dict[str, str]:
    """The env a container runs with: its own entries (valueFrom: a plausible value) and,
    in a LeaderWorkerSet, the variables LWS injects."""
    env: dict[str, str] = {}
    if lws_index is not None:
        env.update(LWS_LEADER_ADDRESS=LWS_LEADER, LWS_GROUP_SIZE="2",
                   LWS_WORKER_INDEX=str(lws_index), LWS_NAME="lws")
    for entry in container.get("env", []):
        if "value" in entry:
            env[entry["name"]] = kube_expand(str(entry["value"]), env)
        else:
            field = entry.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath", "")
            env[entry["name"]] = VALUE_FROM.get(field, "from-secret")
    return env


# A launch-script line that only sets a variable (`START=$((...))`, `export X=...`): run
# before a `vllm serve` line is expanded, as the pod's shell would have.
ASSIGNMENT = re.compile(r"^(export )?[A-Z_][A-Z0-9_]*=\S+$")
SERVE = re.compile(r"\bvllm serve\b")


def shell_serve_argvs(script: str, env: dict[str, str]) -> list[list[str]]:
    """The arguments after `vllm serve` of every `vllm serve` line of a launch script (one
    per data-parallel rank with httpPerRank), expanded and split by /bin/sh after the
    script's variable assignments (with no PATH: only builtins run; variables and $((...))
    expand as in the pod). A trailing `&` (a rank started in the background) is dropped."""
    lines = script.replace("\\\n", " ").splitlines()
    preamble = "\n".join(line for line in lines if ASSIGNMENT.match(line))
    argvs = []
    for serve in (line for line in lines if SERVE.search(line)):
        rest = serve[SERVE.search(serve).end():].rstrip()
        rest = rest.removesuffix("&")
        program = f'{preamble}\nset -- {rest}\nprintf "%s\\0" "$@"'
        result = subprocess.run(["/bin/sh", "-c", program],
                                env={**env, "PATH": "/nonexistent"},
                                capture_output=True, text=True, check=False, timeout=30)
        assert result.returncode == 0, f"/bin/sh could not expand {serve!r}: {result.stderr}"
        argvs.append(result.stdout.split("\0")[:-1])
    return argvs


def engine_line(where: str, container: dict[str, Any], lws_index: int | None) -> list[Line]:
    """The container's engine command lines (several when each rank is its own process:
    `where` then ends in ` rank <i>`)."""
    env = container_env(container, lws_index)
    tokens = [kube_expand(t, env) for t in (*container.get("command", []),
                                             *container.get("args", []))]
    if tokens[:2] == ["vllm", "serve"]:
        return [Line(where, tuple(tokens[2:]))]
    if len(tokens) == 3 and tokens[0].endswith("sh") and tokens[1] == "-c":
        argvs = shell_serve_argvs(tokens[2], env)
        if len(argvs) == 1:
            return [Line(where, tuple(argvs[0]))]
        if argvs:
            return [Line(f"{where} rank {i}", tuple(argv)) for i, argv in enumerate(argvs)]
        return [Line(where, None, f"launch script runs no `vllm serve`: {tokens[2][:60]!r}")]
    if SIMULATOR in container.get("image", ""):
        return [Line(where, None,
                     f"{container['image']} is the inference simulator, not vLLM")]
    return [Line(where, None, f"not a `vllm serve` command: {tokens[:3]}")]


def engine_lines(objects: list[dict[str, Any]], label: str) -> Iterator[Line]:
    """The engine command line of every pod template of every model workload (both roles;
    a LeaderWorkerSet's leader and worker)."""
    for obj in model_workloads(objects):
        templates = pod_templates(obj)
        for index, template in enumerate(templates):
            lws_index = index if obj["kind"] == "LeaderWorkerSet" else None
            part = ("/leader", "/worker")[index] if obj["kind"] == "LeaderWorkerSet" else ""
            where = f"{label} {obj['kind']}/{obj['metadata']['name']}{part}"
            yield from engine_line(where, template["spec"]["containers"][0], lws_index)


# ----------------------------------------------------------------------------------- samples

SAMPLES = {sample["name"]: sample for sample in samples()}


@cache
def sample_lines() -> dict[str, list[Line]]:
    return {name: list(engine_lines(render(*sample_files(sample), release=sample["release"]),
                                    name))
            for name, sample in SAMPLES.items()}


def _swap(old: str, new: str) -> Any:
    def change(base: list[str]) -> list[str]:
        changed = [token.replace(old, new) for token in base]
        assert changed != base, f"{old} not in the P/D decode line"
        return changed
    return change


# Command lines the real server must refuse, each a small change of the P/D decode line,
# and what vLLM's error must name.
NEGATIVE_CONTROLS = {
    "misspelled flag": (_swap("--tensor-parallel-size", "--tensor-paralel-size"),
                        "unrecognized arguments: --tensor-paralel-size=4"),
    "bad kv_role": (_swap('"kv_role":"kv_both"', '"kv_role":"kv_bogus"'),
                    "argument --kv-transfer-config"),
    "invalid choice": (lambda base: [*base, "--kv-cache-dtype=fp9"],
                       "argument --kv-cache-dtype: invalid choice: 'fp9'"),
    "bad max-lora-rank": (lambda base: [*base, "--enable-lora", "--max-lora-rank=33"],
                          "argument --max-lora-rank: invalid choice: 33"),
    # The one-process-per-node multi-port supervisor (one port per rank from --port) that
    # later vLLMs and llm-d's DP-aware guide use is not in the pinned vLLM: httpPerRank
    # starts one `vllm serve` per rank instead.
    "no multi-port supervisor": (
        lambda base: [*base, "--data-parallel-multi-port-external-lb"],
        "unrecognized arguments: --data-parallel-multi-port-external-lb"),
}


def negative_controls() -> dict[str, list[str]]:
    base = next(line.argv for line in sample_lines()["gpt-oss-120b-pd"]
                if line.argv and "decode" in line.where)
    return {name: change(list(base)) for name, (change, _) in NEGATIVE_CONTROLS.items()}


@cache
def sample_verdicts() -> dict[str, dict[str, Any]]:
    lines = [(line.where, list(line.argv)) for lines in sample_lines().values()
             for line in lines if line.argv is not None]
    lines += [(f"negative: {name}", argv) for name, argv in negative_controls().items()]
    return judge(lines)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_engine_command_lines_are_accepted(name: str) -> None:
    lines = sample_lines()[name]
    judged = [line for line in lines if line.argv is not None]
    skipped = [f"{line.where}: {line.skipped}" for line in lines if line.argv is None]
    if not judged:
        assert all(SIMULATOR in reason for reason in skipped), skipped
        pytest.skip("; ".join(skipped))
    verdicts = sample_verdicts()
    rejected = [f"{line.where}: {verdicts[line.where]['error']}\n  vllm serve "
                + " ".join(line.argv) for line in judged if not verdicts[line.where]["ok"]]
    assert not rejected, "vLLM rejects:\n" + "\n".join(rejected)


def test_multinode_samples_judge_leader_and_worker() -> None:
    """The data-parallel LWS sample's worker line is judged after shell expansion (its
    start rank is $((LWS_WORKER_INDEX * 8)) = 8); the Ray sample's worker runs no vLLM."""
    wide = {line.where: line for line in sample_lines()["deepseek-v3-wide-ep"]}
    worker = next(line for where, line in wide.items() if where.endswith("/worker"))
    assert worker.argv is not None
    assert "--data-parallel-start-rank=8" in worker.argv
    assert f"--data-parallel-address={LWS_LEADER}" in worker.argv
    ray = [line for line in sample_lines()["llama-3.1-405b-multinode"] if line.argv is None]
    assert [line.where.rsplit("/", 1)[1] for line in ray] == ["worker"]


def test_per_rank_sample_runs_one_vllm_per_rank() -> None:
    """httpPerRank: every pod of the DP-aware sample runs one `vllm serve` per local rank, on
    consecutive ports, each one global rank (the LWS worker's from its START), in vLLM's
    external load-balancing mode (a rank, no --data-parallel-size-local), every line
    accepted by the pinned vLLM."""
    lines = sample_lines()["deepseek-v3-dp-aware"]
    verdicts = sample_verdicts()
    groups: dict[str, list[Line]] = {}
    for line in lines:
        groups.setdefault(line.where.rsplit(" rank ", 1)[0], []).append(line)
    expected = {"LeaderWorkerSet/deepseek-dp-decode/leader": (8200, 0),
                "LeaderWorkerSet/deepseek-dp-decode/worker": (8200, 8),
                "Deployment/deepseek-dp-prefill": (8000, 0)}
    assert sorted(where.split(" ", 1)[1] for where in groups) == sorted(expected)
    for where, group in groups.items():
        port, start = expected[where.split(" ", 1)[1]]
        flags = [dict(token.removeprefix("--").partition("=")[::2]
                      for token in line.argv if token.startswith("--")) for line in group]
        assert [f["port"] for f in flags] == [str(port + i) for i in range(8)], where
        assert [f["data-parallel-rank"] for f in flags] == [str(start + i) for i in range(8)]
        assert not any("data-parallel-size-local" in f or "api-server-count" in f
                       for f in flags), where
        assert all(verdicts[line.where]["ok"] for line in group), where


@pytest.mark.parametrize("name", sorted(NEGATIVE_CONTROLS))
def test_negative_controls_are_rejected(name: str) -> None:
    verdict = sample_verdicts()[f"negative: {name}"]
    assert not verdict["ok"], f"vLLM accepted the {name} control"
    assert NEGATIVE_CONTROLS[name][1] in verdict["error"], verdict
    if name == "bad kv_role":
        assert "kv_bogus" in verdict["error"], verdict


def test_kv_transfer_extra_config_takes_only_vllm_keys(tmp_path: Path) -> None:
    """vLLM refuses a --kv-transfer-config key it does not know (its KVTransferConfig
    forbids extra fields), so the pod would crash-loop: the schema must refuse a misspelled
    routing.kvTransfer.extraConfig key at install time instead."""
    values = tmp_path / "typo.yaml"
    values.write_text(yaml.safe_dump(
        {"routing": {"kvTransfer": {"extraConfig": {"kv_bufer_device": "cuda"}}}}))
    sample = SAMPLES["gpt-oss-120b-pd"]
    result = run_helm_template((*map(str, sample_files(sample)), str(values)))
    assert result.returncode != 0, "the chart renders a --kv-transfer-config vLLM refuses"
    assert "kv_bufer_device" in result.stderr


def test_kv_transfer_extra_config_keys_match_vllm() -> None:
    """The schema's extraConfig keys are the pinned vLLM's KVTransferConfig fields, less the
    two the chart sets from `connector` and `role`."""
    fields = set(sample_verdicts()["meta"]["kv_transfer_fields"])
    kv_transfer = json.loads((CHART / "values.schema.json").read_text())[
        "properties"]["routing"]["properties"]["kvTransfer"]["properties"]
    allowed = set(kv_transfer["extraConfig"]["propertyNames"]["enum"])
    assert {"kv_connector", "kv_role"} <= fields
    assert allowed == fields - {"kv_connector", "kv_role"}


# ------------------------------------------------------------------------ engine env vars

VLLM_ENV = re.compile(r"\bVLLM_[A-Z0-9_]+\b")


def engine_vllm_env(objects: list[dict[str, Any]]) -> set[str]:
    """The VLLM_* variables the engine containers set: env entries and launch-script
    exports (vLLM ignores a VLLM_* name it does not define, so a typo goes unnoticed)."""
    names: set[str] = set()
    for obj in model_workloads(objects):
        for template in pod_templates(obj):
            container = template["spec"]["containers"][0]
            names |= {e["name"] for e in container.get("env") or []
                      if e["name"].startswith("VLLM_")}
            script = " ".join([*container.get("command", []), *container.get("args", [])])
            names |= set(re.findall(r"export (VLLM_[A-Z0-9_]+)=", script))
    return names


def test_engine_env_vars_are_ones_vllm_reads() -> None:
    """Every VLLM_* variable of every sample's engines is one the pinned vLLM reads
    (vllm/envs.py), and a misspelled one is not (negative control)."""
    known = set(sample_verdicts()["meta"]["env_vars"])
    used = {name: engine_vllm_env(render(*sample_files(sample), release=sample["release"]))
            for name, sample in SAMPLES.items()}
    assert "VLLM_NIXL_SIDE_CHANNEL_PORT" in used["gpt-oss-120b-pd"]  # P/D engines set it
    assert {name: names - known for name, names in used.items() if names - known} == {}
    assert "VLLM_NIXL_SIDE_CHANEL_PORT" not in known
    # the values schema's examples (docs/values.md, the fuzzer) name only variables vLLM reads
    examples = set(re.findall(r'"(VLLM_[A-Z0-9_]+)":', (CHART / "values.schema.json").read_text()))
    assert examples and examples <= known, examples - known


# -------------------------------------------------------------------------------------- fuzz

def strip_user_flags(values: Any) -> Any:
    """The fuzzed document without raw user flags/commands (see USER_FLAG_KEYS)."""
    if not isinstance(values, dict):
        return values
    out = {}
    for key, value in values.items():
        if key == "engine" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in USER_FLAG_KEYS}
        out[key] = strip_user_flags(value)
    return out


# The values every engine flag the chart renders comes from (None: a leaf). The schema
# fuzzer rarely sets these deep optional keys; the focused generator sets a random subset
# of them, each leaf from its schema examples/enum (integers also from a small range).
_ROLE = {"replicas": None, "engine": {"port": None},
         "parallelism": dict.fromkeys(("tensor", "pipeline", "data", "dataLocal", "expert",
                                         "httpPerRank")),
         "multiNode": dict.fromkeys(("enabled", "acceleratorsPerNode", "mode"))}
FOCUS: dict[str, Any] = {
    "model": dict.fromkeys(("name", "revision")),
    "engine": {"port": None},
    "decode": _ROLE,
    "prefill": {"enabled": None, **_ROLE},
    "lora": dict.fromkeys(("adapters", "maxLoras", "maxLoraRank")),
    "routing": {"kvTransfer": dict.fromkeys(("connector", "role", "sideChannelPort",
                                              "extraConfig")),
                "proxy": dict.fromkeys(("enabled", "enginePort", "connector"))},
}


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    """A schema node with its `allOf: [$ref]` merged in."""
    for part in node.get("allOf", []):
        name = part["$ref"].rsplit("/", 1)[1]
        node = {**_resolve(schema()["definitions"][name]), **node}
    return node


def _leaf(node: dict[str, Any]) -> st.SearchStrategy[Any]:
    picks = [v for v in [*node.get("examples", []), *node.get("enum", [])] if v is not None]
    choices = st.sampled_from(picks)
    if "integer" in node.get("type", []):
        low = node.get("minimum", 0)
        choices = choices | st.integers(low, min(low + 15, node.get("maximum", 2**31)))
    return choices


def focused(focus: dict[str, Any], node: dict[str, Any],
            extra: dict[str, list[Any]] | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with a random subset of the focus keys, or one of the node's own (coherent)
    examples, e.g. a whole multi-node parallelism; `extra` adds examples per key."""
    node = _resolve(node)
    extra = extra or {}

    def key_strategy(key: str, sub: dict[str, Any] | None) -> st.SearchStrategy[Any]:
        strategy = (_leaf(_resolve(node["properties"][key])) if sub is None
                    else focused(sub, node["properties"][key]))
        return st.one_of(strategy, st.sampled_from(extra[key])) if extra.get(key) else strategy

    built = st.fixed_dictionaries({}, optional={
        key: key_strategy(key, sub) for key, sub in focus.items()})
    examples = [example for example in node.get("examples", []) if isinstance(example, dict)]
    return st.one_of(built, st.sampled_from(examples)) if examples else built


def sample_roles() -> dict[str, list[Any]]:
    """The decode and prefill blocks of the samples (whole multi-node and P/D shapes)."""
    documents = [yaml.safe_load(path.read_text()) for path in (REPO / "examples").glob("*.yaml")
                 if path.name != "index.yaml"]
    return {role: [doc[role] for doc in documents if isinstance(doc.get(role), dict)]
            for role in ("decode", "prefill")}


def draw_cases(strategy: st.SearchStrategy[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """`count` seeded draws of a strategy."""
    cases: list[dict[str, Any]] = []

    @seed(FUZZ_SEED)
    @settings(max_examples=count, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=(Phase.generate,))
    @given(strategy)
    def draw(case: dict[str, Any]) -> None:
        cases.append(case)

    draw()
    return cases


def fuzz_cases() -> list[dict[str, Any]]:
    """Seeded documents of the values fuzzer (tests/test_fuzz.py's strategy), without raw
    user flags, then focused documents over every vLLM preset, mixing the samples' roles
    with random LoRA, KV-transfer, sidecar and model settings."""
    generic = [{**case, "values": strip_user_flags(case["values"])}
               for case in draw_cases(case_strategy(), FUZZ_DOCUMENTS)]
    presets = sorted(path.stem for path in (REPO / "presets").glob("*.yaml")
                     if SIMULATOR not in path.read_text())
    focus = st.fixed_dictionaries({
        "preset": st.sampled_from(presets), "model": st.sampled_from(sorted(MODELS)),
        "release": st.just("fz"), "values": focused(FOCUS, schema(), sample_roles())})
    return generic + draw_cases(focus, FOCUSED_DOCUMENTS)


def test_fuzzed_engine_command_lines_are_accepted(tmp_path: Path) -> None:
    vllm_python()  # skip (or fail in CI) before rendering anything
    cases = fuzz_cases()
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(render_case, cases, [tmp_path] * len(cases),
                                 range(len(cases))))
    lines: dict[str, tuple[Line, dict[str, Any]]] = {}
    for index, (case, outcome) in enumerate(zip(cases, outcomes, strict=True)):
        for line in engine_lines(outcome.objects, f"fuzz#{index}"):
            if line.argv is not None:
                lines[line.where] = (line, case)
    rendered = sum(outcome.kind == "rendered" for outcome in outcomes)
    assert rendered >= len(cases) // 4, f"only {rendered} of {len(cases)} documents rendered"
    assert len(lines) >= rendered // 2, f"only {len(lines)} vllm serve lines"
    verdicts = judge([(where, list(line.argv)) for where, (line, _) in lines.items()])
    env = {name for outcome in outcomes for name in engine_vllm_env(outcome.objects)}
    assert env <= set(verdicts["meta"]["env_vars"]), env - set(verdicts["meta"]["env_vars"])
    rejected = [
        f"{where}: {verdicts[where]['error']}\n  vllm serve {' '.join(line.argv)}\n"
        f"  preset={case['preset']} values={json.dumps(case['values'])[:1500]}"
        for where, (line, case) in lines.items() if not verdicts[where]["ok"]]
    print(f"{len(cases)} fuzzed documents, {rendered} rendered, {len(lines)} command lines")
    assert not rejected, f"vLLM rejects {len(rejected)} lines:\n" + "\n".join(rejected[:10])
