"""Which values keys the target chart has: read from its values.schema.json, so the
converter maps onto what this chart version supports and reports the rest."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..schema_check import schema_properties


@dataclass(frozen=True)
class ChartSupport:
    """Key paths of the chart's values schema."""

    schema: dict[str, Any]

    @classmethod
    def load(cls, chart: Path) -> ChartSupport:
        """The support table of a chart directory (empty when it has no schema)."""
        schema_file = chart / "values.schema.json"
        return cls(json.loads(schema_file.read_text()) if schema_file.is_file() else {})

    def has(self, *path: str) -> bool:
        """True when `path` (e.g. "routing", "kvTransfer") is a property of the values."""
        node = self.schema
        for part in path:
            properties = schema_properties(self.schema, node) or {}
            if part not in properties:
                return False
            node = properties[part]
        return True
