"""The engine container of a role -> `<role>.engine`: image, start mode, command and the
vLLM flags, with the flags the chart manages turned into the values that drive them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import UserError
from ..sources import KeyPath, format_path
from . import vllm_args
from .context import Context, RoleFacts
from .lora_args import LoraArgs, find_lora
from .templates import escape

MODES = {"vllmServe": "vllmServe", "imageDefault": "imageDefault", "custom": "custom"}
_IMAGE = re.compile(r"^(?P<repo>[^@\s]+?)(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
                    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$")
PARALLELISM = "<role>.parallelism."  # the chart's managed flags set these keys instead


@dataclass
class EngineResult:
    """A role's engine block plus what the flags said about parallelism and KV transfer."""

    engine: dict[str, Any] = field(default_factory=dict)
    parallelism: dict[str, Any] = field(default_factory=dict)
    kv_config: dict[str, Any] | None = None
    revision: str | None = None
    text: str = ""  # command and args joined, to look for environment variables used
    sources: dict[str, KeyPath] = field(default_factory=dict)  # engine.args key -> input
    lora: LoraArgs | None = None  # LoRA flags, held back for the shared `lora` block
    kv_events: dict[str, Any] | None = None  # --kv-events-config, for the kv_events step


def split_image(reference: str) -> dict[str, str] | None:
    """{repository, tag} or {repository, digest} of an image reference, None if invalid."""
    match = _IMAGE.match(reference)
    if not match or "/" in (match["tag"] or ""):
        return None
    if match["digest"]:
        return {"repository": match["repo"], "digest": match["digest"]}
    return {"repository": match["repo"], "tag": match["tag"] or "latest"}


def _image(ctx: Context, path: KeyPath, container: dict[str, Any], role: str,
           out: EngineResult) -> None:
    reference = ctx.text((*path, "image"), str(container.get("image", "")))
    image = split_image(reference)
    if image is None:
        raise UserError(f"{ctx.source.locations.get((*path, 'image'), ctx.source.name)}: "
                        f"{format_path((*path, 'image'))}: {reference!r} is not an image "
                        "reference the llm-d modelservice chart could run")
    out.engine["image"] = image
    note = "no tag given: `latest` implied; pin a tag" if ":" not in reference.split("/")[-1] \
        and "@" not in reference else ""
    ctx.report.mapped((*path, "image"), (role, "engine", "image"), note)
    policy = container.get("imagePullPolicy")
    if policy:
        out.engine["image"]["pullPolicy"] = policy
        ctx.report.mapped((*path, "imagePullPolicy"), (role, "engine", "image", "pullPolicy"))
    elif "imagePullPolicy" in container:
        ctx.report.skipped((*path, "imagePullPolicy"), "empty: the default policy")


def _mode(ctx: Context, path: KeyPath, container: dict[str, Any], role: str) -> str:
    given = container.get("modelCommand")
    mode = MODES.get(str(given), "custom") if given else "custom"
    if given and str(given) not in MODES:
        raise UserError(f"{ctx.source.locations.get((*path, 'modelCommand'), ctx.source.name)}"
                        f": modelCommand {given!r} is not vllmServe, imageDefault or custom")
    if mode == "custom" and not container.get("command"):
        where = ctx.source.locations.get(path, ctx.source.name)
        raise UserError(f"{where}: {format_path(path)}: modelCommand is custom (the default) "
                        "but there is no command; the llm-d modelservice chart cannot render "
                        "this either: set modelCommand or command")
    if given:
        ctx.report.mapped((*path, "modelCommand"), (role, "engine", "mode"))
    else:
        ctx.report.defaulted((role, "engine", "mode"), "custom (no modelCommand: the old "
                             "default)", path)
    return mode


def _managed(ctx: Context, where: KeyPath, flag: str, value: Any, facts: RoleFacts,
             out: EngineResult) -> bool:
    """Handle a flag the chart sets itself; False when `flag` is not one of them."""
    role = facts.role
    use = ctx.support.facts.managed_flags["always"].get(flag, "")
    key = use[len(PARALLELISM):] if use.startswith(PARALLELISM) else ""
    if key == "expert":  # a switch: its presence turned expert parallelism on
        out.parallelism["expert"] = True
        ctx.report.mapped(where, (role, "parallelism", "expert"))
    elif (key or flag == "port") and not isinstance(value, int):
        ctx.report.unmapped(where, f"--{flag} {value!r} is not a number")
    elif key:
        out.parallelism[key] = value
        ctx.report.mapped(where, (role, "parallelism", key),
                          "vLLM used this flag (given after the chart's)")
    elif flag == "model":
        same = str(value) == facts.model_arg
        (ctx.report.skipped if same else ctx.report.unmapped)(
            where, "the chart passes the model from model.uri" + (
                "" if same else f" ({facts.model_arg}); point model.uri at {value}"))
    elif flag == "port":
        if value == facts.vllm_port:
            ctx.report.skipped(where, "the chart sets --port itself")
        else:
            ctx.report.unmapped(where, f"vLLM listened on {value} instead of "
                                f"{facts.vllm_port}; set engine.port (the Service port)")
    elif flag == "served-model-name":
        same = str(value) == facts.served_name
        (ctx.report.skipped if same else ctx.report.unmapped)(
            where, "the chart passes model.name" + ("" if same else f"; set model.name to "
                                                   f"{value} if clients send that name"))
    elif flag == "revision":
        out.revision = str(value)
        ctx.report.mapped(where, ("model", "revision"))
    elif flag == "kv-transfer-config" and facts.kv_managed:
        if isinstance(value, dict):
            out.kv_config = value
            out.sources[flag] = where
            ctx.report.mapped(where, ("routing", "kvTransfer"), "the chart renders the flag for "
                              "prefill/decode from these values")
        else:
            ctx.report.unmapped(where, "not a JSON object: set routing.kvTransfer by hand")
    elif flag == "kv-transfer-config" and isinstance(value, dict):
        out.kv_config = value  # an offloading connector, or kept raw: the kv_offload step
        out.sources[flag] = where
    elif flag == "kv-events-config" and isinstance(value, dict):
        out.kv_events = value  # precise prefix-cache values, or kept raw: the kv_events step
        out.sources[flag] = where
    else:
        return False
    return True


def _flags(ctx: Context, path: KeyPath, args: list[Any], facts: RoleFacts,
           out: EngineResult) -> None:
    lora = find_lora([str(arg) for arg in args], (*path, "args"))
    if lora.modules or lora.unreadable:
        out.lora = lora  # reported by the `lora` step, which decides where they go
    parsed = vllm_args.parse([str(arg) for i, arg in enumerate(args) if i not in lora.indexes])
    positions = _positions(args)
    for index in range(len(args)):
        if index not in positions.values() and index not in lora.indexes:
            ctx.report.cover((*path, "args", index))  # a flag's value token, or a repeat
    for flag, raw in parsed.raw.items():
        if len(raw) > 1 and flag in parsed.flags:
            ctx.report.cover((*path, "args", positions[raw[0]] + 1))
    engine_args: dict[str, Any] = {}
    for flag, value in parsed.flags.items():
        where = (*path, "args", positions[parsed.raw[flag][0]])
        if _managed(ctx, where, flag, value, facts, out):
            continue
        engine_args[flag] = escape(value) if isinstance(value, str) else value
        out.sources[flag] = where
        ctx.report.mapped(where, (facts.role, "engine", "args", flag))
    if engine_args:
        out.engine["args"] = engine_args
    if parsed.extra:
        out.engine["extraArgs"] = [escape(token) for token in parsed.extra]
        for token in dict.fromkeys(parsed.extra):
            where = (*path, "args", positions[token])
            if token in parsed.positionals:
                ctx.report.unmapped(where, "not a flag: kept as a raw argument "
                                    "(engine.extraArgs) after the chart's",
                                    (facts.role, "engine", "extraArgs"))
            elif token.startswith("-"):
                ctx.report.mapped(where, (facts.role, "engine", "extraArgs"), "a flag given "
                                  "more than once stays a raw argument, in order")


def _positions(args: list[Any]) -> dict[str, int]:
    """Index of the first occurrence of each token (for locations)."""
    positions: dict[str, int] = {}
    for index, arg in enumerate(args):
        positions.setdefault(str(arg), index)
    return positions


def convert_engine(ctx: Context, path: KeyPath, container: dict[str, Any],
                   facts: RoleFacts) -> EngineResult:
    """The engine block of the container at `path` (a role's engine container)."""
    out = EngineResult()
    role = facts.role
    _image(ctx, path, container, role, out)
    mode = _mode(ctx, path, container, role)
    out.engine["mode"] = mode
    args = list(container.get("args") or [])
    command = list(container.get("command") or [])
    out.text = " ".join(str(part) for part in (*command, *args))
    if mode == "custom":
        out.engine["command"] = [escape(str(part)) for part in command]
        ctx.report.mapped((*path, "command"), (role, "engine", "command"))
        if args:
            out.engine["extraArgs"] = [escape(str(arg)) for arg in args]
            ctx.report.mapped((*path, "args"), (role, "engine", "extraArgs"), "custom mode: "
                              "passed as given, nothing added")
        return out
    if command:
        ctx.report.skipped((*path, "command"), f"the old chart ignored it in {mode} mode")
    elif "command" in container:
        ctx.report.skipped((*path, "command"), "empty")
    if args:
        _flags(ctx, path, args, facts, out)
    elif "args" in container:
        ctx.report.skipped((*path, "args"), "empty")
    return out
