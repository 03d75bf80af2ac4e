"""The bench report: a markdown summary, the numbers as JSON, and the plots."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .plots import latency_plot, throughput_plot
from .results import BenchResult, LoadPoint


@dataclass(frozen=True)
class ReportFiles:
    """Paths written by `write_report`."""

    summary: Path
    data: Path
    plots: tuple[Path, ...]


def _ms(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def _latencies(point: LoadPoint, field: str) -> str:
    latency = getattr(point, field)
    return " / ".join(_ms(v) for v in (latency.p50, latency.p90, latency.p99))


def table(result: BenchResult) -> list[str]:
    """Markdown table rows: one per load point, in the order they ran."""
    rows = [
        "| load point | req/s | in flight | output tok/s | total tok/s | TTFT ms p50/p90/p99 "
        "| ITL ms p50/p90/p99 | E2E ms p50/p90/p99 | ok / errors / incomplete |",
        "|---|---:|---:|---:|---:|---|---|---|---|",
    ]
    for point in result.points:
        rows.append(
            f"| {point.label} | {point.request_rate:.2f} | {point.concurrency:.1f} "
            f"| {point.output_tps:.0f} | {point.total_tps:.0f} | {_latencies(point, 'ttft_ms')} "
            f"| {_latencies(point, 'itl_ms')} | {_latencies(point, 'e2e_ms')} "
            f"| {point.successful} / {point.errored} / {point.incomplete} |")
    return rows


def markdown(result: BenchResult, title: str, plots: tuple[Path, ...] = ()) -> str:
    """The summary document."""
    peak = result.peak()
    errors = sum(point.errored for point in result.points)
    lines = [
        f"# Benchmark: {title}",
        "",
        f"- target: `{result.target}`, model `{result.model}`, load generator {result.tool}",
        f"- peak output throughput: **{peak.output_tps:.0f} tokens/s** at {peak.label} "
        f"({peak.request_rate:.2f} req/s, p90 TTFT {_ms(peak.ttft_ms.p90)} ms)",
        f"- errored requests: {errors} of "
        f"{sum(p.successful + p.errored + p.incomplete for p in result.points)}",
        "",
        *table(result),
        "",
        "Latencies are percentiles over completed requests; throughput counts all requests.",
    ]
    if result.warnings:
        lines += ["", "guidellm warnings:", *[f"- {warning}" for warning in result.warnings]]
    lines += ["", *[f"![{path.stem}]({path.name})" for path in plots]]
    return "\n".join(lines) + "\n"


def write_report(result: BenchResult, output_dir: Path, title: str) -> ReportFiles:
    """summary.md, summary.json, latency.png and throughput.png in `output_dir`."""
    output_dir.mkdir(parents=True, exist_ok=True)
    plots = (latency_plot(result, output_dir / "latency.png", title),
             throughput_plot(result, output_dir / "throughput.png", title))
    summary = output_dir / "summary.md"
    summary.write_text(markdown(result, title, plots))
    data = output_dir / "summary.json"
    data.write_text(json.dumps({
        "tool": result.tool, "target": result.target, "model": result.model,
        "points": [point.to_dict() for point in result.points],
        "warnings": list(result.warnings),
    }, indent=1) + "\n")
    return ReportFiles(summary, data, plots)
