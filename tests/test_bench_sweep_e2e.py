"""The cluster side of `mst bench` and `mst sweep` on a real API server (marker `e2e`).

What can be checked without a serving engine: the bench Job planned from a live release's
manifest is accepted by the API server, the Job controller creates its pod and the
scheduler places it; `run_job` follows it (progress names the pod's state), detects the
failed Job, replaces it on the next run and its cleanup leaves nothing. The sweep refuses to
take over a release it did not install. Loading a running engine is tested elsewhere
(guidellm against its mock server; tests/test_bench.py, tests/test_sweep.py on clusters
whose pods run).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from live import get_json, kubectl, left_in_namespace, wait_scheduled

from modelservice_tool.bench.job import DEFAULT_IMAGE
from modelservice_tool.bench.kube import Kubectl
from modelservice_tool.bench.plan import LoadSettings, plan_bench
from modelservice_tool.bench.profiles import get_profile
from modelservice_tool.bench.runner import run_job
from modelservice_tool.commands.bench import release_objects
from modelservice_tool.commands.sweep import sweep_command
from modelservice_tool.errors import UserError
from modelservice_tool.layers_io import Inputs
from modelservice_tool.paths import chart_dir
from modelservice_tool.release import Release
from modelservice_tool.sweep.results import ResultsFile
from support import CHART, EXAMPLES, PRESETS, default_helm

pytestmark = pytest.mark.e2e
RELEASE = "qwen-sim"
SIM_FILES = ("-f", str(PRESETS / "cpu-sim.yaml"), "-f", str(EXAMPLES / "qwen3-0.6b-cpu-sim.yaml"))


def install_sim(namespace: str) -> None:
    result = subprocess.run([str(default_helm()), "install", RELEASE, str(CHART), "-n",
                             namespace, *SIM_FILES], capture_output=True, text=True,
                            check=False, timeout=300)
    assert result.returncode == 0, result.stderr


def test_bench_job_is_created_scheduled_followed_and_cleaned_up(
    live_namespace: str, sim_nodes: dict[str, object],
) -> None:
    install_sim(live_namespace)
    release = Release(Inputs((), (), ()), RELEASE, live_namespace, chart_dir())
    objects = release_objects(release, None)  # `helm get manifest` of the live release
    plan = plan_bench(objects, release=RELEASE, namespace=live_namespace,
                      load=LoadSettings(get_profile("smoke"), DEFAULT_IMAGE))
    assert plan.target.startswith(f"http://{RELEASE}-decode.{live_namespace}.svc")
    name = plan.job["metadata"]["name"]
    plan.job["spec"]["activeDeadlineSeconds"] = 5  # the Job controller fails it: no engine
    kube = Kubectl(live_namespace)
    lines: list[str] = []

    with pytest.raises(UserError, match=f"bench Job {name} failed"):
        run_job(kube, plan.job, points=plan.points, progress=lines.append, poll_seconds=0.5)
    assert any(f"bench {name}: Pending, load points 0/{plan.points}" in line
               for line in lines), lines
    failed = get_json("job", name, "-n", live_namespace)  # kept for inspection
    assert any(c["type"] == "Failed" and c["status"] == "True"
               for c in failed["status"]["conditions"])
    first_uid = failed["metadata"]["uid"]

    plan.job["spec"]["activeDeadlineSeconds"] = 600
    kube.run(["delete", "job", name, "--ignore-not-found", "--wait=true"], timeout=120)
    kube.apply(plan.job)  # what run_job does after removing an earlier run
    job = get_json("job", name, "-n", live_namespace)
    assert job["metadata"]["uid"] != first_uid
    pods = wait_scheduled(live_namespace, 1, selector=f"job-name={name}")
    assert len(pods) == 1 and pods[0]["spec"].get("nodeName"), pods
    node = get_json("node", pods[0]["spec"]["nodeName"])
    assert not node["spec"].get("taints")  # the bench pod has no GPU and no tolerations
    kube.run(["delete", "job", name, "--wait=true"], timeout=120)  # run_job's cleanup
    left = kubectl("get", "jobs,pods,configmaps", "-n", live_namespace, "-o", "name",
                   "--selector=app.kubernetes.io/managed-by=mst").stdout.split()
    assert left == []


def test_sweep_refuses_a_release_it_did_not_install(live_namespace: str, tmp_path: Path) -> None:
    install_sim(live_namespace)
    result = CliRunner().invoke(sweep_command, [
        "-p", "cpu-sim", "-f", str(EXAMPLES / "qwen3-0.6b-cpu-sim.yaml"), "--release",
        RELEASE, "-n", live_namespace, "-P", "decode.replicas=1,2", "--objective",
        "max:output_tps", "--profile", "smoke", "--results", str(tmp_path / "r.jsonl"),
        "-o", str(tmp_path)])
    assert result.exit_code != 0
    assert f"release {RELEASE} already exists and was not installed by mst sweep" in \
        result.output
    assert "Traceback" not in result.output
    history = subprocess.run([str(default_helm()), "history", RELEASE, "-n", live_namespace],
                             capture_output=True, text=True, check=False)
    assert history.stdout.count("\n") == 2  # header + revision 1: untouched


def test_sweep_installs_each_variant_says_where_its_pods_are_and_cleans_up(
    live_namespace: str, sim_nodes: dict[str, object], tmp_path: Path,
) -> None:
    """Two variants on the cpu-sim node pool. Each is installed and its pods scheduled, as
    the progress says per role; here they never become ready (no kubelet), so after
    --ready-timeout the variant is recorded as failed with that state, and uninstalled:
    nothing is left in the namespace."""
    results = tmp_path / "r.jsonl"
    result = CliRunner().invoke(sweep_command, [
        "-p", "cpu-sim", "-f", str(EXAMPLES / "qwen3-0.6b-cpu-sim.yaml"), "--release",
        "qwen-sweep", "-n", live_namespace, "-P", "decode.replicas=1,2", "--objective",
        "max:output_tps", "--profile", "smoke", "--ready-timeout", "8", "--no-llmd-reports",
        "--results", str(results), "-o", str(tmp_path / "report")])
    assert "Traceback" not in result.output, result.output
    records = ResultsFile(results).load()
    assert [record["status"] for record in records] == ["failed", "failed"], records
    for record, replicas in zip(records, (1, 2), strict=True):
        pods = (f"[replicas={replicas}] decode {replicas} pods: {replicas} scheduled, 0 ready; "
                "epp 1 pods: 1 scheduled, 0 ready")
        assert pods in result.stderr, result.stderr
        error = (f"timed out after 8s waiting for release qwen-sweep: decode 0/{replicas} "
                 "ready, epp 0/1 ready")
        assert record["error"] == error
        assert f"[replicas={replicas}] failed: {error}" in result.stderr
    assert left_in_namespace(live_namespace) == []
