"""Run real guidellm against its own mock server on 127.0.0.1 and keep the trimmed result.

Used by tests/test_bench_llmd.py (the end-to-end test) and to capture the committed
fixture tests/fixtures/bench/guidellm-0.8.1-mock-concurrent.json:

    make guidellm   # guidellm 0.8.1 in .tools/guidellm (CPU torch first; ~1.5 GB)
    .venv/bin/python tests/guidellm_mock.py tests/fixtures/bench/guidellm-0.8.1-mock-concurrent.json

The load is `mst bench`'s own scenario (modelservice_tool/bench/profiles.py) for the
`smoke` profile at 1 and 4 concurrent streams, 2 s and at most 40 requests each. The
tokenizer is a tiny byte-level BPE trained on the spot (no Hugging Face hub access here);
prompt and output lengths are counted in its tokens.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from modelservice_tool.bench.profiles import get_profile, scenario  # noqa: E402
from modelservice_tool.bench.results import trim_result  # noqa: E402

MODEL = "Qwen/Qwen3-0.6B"
GUIDELLM_VENV = REPO / ".tools" / "guidellm"

_TOKENIZER = """
import sys
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
text = ["the quick brown fox jumps over the lazy dog", "prefill decode tokens latency"]
tok.train_from_iterator(text * 50, trainers.BpeTrainer(
    vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="the").save_pretrained(sys.argv[1])
"""


def guidellm_bin() -> Path | None:
    """guidellm from $MST_GUIDELLM or `make guidellm`'s .tools/guidellm, if installed."""
    candidate = Path(os.environ.get("MST_GUIDELLM", GUIDELLM_VENV / "bin" / "guidellm"))
    return candidate if candidate.is_file() else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, server: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"guidellm mock-server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"guidellm mock-server did not answer {url}/health in {seconds} s")


class GuidellmStalled(RuntimeError):
    """`guidellm run` failed or made no progress in time; the message holds both logs."""


def _tail(path: Path, lines: int = 60) -> str:
    text = path.read_text(errors="replace") if path.exists() else "(no output)"
    return f"--- {path.name} (last {lines} lines) ---\n" + "\n".join(text.splitlines()[-lines:])


def _environment(workdir: Path) -> dict[str, str]:
    """guidellm's environment: offline, its own caches (no lock shared with other tests)."""
    cache = workdir / "cache"
    return {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(cache / "huggingface"),
            "XDG_CACHE_HOME": str(cache), "GUIDELLM__LOGGING__CONSOLE_LOG_LEVEL": "INFO"}


@contextlib.contextmanager
def mock_server(guidellm: Path, workdir: Path) -> Iterator[str]:
    """guidellm's mock server on a free loopback port (log in workdir); its base URL."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with (workdir / "mock-server.log").open("wb") as server_log:
        server = subprocess.Popen(
            [str(guidellm), "mock-server", "--host", "127.0.0.1", "--port", str(port),
             "--model", MODEL, "--ttft-ms", "20", "--ttft-ms-std", "5", "--itl-ms", "2",
             "--itl-ms-std", "0.5", "--max-concurrent-requests", "4"],
            stdout=server_log, stderr=subprocess.STDOUT, env=_environment(workdir))
        try:
            _wait_healthy(url, server)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)


def make_tokenizer(guidellm: Path, folder: Path) -> Path:
    """The tiny tokenizer, trained with guidellm's venv, saved in `folder`."""
    python = guidellm.parent / "python"
    subprocess.run([str(python), "-c", _TOKENIZER, str(folder)], check=True,
                   capture_output=True, env=_environment(folder.parent))
    return folder


def _attempt(guidellm: Path, workdir: Path, timeout: float) -> dict:
    """One mock server and one `guidellm run`; the trimmed result."""
    env = _environment(workdir)
    with mock_server(guidellm, workdir) as url:
        profile = get_profile("smoke", concurrency=(1, 4), seconds=2, max_requests=40,
                              output_tokens=16)
        output = workdir / "benchmarks.json"
        config = scenario(profile, target=url, model=MODEL,
                          tokenizer=str(workdir / "tokenizer"), output_path=str(output))
        (workdir / "scenario.json").write_text(json.dumps(config))
        log = workdir / "guidellm.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(guidellm), "run", "--scenario", str(workdir / "scenario.json"),
                 "--disable-progress"], stdout=out, stderr=subprocess.STDOUT, env=env)
            try:
                code: int | None = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                code = None
    if code != 0:
        what = f"made no progress in {timeout:.0f} s" if code is None else f"exited with {code}"
        raise GuidellmStalled(f"guidellm run {what}\n{_tail(log)}\n"
                              f"{_tail(workdir / 'mock-server.log')}")
    return trim_result(json.loads(output.read_text()))


def run(guidellm: Path, workdir: Path, *, timeout: float = 150, attempts: int = 2) -> dict:
    """The trimmed guidellm result of the tiny load against a fresh mock server.

    The load takes about 30 s on 2 busy cores. A run that stalls (seen once in CI, with
    no request sent in 300 s while the rest of the suite ran) is retried once on a fresh
    server; the stalled attempt's logs go to stderr, and a second stall fails with both.
    """
    tokenizer = make_tokenizer(guidellm, workdir / "tokenizer")
    failures: list[str] = []
    for attempt in range(1, attempts + 1):
        folder = workdir / f"attempt-{attempt}"
        folder.mkdir()
        (folder / "tokenizer").symlink_to(tokenizer)
        try:
            return _attempt(guidellm, folder, timeout)
        except GuidellmStalled as stalled:
            failures.append(f"attempt {attempt}: {stalled}")
            print(f"guidellm attempt {attempt} of {attempts} failed:\n{stalled}", file=sys.stderr)
    raise GuidellmStalled("\n\n".join(failures))


def main(target: str) -> None:
    guidellm = guidellm_bin()
    if guidellm is None:
        sys.exit("guidellm not found: run `make guidellm` or set MST_GUIDELLM")
    with tempfile.TemporaryDirectory() as folder:
        doc = run(guidellm, Path(folder))
    Path(target).write_text(json.dumps(doc) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
