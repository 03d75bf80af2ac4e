"""`mst doctor`: is this machine and cluster ready for the chart?

Checks helm (3.x or 4.x), kubectl, that the cluster answers within a few seconds, and which
of the CRDs the chart's optional objects need are installed, each missing one with the
upstream command that installs it. With no reachable cluster the CRD checks are skipped.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import UserError
from .helm import find_helm
from .lifecycle import find_kubectl

KUBECTL_TIMEOUT = 15  # seconds for one kubectl call; the API requests themselves use 5s


@dataclass(frozen=True)
class Check:
    """One doctor finding. A failed `hard` check makes the run fail; others only warn."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    hard: bool = True
    skipped: bool = False

    @property
    def label(self) -> str:
        """`ok`, `FAIL`, `warn` or `skip`."""
        if self.skipped:
            return "skip"
        if self.ok:
            return "ok"
        return "FAIL" if self.hard else "warn"


@dataclass(frozen=True)
class CRD:
    """A CRD the chart may render objects of, and how to install it from upstream.

    `required`: the chart renders this kind with its default values, so installs fail
    without the CRD (a hard failure); the others are needed only when enabled (a warning).
    """

    kind: str
    name: str
    version: str
    install: str
    required: bool = False


def _server_side(url: str) -> str:
    return f"kubectl apply --server-side -f {url}"


# Upstream release assets (server-side apply: several CRDs exceed the 256 KiB annotation
# limit of client-side apply). LWS's manifests.yaml also installs its controller, which an
# LWS needs anyway; prometheus-operator is the single PodMonitor CRD file at the tag.
CRDS: tuple[CRD, ...] = (
    CRD("InferencePool", "inferencepools.inference.networking.k8s.io", "v1", _server_side(
        "https://github.com/kubernetes-sigs/gateway-api-inference-extension/releases/download/"
        "v1.6.0/v1-manifests.yaml"), required=True),  # routing.inferencePool.create: true
    CRD("InferenceObjective", "inferenceobjectives.llm-d.ai", "v1alpha2", _server_side(
        "https://github.com/llm-d/llm-d-router/releases/download/v0.10.0/manifests.yaml")),
    CRD("LeaderWorkerSet", "leaderworkersets.leaderworkerset.x-k8s.io", "v1", _server_side(
        "https://github.com/kubernetes-sigs/lws/releases/download/v0.10.0/manifests.yaml")),
    CRD("HTTPRoute", "httproutes.gateway.networking.k8s.io", "v1", _server_side(
        "https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.6.1/"
        "standard-install.yaml")),
    CRD("PodMonitor", "podmonitors.monitoring.coreos.com", "v1", _server_side(
        "https://raw.githubusercontent.com/prometheus-operator/prometheus-operator/v0.93.0/"
        "example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml")),
)


def _run(command: Sequence[str], timeout: float = KUBECTL_TIMEOUT
         ) -> subprocess.CompletedProcess[str]:
    """Run a command; a hang or a missing binary becomes a failed result, never a raise."""
    try:
        return subprocess.run(list(command), capture_output=True, text=True, check=False,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(command, 124, "", f"timed out after {timeout:g}s")
    except OSError as error:
        return subprocess.CompletedProcess(command, 127, "", str(error))


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "no output")


def check_helm(helm: str | None = None) -> Check:
    """helm found (or the given binary) and its major version: 3 or 4 ok, others warn."""
    try:
        helm = helm or find_helm()
    except UserError as error:
        return Check("helm", False, "not found", str(error).split(": ", 1)[-1])
    result = _run([helm, "version", "--template", "{{ .Version }}"])
    if result.returncode != 0:
        return Check("helm", False, f"{helm} does not run: {_first_line(result.stderr)}",
                     "reinstall helm 3.x or 4.x, or set MST_HELM")
    version = result.stdout.strip().removeprefix("v")
    major = version.split(".")[0]
    if major in ("3", "4"):
        return Check("helm", True, f"{version} (helm {major}.x) at {helm}")
    return Check("helm", False, f"{version} at {helm}: mst is tested with helm 3.x and 4.x",
                 "install helm 3.x or 4.x, or set MST_HELM", hard=False)


def check_kubectl() -> tuple[Check, str | None]:
    """kubectl found and its client version; also returns the path for later checks."""
    try:
        kubectl = find_kubectl()
    except UserError as error:
        return Check("kubectl", False, "not found", str(error).split(": ", 1)[-1]), None
    result = _run([kubectl, "version", "--client", "-o", "json"])
    try:
        version = json.loads(result.stdout)["clientVersion"]["gitVersion"]
    except (ValueError, KeyError, TypeError):
        return Check("kubectl", False, f"{kubectl} does not run: "
                     f"{_first_line(result.stderr)}", "reinstall kubectl"), None
    return Check("kubectl", True, f"{version} at {kubectl}"), kubectl


def check_cluster(kubectl: str) -> Check:
    """The current context's API server answers `kubectl version` within 5 s."""
    result = _run([kubectl, "version", "-o", "json", "--request-timeout=5s"])
    context = _run([kubectl, "config", "current-context"]).stdout.strip() or "none"
    try:
        server = json.loads(result.stdout)["serverVersion"]["gitVersion"]
    except (ValueError, KeyError, TypeError):
        return Check("cluster", False,
                     f"unreachable (context {context}): {_first_line(result.stderr)}",
                     "point KUBECONFIG at a cluster, or `kubectl config use-context NAME`, "
                     "and check the API server is up")
    if result.returncode != 0:  # kubectl also fails on a large client/server version skew
        return Check("cluster", True, f"Kubernetes {server} (context {context}; warning: "
                     f"{_first_line(result.stderr)})")
    return Check("cluster", True, f"Kubernetes {server} (context {context})")


def installed_crds(listing: dict[str, Any]) -> dict[str, list[str]]:
    """CRD name -> served versions, from `kubectl get crd NAME... -o json` (a List or one)."""
    items = listing.get("items", [listing] if listing.get("kind") else [])
    return {
        item["metadata"]["name"]: [version["name"] for version in item["spec"]["versions"]
                                   if version.get("served", True)]
        for item in items
    }


def crd_checks(installed: dict[str, list[str]]) -> list[Check]:
    """One check per needed CRD, given what is installed (name -> versions)."""
    checks = []
    for crd in CRDS:
        name = f"CRD {crd.kind}"
        versions = installed.get(crd.name)
        if versions is None:
            checks.append(Check(name, False, f"{crd.name} not installed", crd.install,
                                hard=crd.required))
        elif crd.version not in versions:
            checks.append(Check(name, False, f"{crd.name} serves {', '.join(versions)}, "
                                f"the chart needs {crd.version}", crd.install,
                                hard=crd.required))
        else:
            checks.append(Check(name, True, f"{crd.name} ({', '.join(versions)})"))
    return checks


def check_crds(kubectl: str) -> list[Check]:
    """Which needed CRDs the cluster has (one kubectl call; -o json parsed here rather than
    trusting a column format, and these few CRDs are at most a few MB)."""
    result = _run([kubectl, "get", "crd", *(crd.name for crd in CRDS), "-o", "json",
                   "--ignore-not-found", "--request-timeout=20s"], timeout=30)
    try:
        installed = installed_crds(json.loads(result.stdout or "{}"))
    except (ValueError, KeyError, TypeError):
        installed = None
    if result.returncode != 0 or installed is None:
        return [Check("CRDs", False, f"cannot list CRDs: {_first_line(result.stderr)}",
                      "ask for `get` on customresourcedefinitions (cluster-scoped)",
                      hard=False)]
    return crd_checks(installed)


def skipped_crd_checks(reason: str) -> list[Check]:
    """CRD checks reported as skipped (not failed), e.g. with no reachable cluster."""
    return [Check(f"CRD {crd.kind}", True, f"skipped: {reason}", skipped=True) for crd in CRDS]


def run_checks(helm: str | None = None) -> list[Check]:
    """All checks in order: helm, kubectl, cluster, CRDs."""
    checks = [check_helm(helm)]
    kubectl_check, kubectl = check_kubectl()
    checks.append(kubectl_check)
    if kubectl is None:
        return [*checks, Check("cluster", True, "skipped: no kubectl", skipped=True),
                *skipped_crd_checks("no kubectl")]
    cluster = check_cluster(kubectl)
    checks.append(cluster)
    if not cluster.ok:
        return [*checks, *skipped_crd_checks("cluster unreachable")]
    return [*checks, *check_crds(kubectl)]


def format_report(checks: Sequence[Check]) -> str:
    """One line per check (`[ok]`, `[FAIL]`, `[warn]`, `[skip]`), fixes indented below."""
    width = max((len(check.name) for check in checks), default=0)
    lines = []
    for check in checks:
        lines.append(f"[{check.label:<4}] {check.name:<{width}}  {check.detail}")
        if check.fix and not check.ok:
            lines.append(f"{'':7} {'':<{width}}  fix: {check.fix}")
    failed = sum(check.label == "FAIL" for check in checks)
    warned = sum(check.label == "warn" for check in checks)
    lines.append(f"{failed} failure(s), {warned} warning(s)")
    return "\n".join(lines)


def exit_code(checks: Sequence[Check]) -> int:
    """1 if any hard check failed (helm or kubectl missing, cluster unreachable, a CRD the
    default render needs missing), else 0."""
    return int(any(check.label == "FAIL" for check in checks))
