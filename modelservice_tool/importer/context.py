"""What every conversion step shares: the located input, the report, what the target chart
supports, and the facts about one role that the old chart derived from its defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..sources import KeyPath, ValuesSource
from .report import Report
from .support import ChartSupport
from .templates import resolve


@dataclass
class Context:
    """The input values (with locations), the report being written and the chart's keys."""

    source: ValuesSource
    report: Report
    support: ChartSupport
    generation: str = "v0.3"

    @property
    def values(self) -> dict[str, Any]:
        return self.source.data

    def get(self, path: KeyPath, default: Any = None) -> Any:
        """The input value at `path` (list indexes allowed), or `default` when absent."""
        node: Any = self.values
        for part in path:
            in_map = isinstance(node, dict) and part in node
            in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
            if in_map or in_list:
                node = node[part]
            else:
                return default
        return default if node is None else node

    def present(self, path: KeyPath) -> bool:
        """True when the input writes `path` (even to null)."""
        return path in self.source.locations

    def text(self, path: KeyPath, text: str) -> str:
        """A string the old chart rendered with `tpl`: old `.Values` references resolved;
        any other template action is reported (this chart's context differs)."""
        resolved, leftovers = resolve(text, self.values)
        if leftovers:
            self.report.unmapped(path, f"template {', '.join(leftovers)} kept as is: it "
                                 "must render with this chart's context (see README, "
                                 "Template variables)")
        return resolved


@dataclass
class RoleFacts:
    """What the old chart computed for one role, which the conversion must reproduce."""

    role: str
    model_arg: str
    served_name: str
    vllm_port: int
    service_port: int
    pd: bool
    kv_managed: bool
    tensor: int
    data: int
    data_local: int
    workers: int
    resource_name: str
    mount_path: str
    auth_secret: str
    scheme: str
    hub_cache: str = ""

    @property
    def accelerators(self) -> int:
        """Accelerators per pod the old chart requested: tensor x dataLocal."""
        return self.tensor * self.data_local
