"""The sweep report: a results table, the best variant, the Pareto front, and plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .pareto import best, cost_axis, objective_value, pareto_front
from .plots import pareto_plot, trace_plot
from .results import Record
from .variants import short_problem


def _number(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{float(value):.{digits}f}"


def _row(record: Record, metric: str) -> str:
    metrics = record.get("metrics") or {}
    status = record["status"]
    if status == "ok" and not record["objective"].get("feasible"):
        status = "ok (misses a constraint)"
    problems = record.get("problems") or ([record["error"]] if record.get("error") else [])
    why = short_problem(problems[0])[:100] if problems else ""
    return (f"| {record['variant_id']} | {record['label']} | {_number(record.get('gpus'), 0)} "
            f"| {_number(record.get('cost_per_hour'), 2)} | {_number(objective_value(record), 2)}"
            f" | {_number(metrics.get('output_tps'), 0)} | {_number(metrics.get('ttft_p90_ms'))}"
            f" | {_number(metrics.get('itl_p90_ms'))} | {status}{': ' + why if why else ''} |")


def markdown(records: list[Record], plots: tuple[Path, ...] = (),
             notes: tuple[str, ...] = ()) -> str:
    """Summary document of a sweep's records (`notes`: extra lines under the header)."""
    if not records:
        return "# Sweep\n\nNo results yet.\n"
    objective = records[0]["objective"]
    metric, maximize = objective["metric"], objective["direction"] == "max"
    constraints = ", ".join(objective.get("constraints") or []) or "none"
    ordered = sorted(records, key=lambda r: (objective_value(r) is None,
                                             -(objective_value(r) or 0) if maximize
                                             else objective_value(r) or 0))
    top = best(records, maximize=maximize)
    cost = cost_axis([r for r in records if r["status"] == "ok"])
    front = pareto_front(records, maximize=maximize, cost=cost)
    lines = [
        "# Sweep",
        "",
        f"- objective: {objective['direction']} `{metric}`, constraints: {constraints}",
        f"- variants: {len(records)} ({sum(r['status'] == 'ok' for r in records)} benchmarked, "
        f"{sum(r['status'] == 'invalid' for r in records)} invalid, "
        f"{sum(r['status'] == 'over_budget' for r in records)} over budget, "
        f"{sum(r['status'] == 'failed' for r in records)} failed)",
        f"- best: **{top['label']}** (`{top['variant_id']}`): {metric} = "
        f"{_number(objective_value(top), 2)} on {_number(top.get('gpus'), 0)} accelerators"
        if top else "- best: no variant met the constraints",
        f"- Pareto front ({metric} vs {cost}): "
        + (", ".join(f"{r['label']} ({r[cost]})" for r in front) or "empty"),
        *(f"- {note}" for note in notes),
        "",
        f"| id | variant | accel | cost/h | {metric} | output tok/s | TTFT p90 ms "
        "| ITL p90 ms | status |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
        *[_row(record, metric) for record in ordered],
        "",
        "Throughput and latencies are those of the load point that gave the objective value.",
        "",
        *[f"![{path.stem}]({path.name})" for path in plots],
    ]
    return "\n".join(lines) + "\n"


def write_report(records: list[Record], output_dir: Path, *, notes: tuple[str, ...] = (),
                 trace: bool = True) -> Path:
    """summary.md, pareto.png and (with `trace`, for records in search order) progress.png
    in `output_dir`; the summary's path."""
    output_dir.mkdir(parents=True, exist_ok=True)
    plots: tuple[Path, ...] = ()
    if any(r["status"] == "ok" for r in records):
        objective = records[0]["objective"]
        metric, maximize = objective["metric"], objective["direction"] == "max"
        cost = cost_axis([r for r in records if r["status"] == "ok"])
        plots = (pareto_plot(records, output_dir / "pareto.png", metric=metric,
                             maximize=maximize, cost=cost),)
        if trace:
            plots += (trace_plot(records, output_dir / "progress.png", metric=metric,
                                 maximize=maximize),)
    summary = output_dir / "summary.md"
    summary.write_text(markdown(records, plots, notes))
    return summary
