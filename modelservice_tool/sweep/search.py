"""The sweep loop: propose a point, render it, skip it if invalid or over budget, else
evaluate it (deploy and bench, or a stand-in), score it, record it; resumable."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..bench.results import BenchResult
from ..errors import UserError
from .experiment import TreatmentSpace
from .objective import Objective
from .results import SCHEMA, Record, ResultsFile, now
from .space import SearchSpace
from .strategies import Outcome, make_proposer
from .variants import Planner, RenderedVariant, manifest_digest, variant_of


@dataclass(frozen=True)
class Evaluation:
    """A benchmark of one deployed variant and where its raw result was saved."""

    result: BenchResult
    artifact: str | None = None


Evaluator = Callable[[RenderedVariant], Evaluation]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class SweepConfig:
    """How to search: the space, the strategy, how many benchmarks, what to optimise."""

    space: SearchSpace | TreatmentSpace  # --param grid, or an experiment's setup treatments
    objective: Objective
    strategy: str = "grid"
    trials: int | None = None  # benchmarks to run (None: until the strategy runs out)
    seed: int = 0
    gpu_budget: int | None = None
    retry_failed: bool = False


def base_info(planner: Planner) -> dict[str, Any]:
    """The base release as recorded in every result."""
    base = planner.base
    return {"release": base.name, "namespace": base.namespace,
            "presets": list(base.inputs.presets), "values": [str(v) for v in base.inputs.values],
            "set": list(base.inputs.set_values),
            "digest": manifest_digest(planner.base_rendered.manifests)}


def _record(rendered: RenderedVariant, config: SweepConfig, base: dict[str, Any],
            trial: int) -> Record:
    variant = rendered.variant
    return {
        "schema": SCHEMA, "variant_id": variant.id, "label": variant.label(),
        "set": list(variant.set_items), "overrides": variant.overrides, "status": "",
        "gpus": rendered.gpus, "accelerators": rendered.accelerators,
        "cost_per_hour": rendered.cost_per_hour, "strategy": config.strategy, "trial": trial,
        "base": base, "objective": config.objective.as_dict() | {"value": None,
                                                                 "feasible": False},
    }


def evaluate_variant(rendered: RenderedVariant, config: SweepConfig, evaluate: Evaluator,
                     base: dict[str, Any], trial: int) -> Record:
    """The record of one variant: invalid, over budget, failed, or benchmarked and scored."""
    record = _record(rendered, config, base, trial)
    if not rendered.valid:
        return record | {"status": "invalid", "problems": list(rendered.problems)}
    if config.gpu_budget is not None and rendered.gpus > config.gpu_budget:
        return record | {"status": "over_budget",
                         "problems": [f"{rendered.gpus} accelerators > budget "
                                      f"{config.gpu_budget}"]}
    started = now()
    try:
        evaluation = evaluate(rendered)
    except UserError as error:
        return record | {"status": "failed", "error": str(error), "started_at": started,
                         "finished_at": now()}
    scored = config.objective.evaluate([point.metrics() for point in evaluation.result.points],
                                       rendered.gpus, rendered.cost_per_hour)
    return record | {"status": "ok", **scored,
                     "tool": evaluation.result.tool, "result_file": evaluation.artifact,
                     "started_at": started, "finished_at": now()}


def outcome(record: Record, budget: int | None) -> Outcome:
    """What the strategy learns from a record."""
    if record["status"] == "invalid":
        return Outcome(None, 2.0)
    if record["status"] == "over_budget":
        return Outcome(None, 1.0 + (record["gpus"] - (budget or 0)) / max(budget or 1, 1))
    if record["status"] == "failed":
        return Outcome(None, 1.0)
    objective = record["objective"]
    return Outcome(objective["value"], 0.0 if objective["feasible"] else
                   float(objective.get("violation") or 1.0))


def run_sweep(config: SweepConfig, planner: Planner, evaluate: Evaluator,
              results: ResultsFile, progress: Progress = lambda _line: None) -> list[Record]:
    """Run the search; every new record is appended to `results` as soon as it exists.

    Variants already in `results` (same base) are reused, not evaluated again, so a
    killed sweep resumes where it stopped. `trials` counts variants that were deployed
    (ok or failed), reused ones included; invalid and over-budget ones cost nothing.
    """
    space = config.space
    base = base_info(planner)
    reuse = results.finished(base["digest"], retry_failed=config.retry_failed)
    proposer = make_proposer(config.strategy, space, seed=config.seed,
                             maximize=config.objective.maximize, trials=config.trials)
    seen: dict[str, Outcome] = {}
    records: list[Record] = []
    deployed, attempts = 0, 0
    while config.trials is None or deployed < config.trials:
        point = proposer.next()
        attempts += 1
        if point is None or len(seen) >= space.size or attempts > 20 * max(space.size, 10):
            break
        variant = variant_of(space, point)
        if variant.id in seen:  # bayes proposed a known point again: answer from memory
            proposer.tell(point, seen[variant.id])
            continue
        record = reuse.get(variant.id)
        if record is not None:
            progress(f"[{variant.label()}] {record['status']} (from {results.path})")
        else:
            rendered = planner.render(variant)
            progress(f"[{variant.label()}] {rendered.gpus} accelerators" +
                     ("" if rendered.valid else ": invalid"))
            record = evaluate_variant(rendered, config, evaluate, base, len(records) + 1)
            results.append(record)
            progress(f"[{variant.label()}] {record['status']}" + (
                f", {config.objective.metric} = {record['objective']['value']}"
                if record["status"] == "ok" else f": {record['error']}"
                if record["status"] == "failed" else ""))
        seen[variant.id] = outcome(record, config.gpu_budget)
        proposer.tell(point, seen[variant.id])
        records.append(record)
        deployed += record["status"] in ("ok", "failed")
    return records
