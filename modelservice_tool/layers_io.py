"""From CLI inputs (presets, values files, --set) to located, layered values."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import presets
from .errors import UserError

if TYPE_CHECKING:  # imported when used: `mst template` starts helm before loading values
    from .layering import LayeredValues
    from .schema_check import ValueProblem
    from .sources import ValuesSource


@dataclass
class Inputs:
    """The inputs of one release, in layer order."""

    presets: tuple[str, ...] = ()
    values: tuple[Path, ...] = ()
    set_values: tuple[str, ...] = ()

    def preset_files(self) -> list[Path]:
        """The preset files, lowest first."""
        return [presets.resolve(name) for name in self.presets]

    def files(self) -> list[Path]:
        """Preset files then model values files: the `-f` order for helm."""
        return self.preset_files() + [Path(v) for v in self.values]


def load_layers(inputs: Inputs, chart: Path) -> tuple[LayeredValues, list[ValuesSource]]:
    """Chart defaults + preset files + values files + --set, layered like helm."""
    from .layering import layer
    from .setvalues import parse_set
    from .sources import load_values_file

    defaults = load_values_file(chart / "values.yaml")
    sources = [load_values_file(path) for path in inputs.files()]
    sources += [parse_set(item) for item in inputs.set_values]
    return layer(defaults, sources), sources


def schema_problems(layered: LayeredValues, chart: Path) -> list[ValueProblem]:
    """Schema problems of the layered values ([] when the chart has no schema)."""
    from .schema_check import check_values

    schema_file = chart / "values.schema.json"
    return check_values(layered, schema_file) if schema_file.is_file() else []


class SchemaViolation(UserError):
    """Layered values break the chart schema; the message lists each located problem."""

    def __init__(self, problems: list[ValueProblem]) -> None:
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"{len(problems)} problem(s) in the values:\n{lines}")
