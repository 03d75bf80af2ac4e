"""API discovery: which group/version/kind the cluster serves (`/api/v1`, `/apis/G/V`).

Needs no permission beyond what every authenticated user has (discovery is public to
`system:authenticated`), unlike listing CRDs. Each group/version is fetched at most once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .errors import UserError, tool_message

Obj = dict[str, Any]
NOT_FOUND = ("NotFound", "could not find the requested resource")


class ServedApis:
    """What one cluster serves, read lazily through `fetch(path) -> JSON or None (404)`."""

    def __init__(self, fetch: Callable[[str], Obj | None]) -> None:
        self._fetch = fetch
        self._kinds: dict[str, frozenset[str] | None] = {}
        self._groups: dict[str, list[str]] | None = None

    def kinds(self, api_version: str) -> frozenset[str] | None:
        """Kinds served under `api_version` (`v1`, `apps/v1`, ...); None when not served."""
        if api_version not in self._kinds:
            path = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
            listing = self._fetch(path)
            self._kinds[api_version] = None if listing is None else frozenset(
                resource["kind"] for resource in listing.get("resources", [])
                if "/" not in resource.get("name", "/"))  # skip subresources
        return self._kinds[api_version]

    def serves(self, api_version: str, kind: str) -> bool:
        """True when the cluster serves `kind` in `api_version`."""
        return kind in (self.kinds(api_version) or ())

    def versions(self, group: str) -> list[str]:
        """Versions the cluster serves for an API group (empty when the group is unknown)."""
        if self._groups is None:
            listing = self._fetch("/apis") or {}
            self._groups = {item["name"]: [v["version"] for v in item.get("versions", [])]
                            for item in listing.get("groups", [])}
        return self._groups.get(group, [])

    @classmethod
    def from_kubectl(cls, run: Callable[[list[str]], Any]) -> ServedApis:
        """Discovery through `run(kubectl args) -> CompletedProcess` (`kubectl get --raw`)."""

        def fetch(path: str) -> Obj | None:
            result = run(["get", "--raw", path, "--request-timeout=10s"])
            if result.returncode == 0:
                return json.loads(result.stdout)
            if any(marker in result.stderr for marker in NOT_FOUND):
                return None
            raise UserError(f"cannot ask the cluster which APIs it serves ({path}): "
                            f"{tool_message(result.stderr)}\nPoint --kubeconfig / --context "
                            "(or $KUBECONFIG) at a running cluster; `mst doctor` checks the setup")

        return cls(fetch)


def unserved(served: ServedApis, objects: list[Obj]) -> list[tuple[str, str]]:
    """(apiVersion, kind) of the objects the cluster does not serve, sorted, no repeats."""
    wanted = sorted({(obj["apiVersion"], obj["kind"]) for obj in objects})
    return [(api_version, kind) for api_version, kind in wanted
            if not served.serves(api_version, kind)]
