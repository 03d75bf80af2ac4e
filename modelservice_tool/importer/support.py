"""What the target chart has: the keys of its values.schema.json (so the converter maps onto
what this chart version supports and reports the rest), the defaults of its values.yaml and
its files/facts.yaml (so ports, accelerator names and managed flags are read, not restated)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..chart_facts import ChartFacts, chart_facts
from ..schema_check import schema_properties


@dataclass(frozen=True)
class ChartSupport:
    """Key paths of the chart's values schema, its default values and its facts."""

    schema: dict[str, Any]
    facts: ChartFacts
    defaults: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, chart: Path) -> ChartSupport:
        """The support table of a chart directory (no keys when it has no schema)."""
        schema_file, values_file = chart / "values.schema.json", chart / "values.yaml"
        schema = json.loads(schema_file.read_text()) if schema_file.is_file() else {}
        defaults = yaml.safe_load(values_file.read_text()) if values_file.is_file() else {}
        return cls(schema, chart_facts(chart), defaults or {})

    def has(self, *path: str) -> bool:
        """True when `path` (e.g. "routing", "kvTransfer") is a property of the values."""
        node = self.schema
        for part in path:
            properties = schema_properties(self.schema, node) or {}
            if part not in properties:
                return False
            node = properties[part]
        return True

    def default(self, *path: str) -> Any:
        """The chart's default value at `path` (values.yaml), e.g. ("engine", "port")."""
        node: Any = self.defaults
        for part in path:
            node = node[part]
        return node
