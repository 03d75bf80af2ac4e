"""Settings both roles share move from `decode`/`prefill` to the shared `engine` and `pod`
blocks (entry by entry inside maps), so the converted file reads like a hand-written one.
Roles deep-merge over the shared blocks, so the rendered pods are the same either way."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

# Maps whose entries are shared one by one; anything else (an image, a toleration, a probe)
# is shared whole or not at all.
ENTRY_MAPS = ("args", "env", "resources", "requests", "limits", "accelerator", "nodeSelector",
              "tolerations", "podAnnotations", "podLabels", "imagePullSecrets", "volumes",
              "volumeMounts", "initContainers", "sidecars", "probes", "shm",
              "resourceClaims")


def split_common(a: dict[str, Any], b: dict[str, Any]
                 ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(what a and b share, the rest of a, the rest of b), entry by entry in ENTRY_MAPS."""
    shared: dict[str, Any] = {}
    rest_a, rest_b = dict(a), dict(b)
    for key in [k for k in a if k in b]:
        if a[key] == b[key]:
            shared[key] = a[key]
            del rest_a[key], rest_b[key]
        elif key in ENTRY_MAPS and isinstance(a[key], dict) and isinstance(b[key], dict):
            common, only_a, only_b = split_common(a[key], b[key])
            if common:
                shared[key] = common
                rest_a[key], rest_b[key] = only_a, only_b
                for rest in (rest_a, rest_b):
                    if not rest[key]:
                        del rest[key]
    return shared, rest_a, rest_b


def ordered(data: dict[str, Any], order: Iterable[str]) -> dict[str, Any]:
    """`data` with its keys in `order` (unknown keys last)."""
    return {**{k: data[k] for k in order if k in data}, **data}


def hoist(roles: dict[str, dict[str, Any]], role_only: Collection[str]
          ) -> tuple[dict[str, Any], dict[str, Any], dict[str, dict[str, Any]]]:
    """(shared engine, shared pod, remaining role blocks) for one or two enabled roles;
    `role_only`: the keys of a role block that are not pod settings (values.yaml's)."""
    engines = {name: role.get("engine", {}) for name, role in roles.items()}
    pods = {name: {k: v for k, v in role.items() if k not in role_only}
            for name, role in roles.items()}
    names = list(roles)
    if len(names) == 1:
        engine, pod = engines[names[0]], pods[names[0]]
        rests_engine, rests_pod = {names[0]: {}}, {names[0]: {}}
    else:
        first, second = names
        engine, e1, e2 = split_common(engines[first], engines[second])
        pod, p1, p2 = split_common(pods[first], pods[second])
        rests_engine, rests_pod = {first: e1, second: e2}, {first: p1, second: p2}
    remaining = {}
    for name, role in roles.items():
        block = {k: v for k, v in role.items() if k in role_only and k != "engine"}
        block.update(rests_pod[name])
        if rests_engine[name]:
            block["engine"] = ordered(rests_engine[name], engines[name])
        remaining[name] = block
    return engine, pod, remaining
