"""One release as every command sees it: its layered inputs, name, namespace and chart;
the values checked once, rendered by helm, with chart refusals located in the layers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import UserError
from .helm import HelmFailed
from .layers_io import Inputs, SchemaViolation, load_layers, schema_problems
from .names import check_namespace, check_release_name
from .render import start_render

if TYPE_CHECKING:  # imported when used: render() starts helm before loading values
    from .layering import LayeredValues


@dataclass
class Release:
    """Inputs, release name, namespace and chart; `on_warning` receives each warning about
    the values (settings the chart would ignore, unusual layouts)."""

    inputs: Inputs
    name: str
    namespace: str
    chart: Path
    on_warning: Callable[[str], None] | None = None

    _layered: LayeredValues | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        check_release_name(self.name)
        check_namespace(self.namespace)

    def layered(self) -> LayeredValues:
        """The layered values, after the schema check (SchemaViolation on any problem);
        loaded once per release, however many steps of a command need them."""
        if self._layered is None:
            from .advice import warnings
            from .sources import display_path

            layered, _ = load_layers(self.inputs, self.chart)
            problems = schema_problems(layered, self.chart)
            if problems:
                raise SchemaViolation(problems)
            if self.on_warning is not None:
                presets = {display_path(path) for path in self.inputs.preset_files()}
                for advice in warnings(layered, presets):
                    self.on_warning(str(advice))
            self._layered = layered
        return self._layered

    def render(self) -> str:
        """Validated values rendered by one `helm template` run; a `fail` of the chart
        comes back located at the file:line that set the key it names."""
        run = start_render(self.inputs, self.chart, release=self.name,
                           namespace=self.namespace)
        try:
            layered = self.layered()  # checked while helm renders
        except BaseException:
            run.cancel()
            raise
        try:
            return run.result()
        except HelmFailed as error:
            from .sources import display_path

            failures = error.chart_failures()
            if not failures:
                raise
            defaults = display_path(self.chart / "values.yaml")
            lines = "\n".join(f"  {locate_chart_failure(layered, message, defaults)}"
                              for _, message in failures)
            raise UserError(f"the chart refused the values:\n{lines}") from None


_KEY = re.compile(r"^[A-Za-z][\w-]*(?:\.[\w-]+)*")


def locate_chart_failure(layered: LayeredValues, message: str, defaults: str) -> str:
    """`model.yaml:3:5: decode.parallelism: ...`: a `fail` message of the chart, located
    at the user layer that wrote the key path the message starts with (not located when
    only the chart defaults wrote it)."""
    match = _KEY.match(message)
    location = layered.origin(tuple(match[0].split("."))) if match else None
    where = f"{location}: " if location and location.source != defaults else ""
    return f"{where}{message}"
