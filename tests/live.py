"""Shared support for the live-cluster tests (marker `e2e`), used through the fixtures in
tests/conftest.py (`live_cluster`, `live_namespace`, `sim_nodes`, `running_pods`).

The reference cluster is the control plane in ../shared/k8s (real API server, controllers
and scheduler; no kubelet). `.ci/run` starts it and applies the upstream CRDs from
../shared/crds (not the legacy/ ones: a current cluster does not serve the removed kinds;
tests of the legacy generation apply and remove those themselves). On that cluster the tests
add one simulated node pool per preset (`sim-<preset>-N`) built from what the preset says
about its hardware, so pods schedule exactly as on a user's cluster - or do not, with the
scheduler's reason. Nothing here waits for pods to become ready: they never run there.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import re
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from modelservice_tool import upstream
from modelservice_tool.chart_facts import chart_facts
from support import PRESETS, REPO, SHARED_CRDS, cluster_problem, render, sample_files, samples

Obj = dict[str, Any]
SIM_K8S = Path(os.environ.get("MST_SIM_K8S", REPO.parent / "shared" / "k8s"))
SIM_CONTEXT = "k8s-fixture"  # the context name ../shared/k8s/up writes into its kubeconfig
# The CRD folders of ../shared/crds a current cluster has (legacy/ is left out on purpose).
CRD_DIRS = ("gateway-api", "gateway-api-inference-extension", "llm-d-router", "lws",
            "prometheus-operator", "keda")  # those present in ../shared/crds
LEGACY_CRDS = SHARED_CRDS / "gateway-api-inference-extension" / "legacy"
# Kinds the samples render that must be served before any live test runs.
BASE_KINDS = (("inference.networking.k8s.io/v1", "InferencePool"),
              ("llm-d.ai/v1alpha2", "InferenceObjective"),
              ("gateway.networking.k8s.io/v1", "HTTPRoute"),
              ("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet"),
              ("monitoring.coreos.com/v1", "PodMonitor"))
ACCELERATORS_PER_NODE = 8  # every preset's hardware comes as 8-accelerator nodes
POD_TIMEOUT = 60  # seconds for the scheduler to bind (or refuse) a pod: it takes < 1 s


def kubectl(*args: str, stdin: str | None = None, check: bool = True,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run kubectl against $KUBECONFIG; with `check` a failure fails the test with stderr."""
    from modelservice_tool.lifecycle import find_kubectl

    result = subprocess.run([find_kubectl(), *args], input=stdin, capture_output=True,
                            text=True, check=False, timeout=timeout)
    assert not check or result.returncode == 0, f"kubectl {' '.join(args)}:\n{result.stderr}"
    return result


def get_json(*args: str) -> Obj:
    """Parsed `kubectl get ... -o json`."""
    return json.loads(kubectl("get", *args, "-o", "json").stdout)


# --------------------------------------------------------------------------- the cluster


@cache
def is_sim_cluster() -> bool:
    """True when kubectl talks to the ../shared/k8s control plane (nodes are ours to add)."""
    if cluster_problem() is not None or not (SIM_K8S / "add-node").is_file():
        return False
    context = kubectl("config", "current-context", check=False).stdout.strip()
    return context == SIM_CONTEXT


@cache
def pods_do_not_run() -> str | None:
    """Why pods never run on this cluster, None when some node has a container runtime (a
    kubelet reports one; simulated nodes report none)."""
    nodes = get_json("nodes").get("items", [])
    if any((node.get("status") or {}).get("nodeInfo", {}).get("containerRuntimeVersion")
           for node in nodes):
        return None
    return ("needs a cluster whose nodes run pods (a kubelet and container runtime); no node "
            "of this cluster reports a container runtime (simulated nodes: pods are scheduled "
            "but never start)")


def served(api_version: str, kind: str) -> bool:
    """The cluster serves `kind` in `api_version` (API discovery)."""
    from modelservice_tool.lifecycle import run_kubectl
    from modelservice_tool.served_apis import ServedApis

    return ServedApis.from_kubectl(lambda args: run_kubectl(args, timeout=30)).serves(
        api_version, kind)


LEFT_OUT = "live_left_out"  # user property: kinds a test left out, for the live summary


def served_objects(objects: list[Obj], node: Any) -> list[Obj]:
    """The objects whose kind the cluster serves. Those it does not serve (KEDA's
    ScaledObject where ../shared/crds has no keda folder, so its CRD was never applied) are
    left out, and the test says so: a `live_left_out` user property of `node` (the pytest
    item) that the live summary prints with the reason."""
    from modelservice_tool.lifecycle import run_kubectl
    from modelservice_tool.served_apis import ServedApis

    apis = ServedApis.from_kubectl(lambda args: run_kubectl(args, timeout=30))
    kept, left_out = [], set()
    for obj in objects:
        if apis.serves(obj["apiVersion"], obj["kind"]):
            kept.append(obj)
        else:
            left_out.add(f"{obj['kind']} {obj['apiVersion']}")
    node.user_properties.extend((LEFT_OUT, kind) for kind in sorted(left_out))
    return kept


def missing_base_kinds() -> list[str]:
    """The base kinds (BASE_KINDS) this cluster does not serve."""
    return [f"{kind} {api}" for api, kind in BASE_KINDS if not served(api, kind)]


def apply_crds(*paths: Path) -> None:
    """Server-side apply CRD files or folders (not recursive) and wait until Established."""
    files = [arg for path in paths for arg in ("-f", str(path))]
    kubectl("apply", "--server-side", "--force-conflicts", *files, timeout=300)
    kubectl("wait", "--for=condition=Established", "--timeout=120s", *[
        arg for path in paths for arg in ("-f", str(path))
        if path.is_file() or any(path.glob("*.yaml"))], timeout=180)


# --------------------------------------------------------------------------- namespaces


def namespace_prefix() -> str:
    """Prefix of the test namespaces: $MST_E2E_PREFIX, else the git branch, else mst-e2e."""
    if os.environ.get("MST_E2E_PREFIX"):
        return os.environ["MST_E2E_PREFIX"]
    result = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--abbrev-ref", "HEAD"],
                            capture_output=True, text=True, check=False)
    branch = re.sub(r"[^a-z0-9-]+", "-", result.stdout.strip().lower()).strip("-")
    return branch[:20].strip("-") if result.returncode == 0 and branch != "head" else "mst-e2e"


@contextmanager
def fresh_namespace(purpose: str) -> Iterator[str]:
    """A new namespace `<prefix>-<purpose>-<random>`, deleted (without waiting) afterwards."""
    name = f"{namespace_prefix()}-{purpose}-{uuid.uuid4().hex[:6]}"[:63].strip("-")
    kubectl("create", "namespace", name)
    try:
        yield name
    finally:
        kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)


# What the control plane's controllers put into every new namespace (the service-CA
# ConfigMap comes from the OpenShift-built kube-controller-manager of ../shared/k8s).
NAMESPACE_DEFAULTS = frozenset({"configmap/kube-root-ca.crt",
                                "configmap/openshift-service-ca.crt",
                                "serviceaccount/default"})


def namespace_objects(namespace: str) -> set[str]:
    """`kind/name` of every object in the namespace, of every namespaced kind the cluster
    lists now (events left out), asked afresh: other tests add and remove CRDs."""
    kinds = [name for name in kubectl("api-resources", "--verbs=list", "--namespaced", "-o",
                                      "name").stdout.split() if not name.startswith("events")]
    result = kubectl("get", ",".join(kinds), "-n", namespace, "-o", "name", check=False)
    if result.returncode != 0 and "doesn't have a resource type" in result.stderr:
        return namespace_objects(namespace)  # a CRD went away between the two calls
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def left_in_namespace(namespace: str, *, keep: frozenset[str] = frozenset(),
                      timeout: float = 180) -> list[str]:
    """Poll until the namespace holds nothing but what a new one holds (and `keep`, the
    test's own objects); what else is still there at the deadline."""
    import time

    deadline = time.monotonic() + timeout
    while (left := namespace_objects(namespace) - NAMESPACE_DEFAULTS - keep) and \
            time.monotonic() < deadline:
        time.sleep(1)
    return sorted(left)


# --------------------------------------------------------------------------- node pools


@dataclass(frozen=True)
class NodePool:
    """Simulated nodes for one preset: labels, taints and capacity its pods need."""

    preset: str
    size: int
    labels: tuple[tuple[str, str], ...]
    taints: tuple[str, ...]
    capacity: tuple[tuple[str, int], ...]

    def names(self) -> list[str]:
        """`sim-<preset>-1` ... `sim-<preset>-<size>`."""
        return [f"sim-{self.preset}-{index}" for index in range(1, self.size + 1)]

    def add_node_args(self) -> list[str]:
        """The ../shared/k8s/add-node options of every node of the pool."""
        args = [arg for key, value in self.labels for arg in ("--label", f"{key}={value}")]
        args += [arg for taint in self.taints for arg in ("--taint", taint)]
        args += [arg for resource, count in self.capacity
                 for arg in ("--capacity", f"{resource}={count}")]
        return [*args, "--label", f"mst.test/pool={self.preset}"]


def preset_values(preset: str) -> Obj:
    return yaml.safe_load((PRESETS / f"{preset}.yaml").read_text()) or {}


def taints_tolerated(tolerations: dict[str, Obj | None]) -> list[str]:
    """One taint per keyed toleration (`key=value:Effect`): what a node pool the preset
    targets carries. `Exists` tolerations match any value; `present` stands in for it."""
    taints = []
    for toleration in (t for t in tolerations.values() if t and t.get("key")):
        value = toleration.get("value") if toleration.get("operator") == "Equal" else "present"
        taints.append(f"{toleration['key']}={value}:{toleration.get('effect') or 'NoSchedule'}")
    return sorted(taints)


def accelerators(objects: list[Obj], resource: str) -> int:
    """Accelerators all pods of a rendering request (replicas x pods per group x per pod)."""
    total = 0
    for obj in objects:
        spec = obj.get("spec") or {}
        if obj["kind"] == "Deployment":
            templates = [(spec.get("replicas", 1), spec["template"])]
        elif obj["kind"] == "LeaderWorkerSet":
            lwt = spec["leaderWorkerTemplate"]
            size, groups = lwt.get("size", 1), spec.get("replicas", 1)
            leader = lwt.get("leaderTemplate", lwt["workerTemplate"])
            templates = [(groups, leader), (groups * (size - 1), lwt["workerTemplate"])]
        else:
            continue
        for count, template in templates:
            for container in template["spec"].get("containers", []):
                limits = (container.get("resources") or {}).get("limits") or {}
                total += count * int(limits.get(resource, 0))
    return total


@cache
def node_pool(preset: str) -> NodePool:
    """The pool a user of `preset` would have: its accelerator resource (8 per node), the
    label its node affinity requires, its nodeSelector labels, and the taints it tolerates.
    Sized for twice what all samples of the preset request (upgrades surge, tests overlap),
    at least two nodes."""
    pod = preset_values(preset).get("pod") or {}
    accelerator = pod.get("accelerator") or {}
    labels = dict(pod.get("nodeSelector") or {})
    if accelerator.get("labelKey") and accelerator.get("labelValues"):
        labels[accelerator["labelKey"]] = accelerator["labelValues"][0]
    resource = chart_facts().resource(accelerator.get("type", "cpu"))
    need = sum(accelerators(render(*sample_files(sample), release=sample["release"]),
                            resource) for sample in samples()
               if resource and sample["preset"] == preset)
    return NodePool(
        preset=preset,
        size=max(2, math.ceil(2 * need / ACCELERATORS_PER_NODE)),
        labels=tuple(sorted(labels.items())),
        taints=tuple(taints_tolerated(pod.get("tolerations") or {})),
        capacity=((resource, ACCELERATORS_PER_NODE),) if resource else (),
    )


# What the DRA drivers of the DRA presets' hardware publish for one node (a stand-in for the
# driver's kubelet plugin, which this control plane does not run): per DeviceClass, the
# driver and one real value of each attribute its source publishes
# (modelservice_tool/contracts/dra/drivers.yaml). GPU i and NIC i share a PCIe root, so a
# claim that pairs them with matchAttribute resource.kubernetes.io/pcieRoot can be
# satisfied on every node.
PCIE_ROOT = "resource.kubernetes.io/pcieRoot"


def dra_devices() -> dict[str, tuple[str, Obj]]:
    """DeviceClass -> (driver, ResourceSlice device attributes), from the contract data."""
    found: dict[str, tuple[str, Obj]] = {}
    for device_class, entry in upstream.load("dra/drivers.yaml")["deviceClasses"].items():
        attributes = {name: {spec["type"]: spec["example"]}
                      for name, spec in (entry.get("attributes") or {}).items()}
        if attributes:
            found[device_class] = (entry["driver"], attributes)
    return found


def dra_objects(node: str) -> list[Obj]:
    """DeviceClasses and, for `node`, one ResourceSlice per driver with 8 devices."""
    objects: list[Obj] = []
    for device_class, (driver, attributes) in dra_devices().items():
        objects.append({
            "apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass",
            "metadata": {"name": device_class},
            "spec": {"selectors": [{"cel": {"expression": f'device.driver == "{driver}"'}}]}})
        objects.append({
            "apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice",
            "metadata": {"name": f"{node}-{driver.replace('.', '-')}"},
            "spec": {"driver": driver, "nodeName": node,
                     "pool": {"name": node, "generation": 1, "resourceSliceCount": 1},
                     "devices": [{"name": f"dev-{index}", "attributes": {
                         **attributes, PCIE_ROOT: {"string": f"pci-{index}"}}}
                         for index in range(ACCELERATORS_PER_NODE)]}})
    return objects


def uses_dra(preset: str) -> bool:
    accelerator = (preset_values(preset).get("pod") or {}).get("accelerator") or {}
    return bool((accelerator.get("dra") or {}).get("enabled"))


def all_presets() -> list[str]:
    return sorted(path.stem for path in PRESETS.glob("*.yaml"))


def node_fits_pool(node: Obj, pool: NodePool) -> bool:
    """The node has the pool's labels, exactly its taints, and its accelerator capacity."""
    labels = node["metadata"].get("labels") or {}
    taints = {f"{taint['key']}={taint.get('value', '')}:{taint['effect']}"
              for taint in node["spec"].get("taints") or []}
    allocatable = (node.get("status") or {}).get("allocatable") or {}
    return (all(labels.get(key) == value for key, value in pool.labels)
            and taints == set(pool.taints)
            and all(allocatable.get(name) == str(count) for name, count in pool.capacity))


def ensure_node_pools() -> list[NodePool]:
    """Create (idempotently, once per machine at a time) the pool of every preset. A node
    left by an earlier run that no longer fits its pool (the preset changed) is updated:
    add-node merges the labels and replaces taints and capacity."""
    pools = [node_pool(preset) for preset in all_presets()]
    lock = Path(tempfile.gettempdir()) / "mst-e2e-node-pools.lock"
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        existing = {node["metadata"]["name"]: node for node in get_json("nodes")["items"]}
        for pool in pools:
            for name in pool.names():
                if name in existing and node_fits_pool(existing[name], pool):
                    continue
                result = subprocess.run(
                    [str(SIM_K8S / "add-node"), name, *pool.add_node_args(), "--kubeconfig",
                     os.environ.get("KUBECONFIG", "")],
                    capture_output=True, text=True, check=False, timeout=60)
                assert result.returncode == 0, f"add-node {name}: {result.stderr}"
        dra = [obj for pool in pools if uses_dra(pool.preset) for name in pool.names()
               for obj in dra_objects(name)]
        if dra:
            kubectl("apply", "--server-side", "--force-conflicts", "-f", "-",
                    stdin=yaml.safe_dump_all(dra))
    return pools


# --------------------------------------------------------------------------- pods


def pods(namespace: str, selector: str = "") -> list[Obj]:
    """Pods of a namespace (optionally by label selector), terminating ones left out."""
    args = ["pods", "-n", namespace] + ([f"--selector={selector}"] if selector else [])
    return [pod for pod in get_json(*args)["items"]
            if not pod["metadata"].get("deletionTimestamp")]


def failed_scheduling(namespace: str) -> list[str]:
    """`pod: message` of every FailedScheduling event in the namespace."""
    events = get_json("events", "-n", namespace, "--field-selector", "reason=FailedScheduling")
    return [f"{event['involvedObject']['name']}: {event.get('message', '')}"
            for event in events["items"]]


def wait_scheduled(namespace: str, expected: int, *, selector: str = "",
                   timeout: float = POD_TIMEOUT) -> list[Obj]:
    """Poll until `expected` pods exist and each is bound to a node or refused by the
    scheduler (PodScheduled=False); the pods at that point (or at the deadline)."""
    import time

    from modelservice_tool.scheduling import pending_reason

    deadline = time.monotonic() + timeout
    while True:
        current = pods(namespace, selector)
        decided = [pod for pod in current
                   if pod["spec"].get("nodeName") or pending_reason(pod) is not None]
        if (len(current) >= expected and len(decided) == len(current)) or \
                time.monotonic() > deadline:
            return current
        time.sleep(0.5)
