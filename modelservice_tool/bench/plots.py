"""PNG plots of one bench run: latency vs load and throughput vs load (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import BENCH_EXTRA, UserError
from .results import PERCENTILES, BenchResult, LoadPoint


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (UserError when matplotlib is missing)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UserError(f"plots need matplotlib: {BENCH_EXTRA}") from None
    return plt


def style_axis(axis: Any, xlabel: str, ylabel: str) -> None:
    """Labels, a light grid and the legend: the look every plot shares."""
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.grid(alpha=0.3)
    axis.legend()


def save(figure: Any, path: Path) -> Path:
    """Write the figure as PNG and free it."""
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot().close(figure)
    return path


def _by_load(result: BenchResult) -> list[LoadPoint]:
    return sorted(result.points, key=lambda point: point.request_rate)


def latency_plot(result: BenchResult, path: Path, title: str) -> Path:
    """TTFT, inter-token latency and end-to-end latency percentiles vs achieved req/s."""
    plt = pyplot()
    points = _by_load(result)
    rates = [point.request_rate for point in points]
    figure, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    panels = (("ttft_ms", "time to first token (ms)"), ("itl_ms", "inter-token latency (ms)"),
              ("e2e_ms", "end-to-end latency (ms)"))
    for axis, (field, label) in zip(axes, panels, strict=True):
        for percentile, style in zip(PERCENTILES, ("o-", "s--", "^:"), strict=True):
            values = [getattr(getattr(point, field), percentile) for point in points]
            axis.plot(rates, values, style, label=percentile)
        style_axis(axis, "achieved load (requests/s)", label)
    figure.suptitle(f"{title}: latency vs load")
    return save(figure, path)


def throughput_plot(result: BenchResult, path: Path, title: str) -> Path:
    """Output and total token throughput vs achieved req/s, each point labelled."""
    plt = pyplot()
    points = _by_load(result)
    rates = [point.request_rate for point in points]
    figure, axis = plt.subplots(figsize=(7.5, 4.5))
    axis.plot(rates, [p.output_tps for p in points], "o-", label="output tokens/s")
    axis.plot(rates, [p.total_tps for p in points], "s--", label="total tokens/s")
    for point in points:
        axis.annotate(point.label, (point.request_rate, point.output_tps), fontsize=8,
                      textcoords="offset points", xytext=(4, -12))
    style_axis(axis, "achieved load (requests/s)", "tokens/s")
    axis.set_title(f"{title}: throughput vs load")
    return save(figure, path)
