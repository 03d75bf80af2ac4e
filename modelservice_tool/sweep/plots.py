"""PNG plots of a sweep: objective vs cost with the Pareto front, and the search trace."""

from __future__ import annotations

from pathlib import Path

from ..bench.plots import pyplot, save, style_axis
from .pareto import objective_value, pareto_front
from .results import Record


def pareto_plot(records: list[Record], path: Path, *, metric: str, maximize: bool,
                cost: str) -> Path:
    """Every benchmarked variant at (cost, objective); the front joined by a line."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(7.5, 4.8))
    ok = [r for r in records if r["status"] == "ok" and r.get(cost) is not None]
    feasible = [r for r in ok if objective_value(r) is not None]
    infeasible = [r for r in ok if objective_value(r) is None and
                  (r.get("metrics") or {}).get(metric) is not None]
    axis.scatter([r[cost] for r in feasible], [objective_value(r) for r in feasible],
                 label="feasible", zorder=3)
    axis.scatter([r[cost] for r in infeasible], [r["metrics"][metric] for r in infeasible],
                 facecolors="none", edgecolors="grey", label="misses a constraint", zorder=2)
    front = pareto_front(records, maximize=maximize, cost=cost)
    axis.plot([r[cost] for r in front], [objective_value(r) for r in front], "r--",
              label="Pareto front", zorder=1)
    for record in front:
        axis.annotate(record["label"], (record[cost], objective_value(record)), fontsize=8,
                      textcoords="offset points", xytext=(5, 4))
    style_axis(axis, "accelerators" if cost == "gpus" else "cost per hour", metric)
    axis.set_title(f"{'max' if maximize else 'min'} {metric} vs {cost}")
    return save(figure, path)


def trace_plot(records: list[Record], path: Path, *, metric: str, maximize: bool) -> Path:
    """Objective of each benchmarked variant in run order, and the best so far."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(7.5, 4.2))
    runs = [r for r in records if r["status"] == "ok"]
    values = [objective_value(r) for r in runs]
    xs = list(range(1, len(runs) + 1))
    axis.plot([x for x, v in zip(xs, values, strict=True) if v is not None],
              [v for v in values if v is not None], "o", label="feasible variant")
    best, trace = None, []
    for value in values:
        if value is not None and (best is None or (value > best if maximize else value < best)):
            best = value
        trace.append(best)
    axis.step(xs, [float("nan") if v is None else v for v in trace], where="post",
              label="best so far")
    style_axis(axis, "benchmarked variant (run order)", metric)
    axis.set_title("search progress")
    return save(figure, path)
