"""Search spaces over values keys: `decode.parallelism.tensor=1,2,4`, `decode.replicas=2..8`."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import UserError
from ..setvalues import typed

KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
RANGE = re.compile(r"^(-?\d+)\.\.(-?\d+)(?::(\d+))?$")


@dataclass(frozen=True)
class Dimension:
    """One values key and the `--set` strings it may take, in the order given."""

    key: str
    values: tuple[str, ...]

    @property
    def numeric(self) -> bool:
        """True when every value is a number (the search may treat them as ordered)."""
        try:
            [float(value) for value in self.values]
        except ValueError:
            return False
        return True


def parse_dimension(text: str) -> Dimension:
    """`KEY=a,b,c`, `KEY=LOW..HIGH` or `KEY=LOW..HIGH:STEP` (integers, both ends included)."""
    key, equals, spec = text.partition("=")
    key, spec = key.strip(), spec.strip()
    if not equals or not KEY.match(key) or ".." in key or key.endswith("."):
        raise UserError(f"--param {text!r}: expected KEY=V1,V2,... or KEY=LOW..HIGH[:STEP] "
                        "with a dotted values key, e.g. decode.replicas=2..8")
    match = RANGE.match(spec)
    if match:
        low, high, step = int(match[1]), int(match[2]), int(match[3] or 1)
        if high < low or step < 1:
            raise UserError(f"--param {text!r}: empty range (LOW must be <= HIGH, STEP >= 1)")
        values = tuple(str(v) for v in range(low, high + 1, step))
    else:
        values = tuple(item.strip() for item in spec.split(","))
        if not all(values):
            raise UserError(f"--param {text!r}: empty value in the list")
    if len(set(values)) != len(values):
        raise UserError(f"--param {text!r}: a value is listed twice")
    return Dimension(key, values)


@dataclass(frozen=True)
class SearchSpace:
    """The cross product of its dimensions; a point is one value index per dimension."""

    dimensions: tuple[Dimension, ...]

    @classmethod
    def parse(cls, params: tuple[str, ...] | list[str]) -> SearchSpace:
        """From `--param` strings; each key at most once."""
        dimensions = tuple(parse_dimension(param) for param in params)
        keys = [dimension.key for dimension in dimensions]
        duplicated = sorted({key for key in keys if keys.count(key) > 1})
        if duplicated:
            raise UserError(f"--param given twice for {', '.join(duplicated)}")
        return cls(dimensions)

    @property
    def size(self) -> int:
        """Number of points."""
        return math.prod(len(d.values) for d in self.dimensions) if self.dimensions else 0

    def point(self, index: int) -> tuple[int, ...]:
        """The point at `index` in grid order (the last dimension varies fastest)."""
        indices = []
        for dimension in reversed(self.dimensions):
            index, position = divmod(index, len(dimension.values))
            indices.append(position)
        return tuple(reversed(indices))

    def points(self) -> Iterator[tuple[int, ...]]:
        """Every point, in grid order."""
        return (self.point(index) for index in range(self.size))

    def set_items(self, point: tuple[int, ...]) -> tuple[str, ...]:
        """`KEY=VALUE` items for `--set`, in dimension order."""
        return tuple(f"{d.key}={d.values[i]}" for d, i in zip(self.dimensions, point, strict=True))

    def overrides(self, point: tuple[int, ...]) -> dict[str, Any]:
        """KEY -> value, typed as helm types `--set` values."""
        return {d.key: typed(d.values[i]) for d, i in zip(self.dimensions, point, strict=True)}
