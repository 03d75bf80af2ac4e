"""vLLM argument lists (`--flag value`, `--flag=value`, bare `--flag`) as a flag map.

Flags that appear once become map entries keyed by their long name (underscores read as
dashes, as vLLM does), with numbers and JSON objects typed so the chart renders them back
unchanged. Flags given more than once, and anything that is not a flag, stay raw tokens in
their original order: they become `engine.extraArgs`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

ALIASES = {"-tp": "tensor-parallel-size", "-pp": "pipeline-parallel-size",
           "-dp": "data-parallel-size"}
_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$")
_INT = re.compile(r"^-?(0|[1-9][0-9]*)$")
_FLOAT = re.compile(r"^-?[0-9]+\.[0-9]+$")


@dataclass
class ParsedArgs:
    """Flags seen once (name -> typed value, in order) and the raw leftovers."""

    flags: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, list[str]] = field(default_factory=dict)
    extra: list[str] = field(default_factory=list)
    positionals: list[str] = field(default_factory=list)


def typed(text: str) -> Any:
    """A flag value as the chart should render it back: ints, floats that print the same,
    JSON objects as maps; anything else (including "true"/"false") stays a string."""
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text) and repr(float(text)) == text:
        return float(text)
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            return text
        return value if isinstance(value, dict) and value else text
    return text


def _split(tokens: list[str]) -> list[tuple[str | None, list[str], Any]]:
    """(flag name or None, raw tokens, value) for each flag or positional argument."""
    groups: list[tuple[str | None, list[str], Any]] = []
    index = 0
    while index < len(tokens):
        token = str(tokens[index])
        name = None
        if token.startswith("--") and len(token) > 2:
            name = token[2:]
        elif token.split("=", 1)[0] in ALIASES:
            name = ALIASES[token.split("=", 1)[0]] + token[len(token.split("=", 1)[0]):]
        if name is None:
            groups.append((None, [token], token))
            index += 1
            continue
        flag, equals, value = name.partition("=")
        flag = flag.replace("_", "-")
        if equals:
            groups.append((flag, [token], typed(value)))
            index += 1
            continue
        following = str(tokens[index + 1]) if index + 1 < len(tokens) else None
        if following is not None and (not following.startswith("-")
                                      or _NUMBER.match(following)):
            groups.append((flag, [token, following], typed(following)))
            index += 2
        else:
            groups.append((flag, [token], True))
            index += 1
    return groups


def parse(tokens: list[str]) -> ParsedArgs:
    """Flags, repeated flags (kept raw) and positional arguments of an argument list."""
    groups = _split(tokens)
    counts: dict[str, int] = {}
    for flag, _, _ in groups:
        if flag:
            counts[flag] = counts.get(flag, 0) + 1
    parsed = ParsedArgs()
    for flag, raw, value in groups:
        if flag is None:
            parsed.positionals.append(value)
            parsed.extra += raw
        elif counts[flag] > 1:
            parsed.raw.setdefault(flag, []).extend(raw)
            parsed.extra += raw
        else:
            parsed.flags[flag] = value
            parsed.raw[flag] = raw
    return parsed
