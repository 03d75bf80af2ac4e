"""Pod volumes and engine volume mounts (lists) -> `volumes` / `volumeMounts` maps keyed by
volume name; a memory-backed volume at /dev/shm becomes the chart's `shm` setting."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..sources import KeyPath
from .context import Context

MOUNT_KEYS = ("mountPath", "readOnly", "subPath", "subPathExpr", "mountPropagation")
CHART_VOLUMES = ("model-storage", "shm")


@dataclass
class Volumes:
    """A role's extra volumes, engine mounts and shared-memory setting."""

    volumes: dict[str, Any] = field(default_factory=dict)
    mounts: dict[str, Any] = field(default_factory=dict)
    shm: dict[str, Any] | None = None


def _shm_volume(mounts: list[Any]) -> str | None:
    return next((m.get("name") for m in mounts
                 if isinstance(m, dict) and str(m.get("mountPath", "")).rstrip("/") == "/dev/shm"),
                None)


def convert_mounts(ctx: Context, path: KeyPath, mounts: list[Any], role: str,
                   out: Volumes) -> str | None:
    """Engine mounts into `out.mounts`; returns the name of the volume mounted at /dev/shm."""
    shm = _shm_volume(mounts)
    for index, mount in enumerate(mounts):
        where = (*path, index)
        name = mount.get("name") if isinstance(mount, dict) else None
        if not name:
            ctx.report.unmapped(where, "a volume mount without a name")
        elif name == shm:
            ctx.report.mapped(where, (role, "shm"), "the chart mounts shared memory itself")
        elif name in CHART_VOLUMES:
            ctx.report.unmapped(where, f"volume name {name!r} is the chart's own: rename the "
                                "volume and add it as a volume mount yourself")
        elif name in out.mounts:
            ctx.report.unmapped(where, f"volume {name!r} is mounted twice; the map keeps the "
                                "first mount: add the second with a kustomize patch")
        else:
            extra = sorted(set(mount) - {"name", *MOUNT_KEYS})
            out.mounts[name] = {k: mount[k] for k in MOUNT_KEYS if k in mount}
            ctx.report.mapped(where, (role, "volumeMounts", name),
                              f"dropped {', '.join(extra)}" if extra else "")
    return shm


def convert_volumes(ctx: Context, path: KeyPath, volumes: list[Any], role: str, shm: str | None,
                    out: Volumes) -> None:
    """Pod volumes into `out.volumes`; the /dev/shm volume into `out.shm`."""
    for index, volume in enumerate(volumes):
        where = (*path, index)
        name = volume.get("name") if isinstance(volume, dict) else None
        if not name:
            ctx.report.unmapped(where, "a volume without a name")
            continue
        source = {k: v for k, v in volume.items() if k != "name"}
        empty_dir = source.get("emptyDir") or {}
        if name == shm and set(source) == {"emptyDir"} and empty_dir.get("medium") == "Memory":
            out.shm = {"enabled": True, "sizeLimit": empty_dir.get("sizeLimit")}
            ctx.report.mapped(where, (role, "shm"), "memory-backed /dev/shm" + (
                "" if empty_dir.get("sizeLimit") else " without a size limit"))
        elif name in CHART_VOLUMES or name == shm:
            ctx.report.unmapped(where, f"volume {name!r} clashes with the chart's own "
                                "(model-storage, shm): rename it")
        else:
            out.volumes[name] = source
            ctx.report.mapped(where, (role, "volumes", name))
