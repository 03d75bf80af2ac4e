"""Which point of the space to try next: grid order, a seeded random order, or optuna's TPE."""

from __future__ import annotations

import random
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import BENCH_EXTRA, UserError
from .space import SearchSpace

Point = tuple[int, ...]
STRATEGIES = ("grid", "random", "bayes")
RANDOM_ORDER_LIMIT = 100_000


@dataclass(frozen=True)
class Outcome:
    """What a point gave: its objective value (None when infeasible or not run) and how far
    it is from feasible (0 when feasible; invalid and over-budget variants count as 1+)."""

    value: float | None
    violation: float


class Proposer(Protocol):
    """Proposes points one at a time and learns from their outcomes."""

    def next(self) -> Point | None:
        """The next point to try, or None when there is nothing left to propose."""

    def tell(self, point: Point, outcome: Outcome) -> None:
        """The outcome of a proposed point."""


class _Ordered:
    """Points from a fixed iterator; outcomes are ignored."""

    def __init__(self, points: Iterator[Point]) -> None:
        self._points = points

    def next(self) -> Point | None:
        return next(self._points, None)

    def tell(self, point: Point, outcome: Outcome) -> None:
        del point, outcome


def grid(space: SearchSpace) -> Proposer:
    """Every point in grid order (the last --param varies fastest)."""
    return _Ordered(space.points())


def shuffled(space: SearchSpace, seed: int) -> Proposer:
    """Points in a seeded random order, without repetition."""
    order = random.Random(seed).sample(range(space.size), min(space.size, RANDOM_ORDER_LIMIT))
    return _Ordered(space.point(index) for index in order)


class Bayes:
    """optuna TPE over value indices; infeasible outcomes are constraint violations, so the
    sampler learns to stay away from invalid, over-budget and SLO-missing regions."""

    def __init__(self, space: SearchSpace, *, seed: int, maximize: bool,
                 startup_trials: int = 8) -> None:
        try:
            import optuna
        except ImportError:
            raise UserError(f"--strategy bayes needs optuna: {BENCH_EXTRA}") from None
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._optuna = optuna
        self._names = [d.key for d in space.dimensions]
        self._distributions: dict[str, Any] = {
            d.key: (optuna.distributions.IntDistribution(0, len(d.values) - 1) if d.numeric
                    else optuna.distributions.CategoricalDistribution(range(len(d.values))))
            for d in space.dimensions
        }
        # optuna 5 reads constraints set on the trial; optuna 4 asks a constraints_func
        self._set_constraint = hasattr(optuna.trial.Trial, "set_constraint")
        legacy = None if self._set_constraint else (
            lambda trial: (trial.user_attrs.get("violation", 1.0),))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup_trials,
                                                 constraints_func=legacy)
        self._study = optuna.create_study(direction="maximize" if maximize else "minimize",
                                          sampler=sampler)
        self._pending: dict[Point, list[Any]] = {}

    def next(self) -> Point | None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", self._optuna.exceptions.ExperimentalWarning)
            trial = self._study.ask(self._distributions)
        point = tuple(int(trial.params[name]) for name in self._names)
        self._pending.setdefault(point, []).append(trial)
        return point

    def tell(self, point: Point, outcome: Outcome) -> None:
        trial = self._pending[point].pop(0)
        if self._set_constraint:
            trial.set_constraint("violation", outcome.violation)
        else:
            trial.set_user_attr("violation", outcome.violation)
        value = outcome.value if outcome.value is not None else 0.0
        self._study.tell(trial, value)


def make_proposer(strategy: str, space: SearchSpace, *, seed: int, maximize: bool,
                  trials: int | None) -> Proposer:
    """The proposer of a strategy name."""
    if strategy == "grid":
        return grid(space)
    if strategy == "random":
        return shuffled(space, seed)
    if strategy == "bayes":
        startup = max(3, min(10, (trials or 24) // 3))
        return Bayes(space, seed=seed, maximize=maximize, startup_trials=startup)
    raise UserError(f"unknown strategy {strategy!r}; one of {', '.join(STRATEGIES)}")
