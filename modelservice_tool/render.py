"""Layered rendering: presets and model values handed to `helm template` in order."""

from __future__ import annotations

from pathlib import Path

from . import helm
from .layers_io import Inputs


def start_render(inputs: Inputs, chart: Path, *, release: str, namespace: str,
                 kube_version: str | None = None) -> helm.HelmRun:
    """`helm template` for these inputs, started; read it with `.result()`."""
    args = helm.template_args(chart, inputs.files(), release=release, namespace=namespace,
                              set_values=inputs.set_values, kube_version=kube_version)
    return helm.HelmRun(args)


def render(inputs: Inputs, chart: Path, *, release: str, namespace: str,
           kube_version: str | None = None) -> str:
    """The manifests `helm template` renders for these inputs (one helm process).

    The files go to helm as `-f` in layer order and `--set` items as given, so the output
    is byte-for-byte what plain helm prints for the same command line.
    """
    return start_render(inputs, chart, release=release, namespace=namespace,
                        kube_version=kube_version).result()
