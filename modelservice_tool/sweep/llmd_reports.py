"""Sweep records from llm-d benchmark reports (v0.2.x): one folder per variant.

The layout llm-d-benchmark's runs and `mst sweep` both write: a results folder with one
subfolder per treatment (variant), each holding `benchmark_report_v0.2,_*.yaml` files, one
per load point. Every report becomes a load point with the metrics of `objective.py`
(units converted to mst's: ms, tokens/s, req/s); `scenario.stack` gives the variant's
accelerators. The records are then scored by the same `Objective.evaluate` as a sweep's own.

Reports are read as YAML, field by field (the `llmd-benchmark-report` package is not
needed): a field a metric needs in the wrong unit, or missing when the objective or a
constraint needs it, is an error naming the file and the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..bench.llmd_report import REPORT_PREFIX
from ..errors import UserError
from .objective import POINT_METRICS, Metrics, Objective
from .results import Record

REPORT_GLOB = f"{REPORT_PREFIX}*.yaml"
AGGREGATE = "results.request_performance.aggregate"
TIME_MS = {"ms": 1.0, "s": 1000.0}
TOKEN_TIME_MS = {"ms/token": 1.0, "s/token": 1000.0}
LATENCIES = {"ttft": ("time_to_first_token", TIME_MS),
             "itl": ("inter_token_latency", TOKEN_TIME_MS),
             "e2e": ("request_latency", TIME_MS)}
# Where each point metric comes from, for messages.
SOURCES = {
    "request_rate": f"{AGGREGATE}.throughput.request_rate.mean",
    "output_tps": f"{AGGREGATE}.throughput.output_token_rate.mean",
    "total_tps": f"{AGGREGATE}.throughput.total_token_rate.mean (or input_token_rate.mean + "
                 "output_token_rate.mean)",
    "error_rate": f"{AGGREGATE}.requests.failures and .total",
    "concurrency": f"{AGGREGATE}.throughput.request_rate.mean and "
                   "latency.request_latency.mean",
    **{f"{name}_{p}_ms": f"{AGGREGATE}.latency.{field}.{p}"
       for name, (field, _) in LATENCIES.items() for p in ("p50", "p90", "p99")},
}
# Derived metrics -> what they are computed from: point metrics, "gpus" (a known count,
# from scenario.stack), "per_gpu" (a known count above 0), "price" (--gpu-hour-cost).
DERIVED_FROM = {"output_tps_per_gpu": ("output_tps", "per_gpu"),
                "total_tps_per_gpu": ("total_tps", "per_gpu"),
                "cost_per_mtok": ("output_tps", "gpus", "price"),
                "cost_per_hour": ("gpus", "price"), "gpus": ("gpus",)}
OTHER_METRIC = "choose a metric that is not per accelerator or cost, e.g. --objective " \
               "max:output_tps"

def _get(doc: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def _number(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UserError(f"{where} is {value!r}, not a number")
    return float(value)


def _stat(aggregate: dict[str, Any], dotted: str, statistic: str,
          units: dict[str, float], path: Path) -> float | None:
    """One statistic of a `Statistics` block in mst's unit (None when absent)."""
    block = _get(aggregate, dotted)
    where = f"{path}: {AGGREGATE}.{dotted}"
    if block is None:
        return None
    if not isinstance(block, dict):
        raise UserError(f"{where} is not a mapping of statistics")
    value = _number(block.get(statistic), f"{where}.{statistic}")
    if value is None:
        return None
    unit = block.get("units")
    if unit not in units:
        raise UserError(f"{where}.units is {unit!r}; mst reads {' or '.join(units)}")
    return value * units[unit]


def point_metrics(report: dict[str, Any], path: Path) -> Metrics:
    """The load point metrics of one report; None where the report lacks a field."""
    aggregate = _get(report, AGGREGATE) or {}
    tokens, queries = {"tokens/s": 1.0}, {"queries/s": 1.0}
    rate = _stat(aggregate, "throughput.request_rate", "mean", queries, path)
    output = _stat(aggregate, "throughput.output_token_rate", "mean", tokens, path)
    total = _stat(aggregate, "throughput.total_token_rate", "mean", tokens, path)
    prompt = _stat(aggregate, "throughput.input_token_rate", "mean", tokens, path)
    if total is None and prompt is not None and output is not None:
        total = prompt + output
    latency_s = _stat(aggregate, "latency.request_latency", "mean", {"s": 1.0, "ms": 1e-3},
                      path)
    requests = _get(aggregate, "requests") or {}
    count = _number(requests.get("total"), f"{path}: {AGGREGATE}.requests.total")
    failures = _number(requests.get("failures"), f"{path}: {AGGREGATE}.requests.failures")
    metrics: Metrics = {
        "request_rate": rate,
        # mean requests in flight, by Little's law (reports carry no measured concurrency)
        "concurrency": rate * latency_s if rate is not None and latency_s is not None else None,
        "output_tps": output, "total_tps": total,
        "error_rate": (failures / count if count else 0.0)
        if failures is not None and count is not None else None,
    }
    for name, (field, units) in LATENCIES.items():
        for p in ("p50", "p90", "p99"):
            metrics[f"{name}_{p}_ms"] = _stat(aggregate, f"latency.{field}", p, units, path)
    return {name: metrics[name] for name in POINT_METRICS}


@dataclass(frozen=True)
class Stack:
    """What a report's `scenario.stack` says about accelerators."""

    accelerators: dict[str, int]  # accelerator model -> count over every replica
    label: str  # `prefill 2x4 decode 1x4`: role, replicas x accelerators per replica

    @property
    def gpus(self) -> int:
        """Accelerators of every inference engine, every replica."""
        return sum(self.accelerators.values())


def stack_of(report: dict[str, Any], path: Path) -> Stack | None:
    """The accelerators of the report's inference engines (None without any)."""
    accelerators: dict[str, int] = {}
    roles = []
    for index, component in enumerate(_get(report, "scenario.stack") or []):
        standardized = component.get("standardized") if isinstance(component, dict) else None
        if not isinstance(standardized, dict) or \
                standardized.get("kind") != "inference_engine":
            continue
        where = f"{path}: scenario.stack[{index}].standardized"
        accelerator = standardized.get("accelerator") or {}
        count = _number(accelerator.get("count"), f"{where}.accelerator.count")
        replicas = _number(standardized.get("replicas"), f"{where}.replicas")
        if count is None or replicas is None:
            raise UserError(f"{where}: an inference_engine needs replicas and "
                            "accelerator.count (the schema requires both)")
        model = str(accelerator.get("model") or "?")
        accelerators[model] = accelerators.get(model, 0) + int(count) * int(replicas)
        roles.append(f"{standardized.get('role', '?')} {int(replicas)}x{int(count)}")
    return Stack(accelerators, " ".join(roles)) if roles else None


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise UserError(f"{path}: cannot be read as YAML: {error}") from None
    if not isinstance(doc, dict):
        raise UserError(f"{path}: not an llm-d benchmark report (the top level is not a "
                        "mapping)")
    version = str(doc.get("version", ""))
    if not re.fullmatch(r"0\.2(\.\d+)?", version):
        raise UserError(f"{path}: version {version or '(none)'!r} is not a v0.2.x llm-d "
                        "benchmark report")
    return doc


def _stage_key(item: tuple[Path, dict[str, Any]]) -> tuple[int, list[Any]]:
    path, report = item
    stage = _get(report, "scenario.load.standardized.stage")
    natural = [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]
    return (stage if isinstance(stage, int) else 0, natural)


def _require(objective: Objective, price: float | None, path: Path, metrics: Metrics,
             stack: Stack | None) -> None:
    """UserError naming the file and field when the objective or a constraint needs a
    metric this report cannot give."""
    for metric, use in objective.metric_uses().items():
        for needed in DERIVED_FROM.get(metric, (metric,)):
            if needed in ("gpus", "per_gpu") and stack is None:
                raise UserError(f"{path}: scenario.stack has no inference_engine component, so "
                                f"its accelerators are unknown; {use} needs them "
                                f"({OTHER_METRIC})")
            if needed == "per_gpu" and stack is not None and stack.gpus == 0:
                raise UserError(f"{path}: scenario.stack counts no accelerators (accelerator."
                                "count 0 in every inference_engine, as llm-d-benchmark writes "
                                f"when it does not know them); {use} needs them "
                                f"({OTHER_METRIC})")
            if needed == "price" and price is None:
                raise UserError(f"{use} needs a price: add --gpu-hour-cost")
            if needed in metrics and metrics[needed] is None:
                raise UserError(f"{path}: {SOURCES[needed]} is missing; {use} needs it "
                                f"(metric {needed})")

def read_variant(folder: Path, objective: Objective,
                 price: float | None) -> tuple[Record | None, list[str]]:
    """The scored record of one variant folder (None when it has no request-level
    report), and notes about what was left out."""
    files = sorted(folder.glob(REPORT_GLOB))
    if not files:
        return None, [f"{folder.name}/: no llm-d benchmark report ({REPORT_GLOB})"]
    loaded = [(path, _load_yaml(path)) for path in files]
    points = [(path, report) for path, report in loaded if _get(report, AGGREGATE)]
    notes = []
    if len(points) < len(loaded):
        notes.append(f"{folder.name}/: {len(loaded) - len(points)} report(s) without "
                     f"{AGGREGATE} (e.g. session lifecycle reports) are not load points")
    if not points:
        return None, notes
    points.sort(key=_stage_key)
    stacks = [(path, stack_of(report, path)) for path, report in points]
    first_path, stack = stacks[0]
    for path, other in stacks[1:]:
        if other != stack:
            raise UserError(f"{path}: scenario.stack has other accelerators than {first_path} "
                            f"({other.label if other else 'none'} vs "
                            f"{stack.label if stack else 'none'}); one folder is one variant")
    metrics = [point_metrics(report, path) for path, report in points]
    for (path, _), values in zip(points, metrics, strict=True):
        _require(objective, price, path, values, stack)
    report = points[0][1]
    load = _get(report, "scenario.load.standardized") or {}
    gpus = stack.gpus if stack else None
    cost = gpus * price if gpus is not None and price is not None else None
    description = _get(report, "run.description")
    record: Record = {
        "variant_id": folder.name, "label": stack.label if stack else folder.name,
        "status": "ok", "gpus": gpus, "accelerators": stack.accelerators if stack else {},
        "cost_per_hour": cost,
        **objective.evaluate(metrics, gpus, cost),
        "tool": f"{load.get('tool', '?')} {load.get('tool_version', '')}".strip(),
        "report_files": [str(path) for path, _ in points],
    }
    if description:
        record["description"] = str(description)
    return record, notes


def read_reports(root: Path, objective: Objective,
                 price: float | None = None) -> tuple[list[Record], list[str]]:
    """Scored records of every variant folder under `root` (sorted by name), and notes
    naming the folders and reports that gave no load point."""
    folders = sorted(path for path in root.iterdir() if path.is_dir())
    records, notes = [], []
    for folder in folders:
        record, folder_notes = read_variant(folder, objective, price)
        notes += folder_notes
        if record is not None:
            records.append(record)
    if not records:
        here = " (it holds reports itself: give the folder above it)" \
            if any(root.glob(REPORT_GLOB)) else ""
        raise UserError(f"{root}: no subfolder with llm-d benchmark reports ({REPORT_GLOB})"
                        f"{here}; expected one subfolder per variant, as llm-d-benchmark "
                        "and `mst sweep` write them")
    return records, notes
