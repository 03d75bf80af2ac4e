"""The objective of a sweep: one metric to maximise or minimise, under latency constraints.

A benchmark has several load points; a variant's score is the best value of the objective
metric over the load points that meet every constraint (e.g. the highest output tokens/s
per GPU at which p90 TTFT stays under 500 ms). A variant with no such point is infeasible.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import UserError

Metrics = dict[str, float | None]

POINT_METRICS = (
    "request_rate", "concurrency", "output_tps", "total_tps", "error_rate",
    *(f"{name}_{p}_ms" for name in ("ttft", "itl", "e2e") for p in ("p50", "p90", "p99")),
)
DERIVED_METRICS = ("output_tps_per_gpu", "total_tps_per_gpu", "cost_per_mtok", "gpus",
                   "cost_per_hour")
METRICS = (*POINT_METRICS, *DERIVED_METRICS)
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt,
}
CONSTRAINT = re.compile(r"^\s*([a-z0-9_]+)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*$")


def _metric(name: str, where: str) -> str:
    if name not in METRICS:
        raise UserError(f"{where}: unknown metric {name!r}; one of {', '.join(METRICS)}")
    return name


def derive(point: Metrics, gpus: int | None, cost_per_hour: float | None) -> Metrics:
    """A load point's metrics plus per-GPU throughput and cost per million output tokens
    (None where an input is unknown: no accelerator, no price, a metric the source lacks)."""
    metrics: Metrics = {**point, "gpus": None if gpus is None else float(gpus),
                        "cost_per_hour": cost_per_hour}
    output, total = point.get("output_tps"), point.get("total_tps")
    metrics["output_tps_per_gpu"] = output / gpus if gpus and output is not None else None
    metrics["total_tps_per_gpu"] = total / gpus if gpus and total is not None else None
    tokens_per_hour = (output or 0.0) * 3600
    metrics["cost_per_mtok"] = (cost_per_hour / tokens_per_hour * 1e6
                                if cost_per_hour is not None and tokens_per_hour else None)
    return metrics


@dataclass(frozen=True)
class Constraint:
    """`metric <= bound` (or >=, <, >)."""

    metric: str
    op: str
    bound: float

    @classmethod
    def parse(cls, text: str) -> Constraint:
        """From `ttft_p90_ms<=500`."""
        match = CONSTRAINT.match(text)
        if not match:
            raise UserError(f"--constraint {text!r}: expected METRIC<=NUMBER (or >=, <, >), "
                            "e.g. ttft_p90_ms<=500")
        return cls(_metric(match[1], f"--constraint {text!r}"), match[2], float(match[3]))

    def violation(self, metrics: Metrics) -> float:
        """0 when met, else how far off, relative to the bound (missing metric: 1)."""
        value = metrics.get(self.metric)
        if value is None:
            return 1.0
        if OPERATORS[self.op](value, self.bound):
            return 0.0
        return abs(value - self.bound) / max(abs(self.bound), 1e-9)

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.bound:g}"


@dataclass(frozen=True)
class Score:
    """A variant's objective value (None when infeasible), the point that gave it, and the
    smallest total constraint violation over its points (0 when feasible)."""

    value: float | None
    point: Metrics | None
    violation: float

    @property
    def feasible(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class Objective:
    """Maximise or minimise one metric subject to constraints."""

    metric: str
    maximize: bool = True
    constraints: tuple[Constraint, ...] = ()

    @classmethod
    def parse(cls, text: str, constraints: tuple[str, ...] = ()) -> Objective:
        """From `max:output_tps_per_gpu` / `min:cost_per_mtok` (a bare metric maximises)."""
        direction, _, metric = text.rpartition(":")
        if direction not in ("", "max", "min"):
            raise UserError(f"--objective {text!r}: expected [max:|min:]METRIC")
        return cls(_metric(metric, f"--objective {text!r}"), direction != "min",
                   tuple(Constraint.parse(item) for item in constraints))

    def better(self, a: float, b: float) -> bool:
        """True when `a` beats `b`."""
        return a > b if self.maximize else a < b

    def score(self, points: list[Metrics]) -> Score:
        """The best feasible point, or the least violating one when none is feasible."""
        best: tuple[float, Metrics] | None = None
        least = (float("inf"), None)
        for point in points:
            violation = sum(c.violation(point) for c in self.constraints)
            value = point.get(self.metric)
            if violation == 0 and value is not None:
                if best is None or self.better(value, best[0]):
                    best = (value, point)
            elif violation < least[0]:
                least = (violation, point)
        if best is not None:
            return Score(best[0], best[1], 0.0)
        return Score(None, least[1], least[0] if least[1] is not None else 1.0)

    def evaluate(self, points: list[Metrics], gpus: int | None,
                 cost_per_hour: float | None) -> dict[str, Any]:
        """The scored fields of a benchmarked variant's record, whatever measured it:
        `objective` (value, feasible, violation), `metrics` (the point that counts) and
        `load_points` (every point with its derived metrics)."""
        derived = [derive(point, gpus, cost_per_hour) for point in points]
        score = self.score(derived)
        return {"objective": self.as_dict() | {"value": score.value, "feasible": score.feasible,
                                               "violation": score.violation},
                "metrics": score.point, "load_points": derived}

    def metric_uses(self) -> dict[str, str]:
        """Metric -> what uses it (`--objective max:output_tps`, `--constraint ...`)."""
        used = {self.metric: f"--objective {'max' if self.maximize else 'min'}:{self.metric}"}
        for constraint in self.constraints:
            used.setdefault(constraint.metric, f"--constraint {constraint}")
        return used

    def describe(self) -> str:
        """`max output_tps_per_gpu s.t. ttft_p90_ms<=500`."""
        text = f"{'max' if self.maximize else 'min'} {self.metric}"
        return text + (f" s.t. {', '.join(map(str, self.constraints))}"
                       if self.constraints else "")

    def as_dict(self) -> dict[str, Any]:
        """For the results file."""
        return {"metric": self.metric, "direction": "max" if self.maximize else "min",
                "constraints": [str(c) for c in self.constraints]}
