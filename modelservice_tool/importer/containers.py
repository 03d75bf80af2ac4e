"""A role's other containers -> `sidecars`, and its init containers -> `initContainers`,
both maps keyed by container name (this chart runs init containers in name order)."""

from __future__ import annotations

from typing import Any

from ..sources import KeyPath
from .context import Context

OLD_ONLY_KEYS = ("modelCommand", "mountModelVolume", "extraConfig")


def engine_index(containers: list[Any]) -> int:
    """Which container runs the model: the first with a vllmServe/imageDefault command,
    else the first that mounts the model, else the one named vllm, else the first."""
    tests = (lambda c: c.get("modelCommand") in ("vllmServe", "imageDefault"),
             lambda c: bool(c.get("mountModelVolume")),
             lambda c: c.get("name") == "vllm")
    for test in tests:
        for index, container in enumerate(containers):
            if isinstance(container, dict) and test(container):
                return index
    return 0


def plain_container(container: dict[str, Any], mount_path: str) -> dict[str, Any]:
    """A Kubernetes container without the old chart's own keys (and without `name`)."""
    out = {k: v for k, v in container.items() if k not in (*OLD_ONLY_KEYS, "name")}
    out.update(container.get("extraConfig") or {})
    if container.get("mountModelVolume"):
        mounts = list(out.get("volumeMounts") or [])
        out["volumeMounts"] = [*mounts, {"name": "model-storage", "mountPath": mount_path}]
    return out


def convert_sidecars(ctx: Context, path: KeyPath, containers: list[Any], skip: int, role: str,
                     mount_path: str) -> dict[str, Any]:
    """Every container but the engine, as sidecars."""
    sidecars: dict[str, Any] = {}
    for index, container in enumerate(containers):
        if index == skip:
            continue
        where = (*path, index)
        name = container.get("name") if isinstance(container, dict) else None
        if not name or name in sidecars:
            ctx.report.unmapped(where, "a container needs a unique name")
            continue
        if container.get("modelCommand") in ("vllmServe", "imageDefault"):
            ctx.report.unmapped(where, "a second engine container: this chart runs one "
                                "engine per pod")
            continue
        sidecars[name] = plain_container(container, mount_path)
        ctx.report.mapped(where, (role, "sidecars", name), "as given; the old chart also "
                          "requested accelerators for it, this chart only for the engine")
    return sidecars


def convert_init_containers(ctx: Context, path: KeyPath, containers: list[Any], role: str,
                            mount_path: str) -> dict[str, Any]:
    """Init containers keyed by name; renamed `NN-name` when name order would change their
    order."""
    named = [(i, c) for i, c in enumerate(containers) if isinstance(c, dict) and c.get("name")]
    names = [str(c["name"]) for _, c in named]
    keep_names = names == sorted(names) and len(set(names)) == len(names)
    out: dict[str, Any] = {}
    for position, (index, container) in enumerate(named):
        name = names[position] if keep_names else f"{position:02d}-{names[position]}"
        out[name] = plain_container(container, mount_path)
        ctx.report.mapped((*path, index), (role, "initContainers", name), "" if keep_names
                          else "renamed: this chart runs init containers in name order")
    for index, container in enumerate(containers):
        if not (isinstance(container, dict) and container.get("name")):
            ctx.report.unmapped((*path, index), "an init container without a name")
    return out
