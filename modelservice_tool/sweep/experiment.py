"""llm-d-benchmark experiment files for `mst sweep`: read and write.

An experiment file (llm-d-benchmark v0.8.0, experiments/*.yaml) lists `setup.treatments`
(stack variants: a name and dotted scenario keys, with `setup.constants` merged into each)
and `treatments` (workload variants: dotted paths into the harness profile). Setup
treatments become sweep variants through the scenario-key table (`llmd_scenario`); workload
treatments become the load points of the guidellm run each variant gets, since
llm-d-benchmark's guidellm profiles are guidellm scenarios like `mst`'s own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from ..bench.profiles import LoadProfile
from ..errors import UserError
from ..llmd_scenario import MAPPINGS, translate
from ..setvalues import typed
from ..sources import load_values_file
from .space import Dimension

# Workload-treatment keys: guidellm scenario paths (llm-d-benchmark's guidellm profiles), and
# the vllm-benchmark flags with the same meaning.
LOAD_KEYS = {
    "spec.profile.streams": "concurrency", "max-concurrency": "concurrency",
    "spec.profile.rate": "rate", "request-rate": "rate",
    "spec.data.0.prompt_tokens": "prompt_tokens", "random-input-len": "prompt_tokens",
    "spec.data.0.output_tokens": "output_tokens", "random-output-len": "output_tokens",
    "spec.constraints.0.seconds": "seconds",
    "num-prompts": "max_requests",
}
SHAPE_FIELDS = ("prompt_tokens", "output_tokens", "seconds")


@dataclass(frozen=True)
class SetupTreatment:
    """One stack variant: its name, its scenario keys, and the values keys they set."""

    name: str
    scenario: dict[str, Any]
    values: dict[str, Any]

    def set_items(self) -> tuple[str, ...]:
        """The values as `--set` items (lists by index, maps by key)."""
        return tuple(_set_items(self.values))


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    text = str(value)
    if "\n" in text:
        raise UserError(f"a multi-line value ({text[:30]!r}...) cannot be a --set item; "
                        "put it in a values file")
    return text.replace("\\", "\\\\").replace(",", "\\,")


def _set_items(values: dict[str, Any], prefix: str = "") -> list[str]:
    items = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            items += _set_items(value, f"{path}.")
        elif isinstance(value, list):
            items += [f"{path}[{index}]={_format(item)}" for index, item in enumerate(value)]
        else:
            items.append(f"{path}={_format(value)}")
    return items


@dataclass(frozen=True)
class TreatmentSpace:
    """Setup treatments as a search space: one categorical dimension, the treatment name.
    Same interface as `SearchSpace`, so every strategy, the plan and the search use it."""

    treatments: tuple[SetupTreatment, ...]

    @property
    def dimensions(self) -> tuple[Dimension, ...]:
        """One dimension, `treatment`, whose values are the treatment names."""
        return (Dimension("treatment", tuple(t.name for t in self.treatments)),)

    @property
    def size(self) -> int:
        """Number of treatments."""
        return len(self.treatments)

    def point(self, index: int) -> tuple[int, ...]:
        """The point of the `index`-th treatment."""
        return (index,)

    def points(self) -> Any:
        """Every treatment, in file order."""
        return ((index,) for index in range(self.size))

    def set_items(self, point: tuple[int, ...]) -> tuple[str, ...]:
        """The treatment's `--set` items."""
        return self.treatments[point[0]].set_items()

    def overrides(self, point: tuple[int, ...]) -> dict[str, Any]:
        """The treatment's values, by values key (nested maps and lists flattened)."""
        return {item.split("=", 1)[0]: typed(item.split("=", 1)[1])
                for item in self.set_items(point)}


@dataclass(frozen=True)
class Experiment:
    """What an experiment file asks `mst sweep` to run."""

    name: str
    setup: tuple[SetupTreatment, ...]
    load: dict[str, Any]


def _mapping(doc: Any, key: str, path: Path) -> dict[str, Any]:
    value = doc.get(key) if isinstance(doc, dict) else None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UserError(f"{path}: {key} must be a map, not {type(value).__name__}")
    return value


def _list(doc: dict[str, Any], key: str, path: Path, where: str) -> list[dict[str, Any]]:
    value = doc.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise UserError(f"{path}: {where} must be a list of maps (name plus dotted keys)")
    return value


def _setup(path: Path, doc: dict[str, Any]) -> tuple[SetupTreatment, ...]:
    setup = _mapping(doc, "setup", path)
    constants = _mapping(setup, "constants", path)
    treatments = []
    problems = []
    for index, item in enumerate(_list(setup, "treatments", path, "setup.treatments")):
        name = str(item.get("name") or f"setup-{index}")
        scenario = {**constants, **{k: v for k, v in item.items() if k != "name"}}
        try:
            values = translate(scenario, f"{path}: setup.treatments[{index}] ({name})")
        except UserError as error:
            problems.append(str(error))
            continue
        treatments.append(SetupTreatment(name, scenario, values))
    if problems:
        raise UserError("\n".join(problems))
    names = [t.name for t in treatments]
    if len(set(names)) != len(names):
        raise UserError(f"{path}: setup.treatments names must be unique")
    return tuple(treatments)


def _load(path: Path, doc: dict[str, Any]) -> dict[str, Any]:
    """`get_profile` overrides from the workload treatments (one load point each)."""
    fields: dict[str, list[Any]] = {}
    problems = []
    items = _list(doc, "treatments", path, "treatments")
    for index, item in enumerate(items):
        for key, value in item.items():
            if key == "name":
                continue
            field = LOAD_KEYS.get(key)
            if field is None:
                problems.append(f"{path}: treatments[{index}]: {key} is not a load setting "
                                f"mst can run; known: {', '.join(sorted(LOAD_KEYS))}")
                continue
            fields.setdefault(field, []).append(value)
    if problems:
        raise UserError("\n".join(problems))
    if "concurrency" in fields and "rate" in fields:
        raise UserError(f"{path}: treatments set both concurrency and rate; mst runs one kind "
                        "of load point per variant")
    overrides: dict[str, Any] = {}
    if "concurrency" in fields:
        overrides["concurrency"] = tuple(int(v) for v in fields["concurrency"])
    if "rate" in fields:
        overrides["rates"] = tuple(float(v) for v in fields["rate"])
    for field in SHAPE_FIELDS:
        values = set(fields.get(field, []))
        if len(values) > 1 or (values and len(fields[field]) != len(items)):
            raise UserError(f"{path}: treatments vary {field} ({sorted(values)} in "
                            f"{len(fields[field])} of {len(items)}); mst runs one token shape "
                            "and duration per variant: set it in every treatment or none")
        if values:
            overrides[field] = int(next(iter(values)))
    if fields.get("max_requests"):
        overrides["max_requests"] = max(int(v) for v in fields["max_requests"])
    return overrides


def read_experiment(path: Path) -> Experiment:
    """The experiment file's setup treatments (mapped to values keys) and load points."""
    doc = load_values_file(path).data
    setup = _setup(path, doc)
    if not setup:
        raise UserError(f"{path}: no setup.treatments: nothing for mst sweep to vary")
    name = str(_mapping(doc, "experiment", path).get("name") or path.stem)
    return Experiment(name, setup, _load(path, doc))


# values key -> scenario key, for the one-to-one rows of the table
_REVERSE = {m.values[0]: m.scenario for m in MAPPINGS
            if len(m.values) == 1 and m.convert is None
            and m.scenario != "model.huggingfaceId"}


def scenario_keys(overrides: dict[str, Any], where: str) -> dict[str, Any]:
    """Scenario keys for a variant's values keys (UserError for keys without one)."""
    missing = [key for key in overrides if key not in _REVERSE]
    if missing:
        raise UserError(f"{where}: {', '.join(missing)} has no llm-d-benchmark scenario key "
                        "(docs/llm-d-benchmark.md lists the mapped keys)")
    return {_REVERSE[key]: value for key, value in overrides.items()}


def _workload(profile: LoadProfile) -> list[dict[str, Any]]:
    shape = {"spec.data.0.prompt_tokens": profile.prompt_tokens,
             "spec.data.0.output_tokens": profile.output_tokens}
    if profile.mode == "concurrency":
        return [{"name": f"conc{c}", "spec.profile.streams": c, **shape}
                for c in profile.concurrency]
    if profile.mode == "rate":
        return [{"name": f"rate{r:g}".replace(".", "p"), "spec.profile.rate": r, **shape}
                for r in profile.rates]
    return []


def write_experiment(path: Path, name: str, variants: list[tuple[str, dict[str, Any]]],
                     profile: LoadProfile) -> None:
    """An experiment file llm-d-benchmark reads: `setup.treatments` from the variants
    (label, values overrides) and `treatments` from the load profile (guidellm paths;
    none for a rate sweep, which guidellm runs as one profile)."""
    treatments = [{"name": label, **scenario_keys(overrides, f"variant {label}")}
                  for label, overrides in variants]
    doc: dict[str, Any] = {
        "experiment": {"name": name, "harness": "guidellm",
                       "description": f"written by mst sweep: {len(treatments)} setup "
                                      f"treatment(s), load profile {profile.name}"},
        "setup": {"treatments": treatments},
    }
    workload = _workload(profile)
    if workload:
        doc["treatments"] = workload
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def load_profile(profile: LoadProfile, overrides: dict[str, Any]) -> LoadProfile:
    """The profile with an experiment's load settings applied (checked)."""
    changes = dict(overrides)
    if "concurrency" in changes:
        changes["mode"] = "concurrency"
    if "rates" in changes:
        changes["mode"] = "rate"
    return replace(profile, **changes).check() if changes else profile
