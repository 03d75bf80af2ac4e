"""The converted values as a commented YAML document, and the report as text or data."""

from __future__ import annotations

from typing import Any

import yaml

from .convert import Conversion
from .report import Status


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line strings (shell scripts stay readable)."""


def _string(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _string)


def values_yaml(values: dict[str, Any]) -> str:
    """Values as YAML, keys in insertion order."""
    return yaml.dump(values, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def document(conversion: Conversion, source_name: str) -> str:
    """The converted values file: a header saying where it came from and how to use it."""
    attention = len(conversion.report.of(Status.UNMAPPED))
    preset = (f"closest built-in preset: {conversion.preset} ({conversion.preset_reason})"
              if conversion.preset else f"no built-in preset fits: {conversion.preset_reason}")
    lines = [
        f"Converted by `mst import llm-d-modelservice` from {source_name}",
        f"(llm-d-modelservice {conversion.generation} values). Complete on its own:",
        "  helm template NAME charts/modelservice -f THIS_FILE",
        f"{preset}.",
        "To adopt a preset, layer it first (-p) and delete the keys it already sets.",
    ]
    if attention:
        lines.append(f"{attention} input key(s) need attention: see the conversion report.")
    return "".join(f"# {line}\n" for line in lines) + values_yaml(conversion.values)


def report_text(conversion: Conversion, source_name: str) -> str:
    """The report for people: header, then each status group."""
    counts = ", ".join(f"{len(conversion.report.of(s))} {s.value}" for s in Status)
    preset = conversion.preset or "none"
    return (f"{source_name}: llm-d-modelservice {conversion.generation} values; {counts}; "
            f"closest preset: {preset} ({conversion.preset_reason})\n"
            + conversion.report.text() + "\n")


def report_data(conversion: Conversion, source_name: str) -> dict[str, Any]:
    """The report for tools (JSON/YAML)."""
    return {"source": source_name, "generation": conversion.generation,
            "preset": conversion.preset, "presetReason": conversion.preset_reason,
            "entries": conversion.report.to_list()}
