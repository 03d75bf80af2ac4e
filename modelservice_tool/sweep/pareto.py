"""The Pareto front of benchmarked variants: best objective for what they cost."""

from __future__ import annotations

from .results import Record


def objective_value(record: Record) -> float | None:
    """The record's objective value (None unless benchmarked and feasible)."""
    if record.get("status") != "ok" or not record["objective"].get("feasible"):
        return None
    return record["objective"]["value"]


def cost_axis(records: list[Record]) -> str:
    """`cost_per_hour` when every record has a cost, else `gpus`."""
    costed = all(r.get("cost_per_hour") is not None for r in records)
    return "cost_per_hour" if records and costed else "gpus"


def pareto_front(records: list[Record], *, maximize: bool = True,
                 cost: str = "gpus") -> list[Record]:
    """Feasible records that no other feasible record matches or beats on both the
    objective and `cost` (with one strictly better), cheapest first."""
    sign = 1.0 if maximize else -1.0
    # (gain, cost): higher gain and lower cost are better
    scored = {r["variant_id"]: (r, sign * float(objective_value(r) or 0), float(r[cost]))
              for r in records if objective_value(r) is not None and r.get(cost) is not None}
    items = list(scored.values())

    def dominated(item: tuple[Record, float, float]) -> bool:
        _, gain, price = item
        return any(g >= gain and p <= price and (g > gain or p < price) for _, g, p in items)

    front = [item for item in items if not dominated(item)]
    return [record for record, _, _ in sorted(front, key=lambda item: (item[2], -item[1]))]


def best(records: list[Record], *, maximize: bool = True) -> Record | None:
    """The feasible record with the best objective value."""
    feasible = [r for r in records if objective_value(r) is not None]
    if not feasible:
        return None
    pick = max if maximize else min
    return pick(feasible, key=lambda r: float(objective_value(r) or 0))
