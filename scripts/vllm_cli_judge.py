"""Judge `vllm serve` (or `vllm launch render`) command lines with vLLM's own argument
parser (run with the vLLM venv).

Usage: .tools/vllm/bin/python scripts/vllm_cli_judge.py < lines.json > verdicts.json

Input (stdin): a JSON list of {"id": str, "argv": [str, ...], "command": "serve"}, each argv
being what follows the command (model positional first, then flags); `command` is `serve`
(the default) or `launch render`, vLLM's GPU-less render server (vLLM >= 0.18), whose
parser `vllm launch` builds with its own subcommand class. Output (stdout): a JSON object
with the vLLM version, the keys --kv-transfer-config accepts (for serve lines), the
environment variables vLLM reads (`env_vars`) and one verdict per line, in input order:
{"id", "ok", "stage", "error"}.

Each line goes through what `vllm serve` does before it loads a model: the `vllm` CLI's
FlexibleArgumentParser with the `serve` subcommand built by `make_arg_parser`,
`parse_args`, the subcommand's `validate_parsed_serve_args`, the positional model taking
precedence over `--model`, and `AsyncEngineArgs.from_cli_args`. Importing vLLM is slow
(~20 s), so one process judges every line.

vLLM picks its platform lazily; on this CPU-only machine it would find none. The parser's
defaults depend on it, so the CPU platform is set before anything else imports it, the way
vLLM's own CLI does for `vllm bench` (vllm/entrypoints/cli/main.py).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import sys
from typing import Any


def _use_cpu_platform() -> str:
    from vllm import platforms
    from vllm.platforms.cpu import CpuPlatform

    platforms.current_platform = CpuPlatform()
    return type(platforms.current_platform).__name__


def _parser(commands: set[str]) -> argparse.ArgumentParser:
    """The top-level `vllm` parser with the subcommands these lines use, as the CLI builds
    them (`serve` with make_arg_parser, `launch` with vLLM's LaunchSubcommand)."""
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    parser = FlexibleArgumentParser(prog="vllm", description="vLLM CLI")
    subparsers = parser.add_subparsers(required=False, dest="subparser")
    if "serve" in commands:
        from vllm.entrypoints.openai.cli_args import make_arg_parser

        serve = subparsers.add_parser("serve", usage="vllm serve [model_tag] [options]")
        make_arg_parser(serve)
    if any(command.startswith("launch") for command in commands):
        from vllm.entrypoints.cli.launch import LaunchSubcommand

        LaunchSubcommand().subparser_init(subparsers)
    return parser


def _validate(args: argparse.Namespace) -> None:
    """The subcommand's own check of parsed arguments (both call validate_parsed_serve_args)."""
    if args.subparser == "launch":
        from vllm.entrypoints.cli.launch import LaunchSubcommand

        LaunchSubcommand().validate(args)
    else:
        from vllm.entrypoints.openai.cli_args import validate_parsed_serve_args

        validate_parsed_serve_args(args)


def _kv_transfer_fields() -> list[str]:
    """The keys --kv-transfer-config accepts (KVTransferConfig forbids any other)."""
    from vllm.config.kv_transfer import KVTransferConfig

    return [field.name for field in dataclasses.fields(KVTransferConfig) if field.init]


def _env_names() -> list[str]:
    """The environment variables vLLM reads (vllm/envs.py; a misspelled VLLM_* is ignored)."""
    import vllm.envs

    return sorted(vllm.envs.environment_variables)


def _error_text(error: BaseException, stderr: str) -> str:
    """argparse prints usage then `...: error: <why>` (and exits); others raise."""
    if not isinstance(error, SystemExit):
        return f"{type(error).__name__}: {error}"[:1000]
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if "error:" in line), 0)
    return " ".join(lines[start:])[:1000] or f"exit {error.code}"


def judge(parser: argparse.ArgumentParser, command: str, argv: list[str]) -> dict[str, Any]:
    """Run one command line through the command's pipeline up to the engine arguments
    (what `vllm serve` and `vllm launch render` both build before loading anything); the
    first stage that rejects it."""
    from vllm.engine.arg_utils import AsyncEngineArgs

    stage = "parse_args"
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured):
            args = parser.parse_args([*command.split(), *argv])
            stage = "validate_parsed_serve_args"
            _validate(args)
            if args.model_tag is not None:
                args.model = args.model_tag
            stage = "from_cli_args"
            AsyncEngineArgs.from_cli_args(args)
    except (SystemExit, Exception) as error:  # every rejection is a verdict
        return {"ok": False, "stage": stage, "error": _error_text(error, captured.getvalue())}
    return {"ok": True, "stage": "accepted", "error": ""}


def main() -> int:
    lines = json.load(sys.stdin)
    out = sys.stdout
    sys.stdout = sys.stderr  # vLLM logs to stdout; keep stdout for the JSON answer
    platform = _use_cpu_platform()
    import vllm

    commands = {line.get("command", "serve") for line in lines}
    parser = _parser(commands)
    verdicts = [{"id": line["id"], **judge(parser, line.get("command", "serve"),
                                           list(line["argv"]))} for line in lines]
    fields = _kv_transfer_fields() if "serve" in commands else []
    json.dump({"vllm": vllm.__version__, "platform": platform, "kv_transfer_fields": fields,
               "env_vars": _env_names(), "verdicts": verdicts}, out)
    out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
