"""Checking rendered objects against the Kubernetes schemas of several versions and custom
resources against their CRDs, and saying exactly what was checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import UserError

KUBERNETES_VERSIONS = ("1.33", "1.34", "1.35")


def validate_summary(objects: list[dict[str, Any]], custom: list[dict[str, Any]],
                     versions: tuple[str, ...], crds: Path | None) -> str:
    """What `mst validate` checked, and no more: custom resources are schema-checked only
    against CRD files."""
    def kinds(group: list[dict[str, Any]]) -> str:
        return ", ".join(sorted({obj["kind"] for obj in group}))

    core = [obj for obj in objects if obj not in custom]
    lines = [f"ok: {len(objects)} objects pass the cross-object checks",
             f"  {len(core)} core objects ({kinds(core)}) pass the Kubernetes "
             f"{', '.join(versions)} schemas"]
    if custom and crds:
        lines.append(f"  {len(custom)} custom resources ({kinds(custom)}) pass the CRDs in {crds}")
    elif custom:
        lines.append(f"  {len(custom)} custom resources ({kinds(custom)}) were not "
                     "schema-checked: run `mst crds fetch` once, or pass --crds DIR, to check "
                     "them against their CRDs")
    return "\n".join(lines)


def kubernetes_problems(objects: list[dict[str, Any]], versions: tuple[str, ...],
                        crd_dir: Path | None = None) -> tuple[list[str], list[dict[str, Any]]]:
    """Schema problems of core objects per Kubernetes version (needs kubernetes-validate),
    and of custom resources against the CRDs in `crd_dir` when given; also the custom
    resources (objects no Kubernetes schema knows)."""
    from .manifests import CrdSchemas, KubernetesSchemas, validate_manifests

    try:
        schemas = {version: KubernetesSchemas(version) for version in versions}
    except ValueError as error:
        raise UserError(str(error)) from None
    problems, custom = [], []
    for version, kubernetes in schemas.items():
        core = [obj for obj in objects if kubernetes.validator(obj["kind"], obj["apiVersion"])]
        custom = [obj for obj in objects if obj not in core]
        problems += [f"[k8s {version}] {p}" for p in validate_manifests(core, kubernetes)]
    if crd_dir is not None and custom:
        crds = CrdSchemas.from_dir(crd_dir)
        problems += [f"[crd] {p}" for p in validate_manifests(custom, kubernetes, crds)]
    return problems, custom
