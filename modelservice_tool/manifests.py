"""Validation of rendered manifests: core objects against the Kubernetes OpenAPI schemas
bundled by kubernetes-validate, custom resources against the openAPIV3Schema of their CRDs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource

Manifest = dict[str, Any]


@dataclass(frozen=True)
class Problem:
    """One schema violation in one rendered object."""

    obj: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.obj}: {self.path or '<root>'}: {self.message}"


def load_manifests(text: str) -> list[Manifest]:
    """Parse a multi-document YAML stream; empty documents are dropped."""
    return [doc for doc in yaml.safe_load_all(text) if doc]


def object_id(obj: Manifest) -> str:
    """`Kind/name` of an object, for messages."""
    return f"{obj.get('kind', '?')}/{obj.get('metadata', {}).get('name', '?')}"


def _error_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(part) for part in error.absolute_path)


class KubernetesSchemas:
    """Strict validators for core Kubernetes kinds, one per (kind, apiVersion), cached."""

    def __init__(self, version: str) -> None:
        self.version = version
        self._root = resources.files("kubernetes_validate") / "kubernetes-json-schema"
        self._dir = self._schema_dir(version)
        self._registry: Registry | None = None

    def _schema_dir(self, version: str) -> str:
        """The bundled schema folder of exactly this minor version (ValueError otherwise:
        a newer version must not silently pass against an older one's schemas)."""
        match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", version.strip())
        bundled = self.bundled_versions(self._root)
        if match is None:
            raise ValueError(f"--kube-version {version!r} is not a Kubernetes version: "
                             f"write MAJOR.MINOR, e.g. 1.34 (bundled: {', '.join(bundled)})")
        wanted = f"{int(match[1])}.{int(match[2])}"
        if wanted not in bundled:
            raise ValueError(f"kubernetes-validate has no schemas for Kubernetes {wanted} "
                             f"(bundled: {', '.join(bundled)}); pick one of those or upgrade "
                             "kubernetes-validate")
        return bundled[wanted]

    @staticmethod
    def bundled_versions(root: Any) -> dict[str, str]:
        """`{"1.34": "v1.34.1-local-strict", ...}`: the newest patch of each bundled minor."""
        found: dict[tuple[int, int], tuple[int, str]] = {}
        for entry in root.iterdir():
            match = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+)-local-strict", entry.name)
            if match:
                minor, patch = (int(match[1]), int(match[2])), int(match[3])
                if minor not in found or patch > found[minor][0]:
                    found[minor] = (patch, entry.name)
        return {f"{major}.{minor}": name for (major, minor), (_, name) in sorted(found.items())}

    def _load(self, name: str) -> Any:
        return json.loads((self._root / self._dir / name).read_text())

    @cache  # noqa: B019 - instances live for the whole run, one per Kubernetes version
    def validator(self, kind: str, api_version: str) -> jsonschema.Validator | None:
        """The validator of a kind, or None when Kubernetes has no such built-in kind."""
        group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
        try:
            schema = self._load(f"{kind.lower()}-{group_version}.json")
        except FileNotFoundError:
            return None
        if self._registry is None:
            definitions = Resource.from_contents(self._load("_definitions.json"))
            self._registry = definitions @ Registry()
        registry = Resource.from_contents(schema) @ self._registry
        return jsonschema.Draft202012Validator(schema, registry=registry)


class CrdSchemas:
    """Validators built from CustomResourceDefinition files (their openAPIV3Schema)."""

    def __init__(self, crd_files: Iterable[Path]) -> None:
        self._schemas: dict[tuple[str, str], Any] = {}
        for path in crd_files:
            for doc in yaml.safe_load_all(path.read_text()):
                if doc and doc.get("kind") == "CustomResourceDefinition":
                    self._add(doc)

    @classmethod
    def from_dir(cls, directory: Path) -> CrdSchemas:
        """All CRDs in the YAML files below `directory`."""
        return cls(sorted(directory.rglob("*.yaml")))

    def _add(self, crd: Manifest) -> None:
        spec = crd["spec"]
        for version in spec["versions"]:
            schema = version.get("schema", {}).get("openAPIV3Schema")
            if schema and version.get("served", True):
                api_version = f"{spec['group']}/{version['name']}"
                self._schemas[(api_version, spec["names"]["kind"])] = schema

    def kinds(self) -> set[tuple[str, str]]:
        """(apiVersion, kind) pairs known from the CRDs."""
        return set(self._schemas)

    @cache  # noqa: B019 - one instance per run
    def validator(self, kind: str, api_version: str) -> jsonschema.Validator | None:
        """The validator of a custom kind, or None when no loaded CRD defines it."""
        schema = self._schemas.get((api_version, kind))
        return jsonschema.Draft7Validator(schema) if schema is not None else None


def validate_manifests(
    manifests: Iterable[Manifest],
    kubernetes: KubernetesSchemas,
    crds: CrdSchemas | None = None,
) -> Iterator[Problem]:
    """Every schema problem of every object; an object of unknown kind is a problem too."""
    for obj in manifests:
        kind, api_version = obj.get("kind", ""), obj.get("apiVersion", "")
        validator = kubernetes.validator(kind, api_version)
        if validator is None and crds is not None:
            validator = crds.validator(kind, api_version)
        if validator is None:
            yield Problem(object_id(obj), "", f"no schema known for {api_version} {kind}")
            continue
        for error in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
            yield Problem(object_id(obj), _error_path(error), error.message)
