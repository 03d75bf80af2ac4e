"""Facts the chart and this package share, read from the chart's `files/facts.yaml` (the
templates read the same file through `ms.facts`): the device-plugin resource and DRA
DeviceClass of each accelerator type, and the engine flags the chart renders itself."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError

FACTS_FILE = Path("files") / "facts.yaml"


@dataclass(frozen=True)
class ChartFacts:
    """The facts of one chart directory."""

    accelerators: dict[str, dict[str, str]]  # accelerator.type -> {resource, deviceClass}
    managed_flags: dict[str, dict[str, str]]  # group -> {vLLM flag: the key to set instead}

    def resource(self, accelerator_type: str) -> str:
        """Device-plugin resource of an accelerator type ("" for none or an unknown type)."""
        return (self.accelerators.get(accelerator_type) or {}).get("resource", "")

    def device_class(self, accelerator_type: str) -> str:
        """DRA DeviceClass of an accelerator type ("" for none or an unknown type)."""
        return (self.accelerators.get(accelerator_type) or {}).get("deviceClass", "")

    @property
    def accelerator_resources(self) -> tuple[str, ...]:
        """Resources that count as accelerators when reading rendered pods."""
        return tuple(r for r in map(self.resource, self.accelerators) if r)

    @property
    def accelerator_device_classes(self) -> tuple[str, ...]:
        """DeviceClasses of the accelerator DRA drivers."""
        return tuple(c for c in map(self.device_class, self.accelerators) if c)


@functools.cache
def chart_facts(chart: Path | None = None) -> ChartFacts:
    """The facts of `chart` (default: the chart this package uses, paths.chart_dir)."""
    import yaml

    from .paths import chart_dir

    folder = chart or chart_dir()
    path = folder / FACTS_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UserError(f"{path}: cannot read the chart's facts ({error.strerror}): is "
                        f"{folder} the modelservice chart of this mst version?") from None
    return ChartFacts(accelerators=data["accelerators"], managed_flags=data["managedFlags"])
