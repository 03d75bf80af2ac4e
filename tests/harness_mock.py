"""Run the vllm-benchmark and inference-perf bench Jobs' own scripts against guidellm's mock
server on 127.0.0.1 and keep what the Job would print (the collected native files).

The script is the one `mst bench --harness NAME` puts in the Job (`Harness.script`, with
`/results` and `/tmp` moved into a temporary folder); the tools are the real ones:

- vllm-benchmark: vLLM 0.17.1 from `make vllm` (.tools/vllm, or $MST_VLLM_VENV). That venv
  holds vLLM without its serving stack, and `vllm`'s CLI entry point imports modules that
  need packages it lacks (uvloop), so `vllm` on the script's PATH is a shim that builds the
  `bench serve` parser with `vllm.benchmarks.serve.add_cli_args` and calls its `main`:
  exactly what the `vllm bench serve` subcommand does (vllm/entrypoints/cli/benchmark/serve.py).
- inference-perf: 0.6.1 from PyPI in .tools/inference-perf (`make inference-perf`, Python
  >= 3.12; or $MST_INFERENCE_PERF_VENV).

The endpoint is `guidellm mock-server` and the tokenizer the tiny local one of
tests/guidellm_mock.py (saved with a tokenizer class transformers 4 and 5 both load).
Regenerate the committed fixtures (tests/fixtures/bench/<harness>-<version>-mock/) with

    make vllm guidellm inference-perf
    .venv/bin/python tests/harness_mock.py vllm-benchmark
    .venv/bin/python tests/harness_mock.py inference-perf
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from guidellm_mock import MODEL, guidellm_bin, make_tokenizer, mock_server  # noqa: E402

from modelservice_tool.bench.harnesses import HARNESSES, Target  # noqa: E402
from modelservice_tool.bench.harnesses.base import RESULTS_DIR  # noqa: E402
from modelservice_tool.bench.harnesses.inference_perf import CONFIG_PATH  # noqa: E402
from modelservice_tool.bench.profiles import get_profile  # noqa: E402
from modelservice_tool.bench.results import extract_from_logs  # noqa: E402

VENVS = {"vllm-benchmark": ("MST_VLLM_VENV", REPO / ".tools" / "vllm"),
         "inference-perf": ("MST_INFERENCE_PERF_VENV", REPO / ".tools" / "inference-perf")}
# The load of the fixtures: the smoke profile's lengths at 1 and 4 concurrent streams.
PROFILE = get_profile("smoke", concurrency=(1, 4), max_requests=20, output_tokens=16)

_VLLM_SHIM = """#!{python}
import sys
from vllm.benchmarks.serve import add_cli_args, main
from vllm.utils.argparse_utils import FlexibleArgumentParser
if sys.argv[1:3] != ["bench", "serve"]:
    sys.exit("this shim runs only `vllm bench serve`")
parser = FlexibleArgumentParser(prog="vllm bench serve")
add_cli_args(parser)
main(parser.parse_args(sys.argv[3:]))
"""


def venv(harness: str) -> Path | None:
    """The harness's venv, if installed."""
    variable, default = VENVS[harness]
    folder = Path(os.environ.get(variable, default))
    wanted = "python" if harness == "vllm-benchmark" else "inference-perf"
    return folder if (folder / "bin" / wanted).is_file() else None


def _bin_dir(harness: str, tools: Path, folder: Path) -> Path:
    """A PATH folder with the commands the Job's script calls."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    python = tools / "bin" / "python"
    for name in ("python", "python3"):  # a script, not a link: a linked venv python
        wrapper = bin_dir / name          # would not find its venv
        wrapper.write_text(f'#!/bin/sh\nexec "{python}" "$@"\n')
        wrapper.chmod(0o755)
    if harness == "vllm-benchmark":
        shim = bin_dir / "vllm"
        shim.write_text(_VLLM_SHIM.format(python=python))
        shim.chmod(0o755)
    else:
        (bin_dir / "inference-perf").symlink_to(tools / "bin" / "inference-perf")
    return bin_dir


def _portable_tokenizer(folder: Path) -> None:
    config = folder / "tokenizer_config.json"
    data = json.loads(config.read_text())
    data["tokenizer_class"] = "PreTrainedTokenizerFast"
    config.write_text(json.dumps(data))


def run(harness_name: str, guidellm: Path, tools: Path, workdir: Path,
        timeout: float = 300) -> dict:
    """What the harness's Job prints, decoded: {"files": {...}, "version": ...}."""
    harness = HARNESSES[harness_name]
    tokenizer = make_tokenizer(guidellm, workdir / "tokenizer")
    _portable_tokenizer(tokenizer)
    bin_dir = _bin_dir(harness_name, tools, workdir)
    results = workdir / "results"
    results.mkdir()
    with mock_server(guidellm, workdir) as url:
        target = Target(url, MODEL, str(tokenizer))
        script = (harness.script(PROFILE, target).replace(RESULTS_DIR, str(results))
                  .replace(CONFIG_PATH, str(workdir / "config.yaml")))
        env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "HF_HUB_OFFLINE": "1",
               "HOME": str(workdir), "HF_HOME": str(workdir / "hf"),
               "VLLM_TARGET_DEVICE": "cpu"}
        env.update({item["name"]: item["value"] for item in harness.env(PROFILE, target)})
        if "MST_CONFIG" in env:
            env["MST_CONFIG"] = env["MST_CONFIG"].replace(RESULTS_DIR, str(results))
        done = subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True,
                              text=True, timeout=timeout, check=False)
    (workdir / "job.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
        raise RuntimeError(f"the {harness_name} script exited with {done.returncode}:\n{tail}")
    return extract_from_logs(done.stdout)


def fixture(harness_name: str) -> Path:
    """The committed fixture folder of a harness."""
    harness = HARNESSES[harness_name]
    return REPO / "tests" / "fixtures" / "bench" / f"{harness.name}-{harness.version}-mock"


def main(harness_name: str, target: str | None = None) -> None:
    guidellm, tools = guidellm_bin(), venv(harness_name)
    if guidellm is None or tools is None:
        sys.exit(f"needs guidellm (make guidellm) and the {harness_name} venv (see docstring)")
    with tempfile.TemporaryDirectory() as folder:
        doc = run(harness_name, guidellm, tools, Path(folder))
    out = Path(target) if target else fixture(harness_name)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for name, content in doc["files"].items():
        text = content if isinstance(content, str) else json.dumps(content, indent=1) + "\n"
        (out / name).write_text(text)
    (out / "mst-harness.json").write_text(json.dumps(
        {"harness": harness_name, "version": doc["version"]}) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:3])
