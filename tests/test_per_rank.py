"""One HTTP port per data-parallel rank (<role>.parallelism.httpPerRank).

The rendered objects must agree with each other and with the real components: every port
the InferencePool targets is one some process of the pod listens on (a vLLM rank, or the
routing sidecar's rank listener forwarding to it), the Service and the probes cover the same
ports, each rank's KV-event publisher binds the port the llm-d-router EPP dials for that
rank (socketPort + the rank's position in targetPorts, pkg/epp/framework/plugins/
requestcontrol/dataproducer/preciseprefixcache/extractor.go@v0.10.0) - computed with the
pinned vLLM's own `offset_endpoint_port` - and the GIE v1.6.0 CRD (8 targetPorts at most,
each unique) accepts the pool on a real API server and refuses what the chart refuses.
"""

from __future__ import annotations

import ast
import copy
import json
import re
import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_vllm_cli import container_env, kube_expand, shell_serve_argvs, vllm_python

from modelservice_tool.checks import engine_processes, run_checks, token_flags
from support import (
    SHARED_CRDS,
    Obj,
    assert_valid_stack,
    epp_config,
    one,
    render,
    render_values,
    run_helm_template,
    sample_files,
    samples,
)

SAMPLE = next(s for s in samples() if s["name"] == "deepseek-v3-dp-aware")
DECODE, PREFILL = "deepseek-dp-decode", "deepseek-dp-prefill"
# The sample with precise prefix-cache routing instead of P/D, so the KV-event ports show.
PRECISE = {"prefill": {"enabled": False},
           "routing": {"epp": {"profile": "precise-prefix-cache",
                               "precisePrefixCache": {"blockSize": 128}}}}


@cache
def sample_objects() -> tuple[Obj, ...]:
    return tuple(render(*sample_files(SAMPLE), release=SAMPLE["release"]))


def objects() -> list[Obj]:
    return copy.deepcopy(list(sample_objects()))


def templates(objs: list[Obj]) -> list[tuple[str, int | None, dict[str, Any]]]:
    """(workload name, LWS worker index or None, pod template) of every model workload."""
    found = []
    for obj in objs:
        if obj["kind"] == "Deployment" and not obj["metadata"]["name"].endswith("-epp"):
            found.append((obj["metadata"]["name"], None, obj["spec"]["template"]))
        elif obj["kind"] == "LeaderWorkerSet":
            lwt = obj["spec"]["leaderWorkerTemplate"]
            found += [(obj["metadata"]["name"], 0, lwt["leaderTemplate"]),
                      (obj["metadata"]["name"], 1, lwt["workerTemplate"])]
    return found


def container_ports(template: dict[str, Any]) -> dict[str, int]:
    containers = [*template["spec"]["containers"], *template["spec"].get("initContainers", [])]
    return {p["name"]: p["containerPort"] for c in containers for p in c.get("ports", [])}


def pool_ports(objs: list[Obj]) -> list[int]:
    return [p["number"] for p in one(objs, "InferencePool")["spec"]["targetPorts"]]


# ------------------------------------------------------------------ objects agree


def test_the_sample_is_valid_and_passes_every_cross_object_check() -> None:
    assert_valid_stack(objects())


def test_every_pool_port_is_a_served_container_port_of_every_pod() -> None:
    objs = objects()
    targets = pool_ports(objs)
    assert targets == list(range(8000, 8008))
    for name, index, template in templates(objs):
        ports = container_ports(template)
        annotation = template["metadata"]["annotations"]["llm-d.ai/active-ports"]
        assert [int(p) for p in annotation.split(",")] == targets, name
        assert set(targets) <= set(ports.values()), (name, index)
        engine = template["spec"]["containers"][0]
        listening = [int(token_flags(p.tokens)["port"]) for p in engine_processes(engine)]
        sidecar = next((c for c in template["spec"].get("initContainers", [])
                        if c["name"] == "routing-proxy"), None)
        if sidecar is None:  # prefill: the pool reaches vLLM's ranks directly
            assert listening == targets, name
            continue
        flags = token_flags(sidecar["args"])
        assert int(flags["data-parallel-size"]) == len(targets)
        assert [int(flags["port"]) + r for r in range(len(targets))] == targets
        assert listening == [int(flags["model-server-port"]) + r for r in range(len(targets))]
        assert {p["containerPort"] for p in sidecar["ports"]} == set(targets)


def test_services_probes_and_pod_monitors_cover_every_rank(tmp_path: Path) -> None:
    objs = render_values(tmp_path, {"monitoring": {"podMonitor": {"enabled": True}}},
                         *sample_files(SAMPLE))
    for role, workload in (("decode", "test-decode"), ("prefill", "test-prefill")):
        service = one(objs, "Service", workload)
        assert [p["targetPort"] for p in service["spec"]["ports"]] == pool_ports(objs)
        template = next(t for name, _, t in templates(objs) if name == workload)
        engine = template["spec"]["containers"][0]
        listening = [token_flags(p.tokens)["port"] for p in engine_processes(engine)]
        for kind in ("startup", "readiness", "liveness"):
            command = engine[f"{kind}Probe"]["exec"]["command"]
            assert command[:2] == ["python3", "-c"] and command[4:] == listening, (role, kind)
        monitor = one(objs, "PodMonitor", workload)
        ports = container_ports(template)
        scraped = [ports[e["port"]] for e in monitor["spec"]["podMetricsEndpoints"]]
        assert [str(p) for p in scraped] == listening, role


def test_the_probe_script_fails_when_one_rank_does_not_answer(tmp_path: Path) -> None:
    """The exec probe's python, run against real HTTP servers: ready only when every
    rank's port answers the path with 2xx."""
    import http.server
    import socket
    import threading

    engine = next(t for n, _, t in templates(objects()) if n == PREFILL)["spec"][
        "containers"][0]
    script = engine["readinessProbe"]["exec"]["command"][2]

    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/v1/models" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = closed.getsockname()[1]
    ports = [str(s.server_address[1]) for s in servers]
    try:
        def probe(*args: str) -> int:
            return subprocess.run(["python3", "-c", script, *args], capture_output=True,
                                  timeout=30, check=False).returncode
        assert probe("/v1/models", *ports) == 0
        assert probe("/v1/models", *ports, str(dead)) != 0
        assert probe("/health", *ports) != 0
    finally:
        for server in servers:
            server.shutdown()


# ------------------------------------------------------------------ mst catches drift


def _mutations() -> dict[str, tuple[Callable[[list[Obj]], None], str]]:
    def sidecar(objs: list[Obj]) -> dict[str, Any]:
        lws = one(objs, "LeaderWorkerSet")
        return lws["spec"]["leaderWorkerTemplate"]["leaderTemplate"]["spec"][
            "initContainers"][0]

    def drop_sidecar_ranks(objs: list[Obj]) -> None:
        args = sidecar(objs)["args"]
        args.remove("--data-parallel-size=8")

    def drop_a_rank(objs: list[Obj]) -> None:
        engine = one(objs, "Deployment", PREFILL)["spec"]["template"]["spec"]["containers"][0]
        lines = engine["args"][0].splitlines()
        engine["args"][0] = "\n".join(line for line in lines if "'--port=8005'" not in line)

    def share_a_device(objs: list[Obj]) -> None:
        engine = one(objs, "Deployment", PREFILL)["spec"]["template"]["spec"]["containers"][0]
        engine["args"][0] = engine["args"][0].replace("CUDA_VISIBLE_DEVICES=3 ",
                                                      "CUDA_VISIBLE_DEVICES=2 ")

    def nine_ports(objs: list[Obj]) -> None:
        one(objs, "InferencePool")["spec"]["targetPorts"].append({"number": 8008})

    return {
        "sidecar without ranks": (drop_sidecar_ranks, "the pool sends requests to ports "
                                  "[8001, 8002, 8003, 8004, 8005, 8006, 8007]"),
        "a rank not started": (drop_a_rank, "the pool sends requests to ports [8005]"),
        "two ranks on one device": (share_a_device, "device 2 is given to engine processes"),
        "a port no pod serves": (nine_ports, "target port 8008 is not a port of the model pods"),
    }


@pytest.mark.parametrize("name", sorted(_mutations()))
def test_mst_checks_catch_a_broken_rank_layout(name: str) -> None:
    mutate, message = _mutations()[name]
    objs = objects()
    mutate(objs)
    findings = [str(f) for f in run_checks(objs)]
    assert any(message in f for f in findings), findings


# ------------------------------------------------------------------ KV events and NIXL


@cache
def vllm_source(relative: str) -> str:
    """A file of the pinned vLLM's installed package (not imported: its GPU stack is absent)."""
    python = vllm_python()
    origin = subprocess.run(
        [str(python), "-c", "import importlib.util; print(importlib.util.find_spec('vllm')"
         ".submodule_search_locations[0])"], capture_output=True, text=True, check=True,
        timeout=60).stdout.strip()
    return (Path(origin) / relative).read_text()


def vllm_offset_endpoint_port() -> Callable[[str, int], str]:
    """vLLM's own ZmqEventPublisher.offset_endpoint_port, compiled from the installed
    vllm/distributed/kv_events.py (it needs nothing else)."""
    tree = ast.parse(vllm_source("distributed/kv_events.py"))
    function = next(node for node in ast.walk(tree)
                    if isinstance(node, ast.FunctionDef) and node.name == "offset_endpoint_port")
    function.decorator_list = []
    namespace: dict[str, Any] = {}
    exec(compile(ast.Module([function], []), "kv_events.py", "exec"),
         {"__builtins__": __builtins__, "str": str, "int": int}, namespace)
    return namespace["offset_endpoint_port"]


def rank_lines(template: dict[str, Any], index: int | None) -> list[dict[str, str]]:
    """Each rank process's flags as the pod's shell would pass them."""
    engine = template["spec"]["containers"][0]
    env = container_env(engine, index)
    script = kube_expand(engine["args"][0], env)
    return [token_flags(argv) for argv in shell_serve_argvs(script, env)]


@pytest.mark.parametrize("multi_node", [False, True], ids=["one-pod", "lws"])
def test_each_rank_publishes_kv_events_where_the_epp_dials_it(
    tmp_path: Path, multi_node: bool,
) -> None:
    values = copy.deepcopy(PRECISE)
    if not multi_node:
        values["decode"] = {"multiNode": {"enabled": False},
                            "parallelism": {"data": 8, "dataLocal": 8}}
    objs = render_values(tmp_path, values, *sample_files(SAMPLE))
    offset = vllm_offset_endpoint_port()
    producer = next(p for p in epp_config(objs)["plugins"]
                    if p["type"] == "precise-prefix-cache-producer")
    socket_port = producer["parameters"]["kvEventsConfig"]["podDiscoveryConfig"]["socketPort"]
    targets = pool_ports(objs)
    pods = [(i, t) for _, i, t in templates(objs)]
    assert len(pods) == (2 if multi_node else 1)
    for index, template in pods:
        declared = set(container_ports(template).values())
        for position, flags in enumerate(rank_lines(template, index)):
            config = json.loads(flags["kv-events-config"])
            rank = int(flags["data-parallel-rank"])
            assert rank == (index or 0) * 8 + position
            bound = int(offset(config["endpoint"], rank).rsplit(":", 1)[1])
            # the EPP's endpoint for this rank is the pool port at RankIndex = position
            assert targets[position] == int(flags["port"])
            assert bound == socket_port + position, (index, position)
            assert bound in declared


def test_each_rank_binds_its_declared_nixl_port() -> None:
    """NIXL's side channel is VLLM_NIXL_SIDE_CHANNEL_PORT + the global data-parallel index
    (vllm/distributed/kv_transfer/kv_connector/v1/nixl_connector.py in the pinned vLLM); the
    launch script lowers the base by the pod's first rank, so every pod binds nixl..nixl-7."""
    source = vllm_source("distributed/kv_transfer/kv_connector/v1/nixl_connector.py")
    assert re.search(r"envs\.VLLM_NIXL_SIDE_CHANNEL_PORT\s*\+\s*vllm_config\.parallel_config"
                     r"\.data_parallel_index", source), "vLLM changed how NIXL picks its port"
    for _, index, template in templates(objects()):
        engine = template["spec"]["containers"][0]
        env = container_env(engine, index)
        script = kube_expand(engine["args"][0], env)
        preamble = "\n".join(line for line in script.splitlines() if line.startswith(
            ("START=", "export ")))
        base = subprocess.run(["/bin/sh", "-c", f'{preamble}\nprintf %s '
                               '"$VLLM_NIXL_SIDE_CHANNEL_PORT"'], env=env, capture_output=True,
                              text=True, check=True, timeout=30).stdout
        ports = container_ports(template)
        for position, flags in enumerate(rank_lines(template, index)):
            bound = int(base) + int(flags["data-parallel-rank"])
            name = "nixl" if position == 0 else f"nixl-{position}"
            assert ports[name] == bound, (template["metadata"]["labels"], position)


# ------------------------------------------------------------------ the real GIE CRD


def test_the_chart_refuses_exactly_the_ports_the_crd_refuses(tmp_path: Path) -> None:
    """The chart's dataLocal limit is the GIE v1.6.0 CRD's targetPorts maxItems (read from
    the upstream CRD file): that many ranks render, one more is refused."""
    crd_file = (SHARED_CRDS / "gateway-api-inference-extension"
                / "inference.networking.k8s.io_inferencepools.yaml")
    if not crd_file.is_file():
        pytest.skip(f"upstream CRDs not found at {SHARED_CRDS} (set MST_CRDS_DIR)")
    crd = yaml.safe_load(crd_file.read_text())
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    limit = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"][
        "targetPorts"]["maxItems"]

    def layout(ranks: int) -> Path:
        path = tmp_path / f"ranks-{ranks}.yaml"
        path.write_text(yaml.safe_dump({
            "prefill": {"enabled": False}, "pod": {"accelerator": {"perNode": 2 * limit}},
            "decode": {"multiNode": {"enabled": False},
                       "parallelism": {"data": ranks, "dataLocal": ranks}}}))
        return path

    fits = render(*sample_files(SAMPLE), layout(limit))
    assert len(pool_ports(fits)) == limit
    result = run_helm_template((*sample_files(SAMPLE), layout(limit + 1)))
    assert result.returncode != 0
    assert f"lists at most {limit} (GIE v1.6.0)" in result.stderr, result.stderr



@pytest.mark.e2e
def test_the_api_server_takes_eight_unique_target_ports_and_nothing_more(
    live_namespace: str,
) -> None:
    """The pool as rendered passes the real CRD (server-side dry run); 9 ports or a repeated
    port do not - the limits the chart enforces (dataLocal <= 8) are the CRD's."""
    import live

    pool = one(objects(), "InferencePool")
    pool["metadata"]["namespace"] = live_namespace

    def dry_run(obj: Obj) -> subprocess.CompletedProcess[str]:
        return live.kubectl("apply", "--dry-run=server", "-f", "-", stdin=yaml.safe_dump(obj),
                            check=False)

    assert dry_run(pool).returncode == 0
    nine = copy.deepcopy(pool)
    nine["spec"]["targetPorts"].append({"number": 8008})
    result = dry_run(nine)
    assert result.returncode != 0 and "must have at most 8 items" in result.stderr, result.stderr
    repeated = copy.deepcopy(pool)
    repeated["spec"]["targetPorts"][7] = {"number": 8000}
    result = dry_run(repeated)
    assert result.returncode != 0 and "port number must be unique" in result.stderr, (
        result.stderr)
