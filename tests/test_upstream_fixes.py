"""Fixes of chart/upstream mismatches (issue 11, items 1-6), each checked against the
upstream behaviour it was read from, at the tag the chart pins:

- llm-d-router v0.10.0 (generation v1 EPP and disagg sidecar): cmd/epp/runner/health.go,
  pkg/epp/server/controller_config.go, pkg/epp/server/options.go,
  pkg/sidecar/proxy/options.go, pkg/sidecar/constants/constants.go, cmd/pd-sidecar/main.go,
  config/charts/{routerlib,llm-d-router-gateway}/templates
- llm-d-routing-sidecar v0.2.0 (generation v1alpha2 sidecar): cmd/llm-d-routing-sidecar/main.go,
  internal/proxy/proxy.go
- llm-d-inference-scheduler v0.2.1 (v1alpha2 EPP) on gateway-api-inference-extension v0.5.1:
  cmd/epp/runner/runner.go
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from modelservice_tool.checks import check_upstream_contracts
from modelservice_tool.upstream import generation_data
from support import (
    PROVIDER_CRDS,
    SHARED_CRDS,
    assert_valid_stack,
    crd_schemas,
    find,
    one,
    render_values,
    run_helm_template,
    sample_files,
    samples,
)

Obj = dict[str, Any]

# cmd/epp/runner/health.go@v0.10.0: with leader election on, these are the only gRPC health
# service names that do not answer SERVICE_UNKNOWN; only "liveness" passes on a non-leader.
EXT_PROC_SERVICE = "envoy.service.ext_proc.v3.ExternalProcessor"
LEADER_ELECTION_HEALTH_SERVICES = {"liveness", "readiness", "", EXT_PROC_SERVICE}

def _connectors(generation: str) -> tuple[str, set[str]]:
    """The connector flag of the generation's pinned sidecar and the values it accepts, from
    the upstream contract data (modelservice_tool/contracts, cited to the sidecar source)."""
    sidecar = generation_data(generation)["sidecar"]
    flag = sidecar["connectorFlag"]
    return flag, set(sidecar["flags"][flag]["values"])


# the sets as read at the pinned tags (pkg/sidecar/constants/constants.go + options.go
# @v0.10.0; internal/proxy/proxy.go + cmd/llm-d-routing-sidecar/main.go @v0.2.0)
SIDECAR_CONNECTORS = {
    "v1": ("kv-connector", {"nixlv2", "shared-storage", "sglang", "mooncake", "offloading"}),
    "v1alpha2": ("connector", {"nixl", "nixlv2", "lmcache"}),
}


@pytest.mark.parametrize("generation", sorted(SIDECAR_CONNECTORS))
def test_contract_data_has_the_sidecar_connectors(generation: str) -> None:
    assert _connectors(generation) == SIDECAR_CONNECTORS[generation]

# pkg/epp/server/controller_config.go@v0.10.0 (supportedInferenceAPIGVs)
OBJECTIVE_GROUPS = ("llm-d.ai", "inference.networking.x-k8s.io")


def sample(name: str) -> dict[str, str]:
    return next(s for s in samples() if s["name"] == name)


def pd(tmp_path: Path, values: dict[str, Any] | None = None) -> list[Obj]:
    return render_values(tmp_path, values or {}, *sample_files(sample("gpt-oss-120b-pd")))


def sim(tmp_path: Path, values: dict[str, Any] | None = None) -> list[Obj]:
    return render_values(tmp_path, values or {}, *sample_files(sample("qwen3-0.6b-cpu-sim")))


def pod_spec(objects: list[Obj], name: str) -> Obj:
    return one(objects, "Deployment", name)["spec"]["template"]["spec"]


def epp_container(objects: list[Obj]) -> Obj:
    return pod_spec(objects, "test-epp")["containers"][0]


def sidecar(objects: list[Obj]) -> Obj:
    return next(c for c in pod_spec(objects, "test-decode")["initContainers"]
                if c["name"] == "routing-proxy")


def helm_fails(tmp_path: Path, values: dict[str, Any], base: str = "gpt-oss-120b-pd") -> str:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    result = run_helm_template((*sample_files(sample(base)), path))
    assert result.returncode != 0, "helm template should have failed"
    return result.stderr


# --- 1. helm test through the decode Service ----------------------------------------------


@pytest.mark.parametrize("name", ["gpt-oss-120b-pd", "qwen3-0.6b-cpu-sim"])
def test_helm_test_pod_uses_the_decode_service_port(tmp_path: Path, name: str) -> None:
    objects = render_values(tmp_path, {}, *sample_files(sample(name)))
    url = one(objects, "Pod", "test-test")["spec"]["containers"][0]["command"][-1]
    service = one(objects, "Service", "test-decode")
    ports = [p["port"] for p in service["spec"]["ports"]]
    assert url == f"http://test-decode.ns.svc:{ports[0]}/v1/models", (url, ports)


# --- 2. EPP probes with leader election ---------------------------------------------------


def test_epp_probes_use_leader_election_health_services(tmp_path: Path) -> None:
    container = epp_container(sim(tmp_path, {"routing": {"epp": {"replicas": 2}}}))
    assert "--ha-enable-leader-election" in container["args"]
    liveness = container["livenessProbe"]["grpc"]["service"]
    readiness = container["readinessProbe"]["grpc"]["service"]
    assert {liveness, readiness} <= LEADER_ELECTION_HEALTH_SERVICES
    # readiness/""/ext-proc pass on the leader only: a non-leader must stay alive
    assert liveness == "liveness"
    assert readiness == "readiness"


def test_single_epp_keeps_the_ext_proc_health_service(tmp_path: Path) -> None:
    container = epp_container(sim(tmp_path))
    assert "--ha-enable-leader-election" not in container["args"]
    assert container["livenessProbe"]["grpc"]["service"] == "inference-extension"


# --- 3. EPP Role: both objective groups, read-only ---------------------------------------


def test_epp_role_grants_both_objective_groups_read_only(tmp_path: Path) -> None:
    role = one(pd(tmp_path), "Role", "test-epp")
    grants = {(group, resource): set(rule["verbs"]) for rule in role["rules"]
              for group in rule["apiGroups"] for resource in rule["resources"]}
    for group in OBJECTIVE_GROUPS:
        for resource in ("inferenceobjectives", "inferencemodelrewrites"):
            assert grants.get((group, resource)) == {"get", "list", "watch"}, (group, resource)


# --- 4. sidecar connector: exactly what the pinned sidecar accepts ------------------------


@pytest.mark.parametrize("generation", sorted(SIDECAR_CONNECTORS))
def test_every_accepted_connector_renders(tmp_path: Path, generation: str) -> None:
    flag, accepted = SIDECAR_CONNECTORS[generation]
    for connector in sorted(accepted):
        objects = pd(tmp_path, {"routing": {"generation": generation,
                                            "proxy": {"connector": connector}}})
        assert f"--{flag}={connector}" in sidecar(objects)["args"]
        assert list(check_upstream_contracts(objects)) == []


@pytest.mark.parametrize(("generation", "connector"), [
    ("v1", "lmcache"), ("v1", "nixl"), ("v1alpha2", "offloading"), ("v1alpha2", "sglang")])
def test_connector_the_sidecar_rejects_fails_clearly(tmp_path: Path, generation: str,
                                                     connector: str) -> None:
    stderr = helm_fails(tmp_path, {"routing": {"generation": generation,
                                               "proxy": {"connector": connector}}})
    _, accepted = SIDECAR_CONNECTORS[generation]
    assert f"routing.proxy.connector {connector!r}".replace("'", '"') in stderr
    assert ", ".join(sorted(accepted)) in stderr
    assert f"generation {generation}" in stderr


def test_schema_rejects_an_unknown_connector(tmp_path: Path) -> None:
    stderr = helm_fails(tmp_path, {"routing": {"proxy": {"connector": "nixl-v2"}}})
    assert "connector" in stderr


def test_check_flags_a_connector_the_pinned_sidecar_rejects(tmp_path: Path) -> None:
    """A connector slipped in through extraArgs (the last flag wins) is still caught."""
    objects = pd(tmp_path, {"routing": {"proxy": {"extraArgs": ["--kv-connector=lmcache"]}}})
    findings = [f for f in check_upstream_contracts(objects) if "lmcache" in f.message]
    assert len(findings) == 1, findings
    assert "kv-connector" in findings[0].message


# --- 5. metrics auth + PodMonitor -------------------------------------------------------


def test_metrics_auth_podmonitor_authenticates_with_a_reader_token(tmp_path: Path) -> None:
    objects = pd(tmp_path, {"routing": {"epp": {"metricsAuth": {"enabled": True}}},
                            "monitoring": {"podMonitor": {"enabled": True}}})
    assert_valid_stack(objects)
    assert "--metrics-endpoint-auth=true" in epp_container(objects)["args"]
    endpoint = one(objects, "PodMonitor", "test-epp")["spec"]["podMetricsEndpoints"][0]
    credentials = endpoint["authorization"]["credentials"]
    assert endpoint["authorization"]["type"] == "Bearer"
    secret = one(objects, "Secret", credentials["name"])
    assert secret["type"] == "kubernetes.io/service-account-token"
    assert credentials["key"] == "token"  # the key the token controller fills in
    reader = secret["metadata"]["annotations"]["kubernetes.io/service-account.name"]
    one(objects, "ServiceAccount", reader)
    # controller-runtime's WithAuthenticationAndAuthorization asks a SubjectAccessReview for
    # verb get on the non-resource URL /metrics: the reader must be bound to exactly that
    bound = [b for b in find(objects, "ClusterRoleBinding")
             if {"kind": "ServiceAccount", "name": reader, "namespace": "ns"} in b["subjects"]]
    assert len(bound) == 1
    role = one(objects, "ClusterRole", bound[0]["roleRef"]["name"])
    assert role["rules"] == [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]
    # the engine PodMonitors scrape vLLM, which has no auth: no credentials there
    assert "authorization" not in one(objects, "PodMonitor", "test-decode")["spec"][
        "podMetricsEndpoints"][0]


def test_metrics_auth_without_podmonitor_renders_no_reader(tmp_path: Path) -> None:
    objects = pd(tmp_path, {"routing": {"epp": {"metricsAuth": {"enabled": True}}}})
    assert not find(objects, "Secret")
    assert len(find(objects, "ServiceAccount")) == 2


# --- 6. upstream defaults: tracing, sidecar port flag, secure serving, gateway provider -----


def test_tracing_off_unless_configured(tmp_path: Path) -> None:
    assert "--tracing=false" in epp_container(sim(tmp_path))["args"]
    traced = epp_container(sim(tmp_path, {"routing": {"epp": {"tracing": {
        "enabled": True, "otlpEndpoint": "http://otel-collector.monitoring:4317",
        "sampler": "parentbased_traceidratio", "samplerArg": "0.05"}}}}))
    assert "--tracing=true" in traced["args"]
    env = {e["name"]: e.get("value") for e in traced["env"]}
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector.monitoring:4317"
    assert env["OTEL_TRACES_EXPORTER"] == "otlp"
    assert env["OTEL_TRACES_SAMPLER_ARG"] == "0.05"


def test_legacy_epp_gets_no_tracing_flag(tmp_path: Path) -> None:
    """The v0.2.1 EPP (GIE v0.5.1 runner) has no --tracing flag: it would not start."""
    args = epp_container(pd(tmp_path, {"routing": {"generation": "v1alpha2"}}))["args"]
    assert not any(arg.startswith("--tracing") for arg in args)
    assert "--secureServing=true" in args


def test_sidecar_model_server_port_flag_per_generation(tmp_path: Path) -> None:
    current = sidecar(pd(tmp_path))["args"]
    assert "--model-server-port=8200" in current
    assert not any(arg.startswith("--vllm-port") for arg in current)
    legacy = sidecar(pd(tmp_path, {"routing": {"generation": "v1alpha2"}}))["args"]
    assert "--vllm-port=8200" in legacy  # v0.2.0 has no --model-server-port


def test_epp_secure_serving_is_explicit(tmp_path: Path) -> None:
    assert "--secure-serving=true" in epp_container(sim(tmp_path))["args"]
    plain = epp_container(sim(tmp_path, {"routing": {"epp": {"secureServing": False}}}))
    assert "--secure-serving=false" in plain["args"]


def kinds(objects: list[Obj]) -> list[tuple[str, str, str]]:
    return sorted((o["apiVersion"], o["kind"], o["metadata"]["name"]) for o in objects)


def test_provider_none_adds_nothing(tmp_path: Path) -> None:
    default = pd(tmp_path)
    explicit = pd(tmp_path, {"routing": {"provider": {"name": "none"}}})
    assert explicit == default
    assert not [o for o in default if o["apiVersion"].startswith(("networking.istio.io",
                                                                   "networking.gke.io"))]
    assert "--secure-serving=true" in epp_container(default)["args"]


def test_provider_istio_renders_a_tls_destination_rule(tmp_path: Path) -> None:
    objects = pd(tmp_path, {"routing": {"provider": {"name": "istio"}}})
    added = set(kinds(objects)) - set(kinds(pd(tmp_path)))
    assert added == {("networking.istio.io/v1", "DestinationRule", "test-epp")}
    rule = one(objects, "DestinationRule", "test-epp")
    assert rule["spec"]["host"] == "test-epp.ns.svc.cluster.local"
    assert rule["spec"]["trafficPolicy"]["tls"] == {"mode": "SIMPLE", "insecureSkipVerify": True}
    assert "--secure-serving=true" in epp_container(objects)["args"]


def test_provider_istio_refuses_a_plaintext_epp(tmp_path: Path) -> None:
    stderr = helm_fails(tmp_path, {"routing": {"provider": {"name": "istio"},
                                               "epp": {"secureServing": False}}})
    assert "routing.epp.secureServing" in stderr


def test_provider_gke_renders_health_check_and_backend_policies(tmp_path: Path) -> None:
    objects = pd(tmp_path, {"routing": {"provider": {"name": "gke"},
                                        "httpRoute": {"gateway": {"name": "gw"}}}})
    pool = one(objects, "InferencePool", "test")
    target = {"group": "inference.networking.k8s.io", "kind": "InferencePool", "name": "test"}
    health = one(objects, "HealthCheckPolicy", "test")
    assert health["apiVersion"] == "networking.gke.io/v1"
    assert health["spec"]["targetRef"] == target
    http = health["spec"]["default"]["config"]["httpHealthCheck"]
    assert http["port"] == pool["spec"]["targetPorts"][0]["number"]
    backend = one(objects, "GCPBackendPolicy", "test")
    assert backend["spec"]["targetRef"] == target
    assert backend["spec"]["default"]["timeoutSec"] == 3600
    # GKE takes the backend timeout from the GCPBackendPolicy, not the HTTPRoute
    assert "timeouts" not in one(objects, "HTTPRoute", "test")["spec"]["rules"][0]


def test_provider_objects_are_valid_against_their_crds(tmp_path: Path) -> None:
    """Istio and GKE CRDs are not in ../shared/crds: point MST_PROVIDER_CRDS at a directory
    holding istio/api's kubernetes/customresourcedefinitions.gen.yaml and
    GoogleCloudPlatform/gke-gateway-api's config/crd/networking.gke.io_*.yaml (checked with
    istio/api 1.30.3 and gke-gateway-api v1.4.0)."""
    if PROVIDER_CRDS is None or not PROVIDER_CRDS.is_dir():
        pytest.skip("MST_PROVIDER_CRDS (the Istio and GKE gateway CRDs) is not set")
    crds = crd_schemas()
    if crds is None:
        pytest.skip(f"upstream CRDs not found at {SHARED_CRDS}")
    for provider in ("istio", "gke"):
        objects = pd(tmp_path, {"routing": {"provider": {"name": provider}}})
        for obj in objects:
            if obj["apiVersion"].startswith(("networking.istio.io", "networking.gke.io")):
                validator = crds.validator(obj["kind"], obj["apiVersion"])
                assert validator is not None, f"no CRD for {obj['apiVersion']} {obj['kind']}"
                errors = [e.message for e in validator.iter_errors(obj)]
                assert errors == [], (obj["kind"], errors)


@pytest.mark.parametrize("values", [
    {"routing": {"provider": None}}, {"routing": {"provider": {"name": None}}},
    {"routing": {"epp": {"tracing": None, "secureServing": None}}},
])
def test_new_keys_set_to_null_fall_back_to_the_defaults(tmp_path: Path,
                                                        values: dict[str, Any]) -> None:
    objects = pd(tmp_path, values)
    args = epp_container(objects)["args"]
    assert "--secure-serving=true" in args and "--tracing=false" in args
    assert kinds(objects) == kinds(pd(tmp_path))
