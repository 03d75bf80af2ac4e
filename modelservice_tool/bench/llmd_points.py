"""Load points (the numbers of `mst bench`'s own summary) read from llm-d benchmark reports
v0.2: how the summary and plots describe harnesses other than guidellm."""

from __future__ import annotations

import re
from typing import Any

from .results import PERCENTILES, BenchResult, Latency, LoadPoint

# Report latency units -> factor to milliseconds.
_TO_MS = {"ms": 1.0, "ms/token": 1.0, "s": 1000.0, "s/token": 1000.0}


def _latency(stats: dict[str, Any] | None) -> Latency:
    stats = stats or {}
    scale = _TO_MS.get(str(stats.get("units", "ms")), 1.0)
    return Latency(*(float(stats.get(p) or 0.0) * scale for p in PERCENTILES))


def _seconds(duration: Any) -> float:
    """Seconds of an ISO-8601 duration like `PT12.5S` (0 when absent or longer forms)."""
    match = re.fullmatch(r"PT(\d+(?:\.\d+)?)S", str(duration or ""))
    return float(match.group(1)) if match else 0.0


def _rate(throughput: dict[str, Any], name: str) -> float:
    return float((throughput.get(name) or {}).get("mean") or 0.0)


def _setpoint(load: dict[str, Any]) -> tuple[str, float | None]:
    rate, streams = load.get("rate_qps"), load.get("concurrency")
    if isinstance(streams, (int, float)):
        return "concurrent", float(streams)
    if isinstance(rate, (int, float)) and rate != float("inf"):
        return "constant", float(rate)
    return "unknown", None


def load_point(report: dict[str, Any]) -> LoadPoint:
    """One report's load point: latency percentiles in ms, throughput, request counts."""
    load = report["scenario"]["load"]["standardized"]
    aggregate = report["results"]["request_performance"]["aggregate"]
    latency, throughput = aggregate.get("latency") or {}, aggregate.get("throughput") or {}
    requests = aggregate.get("requests") or {}
    strategy, setpoint = _setpoint(load)
    failures = int(requests.get("failures") or 0)
    label = f"stage {load.get('stage', 0)}"
    if setpoint is not None:
        label = f"{strategy}@{setpoint:.2f}".rstrip("0").rstrip(".")
    return LoadPoint(
        label=label, strategy=strategy, setpoint=setpoint,
        request_rate=_rate(throughput, "request_rate"),
        concurrency=float(load.get("concurrency") or 0.0),
        output_tps=_rate(throughput, "output_token_rate"),
        total_tps=_rate(throughput, "total_token_rate"),
        ttft_ms=_latency(latency.get("time_to_first_token")),
        itl_ms=_latency(latency.get("inter_token_latency")),
        e2e_ms=_latency(latency.get("request_latency")),
        successful=int(requests.get("total") or 0) - failures, errored=failures, incomplete=0,
        duration_s=_seconds((report.get("run", {}).get("time") or {}).get("duration")),
    )


def bench_result(reports: list[dict[str, Any]], *, tool: str, target: str,
                 model: str) -> BenchResult:
    """The load points of a run's reports, in stage order."""
    return BenchResult(tool=tool, target=target, model=model,
                       points=tuple(load_point(report) for report in reports))
