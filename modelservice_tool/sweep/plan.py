"""`mst sweep --plan-only`: the variants a sweep would try, their accelerators, cost and
what each changes in the rendered manifests. No cluster is touched."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import UserError
from .diff import manifest_diff
from .search import SweepConfig
from .space import SearchSpace
from .strategies import grid, shuffled
from .variants import Planner, RenderedVariant, short_problem, variant_of

MAX_PLAN = 500


@dataclass(frozen=True)
class PlanEntry:
    """One candidate: rendered, and whether the sweep would deploy it."""

    rendered: RenderedVariant
    over_budget: bool

    @property
    def status(self) -> str:
        if not self.rendered.valid:
            return "invalid"
        return "over budget" if self.over_budget else "deploy"


def _candidates(config: SweepConfig) -> Iterator[tuple[int, ...]]:
    proposer = shuffled(config.space, config.seed) if config.strategy == "random" else grid(
        config.space)
    while (point := proposer.next()) is not None:
        yield point


def plan(config: SweepConfig, planner: Planner) -> list[PlanEntry]:
    """Candidates in the order the sweep would meet them. Grid and random stop after
    `trials` deployable variants; bayes picks adaptively, so its plan is the whole space."""
    if config.space.size > MAX_PLAN and (config.strategy == "bayes" or config.trials is None):
        raise UserError(f"the space has {config.space.size} variants; a plan renders at most "
                        f"{MAX_PLAN}: narrow the --param lists or give --trials with grid/random")
    limit = None if config.strategy == "bayes" else config.trials
    entries: list[PlanEntry] = []
    for point in _candidates(config):
        rendered = planner.render(variant_of(config.space, point))
        over = config.gpu_budget is not None and rendered.gpus > config.gpu_budget
        entries.append(PlanEntry(rendered, over))
        if limit is not None and sum(e.status == "deploy" for e in entries) >= limit:
            break
        if len(entries) >= MAX_PLAN:
            break
    return entries


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _problem(entry: PlanEntry) -> str:
    if entry.over_budget:
        return "over the GPU budget"
    return short_problem(entry.rendered.problems[0]) if entry.rendered.problems else ""


def format_plan(entries: list[PlanEntry], planner: Planner, config: SweepConfig, *,
                diffs: bool = True) -> list[str]:
    """The plan as text lines: a table, totals, then each deployable variant's diff."""
    base = planner.base_rendered
    space: SearchSpace = config.space
    lines = [
        f"base {planner.base.name}: {base.gpus} accelerators"
        + (f", {_money(base.cost_per_hour)}/h" if base.cost_per_hour is not None else ""),
        f"search space: {len(space.dimensions)} parameter(s), {space.size} variant(s); "
        f"strategy {config.strategy}; objective {config.objective.describe()}"
        + (f"; GPU budget {config.gpu_budget}" if config.gpu_budget is not None else ""),
        "",
        f"{'#':>3}  {'variant id':<10}  {'accel':>5}  {'cost/h':>7}  {'status':<11}  overrides",
    ]
    for number, entry in enumerate(entries, start=1):
        rendered = entry.rendered
        note = "" if entry.status == "deploy" else f"  ({_problem(entry)})"
        lines.append(f"{number:>3}  {rendered.variant.id:<10}  {rendered.gpus:>5}  "
                     f"{_money(rendered.cost_per_hour):>7}  {entry.status:<11}  "
                     f"{' '.join(rendered.variant.set_items)}{note}")
    deploy = [e for e in entries if e.status == "deploy"]
    lines += ["", f"{len(deploy)} to deploy, {sum(e.status == 'invalid' for e in entries)} "
              f"invalid, {sum(e.status == 'over budget' for e in entries)} over budget; "
              f"accelerators per deployable variant: "
              + (f"min {min(e.rendered.gpus for e in deploy)}, max "
                 f"{max(e.rendered.gpus for e in deploy)}" if deploy else "none")]
    if diffs:
        for entry in deploy:
            lines += ["", f"# {entry.rendered.variant.id} {entry.rendered.variant.label()}"]
            changes = manifest_diff(base.objects, entry.rendered.objects)
            lines += changes or ["(renders the same manifests as the base)"]
    return lines
