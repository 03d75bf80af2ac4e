"""Layered rendering: presets and model values handed to `helm template` in order."""

from __future__ import annotations

from pathlib import Path

from . import helm
from .layers_io import Inputs


def render(inputs: Inputs, chart: Path, *, release: str, namespace: str,
           kube_version: str | None = None) -> str:
    """The manifests `helm template` renders for these inputs (one helm process).

    The files go to helm as `-f` in layer order and `--set` items as given, so the output
    is byte-for-byte what plain helm prints for the same command line.
    """
    args = helm.template_args(chart, inputs.files(), release=release, namespace=namespace,
                              set_values=inputs.set_values, kube_version=kube_version)
    return helm.run_helm(args)
