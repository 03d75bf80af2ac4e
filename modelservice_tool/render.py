"""Layered rendering: presets and model values handed to `helm template` in order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import helm, presets
from .errors import UserError
from .paths import chart_dir


@dataclass
class Layers:
    """The inputs of one release: value files in layer order plus --set overrides."""

    presets: Sequence[str] = ()
    values: Sequence[Path] = ()
    set_values: Sequence[str] = ()
    release: str = "modelservice"
    namespace: str = "default"
    chart: Path = field(default_factory=chart_dir)

    def files(self) -> list[Path]:
        """Preset files, then model values files, each checked to exist."""
        files = [presets.resolve(name) for name in self.presets]
        for path in self.values:
            if not Path(path).is_file():
                raise UserError(f"values file not found: {path}")
            files.append(Path(path))
        return files


def render(layers: Layers, *, kube_version: str | None = None) -> str:
    """The manifests `helm template` renders for these layers (one helm process)."""
    args = helm.template_args(
        layers.chart,
        layers.files(),
        release=layers.release,
        namespace=layers.namespace,
        set_values=layers.set_values,
        kube_version=kube_version,
    )
    return helm.run_helm(args)
