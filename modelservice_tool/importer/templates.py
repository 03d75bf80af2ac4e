"""Helm template expressions inside llm-d-modelservice values.

That chart rendered some strings with `tpl` (the model URI, env values, extraObjects) and
passed others through untouched (args, command). This chart runs `tpl` over args, env,
command and extraObjects with its own context, so references to the old values are
resolved now, `.Release` is kept (both charts provide it) and literal braces are escaped.
"""

from __future__ import annotations

import re
from typing import Any

_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.DOTALL)
_VALUES_REF = re.compile(r"^\.Values((?:\.[A-Za-z0-9_-]+)+)$")
_KEPT = re.compile(r"^\.Release\.(Name|Namespace)$")


def _lookup(values: dict[str, Any], dotted: str) -> Any:
    node: Any = values
    for part in dotted.strip(".").split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def resolve(text: str, values: dict[str, Any]) -> tuple[str, list[str]]:
    """`text` with `{{ .Values.x }}` replaced by the old values' scalars; also returns the
    actions that are neither such a reference nor `.Release.Name/Namespace`."""
    leftovers: list[str] = []

    def replace(match: re.Match[str]) -> str:
        action = match.group(1)
        ref = _VALUES_REF.match(action)
        if ref:
            value = _lookup(values, ref.group(1))
            if value is not None and not isinstance(value, dict | list):
                return str(value)
        if not _KEPT.match(action):
            leftovers.append(match.group(0))
        return match.group(0)

    return _ACTION.sub(replace, text), leftovers


def escape(text: str) -> str:
    """Literal text for a string this chart runs through `tpl` (the old chart did not)."""
    return text.replace("{{", '{{ "{{" }}') if "{{" in text else text
