"""Schema rules said in words: what a pattern accepts (with an example), a did-you-mean
for the common slips, and the map form of a list written where the chart wants a map."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_QUANTITY = r"([0-9]+(\.[0-9]*)?|\.[0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?"


def _dns(value: str) -> str | None:
    fixed = re.sub(r"[^a-z0-9.-]+", "-", value.lower()).strip("-.")
    return fixed or None


def _quantity(value: str) -> str | None:
    match = re.fullmatch(r"\s*([0-9.]+)\s*([kKmMgGtTpPeE])?[iI]?[bB]?\s*", value)
    if not match:
        return None
    number, unit = match.groups()
    return f"{number}{unit.upper()}i" if unit else number


def _model_uri(value: str) -> str | None:
    repo = re.sub(r"^(https?://)?(www\.)?(huggingface\.co|hf\.co)/", "", value.strip())
    if re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
        return f"hf://{repo}"
    return None


def _http_path(value: str) -> str | None:
    return "/" + value.lstrip("/") if value.strip() else None


def _percentage(value: str) -> str | None:
    return f"{value.strip()}%" if value.strip().isdigit() else None


def _duration(value: str) -> str | None:
    return f"{value.strip()}s" if value.strip().isdigit() else None


# Each pattern of the schema (without the `^$|` that also admits ""), in words, with an
# example and a fixer that turns a common slip into a valid value. tests/test_schema.py
# checks that every pattern of the schema has an entry here.
PATTERN_WORDS: dict[str, tuple[str, str, Callable[[str], str | None] | None]] = {
    rf"^{_QUANTITY}$": (
        "a Kubernetes quantity: a number with an optional unit Ki, Mi, Gi, Ti (powers of "
        "1024) or k, M, G, T (powers of 1000)", "40Gi", _quantity),
    r"^(hf|pvc|pvc\+hf|oci)://.+": (
        "a URI with scheme hf://, pvc://, pvc+hf:// or oci://",
        "hf://Qwen/Qwen3-0.6B", _model_uri),
    r"^(hf|pvc|oci)://.+": (
        "a URI with scheme hf://, pvc:// or oci://", "hf://org/adapter", _model_uri),
    rf"^{_DNS_LABEL}$": (
        "a DNS label: lowercase letters, digits and '-', starting and ending with a letter "
        "or digit", "llm-serving", _dns),
    rf"^{_DNS_LABEL}(\.{_DNS_LABEL})*$": (
        "a DNS subdomain: lowercase letters, digits, '-' and '.', starting and ending with a "
        "letter or digit", "hf-token", _dns),
    rf"^(\*\.)?{_DNS_LABEL}(\.{_DNS_LABEL})*$": (
        "a hostname, optionally with a leading `*.` wildcard", "models.example.com", _dns),
    rf"^({_DNS_LABEL}(\.{_DNS_LABEL})*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$": (
        "a label key: an optional DNS prefix and '/', then letters, digits, '-', '_' and "
        "'.'", "nvidia.com/gpu.product", None),
    rf"^{_DNS_LABEL}(\.{_DNS_LABEL})*/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$": (
        "a qualified device attribute: a DNS domain, '/', then letters, digits, '-', '_' "
        "and '.'", "resource.kubernetes.io/pcieRoot", None),
    r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$": (
        "an image tag: letters, digits, '_', '.' and '-', at most 128 characters",
        "v0.6.0", None),
    r"^[^@\s:/]+(:[0-9]+)?(/[^@\s:/]+)*$": (
        "an image repository without tag or digest (registry[:port]/path)",
        "ghcr.io/llm-d/llm-d-cuda", lambda v: re.split(r"[@]|:(?![0-9]+/)", v)[0] or None),
    r"^sha256:[a-f0-9]{64}$": (
        "an image digest: sha256: and 64 lowercase hex digits", "sha256:" + "0" * 64, None),
    r"^/": ("an absolute path starting with /", "/v1", _http_path),
    r"^[-._a-zA-Z0-9]+$": (
        "letters, digits, '-', '_' and '.' only", "config.json", None),
    r"^[A-Za-z0-9][A-Za-z0-9_.-]*$": (
        "a name of letters, digits, '-', '_' and '.', starting with a letter or digit",
        "max-model-len", None),
    r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$": (
        "a label value: at most 63 letters, digits, '-', '_' and '.', starting and ending "
        "with a letter or digit", "NVIDIA-H100-80GB-HBM3", None),
    r"^[0-9]+(\.[0-9]+)?$": (
        "a non-negative decimal number written as a string", "10.0", None),
    r"^[a-zA-Z_][a-zA-Z0-9_]*$": (
        "a Prometheus label name: letters, digits and '_', not starting with a digit",
        "exported_namespace", None),
    r"^[0-9]{1,3}%$": ("a percentage", "25%", _percentage),
    r"^([0-9]{1,5}(h|m|s|ms)){1,4}$": (
        "a Gateway API duration: numbers with units h, m, s or ms", "3600s", _duration),
    r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?"
    r"(([0-9]+)ms)?)$": (
        "a Prometheus duration such as 30s, 1m or 1h30m", "30s", _duration),
}


def normalize_pattern(pattern: str) -> tuple[str, bool]:
    """The pattern as written in the schema, and whether it also admits the empty string."""
    pattern = pattern.replace(r"\Z", "$")
    for empty in ("^$|",):
        if pattern.startswith(empty):
            return pattern[len(empty):], True
    return pattern, False


def pattern_message(value: Any, pattern: str) -> str:
    """`'40GB' is not a Kubernetes quantity ... (e.g. 40Gi; did you mean `40Gi`?)`."""
    core, empty_ok = normalize_pattern(pattern)
    words = PATTERN_WORDS.get(core)
    if words is None:
        return f"{value!r} does not match the pattern {core}"
    text, example, fixer = words
    fix = fixer(value) if fixer and isinstance(value, str) else None
    also = " (or empty)" if empty_ok else ""
    hint = f"; did you mean `{fix}`?" if fix and fix != value else ""
    return f"{value!r} is not {text}{also} (e.g. `{example}`{hint})"


def enum_message(value: Any, choices: list[Any]) -> str:
    """`'nvidai' is not one of: nvidia, amd, null`, choices in YAML spelling."""
    return f"{json.dumps(value)} is not one of: {', '.join(_yaml_scalar(c) for c in choices)}"


def list_for_map_message(value: list[Any], key: str) -> str | None:
    """For a list written where the chart wants a map keyed by name (the llm-d chart's
    `env: [{name: X, value: Y}]` style): the explanation and the converted form."""
    converted = {}
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            return None
        rest = {k: v for k, v in item.items() if k != "name"}
        converted[item["name"]] = rest["value"] if list(rest) == ["value"] else rest
    flow = ", ".join(f"{name}: {_flow(body)}" for name, body in converted.items())
    return (f"a list was given, but {key or 'this field'} is a map keyed by name (so layers can "
            f"override or `null` one entry); write it as `{key}: {{{flow}}}`")


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _yaml_scalar(value)


def _yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and (not value or re.search(r"[:{}\[\],#&*!|>'\"%@`]", value)
                                   or value.lower() in ("null", "true", "false", "y", "n",
                                                        "yes", "no", "on", "off")):
        return json.dumps(value)
    return str(value)
