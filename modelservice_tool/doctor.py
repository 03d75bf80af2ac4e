"""`mst doctor`: is this machine and cluster ready for the chart?

Checks helm (3.x or 4.x), kubectl, that the cluster answers within a few seconds, and which
of the custom resource kinds the chart renders for a routing generation the cluster serves
(API discovery: group, version and kind), each missing one with the upstream command that
installs its CRD. With no reachable cluster the CRD checks are skipped. Given a release's
values, also what its autoscaling needs (KEDA's ScaledObject, the External metrics API and
the WVA controller).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import UserError
from .helm import find_helm
from .lifecycle import find_kubectl
from .served_apis import ServedApis

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
    note: str = ""  # why this CRD, when it is not the current upstream one

    @property
    def group(self) -> str:
        """The API group (the CRD name after the plural)."""
        return self.name.split(".", 1)[1]

    @property
    def api_version(self) -> str:
        """`group/version` the chart renders."""
        return f"{self.group}/{self.version}"


def _server_side(url: str) -> str:
    return f"kubectl apply --server-side -f {url}"


# Upstream release assets (server-side apply: several CRDs exceed the 256 KiB annotation
# limit of client-side apply). LWS's manifests.yaml also installs its controller, which an
# LWS needs anyway; prometheus-operator is the single PodMonitor CRD file at the tag.
COMMON_CRDS: tuple[CRD, ...] = (
    CRD("LeaderWorkerSet", "leaderworkersets.leaderworkerset.x-k8s.io", "v1", _server_side(
        "https://github.com/kubernetes-sigs/lws/releases/download/v0.10.0/manifests.yaml")),
    CRD("HTTPRoute", "httproutes.gateway.networking.k8s.io", "v1", _server_side(
        "https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.6.1/"
        "standard-install.yaml")),
    CRD("PodMonitor", "podmonitors.monitoring.coreos.com", "v1", _server_side(
        "https://raw.githubusercontent.com/prometheus-operator/prometheus-operator/v0.93.0/"
        "example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml")),
)
# routing.generation v1 (the default): GIE v1.6.0 InferencePool, llm-d-router v0.10.0 objective.
CRDS: tuple[CRD, ...] = (
    CRD("InferencePool", "inferencepools.inference.networking.k8s.io", "v1", _server_side(
        "https://github.com/kubernetes-sigs/gateway-api-inference-extension/releases/download/"
        "v1.6.0/v1-manifests.yaml"), required=True),  # routing.inferencePool.create: true
    CRD("InferenceObjective", "inferenceobjectives.llm-d.ai", "v1alpha2", _server_side(
        "https://github.com/llm-d/llm-d-router/releases/download/v0.10.0/manifests.yaml")),
    *COMMON_CRDS,
)
# routing.generation v1alpha2 (legacy): kinds removed upstream, so the fix points at the CRD
# file of the last GIE release that had each (config/crd/bases/ at that tag).
GIE_FILES = "https://raw.githubusercontent.com/kubernetes-sigs/gateway-api-inference-extension"
LEGACY_CRDS: tuple[CRD, ...] = (
    CRD("InferencePool", "inferencepools.inference.networking.x-k8s.io", "v1alpha2",
        _server_side(f"{GIE_FILES}/v1.4.0/config/crd/bases/"
                     "inference.networking.x-k8s.io_inferencepools.yaml"), required=True,
        note="routing.generation v1alpha2 renders the legacy x-k8s.io InferencePool, which "
             "Gateway API Inference Extension dropped in v1.5.0; v1.4.0 is the last release "
             "with it"),
    CRD("InferenceModel", "inferencemodels.inference.networking.x-k8s.io", "v1alpha2",
        _server_side(f"{GIE_FILES}/v0.5.1/config/crd/bases/"
                     "inference.networking.x-k8s.io_inferencemodels.yaml"),
        note="routing.generation v1alpha2 renders InferenceModel for routing.objective; "
             "Gateway API Inference Extension replaced it with InferenceObjective in v1.0.0 "
             "; v0.5.1 is the last release with it"),
    *COMMON_CRDS,
)
GENERATIONS: dict[str, tuple[CRD, ...]] = {"v1": CRDS, "v1alpha2": LEGACY_CRDS}
# autoscaling.keda: KEDA's release manifest installs the CRDs with the operator, which a
# ScaledObject needs anyway (the CRD the chart is validated against: crd_cache.PINNED).
KEDA_CRD = CRD("ScaledObject", "scaledobjects.keda.sh", "v1alpha1", _server_side(
    "https://github.com/kedacore/keda/releases/download/v2.20.2/keda-2.20.2.yaml"),
    required=True)
WVA_INSTALL = ("install the llm-d Workload Variant Autoscaler controller (>= v0.8.0, "
               "github.com/llm-d/llm-d-workload-variant-autoscaler) with Prometheus scraping "
               "vLLM and the controller")


def crd_for(api_version: str, kind: str) -> CRD | None:
    """The known CRD that serves `kind` in `api_version`, if any (for install hints)."""
    known = {(crd.api_version, crd.kind): crd
             for crds in (*GENERATIONS.values(), (KEDA_CRD,)) for crd in crds}
    return known.get((api_version, kind))


@dataclass(frozen=True)
class Autoscalers:
    """Which autoscaling paths a release's values use (any enabled role)."""

    keda: bool = False
    wva: bool = False
    hpa: bool = False  # an HorizontalPodAutoscaler the chart renders itself

    @classmethod
    def of(cls, values: dict[str, Any]) -> Autoscalers:
        """From the layered values of a release."""
        keda = wva = hpa = False
        for role in ("decode", "prefill"):
            settings = values.get(role) or {}
            scaling = settings.get("autoscaling") or {}
            enabled = settings.get("enabled", role == "decode") is True
            if not (enabled and scaling.get("enabled") is True):
                continue
            on_keda = (scaling.get("keda") or {}).get("enabled") is True
            keda, hpa = keda or on_keda, hpa or not on_keda
            wva = wva or (scaling.get("wva") or {}).get("enabled") is True
        return cls(keda, wva, hpa)


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


def served_crds(served: ServedApis, crds: Sequence[CRD] = CRDS) -> dict[str, list[str]]:
    """CRD name -> the versions of its group that serve its kind (absent: none does)."""
    found = {}
    for crd in crds:
        versions = [version for version in served.versions(crd.group)
                    if served.serves(f"{crd.group}/{version}", crd.kind)]
        if versions:
            found[crd.name] = versions
    return found


def crd_checks(installed: dict[str, list[str]], crds: Sequence[CRD] = CRDS) -> list[Check]:
    """One check per needed CRD, given what is served (name -> versions)."""
    checks = []
    for crd in crds:
        name = f"CRD {crd.kind}"
        versions = installed.get(crd.name)
        note = f" ({crd.note})" if crd.note else ""
        if versions is None:
            checks.append(Check(name, False, f"{crd.name} not installed: the cluster does not "
                                f"serve {crd.kind} {crd.api_version}{note}", crd.install,
                                hard=crd.required))
        elif crd.version not in versions:
            checks.append(Check(name, False, f"{crd.name} serves {', '.join(versions)}, "
                                f"the chart needs {crd.version}{note}", crd.install,
                                hard=crd.required))
        else:
            checks.append(Check(name, True, f"{crd.name} ({', '.join(versions)})"))
    return checks


def discovery(kubectl: str) -> ServedApis:
    """API discovery through kubectl; each group version is fetched once, so every check
    of one doctor run shares it."""
    return ServedApis.from_kubectl(lambda args: _run([kubectl, *args], timeout=30))


def check_crds(served: ServedApis, generation: str = "v1") -> list[Check]:
    """Which kinds the chart renders for `generation` the cluster serves (API discovery)."""
    crds = GENERATIONS[generation]
    try:
        return crd_checks(served_crds(served, crds), crds)
    except (UserError, ValueError, KeyError, TypeError) as error:
        return [Check("CRDs", False, f"API discovery failed: {_first_line(str(error))}",
                      "check that `kubectl api-resources` works against this cluster",
                      hard=False)]


def addon_checks(served: ServedApis, device_classes: Callable[[], list[str]]) -> list[Check]:
    """What the serving paths that need a component outside the release find (warnings
    only: a release that does not use the path needs nothing): DRA drivers' DeviceClasses
    for `accelerator.dra`, and the External metrics API for `autoscaling.epp` HPAs."""
    checks = []
    if not served.serves("resource.k8s.io/v1", "DeviceClass"):
        checks.append(Check("DRA", False, "resource.k8s.io/v1 is not served (Kubernetes "
                            "< 1.34, or DRA turned off): accelerator.dra cannot be used",
                            "use the device-plugin accelerators, or Kubernetes >= 1.34",
                            hard=False))
    else:
        classes = device_classes()
        checks.append(Check("DRA", bool(classes),
                            f"DeviceClasses: {', '.join(classes)}" if classes else
                            "resource.k8s.io/v1 served, but no DeviceClass: no DRA driver "
                            "is installed (accelerator.dra claims would stay pending)",
                            "install your accelerators' DRA driver (it creates the "
                            "DeviceClass accelerator.dra names)", hard=False))
    external = served.serves("external.metrics.k8s.io/v1beta1", "ExternalMetricValueList")
    checks.append(Check("External metrics", external,
                        "external.metrics.k8s.io served" if external else
                        "external.metrics.k8s.io is not served: HPAs on EPP metrics "
                        "(autoscaling.epp) or WVA (autoscaling.wva) would get no values",
                        "install a metrics adapter that serves the EPP's Prometheus "
                        "metrics as External metrics (e.g. prometheus-adapter or KEDA)",
                        hard=False))
    return checks


def autoscaler_checks(served: ServedApis, used: Autoscalers) -> list[Check]:
    """What the release's autoscaling paths need from the cluster: KEDA's ScaledObject kind
    (a failure: the install fails without it), the External metrics API for an HPA on WVA's
    wva_desired_replicas and the WVA controller, which API discovery cannot see (warnings:
    the release installs, but does not scale)."""
    checks = []
    if used.keda:
        checks += crd_checks(served_crds(served, (KEDA_CRD,)), (KEDA_CRD,))
    if used.wva and used.hpa:
        external = served.serves("external.metrics.k8s.io/v1beta1", "ExternalMetricValueList")
        checks.append(Check("WVA metric", external,
                            "external.metrics.k8s.io served (it must serve "
                            "wva_desired_replicas)" if external else
                            "external.metrics.k8s.io is not served: the HPA on "
                            "wva_desired_replicas (autoscaling.wva) would get no values",
                            "serve WVA's wva_desired_replicas as an External metric "
                            "(prometheus-adapter, as WVA's config/samples do)", hard=False))
    if used.wva:
        checks.append(Check("WVA controller", False, "autoscaling.wva needs the WVA controller "
                            "running (mst cannot detect it: it serves no API of its own)",
                            WVA_INSTALL, hard=False))
    return checks


def check_addons(kubectl: str, served: ServedApis) -> list[Check]:
    """`addon_checks` against the cluster kubectl talks to."""

    def device_classes() -> list[str]:
        result = _run([kubectl, "get", "deviceclasses", "-o", "name"])
        return sorted(line.split("/", 1)[-1] for line in result.stdout.split() if line)

    try:
        return addon_checks(served, device_classes)
    except (UserError, ValueError, KeyError, TypeError) as error:
        return [Check("add-ons", False, f"API discovery failed: {_first_line(str(error))}",
                      hard=False)]


def skipped_crd_checks(reason: str, generation: str = "v1") -> list[Check]:
    """CRD checks reported as skipped (not failed), e.g. with no reachable cluster."""
    return [Check(f"CRD {crd.kind}", True, f"skipped: {reason}", skipped=True)
            for crd in GENERATIONS[generation]]


def run_checks(helm: str | None = None, generation: str = "v1",
               used: Autoscalers | None = None) -> list[Check]:
    """All checks in order: helm, kubectl, cluster, the CRDs of `generation`, the add-ons,
    and what the autoscaling paths in `used` (a release's values, when given) need."""
    checks = [check_helm(helm)]
    kubectl_check, kubectl = check_kubectl()
    checks.append(kubectl_check)
    if kubectl is None:
        return [*checks, Check("cluster", True, "skipped: no kubectl", skipped=True),
                *skipped_crd_checks("no kubectl", generation)]
    cluster = check_cluster(kubectl)
    checks.append(cluster)
    if not cluster.ok:
        return [*checks, *skipped_crd_checks("cluster unreachable", generation)]
    served = discovery(kubectl)
    checks += [*check_crds(served, generation), *check_addons(kubectl, served)]
    if used is not None:
        try:
            checks += autoscaler_checks(served, used)
        except (UserError, ValueError, KeyError, TypeError) as error:
            checks.append(Check("autoscaling", False, "API discovery failed: "
                                f"{_first_line(str(error))}", hard=False))
    return checks


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
