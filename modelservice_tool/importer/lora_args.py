"""The LoRA flags of a vLLM argument list: `--lora-modules` (`name=path` or JSON entries,
several after one flag or the flag repeated), `--enable-lora`, `--max-loras` and
`--max-lora-rank`. The llm-d modelservice chart had no LoRA keys: its users passed these
flags, which this chart now renders itself from `lora`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..sources import KeyPath

MODULES = "lora-modules"
SIZES = {"max-loras": "maxLoras", "max-lora-rank": "maxLoraRank"}


@dataclass(frozen=True)
class LoraModule:
    """One `--lora-modules` entry and the position of its token in the argument list."""

    name: str
    path: str
    index: int
    base_model: str | None = None


@dataclass
class LoraArgs:
    """What the LoRA flags of one engine said, with the token positions they used."""

    args_path: KeyPath
    modules: list[LoraModule] = field(default_factory=list)
    enable: int | None = None  # index of a bare --enable-lora
    sizes: dict[str, tuple[int, Any]] = field(default_factory=dict)  # flag -> (index, value)
    flag_tokens: list[int] = field(default_factory=list)  # the --lora-modules tokens
    unreadable: list[tuple[int, str]] = field(default_factory=list)
    tokens: dict[int, str] = field(default_factory=dict)  # every token used, by index

    @property
    def indexes(self) -> set[int]:
        """Positions of every token these flags used."""
        return set(self.tokens)


def _flag(token: str) -> tuple[str, str | None]:
    """(flag name with dashes, value after `=` or None) of a `--flag` token; ("", None) else."""
    if not token.startswith("--") or len(token) <= 2:
        return "", None
    name, equals, value = token[2:].partition("=")
    return name.replace("_", "-"), (value if equals else None)


def _module(token: str, index: int) -> LoraModule | str:
    """A module entry, or why it cannot be read."""
    if token.startswith("{"):
        try:
            data = json.loads(token)
        except ValueError:
            return "not valid JSON"
        if not isinstance(data, dict) or not data.get("name") or not data.get("path"):
            return "a JSON entry needs name and path"
        base = data.get("base_model_name")
        return LoraModule(str(data["name"]), str(data["path"]), index,
                          str(base) if base else None)
    name, equals, path = token.partition("=")
    if not equals or not name or not path:
        return "not name=path"
    return LoraModule(name, path, index)


def _read_modules(tokens: list[str], start: int, first: str | None, out: LoraArgs) -> int:
    """Read the entries of one --lora-modules flag at `start`; returns the next index."""
    out.flag_tokens.append(start)
    out.tokens[start] = tokens[start]
    entries: list[tuple[int, str]] = []
    index = start + 1
    if first is not None:
        entries.append((start, first))
    else:
        while index < len(tokens) and not tokens[index].startswith("-"):
            entries.append((index, tokens[index]))
            out.tokens[index] = tokens[index]
            index += 1
    for position, token in entries:
        module = _module(token, position)
        if isinstance(module, LoraModule):
            out.modules.append(module)
        else:
            out.unreadable.append((position, f"{token!r}: {module}"))
    return index


def find_lora(tokens: list[str], args_path: KeyPath) -> LoraArgs:
    """The LoRA flags in `tokens` (empty when there is no --lora-modules: then --enable-lora
    and the size flags are ordinary engine flags, e.g. for adapters loaded at run time)."""
    out = LoraArgs(args_path)
    index = 0
    while index < len(tokens):
        name, value = _flag(tokens[index])
        if name == MODULES:
            index = _read_modules(tokens, index, value, out)
            continue
        if name == "enable-lora" and value is None and out.enable is None:
            out.enable = index
            out.tokens[index] = tokens[index]
        elif name in SIZES and name not in out.sizes:
            following = tokens[index + 1] if index + 1 < len(tokens) else None
            raw = value if value is not None else following
            if raw is not None and raw.isdigit():
                out.sizes[name] = (index, int(raw))
                out.tokens[index] = tokens[index]
                if value is None:
                    index += 1
                    out.tokens[index] = raw
        index += 1
    if not out.modules and not out.unreadable:
        return LoraArgs(args_path)
    return out
