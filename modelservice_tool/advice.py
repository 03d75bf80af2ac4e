"""Warnings about values that pass the schema and render, but do not do what their author
most likely meant: settings the chart ignores, and layouts models rarely support."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .layering import LayeredValues
from .sources import KeyPath, Location, format_path

ROLES = ("decode", "prefill")


@dataclass(frozen=True)
class Advice:
    """One warning, located at the layer that wrote the key."""

    location: Location | None
    path: KeyPath
    message: str

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{format_path(self.path)}: {self.message}"


def _get(tree: Any, path: KeyPath) -> Any:
    for part in path:
        if not isinstance(tree, dict) or part not in tree:
            return None
        tree = tree[part]
    return tree


def _enabled(values: dict[str, Any], role: str) -> bool:
    default = role == "decode"
    enabled = _get(values, (role, "enabled"))
    return default if enabled is None else enabled is not False


def _leaves(tree: Any, path: KeyPath) -> Iterator[KeyPath]:
    if isinstance(tree, dict) and tree:
        for key, child in tree.items():
            yield from _leaves(child, (*path, key))
    else:
        yield path


def ignored_role_settings(layered: LayeredValues, presets: set[str]) -> Iterator[Advice]:
    """Settings a model layer wrote for a role that is not enabled (a preset may prepare a
    role for the models that enable it)."""
    for role in ROLES:
        written = _get(layered.user, (role,))
        if _enabled(layered.values, role) or not isinstance(written, dict):
            continue
        for path in _leaves({k: v for k, v in written.items() if k != "enabled"}, (role,)):
            location = layered.origin(path)
            if _get(layered.user, path) is not None and location.source not in presets:
                yield Advice(location, path,
                               f"ignored: {role} is not enabled (set {role}.enabled: true)")


def ignored_replicas(layered: LayeredValues, presets: set[str]) -> Iterator[Advice]:
    """`replicas` written for a role whose HPA owns the replica count."""
    for role in ROLES:
        path = (role, "replicas")
        if (_enabled(layered.values, role) and _get(layered.user, path) is not None
                and _get(layered.values, (role, "autoscaling", "enabled")) is True):
            yield Advice(layered.origin(path), path,
                           f"ignored: {role}.autoscaling is on, so its HPA sets the replicas "
                           f"between {role}.autoscaling.minReplicas and maxReplicas")


def autoscaling_without_metrics(layered: LayeredValues, presets: set[str]) -> Iterator[Advice]:
    """An HPA with no metrics (no `metrics`, EPP signals or WVA; a KEDA ScaledObject always has
    triggers) scales on CPU utilisation (the autoscaling/v2 default), which says little
    about an engine whose work runs on accelerators."""
    for role in ROLES:
        autoscaling = _get(layered.values, (role, "autoscaling")) or {}
        metrics = {k: v for k, v in (autoscaling.get("metrics") or {}).items() if v}
        signals = [v for v in (autoscaling.get("epp") or {}).values() if v]
        other = [(autoscaling.get(key) or {}).get("enabled") is True for key in ("wva", "keda")]
        if (_enabled(layered.values, role) and autoscaling.get("enabled") is True
                and not metrics and not signals and not any(other)):
            path = (role, "autoscaling", "enabled")
            yield Advice(layered.origin(path), path,
                           "the HPA has no metrics, so Kubernetes scales on 80% CPU "
                           f"utilisation; add {role}.autoscaling.metrics (e.g. a Pods metric "
                           "on vllm:num_requests_waiting)")


def unusual_tensor_parallelism(layered: LayeredValues, presets: set[str]) -> Iterator[Advice]:
    """Tensor-parallel sizes that are not powers of two: most models' attention heads do
    not divide by them, and vLLM then refuses to start."""
    for role in ROLES:
        path = (role, "parallelism", "tensor")
        tensor = _get(layered.values, path)
        if (_enabled(layered.values, role) and isinstance(tensor, int) and tensor > 1
                and tensor & (tensor - 1)):
            yield Advice(layered.origin(path), path,
                           f"tensor parallelism {tensor} is not a power of two: vLLM needs "
                           "the model's attention heads to divide by it, which few models "
                           "allow; check the model's num_attention_heads")


CHECKS = (ignored_role_settings, ignored_replicas, autoscaling_without_metrics,
          unusual_tensor_parallelism)


def warnings(layered: LayeredValues, presets: set[str]) -> list[Advice]:
    """Every warning about these values, in check order; `presets` are the sources (file
    names as in locations) that are presets."""
    return [advice for check in CHECKS for advice in check(layered, presets)]
