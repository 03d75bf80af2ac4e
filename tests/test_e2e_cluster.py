"""Every sample on a real API server (marker `e2e`; fixtures in tests/conftest.py, helpers
in tests/live.py).

- Server-side dry run of every sample in a fresh namespace: admission, defaulting and the
  CRD schemas accept each object as rendered.
- Scheduling as a user's cluster does it: every sample installed with plain helm next to
  the simulated node pool of its preset (accelerator resource, 8 per node, the accelerator
  label its node affinity requires, the taints it tolerates). Every object, custom resources
  included, is created on the server; every pod gets a node of the right pool and nothing
  FailedScheduling; `mst status` reports the pods per role; uninstall leaves nothing.
  No LeaderWorkerSet controller runs here, so the pods a LeaderWorkerSet would create (its
  leader and worker templates, one group) are created from its templates by the test.
- Pods that cannot fit - more accelerators than a node has, or no toleration for the
  pool's taint - are pending, and `mst status` names the scheduler's reason.

Skips with the reason when no cluster answers or its CRDs are missing; the node pools are
only added on the ../shared/k8s control plane. A kind the cluster does not serve (KEDA's
ScaledObject without its CRD) is left out of a sample, which is otherwise checked in full,
and the live summary names it.
"""

from __future__ import annotations

import copy
import subprocess
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from live import (
    failed_scheduling,
    get_json,
    kubectl,
    left_in_namespace,
    node_fits_pool,
    node_pool,
    served_objects,
    wait_scheduled,
)

from modelservice_tool import lifecycle
from modelservice_tool.commands import main as mst
from support import (
    CHART,
    PRESETS,
    default_helm,
    run_helm_template,
    sample_files,
    samples,
)

Obj = dict[str, Any]
pytestmark = pytest.mark.e2e
SAMPLE_IDS = [sample["name"] for sample in samples()]


def rendered(sample: dict[str, str], namespace: str, *sets: str) -> list[Obj]:
    result = run_helm_template(sample_files(sample), sets, release=sample["release"],
                               namespace=namespace)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(default_helm()), *args], capture_output=True, text=True,
                          check=False, timeout=300)


def helm_install(sample: dict[str, str], namespace: str, *sets: str) -> None:
    preset, model = sample_files(sample)
    result = helm("install", sample["release"], str(CHART), "-n", namespace, "-f", str(preset),
                  "-f", str(model), *[arg for item in sets for arg in ("--set", item)])
    assert result.returncode == 0, result.stderr


def resource(obj: Obj) -> str:
    group = obj["apiVersion"].rpartition("/")[0]
    return f"{obj['kind'].lower()}.{group}" if group else obj["kind"].lower()


def expected_pods(objects: list[Obj]) -> int:
    """Pods the Deployments create (LeaderWorkerSet pods are created by the test)."""
    return sum(obj["spec"].get("replicas", 1) for obj in objects if obj["kind"] == "Deployment")


def lws_group_pods(lws: Obj) -> list[Obj]:
    """One group of a LeaderWorkerSet as the LWS controller creates it: the leader from
    leaderTemplate (else workerTemplate) and size-1 workers, with LWS's env variables."""
    template = lws["spec"]["leaderWorkerTemplate"]
    size = template.get("size", 1)
    name = lws["metadata"]["name"]
    result = []
    for index in range(size):
        source = template.get("leaderTemplate") if index == 0 else None
        pod_template = copy.deepcopy(source or template["workerTemplate"])
        spec = pod_template["spec"]
        for container in spec.get("containers", []):
            container.setdefault("env", []).extend([
                {"name": "LWS_LEADER_ADDRESS", "value": f"{name}-0.{name}"},
                {"name": "LWS_GROUP_SIZE", "value": str(size)},
                {"name": "LWS_WORKER_INDEX", "value": str(index)}])
        result.append({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {**pod_template.get("metadata", {}),
                                    "name": f"{name}-0" + (f"-{index}" if index else "")},
                       "spec": spec})
    return result


def claims_to_provide(objects: list[Obj]) -> list[str]:
    """PersistentVolumeClaims the pods mount but the chart does not render (the user's)."""
    rendered_claims = {obj["metadata"]["name"] for obj in objects
                       if obj["kind"] == "PersistentVolumeClaim"}
    claims = set()
    for obj in objects:
        if obj["kind"] == "Deployment":
            templates = [obj["spec"]["template"]]
        elif obj["kind"] == "LeaderWorkerSet":
            lwt = obj["spec"]["leaderWorkerTemplate"]
            templates = [lwt["workerTemplate"], lwt.get("leaderTemplate") or {}]
        else:
            continue
        claims |= {volume["persistentVolumeClaim"]["claimName"] for template in templates
                   for volume in (template.get("spec") or {}).get("volumes", [])
                   if "persistentVolumeClaim" in volume}
    return sorted(claims - rendered_claims)


def provide_claims(claims: list[str], namespace: str) -> list[str]:
    """Create each claim bound to its own PersistentVolume (named `<namespace>-<claim>`, as
    PVs are cluster-scoped), like the pre-provisioned model storage a user has; the PVs."""
    volumes = []
    for claim in claims:
        volume = f"{namespace}-{claim}"[:63]
        modes = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce"]
        kubectl("create", "-f", "-", stdin=yaml.safe_dump_all([
            {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": volume},
             "spec": {"capacity": {"storage": "1Ti"}, "accessModes": modes,
                      "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "",
                      "hostPath": {"path": f"/models/{claim}"},
                      "claimRef": {"namespace": namespace, "name": claim}}},
            {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": claim, "namespace": namespace},
             "spec": {"accessModes": ["ReadOnlyMany"], "storageClassName": "",
                      "volumeName": volume, "resources": {"requests": {"storage": "1Gi"}}}},
        ]))
        volumes.append(volume)
    return volumes


def mst_status(release: str, namespace: str) -> str:
    return lifecycle.format_status(lifecycle.status(lifecycle.Target(release, namespace)))


# --------------------------------------------------------------------------- dry run


@pytest.mark.parametrize("sample", samples(), ids=SAMPLE_IDS)
def test_every_sample_passes_a_server_side_dry_run(sample: dict[str, str], live_namespace: str,
                                                   request: pytest.FixtureRequest) -> None:
    objects = served_objects(rendered(sample, live_namespace), request.node)
    result = kubectl("apply", "--dry-run=server", "-n", live_namespace, "-f", "-",
                     stdin=yaml.safe_dump_all(objects), check=False)
    assert result.returncode == 0, result.stderr
    applied = [line for line in result.stdout.splitlines() if "(server dry run)" in line]
    assert len(applied) == len(objects), result.stdout


# Every optional object on: InferenceObjective, HTTPRoute, PodMonitors, HPAs and PDBs.
ALL_OPTIONAL = ("routing.objective.enabled=true", "monitoring.podMonitor.enabled=true",
                "routing.httpRoute.gateway.name=inference-gateway",
                *(f"{role}.{feature}.enabled=true" for role in ("decode", "prefill")
                  for feature in ("autoscaling", "podDisruptionBudget")))
CUSTOM_KINDS = {"InferencePool", "InferenceObjective", "HTTPRoute", "PodMonitor",
                "LeaderWorkerSet"}


@pytest.mark.parametrize("sample", samples(), ids=SAMPLE_IDS)
def test_every_sample_with_all_optional_objects_passes_server_side_apply(
    sample: dict[str, str], live_namespace: str, request: pytest.FixtureRequest,
) -> None:
    """Server-side apply (dry run) validates every custom resource against its CRD."""
    everything = rendered(sample, live_namespace, *ALL_OPTIONAL)
    kinds = {obj["kind"] for obj in everything}
    assert CUSTOM_KINDS - {"LeaderWorkerSet"} <= kinds
    assert "PodDisruptionBudget" in kinds
    assert kinds & {"HorizontalPodAutoscaler", "ScaledObject"}  # KEDA owns its own HPA
    objects = served_objects(everything, request.node)
    result = kubectl("apply", "--server-side", "--dry-run=server", "-n", live_namespace,
                     "-f", "-", stdin=yaml.safe_dump_all(objects), check=False)
    assert result.returncode == 0, result.stderr
    applied = [line for line in result.stdout.splitlines() if "serverside-applied" in line]
    assert len(applied) == len(objects), result.stdout


# --------------------------------------------------------------------------- scheduling


@pytest.mark.parametrize("sample", samples(), ids=SAMPLE_IDS)
def test_every_sample_schedules_onto_its_presets_node_pool(
    sample: dict[str, str], live_namespace: str, sim_nodes: dict[str, Any],
    request: pytest.FixtureRequest,
) -> None:
    """Installed with plain helm. A sample with a kind the cluster does not serve, which helm
    would refuse whole, gets its other objects created as helm renders them instead."""
    everything = rendered(sample, live_namespace)
    objects = served_objects(everything, request.node)
    install_and_check_scheduling(sample, live_namespace, objects, sim_nodes[sample["preset"]],
                                 with_helm=len(objects) == len(everything))


def install_and_check_scheduling(sample: dict[str, str], namespace: str, objects: list[Obj],
                                 pool: Any, *, with_helm: bool = True) -> None:
    """With the model storage its pods mount (the user's claims) provided: install
    (`helm install`, else `kubectl create` of `objects` without helm's test hook), check
    every object and pod and `mst status`, uninstall, and that nothing else is left."""
    objects = [obj for obj in objects
               if "helm.sh/hook" not in (obj["metadata"].get("annotations") or {})]
    claims = claims_to_provide(objects)
    volumes = provide_claims(claims, namespace)
    try:
        install_and_check_pods(sample, namespace, objects, pool, with_helm=with_helm)
        left = left_in_namespace(namespace, keep=frozenset(
            f"persistentvolumeclaim/{claim}" for claim in claims))
        assert left == [], f"left in {namespace} after uninstall: {left}"
    finally:
        for volume in volumes:
            kubectl("delete", "pv", volume, "--wait=false", check=False)


def install_and_check_pods(sample: dict[str, str], namespace: str, objects: list[Obj],
                           pool: Any, *, with_helm: bool) -> None:
    release = sample["release"]
    if with_helm:
        helm_install(sample, namespace)
    else:
        kubectl("create", "-n", namespace, "-f", "-", stdin=yaml.safe_dump_all(objects))
    for obj in objects:  # every object, custom resources included, is on the server
        kubectl("get", resource(obj), obj["metadata"]["name"], "-n", namespace)
    group_pods = [pod for obj in objects if obj["kind"] == "LeaderWorkerSet"
                  for pod in lws_group_pods(obj)]
    if group_pods:
        kubectl("create", "-n", namespace, "-f", "-", stdin=yaml.safe_dump_all(group_pods))
    want = expected_pods(objects) + len(group_pods)

    placed = wait_scheduled(namespace, want)
    assert len(placed) == want
    unplaced = [pod["metadata"]["name"] for pod in placed if not pod["spec"].get("nodeName")]
    assert not unplaced, f"{unplaced} not scheduled: {failed_scheduling(namespace)}"
    assert failed_scheduling(namespace) == []
    for pod in placed:  # accelerator pods land on a node with the preset's hardware
        limits = [container.get("resources", {}).get("limits", {})
                  for container in pod["spec"]["containers"]]
        if any(name in limit for name, _ in pool.capacity for limit in limits):
            node = get_json("node", pod["spec"]["nodeName"])
            assert set(pool.labels) <= set(node["metadata"]["labels"].items()), node["metadata"]

    status = mst_status(release, namespace) if with_helm else lifecycle.format_status(
        lifecycle.workload_status(lifecycle.Target(release, namespace)))
    decode = sum(1 for pod in placed if pod["metadata"]["labels"].get("llm-d.ai/role") ==
                 "decode" and pod["metadata"]["labels"].get("app.kubernetes.io/instance"))
    if decode:
        assert f"pods decode {decode} pods: {decode} scheduled, 0 ready" in status, status
    assert "pending" not in status, status

    if with_helm:
        assert helm("uninstall", release, "-n", namespace).returncode == 0
    else:
        kubectl("delete", "-n", namespace, "-f", "-", stdin=yaml.safe_dump_all(objects))
    if group_pods:
        kubectl("delete", "pods", "-n", namespace, *[p["metadata"]["name"] for p in group_pods])


PRESETS_WITHOUT_SAMPLE = sorted({path.stem for path in PRESETS.glob("*.yaml")}
                                - {sample["preset"] for sample in samples()})


@pytest.mark.parametrize("preset", PRESETS_WITHOUT_SAMPLE)
def test_presets_without_a_sample_schedule_a_small_model(
    preset: str, live_namespace: str, sim_nodes: dict[str, Any],
) -> None:
    """Llama 3.1 8B (the single-GPU sample's model file) over each preset no sample uses."""
    sample = {**next(s for s in samples() if s["name"] == "llama-3.1-8b"), "preset": preset}
    objects = rendered(sample, live_namespace)
    install_and_check_scheduling(sample, live_namespace, objects, sim_nodes[preset])


NEGATIVE = {
    # 16 GPUs per pod on 8-GPU nodes, with the preset's accelerator.perNode (which makes the
    # chart refuse this at render time) unset, as for a preset that does not know its nodes
    "too-many-gpus": (("decode.parallelism.tensor=16", "pod.accelerator.perNode=null"),
                      "Insufficient nvidia.com/gpu"),
    # the L4 pool is tainted nvidia.com/gpu; without the preset's toleration nothing fits
    "no-toleration": (("pod.tolerations.nvidia-gpu=null",), "untolerated taint"),
}


@pytest.mark.parametrize("case", sorted(NEGATIVE))
def test_pods_that_cannot_fit_are_reported_by_mst_status(
    case: str, live_namespace: str, sim_nodes: dict[str, Any],
) -> None:
    sets, reason = NEGATIVE[case]
    sample = next(s for s in samples() if s["name"] == "llama-3.1-8b")
    assert node_pool("nvidia-l4").taints == ("nvidia.com/gpu=present:NoSchedule",)
    helm_install(sample, live_namespace, "routing.epp.enabled=false",
                 "routing.inferencePool.create=false", *sets)
    placed = wait_scheduled(live_namespace, 1)
    assert [pod["spec"].get("nodeName") for pod in placed] == [None]
    assert any(reason in event for event in failed_scheduling(live_namespace))
    status = lifecycle.status(lifecycle.Target(sample["release"], live_namespace))
    assert not status.ready
    assert reason in status.summary()
    assert "1 pending: 0/" in mst_status(sample["release"], live_namespace)
    waited = CliRunner().invoke(mst, ["status", "--release", sample["release"], "-n",
                                      live_namespace, "--wait", "--timeout", "2"])
    assert waited.exit_code != 0 and "Traceback" not in waited.output
    assert "decode 0/1 ready (unschedulable: decode: 1 pending: 0/" in waited.stderr
    assert "timed out after 2s" in waited.stderr and reason in waited.stderr
    assert helm("uninstall", sample["release"], "-n", live_namespace).returncode == 0


def test_every_preset_has_a_node_pool(sim_nodes: dict[str, Any]) -> None:
    """One pool per preset file, each node Ready with the preset's labels, capacity and
    taints."""
    assert set(sim_nodes) == {path.stem for path in PRESETS.glob("*.yaml")}
    nodes = {node["metadata"]["name"]: node for node in get_json("nodes")["items"]}
    for pool in sim_nodes.values():
        for name in pool.names():
            assert node_fits_pool(nodes[name], pool), (pool, nodes[name]["metadata"])
            ready = next(c for c in nodes[name]["status"]["conditions"] if c["type"] == "Ready")
            assert ready["status"] == "True", name
