"""The EPP's tokenizer render sidecar, judged by the real vLLM it runs.

With `routing.epp.precisePrefixCache.tokenizer` on the `vllm` backend, the EPP pod gets a
`tokenizer` container running `vllm launch render MODEL --port=N` (vLLM's GPU-less render
server; vLLM 0.17.1, the engine images' vLLM, has no `launch` command). The chart's
default image is `vllm/vllm-openai:v<VLLM_RENDER_VERSION>`; `make vllm-render` installs
that vLLM CPU-only in .tools/vllm-render, and scripts/vllm_cli_judge.py runs the command
line through `vllm launch`'s own parser, its validation and AsyncEngineArgs.from_cli_args.
The token-producer's render paths (contract data, llm-d-router v0.10.0) must be routes of
that vLLM's render server.

Without the venv the tests skip, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from modelservice_tool import upstream
from support import REPO, epp_config, find, render, sample_files, samples

VENV = REPO / ".tools" / "vllm-render"
JUDGE = REPO / "scripts" / "vllm_cli_judge.py"
SAMPLE = "qwen3-8b-precise-prefix-cache"


def pinned_version() -> str:
    match = re.search(r"^VLLM_RENDER_VERSION\s*:=\s*(\S+)", (REPO / "Makefile").read_text(),
                      re.M)
    assert match, "Makefile has no VLLM_RENDER_VERSION"
    return match[1]


@cache
def render_python() -> Path:
    """The render venv's python, installed at the pinned version; skip, or fail in CI."""
    python = VENV / "bin" / "python"
    if python.is_file() and (VENV / f".installed-{pinned_version()}").is_file():
        return python
    reason = f"vLLM {pinned_version()} (render sidecar) is not installed in {VENV}: " \
             "`make vllm-render`"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must run this test")
    pytest.skip(reason)


def judge(lines: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    """vLLM's verdict on each `vllm launch render` argv, by id (one process)."""
    payload = [{"id": key, "command": "launch render", "argv": argv}
               for key, argv in lines.items()]
    result = subprocess.run([str(render_python()), str(JUDGE)], input=json.dumps(payload),
                            text=True, capture_output=True, check=False, timeout=600)
    assert result.returncode == 0, f"the judge failed:\n{result.stderr[-3000:]}"
    answer = json.loads(result.stdout)
    assert (answer["vllm"], answer["platform"]) == (pinned_version(), "CpuPlatform")
    return {verdict["id"]: verdict for verdict in answer["verdicts"]}


@cache
def sidecar() -> tuple[dict[str, Any], dict[str, Any]]:
    """The precise-prefix-cache sample's `tokenizer` container and its EPP config."""
    sample = next(s for s in samples() if s["name"] == SAMPLE)
    objects = render(*sample_files(sample))
    pods = [d["spec"]["template"]["spec"] for d in find(objects, "Deployment")]
    containers = [c for pod in pods for c in pod["containers"] if c["name"] == "tokenizer"]
    assert len(containers) == 1, "the sample renders one render sidecar"
    return containers[0], epp_config(objects)


def test_default_render_image_is_the_judged_vllm() -> None:
    container, _ = sidecar()
    assert container["image"] == f"vllm/vllm-openai:v{pinned_version()}"
    assert container["command"] == ["vllm", "launch", "render"]


def test_render_sidecar_command_line_is_accepted_and_controls_are_rejected() -> None:
    container, _ = sidecar()
    args = list(container["args"])
    verdicts = judge({
        "sidecar": args,
        "unknown-flag": [*args, "--no-such-render-flag"],
        "bad-port": [args[0], "--port=http"],
    })
    assert verdicts["sidecar"]["ok"], verdicts["sidecar"]["error"]
    assert not verdicts["unknown-flag"]["ok"]
    assert "--no-such-render-flag" in verdicts["unknown-flag"]["error"]
    assert (verdicts["bad-port"]["ok"], verdicts["bad-port"]["stage"]) == (False, "parse_args")


def test_token_producer_calls_paths_the_render_server_serves() -> None:
    """The EPP's token-producer POSTs to `renderPaths` (contract data, llm-d-router
    v0.10.0) at its `vllm.url`; the sidecar listens there and its vLLM routes both."""
    container, config = sidecar()
    producer = next(p for p in config["plugins"] if p["type"] == "token-producer")
    port = next(p["containerPort"] for p in container["ports"] if p["name"] == "tokenizer")
    assert producer["parameters"]["vllm"]["url"] == f"http://localhost:{port}"
    assert f"--port={port}" in container["args"]
    paths = upstream.load("llm-d-router/v0.10.0/epp.yaml")["renderPaths"]
    code = ("import json\nfrom vllm.entrypoints.scale_out.render.api_router import router\n"
            "print(json.dumps([route.path for route in router.routes]))")
    result = subprocess.run([str(render_python()), "-c", code], capture_output=True,
                            text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(paths) <= set(served), f"render server routes {served}, EPP calls {paths}"
