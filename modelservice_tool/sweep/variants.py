"""Variants: the base release plus one point's `--set` items, layered, checked and rendered
exactly as `mst template` would, with their accelerator count and cost."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from typing import Any

from ..chart_facts import chart_facts
from ..checks import model_workloads, run_checks
from ..errors import UserError
from ..layers_io import Inputs
from ..manifests import Manifest, load_manifests
from ..release import Release
from .space import SearchSpace


@dataclass(frozen=True)
class Variant:
    """A point of the search space as overrides of the base release."""

    set_items: tuple[str, ...]
    overrides: dict[str, Any] = field(hash=False, compare=False)

    @property
    def id(self) -> str:
        """Stable short id of the overrides (same overrides, same id, across runs)."""
        return hashlib.sha256("\n".join(self.set_items).encode()).hexdigest()[:10]

    def label(self) -> str:
        """`tensor=2 replicas=4`: the last segment of each key and its value."""
        return " ".join(f"{key.rsplit('.', 1)[-1]}={value}"
                        for key, value in self.overrides.items()) or "base"


def variant_of(space: SearchSpace, point: tuple[int, ...]) -> Variant:
    """The variant at one point of the space."""
    return Variant(space.set_items(point), space.overrides(point))


@dataclass(frozen=True)
class RenderedVariant:
    """A variant's manifests, its accelerator count, or why it is invalid."""

    variant: Variant
    manifests: str = ""
    objects: tuple[Manifest, ...] = ()
    accelerators: dict[str, int] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    cost_per_hour: float | None = None

    @property
    def valid(self) -> bool:
        """Rendered and passed the checks."""
        return not self.problems

    @property
    def gpus(self) -> int:
        """Accelerators of every kind over every model pod."""
        return sum(self.accelerators.values())


def _pods_per_replica(workload: Manifest) -> list[tuple[int, dict[str, Any]]]:
    """(pods, template) pairs for one replica: a Deployment pod, or an LWS group."""
    if workload["kind"] != "LeaderWorkerSet":
        return [(1, workload["spec"]["template"])]
    lwt = workload["spec"]["leaderWorkerTemplate"]
    size = int(lwt.get("size", 1))
    if lwt.get("leaderTemplate"):
        return [(1, lwt["leaderTemplate"]), (size - 1, lwt["workerTemplate"])]
    return [(size, lwt["workerTemplate"])]


def accelerator_count(objects: list[Manifest]) -> dict[str, int]:
    """Accelerators by resource name: sum over model workloads of replicas x per pod."""
    totals: dict[str, int] = {}
    for workload in model_workloads(objects):
        replicas = int(workload["spec"].get("replicas", 1))
        for pods, template in _pods_per_replica(workload):
            for container in template["spec"]["containers"]:
                limits = container.get("resources", {}).get("limits", {})
                for name in chart_facts().accelerator_resources:
                    if name in limits:
                        totals[name] = totals.get(name, 0) + replicas * pods * int(limits[name])
    return totals


def variant_release(base: Release, variant: Variant) -> Release:
    """The base release with the variant's items after the base's own `--set` items."""
    inputs = Inputs(base.inputs.presets, base.inputs.values,
                    (*base.inputs.set_values, *variant.set_items))
    return replace(base, inputs=inputs)


def render_variant(base: Release, variant: Variant,
                   gpu_hour_cost: float | None = None) -> RenderedVariant:
    """Layer, schema-check, render (one helm run) and cross-check one variant."""
    try:
        manifests = variant_release(base, variant).render()
    except UserError as error:
        return RenderedVariant(variant, problems=(str(error),))
    objects = load_manifests(manifests)
    findings = tuple(str(finding) for finding in run_checks(objects))
    accelerators = accelerator_count(objects)
    cost = None if gpu_hour_cost is None else sum(accelerators.values()) * gpu_hour_cost
    return RenderedVariant(variant, manifests, tuple(objects), accelerators, findings, cost)


def manifest_digest(manifests: str) -> str:
    """sha256 of rendered manifests: identifies a base across runs."""
    return hashlib.sha256(manifests.encode()).hexdigest()


class Planner:
    """Renders each variant once (a search may propose the same point again)."""

    def __init__(self, base: Release, gpu_hour_cost: float | None = None) -> None:
        self.base = base
        self.gpu_hour_cost = gpu_hour_cost
        self._cache: dict[tuple[str, ...], RenderedVariant] = {}
        self.base_rendered = render_variant(base, Variant((), {}), gpu_hour_cost)
        if not self.base_rendered.valid:
            raise UserError("the base release is invalid:\n" +
                            "\n".join(self.base_rendered.problems))

    def render(self, variant: Variant) -> RenderedVariant:
        """The rendered variant (cached by its `--set` items)."""
        if variant.set_items not in self._cache:
            self._cache[variant.set_items] = render_variant(self.base, variant,
                                                            self.gpu_hour_cost)
        return self._cache[variant.set_items]


def short_problem(problem: str) -> str:
    """The line of a problem that says what is wrong (helm's `Error:` line without its
    template location, else the last line)."""
    lines = [line.strip() for line in problem.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    line = (errors or lines or [""])[-1 if not errors else 0]
    return re.sub(r"^Error: (execution error at \([^)]*\): )?", "", line)
