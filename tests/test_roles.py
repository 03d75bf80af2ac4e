"""Prefill and decode come from the same pod partial: with the same settings their pod
specs differ only in role-specific fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from support import one, render_values, run_helm_template

ROLE_SETTINGS = {
    "replicas": 2,
    "parallelism": {"tensor": 2},
    "tolerations": {"gpu": {"key": "nvidia.com/gpu", "operator": "Exists"}},
    "podAnnotations": {"a": "b"},
    "initContainers": {"warmup": {"image": "busybox:1.37", "command": ["true"]}},
    "sidecars": {"logger": {"image": "busybox:1.37", "command": ["sleep", "inf"]}},
    "volumes": {"extra": {"configMap": {"name": "cfg"}}},
    "volumeMounts": {"extra": {"mountPath": "/etc/extra", "readOnly": True}},
}


def render(tmp_path: Path, values: dict[str, Any]) -> list[dict[str, Any]]:
    return render_values(tmp_path, {"model": {"uri": "hf://org/model"}, **values})


def replace_role(value: Any, role: str) -> Any:
    """`value` with the role name swapped for a placeholder, recursively."""
    if isinstance(value, dict):
        return {k: replace_role(v, role) for k, v in value.items()}
    if isinstance(value, list):
        return [replace_role(v, role) for v in value]
    if isinstance(value, str):
        return value.replace(role, "<role>")
    return value


def test_roles_share_one_pod_partial(tmp_path: Path) -> None:
    objects = render(tmp_path, {"decode": ROLE_SETTINGS,
                                "prefill": {"enabled": True, **ROLE_SETTINGS},
                                "routing": {"proxy": {"enabled": False}}})
    decode = one(objects, "Deployment", "test-decode")
    prefill = one(objects, "Deployment", "test-prefill")
    assert replace_role(decode, "decode") == replace_role(prefill, "prefill")
    assert decode != prefill


def test_long_release_names_are_cut_to_dns_labels(tmp_path: Path) -> None:
    path = tmp_path / "v.yaml"
    path.write_text(yaml.safe_dump({"model": {"uri": "hf://o/m"}, "prefill": {"enabled": True}}))
    release = "r" * 53
    result = run_helm_template((path,), release=release)
    assert result.returncode == 0, result.stderr
    names = [d["metadata"]["name"] for d in yaml.safe_load_all(result.stdout) if d]
    assert all(len(name) <= 63 for name in names)
