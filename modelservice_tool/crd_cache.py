"""The upstream CRDs the chart's custom resources are validated against: which files at
which release tags, fetched once into a local cache (`mst crds fetch`) and checked by
sha256, so `mst validate` can check custom resources without a cluster or a checkout."""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import UserError
from .paths import cache_root, write_atomically

DEFAULT_BASE_URL = "https://raw.githubusercontent.com"


@dataclass(frozen=True)
class CrdFile:
    """One CRD file of an upstream repository at a release tag."""

    repo: str
    tag: str
    path: str
    sha256: str
    folder: str  # where it goes in the cache (the layout of the project's shared/crds)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def url(self, base: str) -> str:
        return f"{base.rstrip('/')}/{self.repo}/{self.tag}/{self.path}"


_GIE = "kubernetes-sigs/gateway-api-inference-extension"
_GIE_BASES = "config/crd/bases"

# The kinds the chart renders, at the versions it targets (sha256 of the release files).
PINNED: tuple[CrdFile, ...] = (
    CrdFile(_GIE, "v1.6.0", f"{_GIE_BASES}/inference.networking.k8s.io_inferencepools.yaml",
            "55e0dbf39c50c4bbdd60106493a4573df4bb44479f9ce46762f1af718883e5cd",
            "gateway-api-inference-extension"),
    CrdFile("llm-d/llm-d-router", "v0.10.0", "config/crd/bases/llm-d.ai_inferenceobjectives.yaml",
            "c1e763412fcbe2b55e9282850156269a10053be2d052547cb80a2ca639c09990", "llm-d-router"),
    CrdFile("kubernetes-sigs/lws", "v0.10.0",
            "config/crd/bases/leaderworkerset.x-k8s.io_leaderworkersets.yaml",
            "c5dcad8ed943e495490241f00b9a1b45d51203b6d484020db3636d5bf553568e", "lws"),
    CrdFile("kubernetes-sigs/gateway-api", "v1.6.1",
            "config/crd/standard/gateway.networking.k8s.io_httproutes.yaml",
            "a424a0d6c953b162e71d1d97bb7e75012d8f1ac264e7274f2763d1b96ab39852", "gateway-api"),
    CrdFile("prometheus-operator/prometheus-operator", "v0.93.0",
            "example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml",
            "45a93443daa687d3654f7e9631909ff7edcdf3ec09c5e60251b74aa2722aee5d",
            "prometheus-operator"),
    # autoscaling.keda: the ScaledObject rendered in place of an HPA
    CrdFile("kedacore/keda", "v2.20.2", "config/crd/bases/keda.sh_scaledobjects.yaml",
            "af35555862a83933b074af14ad439c4b4ceabaf4daa3e9338e9b23e36d308d80", "keda"),
    # routing.generation v1alpha2: the last GIE releases that had these kinds
    CrdFile(_GIE, "v1.4.0", f"{_GIE_BASES}/inference.networking.x-k8s.io_inferencepools.yaml",
            "449c5135bf65fdef2f5b925cc1632c0ac23f75e0e1f77aa6e21caadc4703f1e3",
            "gateway-api-inference-extension/legacy"),
    CrdFile(_GIE, "v0.5.1", f"{_GIE_BASES}/inference.networking.x-k8s.io_inferencemodels.yaml",
            "30e7754cf559000817b00d03c6ff20bd3182202d0842d744d04b3639a4f54b10",
            "gateway-api-inference-extension/legacy"),
)


def cache_dir() -> Path:
    """The CRD cache: `crds/` in mst's cache root (`$MST_CACHE_DIR`, else
    `${XDG_CACHE_HOME:-~/.cache}/modelservice`)."""
    return cache_root() / "crds"


def cached() -> Path | None:
    """The cache folder when every pinned CRD is in it, else None."""
    folder = cache_dir()
    complete = all((folder / crd.folder / crd.name).is_file() for crd in PINNED)
    return folder if complete else None


def _download(url: str, timeout: float) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise UserError(f"cannot download {url}: {reason}") from None


def _check(crd: CrdFile, body: bytes, url: str) -> None:
    digest = hashlib.sha256(body).hexdigest()
    if digest != crd.sha256:
        raise UserError(f"{url} is not the {crd.repo} {crd.tag} release file (sha256 {digest}, "
                        f"expected {crd.sha256}): nothing was written")
    document = yaml.safe_load(body)
    if not isinstance(document, dict) or document.get("kind") != "CustomResourceDefinition":
        raise UserError(f"{url} is not a CustomResourceDefinition: nothing was written")


def fetch(base_url: str = DEFAULT_BASE_URL, timeout: float = 30) -> tuple[Path, int]:
    """Download every pinned CRD not yet cached, check each, then move them all into the
    cache at once (a failed download writes nothing). Returns the folder and how many
    files were downloaded."""
    folder = cache_dir()
    missing = [crd for crd in PINNED if not (folder / crd.folder / crd.name).is_file()]
    bodies = {}
    for crd in missing:
        url = crd.url(base_url)
        body = _download(url, timeout)
        _check(crd, body, url)
        bodies[crd] = body
    for crd, body in bodies.items():
        write_atomically(folder / crd.folder / crd.name, body)
    return folder, len(bodies)
