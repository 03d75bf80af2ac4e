"""The EPP's RBAC in front of a real API server: the permissions the v0.10.0 EPP needs
(issue 11 item 3) and the scrape identity of the EPP PodMonitor under metrics auth (item 5)
are asked exactly as the components ask them (SubjectAccessReview; TokenReview of the token
Kubernetes puts in the rendered Secret, as controller-runtime's
WithAuthenticationAndAuthorization does for /metrics in llm-d-router v0.10.0
cmd/epp/runner/runner.go). Marker `e2e`: skips without a cluster (KUBECONFIG)."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import live
import pytest
import yaml

from support import render_values, sample_files, samples

pytestmark = pytest.mark.e2e

Obj = dict[str, Any]
RBAC_KINDS = ("ServiceAccount", "Secret", "Role", "RoleBinding", "ClusterRole",
              "ClusterRoleBinding")


def kubectl(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`live.kubectl` that leaves the return code to the caller."""
    return live.kubectl(*args, stdin=stdin, check=False)


def create(obj: Obj) -> Obj:
    """`kubectl create` of an API review object; its answered form."""
    result = kubectl("create", "-o", "json", "-f", "-", stdin=json.dumps(obj))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def release(live_cluster: None,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[Obj]]]:
    """The RBAC objects of the P/D sample with metrics auth and PodMonitors, applied in a
    fresh namespace (its cluster-scoped ones named after it)."""
    with live.fresh_namespace("epp-rbac") as namespace:
        yield from applied_rbac(namespace, tmp_path_factory.mktemp("rbac"))


def applied_rbac(namespace: str, tmp: Path) -> Iterator[tuple[str, list[Obj]]]:
    """Render, rename into `namespace`, apply; delete the cluster-scoped ones afterwards."""
    sample = next(s for s in samples() if s["name"] == "gpt-oss-120b-pd")
    objects = [o for o in render_values(
        tmp, {"routing": {"epp": {"metricsAuth": {"enabled": True}}},
              "monitoring": {"podMonitor": {"enabled": True}}}, *sample_files(sample))
        if o["kind"] in RBAC_KINDS]
    text = yaml.safe_dump_all(objects).replace("namespace: ns", f"namespace: {namespace}")
    text = text.replace("name: ns-", f"name: {namespace}-")  # cluster-scoped names
    applied = kubectl("apply", "--server-side", "-f", "-", stdin=text)
    try:
        assert applied.returncode == 0, applied.stderr
        yield namespace, list(yaml.safe_load_all(text))
    finally:
        kubectl("delete", "-f", "-", "--ignore-not-found", "--wait=false", stdin=text)


def allowed(user: str, namespace: str, attributes: Obj) -> bool:
    review = create({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                     "spec": {"user": user, **attributes}})
    return bool(review["status"].get("allowed"))


def resource(namespace: str, group: str, name: str, verb: str) -> Obj:
    return {"resourceAttributes": {"namespace": namespace, "group": group, "resource": name,
                                   "verb": verb}}


def test_epp_may_read_objectives_in_both_groups(release: tuple[str, list[Obj]]) -> None:
    namespace, _ = release
    epp = f"system:serviceaccount:{namespace}:test-epp"
    for group in ("llm-d.ai", "inference.networking.x-k8s.io"):
        for kind in ("inferenceobjectives", "inferencemodelrewrites"):
            for verb in ("get", "list", "watch"):
                assert allowed(epp, namespace, resource(namespace, group, kind, verb)), (
                    group, kind, verb)
            assert not allowed(epp, namespace, resource(namespace, group, kind, "create"))


def reader_token(namespace: str, secret: str) -> str:
    """The token the token controller writes into the rendered Secret."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        result = kubectl("get", "secret", secret, "-n", namespace, "-o", "json")
        data = json.loads(result.stdout).get("data", {}) if result.returncode == 0 else {}
        if data.get("token"):
            return base64.b64decode(data["token"]).decode()
        time.sleep(1)
    pytest.fail(f"the token controller did not fill Secret {namespace}/{secret}")


def test_podmonitor_token_passes_the_epp_metrics_auth(release: tuple[str, list[Obj]]) -> None:
    namespace, objects = release
    secret = next(o for o in objects if o["kind"] == "Secret")["metadata"]["name"]
    review = create({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                     "spec": {"token": reader_token(namespace, secret)}})
    assert review["status"].get("authenticated"), review["status"]
    user = review["status"]["user"]["username"]
    assert user == f"system:serviceaccount:{namespace}:test-epp-metrics-reader"
    metrics = {"nonResourceAttributes": {"path": "/metrics", "verb": "get"}}
    assert allowed(user, namespace, metrics)
    assert not allowed(user, namespace, resource(namespace, "", "pods", "list"))
    # and the EPP itself may run those reviews
    epp = f"system:serviceaccount:{namespace}:test-epp"
    for group, kind in (("authentication.k8s.io", "tokenreviews"),
                        ("authorization.k8s.io", "subjectaccessreviews")):
        assert allowed(epp, namespace, {"resourceAttributes": {
            "group": group, "resource": kind, "verb": "create"}})
