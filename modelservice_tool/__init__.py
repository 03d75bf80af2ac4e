"""ModelService toolkit: layered presets, validation and the helm workflow for the chart.

The package is the engine; `modelservice_tool.commands` is the `mst` command line around
it, and nothing here imports click. The public Python API is small:

    from modelservice_tool import Inputs, Release, chart_dir, compare, validate_objects

    release = Release(Inputs(presets=("pd-a100",), values=(Path("model.yaml"),)),
                      "gpt-oss", "llm", chart_dir())
    release.layered()                      # values layered like helm, schema-checked, located
    manifests = release.render()           # exactly what `helm template` renders
    problems = validate_objects(manifests) # cross-object, upstream and Kubernetes checks
    impact = compare(old_objects, new_objects)  # what an upgrade breaks, changes, restarts

Errors a user can fix are `UserError`s (`ValidationFailed` for failed checks) whose message
says what, where and how; `exit_code` is what `mst` exits with.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `typing`: `mst template` starts helm before importing it
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

__version__ = "0.1.0"

__all__ = ["Inputs", "Release", "UserError", "ValidationFailed", "chart_dir", "compare",
           "validate_objects"]

_LAZY = {
    "Inputs": "layers_io", "Release": "release", "UserError": "errors",
    "ValidationFailed": "errors", "chart_dir": "paths", "compare": "upgrade",
}


def __getattr__(name: str) -> Any:
    """The API names, imported on first use (the CLI imports only what a command needs)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def validate_objects(manifests: str, kube_versions: tuple[str, ...] | None = None,
                     crds: Path | None = None) -> list[str]:
    """Every problem `mst validate` finds in rendered manifests: cross-object and upstream
    contract checks, then the Kubernetes schemas (and the CRDs in `crds`)."""
    from .checks import run_checks
    from .manifests import load_manifests
    from .validation import KUBERNETES_VERSIONS, kubernetes_problems

    objects = load_manifests(manifests)
    problems = [str(finding) for finding in run_checks(objects)]
    return problems + kubernetes_problems(objects, kube_versions or KUBERNETES_VERSIONS,
                                          crds)[0]
