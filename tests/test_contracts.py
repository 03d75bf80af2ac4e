"""Every rendered EPP config, EPP / sidecar command line, EPP Role and probe, and LWS launch
script against the upstream contracts kept as data (modelservice_tool/contracts/, each entry
citing the upstream file and tag it was read from). routing.generation picks the data."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelservice_tool.checks import _epp_configs
from modelservice_tool.upstream import (
    CONTRACTS,
    _containers,
    _epp_deployments,
    check_contracts,
    check_lws_env,
    generation_data,
    generation_of,
    load,
    run_contract_checks,
)
from support import (
    CHART,
    REPO,
    Obj,
    default_helm,
    render,
    render_values,
    run_helm_template,
    sample_files,
    samples,
)

SIM = next(s for s in samples() if s["name"] == "qwen3-0.6b-cpu-sim")
PD = next(s for s in samples() if s["name"] == "gpt-oss-120b-pd")
HPA = {"enabled": True, "minReplicas": 1, "maxReplicas": 4, "metrics": {"waiting": {
    "type": "Pods", "pods": {"metric": {"name": "vllm:num_requests_waiting"},
                             "target": {"type": "AverageValue", "averageValue": "5"}}}}}

# The switches that change routing output, each on the sample it applies to.
TOGGLES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "profile-default": (SIM, {"routing": {"epp": {"profile": "default"}}}),
    "profile-prefix-cache": (SIM, {"routing": {"epp": {"profile": "prefix-cache"}}}),
    "profile-pd": (PD, {"routing": {"epp": {"profile": "pd", "nonCachedTokens": 64}}}),
    "profile-precise-prefix-cache": (SIM, {"routing": {"epp": {
        "profile": "precise-prefix-cache",
        "precisePrefixCache": {"hashSeed": "1", "speculativeIndexing": True}}}}),
    "extra-plugins": (SIM, {"routing": {"epp": {
        "plugins": {"lora": {"type": "lora-affinity-scorer"},
                    "load": {"type": "load-aware-scorer", "parameters": {"threshold": 64}}},
        "profilePlugins": {"default": {"lora": 1, "load": 2, "queue-scorer": None}}}}}),
    "epp-replicas": (SIM, {"routing": {"epp": {"replicas": 2}}}),
    "metrics-auth": (SIM, {"routing": {"epp": {"metricsAuth": {"enabled": True}}}}),
    "tracing": (SIM, {"routing": {"epp": {"tracing": {
        "enabled": True, "otlpEndpoint": "http://otel-collector.monitoring:4317",
        "samplerArg": "0.05"}}}}),
    "legacy": (SIM, {"routing": {"generation": "v1alpha2"}}),
    "legacy-prefix-cache": (SIM, {"routing": {"generation": "v1alpha2",
                                              "epp": {"profile": "prefix-cache"}}}),
    "legacy-pd": (PD, {"routing": {"generation": "v1alpha2"}}),
    "hpa": (SIM, {"decode": {"autoscaling": HPA}}),
    "pd-hpa": (PD, {"prefill": {"autoscaling": HPA}, "decode": {"autoscaling": HPA}}),
}


def toggle(tmp_path: Path, name: str) -> list[Obj]:
    sample, values = TOGGLES[name]
    return render_values(tmp_path, values, *sample_files(sample))


def settled(objects: list[Obj]) -> list[str]:
    return [str(f) for f in run_contract_checks(objects)]


@pytest.mark.parametrize("sample", samples(), ids=lambda s: s["name"])
def test_sample_matches_upstream_contracts(sample: dict[str, str]) -> None:
    objects = render(*sample_files(sample), release=sample["release"])
    assert settled(objects) == []


@pytest.mark.parametrize("name", list(TOGGLES))
def test_toggle_matches_upstream_contracts(tmp_path: Path, name: str) -> None:
    objects = toggle(tmp_path, name)
    expected = "v1alpha2" if name.startswith("legacy") else "v1"
    assert generation_of(objects) == expected
    assert settled(objects) == []


@pytest.mark.parametrize("name", ["epp-replicas", "profile-pd"])
def test_fixed_upstream_mismatches_stay_fixed(tmp_path: Path, name: str) -> None:
    assert [str(f) for f in run_contract_checks(toggle(tmp_path, name))] == []


# --- negative controls: the checks catch drift --------------------------------------------

def findings(objects: list[Obj], check: str) -> list[str]:
    return [str(f) for f in run_contract_checks(objects) if f.check == check]


def test_unknown_plugin_type_fails(tmp_path: Path) -> None:
    objects = render_values(tmp_path, {"routing": {"epp": {
        "plugins": {"my-scorer": {"type": "queue-scorerr"}},
        "profilePlugins": {"default": {"my-scorer": 1}}}}}, *sample_files(SIM))
    assert any("'queue-scorerr' is not registered in EPP v0.10.0 (did you mean 'queue-scorer'?)"
               in f for f in findings(objects, "epp-plugin"))


def test_unknown_plugin_parameter_fails(tmp_path: Path) -> None:
    objects = render_values(tmp_path, {"routing": {"epp": {"plugins": {
        "max-score-picker": {"type": "max-score-picker", "parameters": {"maxEndpoints": 2}}}}}},
        *sample_files(SIM))
    assert any("has no parameter 'maxEndpoints'" in f for f in findings(objects, "epp-plugin"))


def test_legacy_plugin_names_are_checked_against_legacy_data(tmp_path: Path) -> None:
    # kv-cache-utilization-scorer exists in v0.10.0 but not in the v0.2.1 scheduler.
    objects = render_values(tmp_path, {"routing": {"generation": "v1alpha2", "epp": {
        "plugins": {"kv": {"type": "kv-cache-utilization-scorer"}},
        "profilePlugins": {"default": {"kv": 1}}}}}, *sample_files(SIM))
    assert any("not registered in EPP v0.2.1" in f for f in findings(objects, "epp-plugin"))


def test_undeclared_plugin_reference_fails() -> None:
    config = {"apiVersion": "llm-d.ai/v1alpha1", "kind": "EndpointPickerConfig",
              "plugins": [{"type": "max-score-picker"}],
              "schedulingProfiles": [{"name": "default", "plugins": [
                  {"pluginRef": "max-score-picker"}, {"pluginRef": "ghost"}]}]}
    objects = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "epp"},
                "data": {"config.yaml": yaml.safe_dump(config)}}]
    assert [f.message for f in check_contracts(objects)] == [
        "profile 'default' references undeclared plugin 'ghost'"]


@pytest.mark.parametrize(("arg", "message"), [
    ("--pool-nmae=x", "--pool-nmae: unknown flag (did you mean 'pool-name'?)"),
    ("--poolName=x", "--poolName: unknown flag"),
    ("--tracing=no", "--tracing: bool flag given 'no'"),
    ("--grpc-port=abc", "--grpc-port: int flag given 'abc'"),
    ("--refresh-metrics-interval=5", "--refresh-metrics-interval: duration flag given '5'"),
    ("--zap-encoder=text", "value 'text' is not accepted"),
    ("--lora-info-metric=x", "--lora-info-metric is rejected"),
])
def test_wrong_epp_flag_fails(tmp_path: Path, arg: str, message: str) -> None:
    objects = render_values(tmp_path, {"routing": {"epp": {"extraArgs": [arg]}}},
                            *sample_files(SIM))
    assert any(message in f for f in findings(objects, "epp-flags")), findings(objects, "epp-flags")


def test_legacy_epp_flags_are_camel_case(tmp_path: Path) -> None:
    objects = render_values(tmp_path, {"routing": {"generation": "v1alpha2",
                                                   "epp": {"extraArgs": ["--pool-name=x"]}}},
                            *sample_files(SIM))
    assert any("v0.2.1: --pool-name: unknown flag" in f for f in findings(objects, "epp-flags"))


@pytest.mark.parametrize(("generation", "arg", "message"), [
    ("v1", "--kv-connector=lmcache", "value 'lmcache' is not accepted (one of: nixlv2, "
     "shared-storage, sglang, mooncake, offloading)"),
    ("v1", "--connector=nixlv2", "--connector: unknown flag"),
    ("v1", "--secure-proxy=nope", "bool flag given 'nope'"),
    ("v1alpha2", "--connector=mooncake", "value 'mooncake' is not accepted (one of: nixl, "
     "nixlv2, lmcache)"),
    ("v1alpha2", "--kv-connector=nixlv2", "--kv-connector: unknown flag"),
])
def test_wrong_sidecar_connector_or_flag_fails(tmp_path: Path, generation: str, arg: str,
                                                message: str) -> None:
    objects = render_values(tmp_path, {"routing": {"generation": generation,
                                                   "proxy": {"extraArgs": [arg]}}},
                            *sample_files(PD))
    assert any(message in f for f in findings(objects, "sidecar-flags")), \
        findings(objects, "sidecar-flags")


def test_rbac_check_sees_a_missing_grant(tmp_path: Path) -> None:
    objects = toggle(tmp_path, "profile-default")
    role = next(o for o in objects
                if o["kind"] == "Role" and o["metadata"]["name"].endswith("-epp"))
    role["rules"] = [r for r in role["rules"] if "pods" not in r["resources"]]
    assert any("watches pods in group 'core'" in f for f in findings(objects, "epp-rbac"))


def test_health_check_sees_an_unknown_service(tmp_path: Path) -> None:
    objects = toggle(tmp_path, "epp-replicas")
    epp = next(o for o in objects
               if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-epp"))
    container = epp["spec"]["template"]["spec"]["containers"][0]
    container["livenessProbe"] = {"grpc": {"port": 9003, "service": "bogus"}}
    assert any("asks for gRPC service 'bogus'" in f for f in findings(objects, "epp-health"))


def test_lws_env_check_sees_an_unknown_variable() -> None:
    sample = next(s for s in samples() if s["name"] == "deepseek-v3-wide-ep")
    objects = render(*sample_files(sample), release=sample["release"])
    assert list(check_lws_env(objects)) == []
    lws = next(o for o in objects if o["kind"] == "LeaderWorkerSet")
    worker = lws["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]["containers"][0]
    worker["args"] = [*worker.get("args", []), "echo $(LWS_LEADER_IP)"]
    assert [f.message for f in check_lws_env(objects)] == [
        f"container {worker['name']!r} uses LWS_LEADER_IP, which LWS v0.10.0 does not inject"]


# --- coverage: the data covers everything the chart can render -----------------------------

def rendered_names(objects: list[Obj]) -> dict[str, set[str]]:
    """What one rendering hands the upstream components, by kind: EPP plugin types, EPP
    flags and env names, routing sidecar flags."""
    names: dict[str, set[str]] = {"plugin": set(), "epp-flag": set(), "epp-env": set(),
                                  "sidecar-flag": set()}
    for _, config in _epp_configs(objects):
        names["plugin"] |= {plugin.get("type", "") for plugin in config.get("plugins") or []}
    for deployment in _epp_deployments(objects):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            if container["name"] == "epp":
                names["epp-flag"] |= _flag_names(container)
                names["epp-env"] |= {e["name"] for e in container.get("env") or []}
    for obj in objects:
        for container in _containers(obj):
            if container["name"] == "routing-proxy":
                names["sidecar-flag"] |= _flag_names(container)
    return names


def _flag_names(container: Obj) -> set[str]:
    return {token.lstrip("-").partition("=")[0] for token in container.get("args") or []
            if token.startswith("-")}


def uncovered(objects: list[Obj]) -> list[str]:
    """Names a rendering uses that the contract data of its generation has no entry for."""
    data = generation_data(generation_of(objects))
    known = {"plugin": data["epp"]["plugins"], "epp-flag": data["epp"]["flags"],
             "epp-env": data["epp"].get("env") or {}, "sidecar-flag": data["sidecar"]["flags"]}
    return sorted(f"{kind} {name}" for kind, names in rendered_names(objects).items()
                  for name in names - set(known[kind]))


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Obj]]:
    """Every sample and every toggle, rendered once."""
    out = {s["name"]: render(*sample_files(s), release=s["release"]) for s in samples()}
    tmp = tmp_path_factory.mktemp("toggles")
    return out | {f"toggle {name}": toggle(tmp, name) for name in TOGGLES}


def test_every_name_the_chart_renders_has_a_contract_entry(
        renders: dict[str, list[Obj]]) -> None:
    """Every plugin type, EPP flag, EPP env var and sidecar flag of every sample and toggle
    has an entry (citing its upstream file) in the data of the generation it renders."""
    missing = {name: uncovered(objects) for name, objects in renders.items()}
    assert {name: names for name, names in missing.items() if names} == {}


def _template_literals() -> dict[str, set[str]]:
    """The names spelled out in the templates, by the kind rendered_names() reports."""
    templates = CHART / "templates"
    profiles = "".join((templates / name).read_text()
                       for name in ("_epp_config.tpl", "_kvevents.tpl"))
    plugins = set(re.findall(r'"type" "([a-z-]+)"', profiles))
    for pair in re.findall(r'\$kvScorer := ternary "([a-z-]+)" "([a-z-]+)"', profiles):
        plugins |= set(pair)
    deployment = (templates / "epp-deployment.yaml").read_text()
    epp_env = set(re.findall(r'"((?:NAMESPACE|POD_NAME|OTEL_[A-Z_]+))"', deployment))
    pod = (templates / "_pod.tpl").read_text()
    sidecar = pod[pod.index('define "ms.routingSidecar"'):]
    sidecar = sidecar[:sidecar.index("{{- end -}}\n\n")]
    routing = (templates / "_routing.tpl").read_text()
    generation_flags = re.findall(r'"sidecar(?:Connector|EnginePort)Flag" "([a-z-]+)"', routing)
    return {"plugin": plugins,
            "epp-flag": set(re.findall(r"- --([a-zA-Z-]+)", deployment)),
            "epp-env": epp_env,
            "sidecar-flag": set(re.findall(r'"--([a-z-]+)=', sidecar)) | set(generation_flags)}


def test_the_renders_reach_every_name_in_the_templates(renders: dict[str, list[Obj]]) -> None:
    """The samples and toggles are exhaustive: each plugin type, flag and env name the
    templates spell out is rendered by at least one of them (so the test above sees it)."""
    reached: dict[str, set[str]] = {}
    for objects in renders.values():
        for kind, names in rendered_names(objects).items():
            reached.setdefault(kind, set()).update(names)
    literals = _template_literals()
    assert all(literals.values()), f"a template pattern matched nothing: {literals}"
    assert {kind: names - reached[kind] for kind, names in literals.items()
            if names - reached[kind]} == {}


@pytest.mark.parametrize(("kind", "change", "expected"), [
    ("plugin", lambda c: c["plugins"].append({"type": "queue-scorerr"}), "plugin queue-scorerr"),
    ("epp-flag", lambda c: c["args"].append("--pool-nmae=x"), "epp-flag pool-nmae"),
    ("epp-env", lambda c: c["env"].append({"name": "OTEL_SAMPLER", "value": "x"}),
     "epp-env OTEL_SAMPLER"),
    ("sidecar-flag", lambda c: c["args"].append("--connector=nixl"), "sidecar-flag connector"),
])
def test_a_name_without_a_contract_entry_is_reported(tmp_path: Path, kind: str, change: Any,
                                                      expected: str) -> None:
    objects = toggle(tmp_path, "profile-pd")
    assert uncovered(objects) == []
    if kind == "plugin":
        configmap, config = next(_epp_configs(objects))
        change(config)
        configmap["data"] = {"config.yaml": yaml.safe_dump(config)}
    elif kind.startswith("epp"):
        change(next(c for d in _epp_deployments(objects)
                    for c in d["spec"]["template"]["spec"]["containers"] if c["name"] == "epp"))
    else:
        change(next(c for o in objects for c in _containers(o) if c["name"] == "routing-proxy"))
    assert uncovered(objects) == [expected]


@pytest.mark.parametrize(("env", "message"), [
    ({"OTEL_TRACES_SAMPLER": "always_on"}, "env OTEL_TRACES_SAMPLER: 'always_on' is not one of: "
     "parentbased_traceidratio; it falls back to parentbased_traceidratio at 0.1"),
    ({"OTEL_TRACES_SAMPLER_ARG": "ten"}, "env OTEL_TRACES_SAMPLER_ARG: 'ten' is not a number"),
    ({"OTEL_TRACES_EXPORTER": "jaeger"}, "env OTEL_TRACES_EXPORTER: 'jaeger' is not one of: "
     "otlp, console"),
])
def test_an_env_value_the_epp_ignores_fails(tmp_path: Path, env: dict[str, str],
                                            message: str) -> None:
    objects = render_values(tmp_path, {"routing": {"epp": {"env": env}}}, *sample_files(SIM))
    assert any(message in f for f in findings(objects, "epp-env")), findings(objects, "epp-env")


def test_tracing_sampler_the_epp_does_not_build_is_refused(tmp_path: Path) -> None:
    values = tmp_path / "tracing.yaml"
    values.write_text(yaml.safe_dump({"routing": {"epp": {"tracing": {
        "enabled": True, "otlpEndpoint": "http://otel:4317", "sampler": "always_on"}}}}))
    result = run_helm_template((*sample_files(SIM), values))
    assert result.returncode != 0
    assert "/routing/epp/tracing/sampler" in result.stderr


def test_every_generation_has_data_and_every_entry_cites_upstream() -> None:
    index = load("index.yaml")
    routing = (CHART / "templates" / "_routing.tpl").read_text()
    assert set(index["generations"]) == set(re.findall(r'^  "(v1\w*)" \(dict', routing, re.M))
    for path in CONTRACTS.rglob("*.yaml"):
        if path.name == "index.yaml":
            continue
        doc = load(str(path.relative_to(CONTRACTS)))
        for section in ("plugins", "flags", "env"):
            for name, entry in (doc.get(section) or {}).items():
                assert re.search(r"^[\w.-]+/[\w.-]+:[\w./-]+@v[\d.]+$", entry["source"]), \
                    f"{path}: {section}.{name} has no upstream citation"


def test_generation_images_match_the_data() -> None:
    routing = (CHART / "templates" / "_routing.tpl").read_text()
    for generation in ("v1", "v1alpha2"):
        data = generation_data(generation)
        block = routing[routing.index(f'"{generation}" (dict'):]
        for key, doc in (("eppImage", data["epp"]), ("sidecarImage", data["sidecar"])):
            repo, tag = re.search(rf'"{key}" \(dict "repository" "([^"]+)" "tag" "([^"]+)"',
                                  block).groups()
            assert (repo, tag) == (doc["image"], doc["version"]), (generation, key)


# --- only the images the data describes are checked; mst validate reports drift ----------

@pytest.mark.parametrize(("image", "checked"), [
    ({"tag": "v0.11.0"}, False),
    ({"repository": "registry.example/mirror/llm-d-router-endpoint-picker"}, False),
    ({"digest": "sha256:" + "a" * 64}, True),
])
def test_other_epp_images_are_not_held_to_the_pinned_data(tmp_path: Path, image: dict[str, str],
                                                          checked: bool) -> None:
    objects = render_values(tmp_path, {"routing": {"epp": {"image": image,
                                                           "extraArgs": ["--new-flag"]}}},
                            *sample_files(SIM))
    assert bool(findings(objects, "epp-flags")) is checked


def test_mst_validate_reports_an_unknown_plugin_type(tmp_path: Path) -> None:
    values = tmp_path / "model.yaml"
    values.write_text("routing:\n  epp:\n    plugins:\n      my-scorer:\n"
                      "        type: kv-cache-scorer\n    profilePlugins:\n"
                      "      default:\n        my-scorer: 1\n")
    result = subprocess.run(
        [sys.executable, "-m", "modelservice_tool", "validate", "--preset", SIM["preset"],
         "--values", str(REPO / "examples" / SIM["file"]), "--values", str(values)],
        capture_output=True, text=True, check=False, cwd=REPO,
        env={"MST_HELM": str(default_helm()), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 1, result.stderr
    assert ("plugin type 'kv-cache-scorer' is not registered in EPP v0.10.0 (did you mean "
            "'prefix-cache-scorer'?); it is a plugin of EPP v0.2.1 (routing.generation "
            "v1alpha2) [epp-plugin]") in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name", ["profile-default", "legacy"])
def test_pool_link_check_sees_a_wrong_port(tmp_path: Path, name: str) -> None:
    objects = toggle(tmp_path, name)
    assert findings(objects, "epp-pool") == []
    pool = next(o for o in objects if o["kind"] == "InferencePool")
    ref = pool["spec"].get("endpointPickerRef") or pool["spec"]["extensionRef"]
    if "port" in ref:
        ref["port"]["number"] = 9003
    else:
        ref["portNumber"] = 9003
    assert any("points at EPP port 9003; the EPP serves ext-proc on 9002" in f
               for f in findings(objects, "epp-pool"))


def test_pool_link_check_sees_a_wrong_pool_group(tmp_path: Path) -> None:
    objects = render_values(tmp_path, {"routing": {"epp": {
        "extraArgs": ["--pool-group=inference.networking.x-k8s.io"]}}}, *sample_files(SIM))
    assert any("--pool-group is 'inference.networking.x-k8s.io' but the pool is "
               "inference.networking.k8s.io/v1" in f for f in findings(objects, "epp-pool"))


def test_alpha_plugin_needs_the_experimental_flag(tmp_path: Path) -> None:
    extra = {"plugins": {"session": {"type": "session-affinity-scorer"}},
             "profilePlugins": {"default": {"session": 1}}}
    objects = render_values(tmp_path, {"routing": {"epp": extra}}, *sample_files(SIM))
    assert any("alpha in EPP v0.10.0: it refuses to start without --allow-experimental-plugins"
               in f for f in findings(objects, "epp-plugin"))
    allowed = {**extra, "extraArgs": ["--allow-experimental-plugins"]}
    objects = render_values(tmp_path, {"routing": {"epp": allowed}}, *sample_files(SIM))
    assert findings(objects, "epp-plugin") == []


def _schema_connectors() -> list[str]:
    schema = json.loads((CHART / "values.schema.json").read_text())
    connector = schema["properties"]["routing"]["properties"]["proxy"]["properties"]["connector"]
    return [value for value in connector.get("enum", []) if value is not None]


@pytest.mark.parametrize("generation", ["v1", "v1alpha2"])
@pytest.mark.parametrize("connector", _schema_connectors())
def test_every_connector_the_chart_accepts_is_accepted_by_the_sidecar(
        tmp_path: Path, generation: str, connector: str) -> None:
    """A connector value either fails at helm time or is one the sidecar of the generation
    accepts: a rejected value makes the sidecar exit 0 and restart-loop behind a Ready pod."""
    values = tmp_path / "connector.yaml"
    values.write_text(yaml.safe_dump({"routing": {"generation": generation,
                                                  "proxy": {"connector": connector}}}))
    result = run_helm_template((*sample_files(PD), values))
    if result.returncode != 0:
        return  # refused at input, as it should be for a value the sidecar rejects
    objects = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert findings(objects, "sidecar-flags") == []


def test_schema_connectors_are_exactly_the_pinned_sidecars() -> None:
    """The schema offers the union of what the generations' sidecars accept, and its
    description names each generation's set as the data has it."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    description = " ".join(schema["properties"]["routing"]["properties"]["proxy"][
        "properties"]["connector"]["description"].split())
    union: set[str] = set()
    for generation in ("v1", "v1alpha2"):
        sidecar = generation_data(generation)["sidecar"]
        accepted = sidecar["flags"][sidecar["connectorFlag"]]["values"]
        union |= set(accepted)
        assert f"{generation} ({sidecar['image'].rsplit('/', 1)[1]} {sidecar['version']}) " \
            f"{', '.join(accepted)}" in description, generation
    assert set(_schema_connectors()) == union


def test_lws_annotation_check_sees_an_unknown_key() -> None:
    sample = next(s for s in samples() if s["name"] == "deepseek-v3-wide-ep")
    objects = render(*sample_files(sample), release=sample["release"])
    lws = next(o for o in objects if o["kind"] == "LeaderWorkerSet")
    lws["metadata"].setdefault("annotations", {})[
        "leaderworkerset.sigs.k8s.io/exclusive-topologies"] = "kubernetes.io/hostname"
    assert [f.message for f in check_lws_env(objects)] == [
        "annotation 'leaderworkerset.sigs.k8s.io/exclusive-topologies' is not one LWS v0.10.0 "
        "reads on a LeaderWorkerSet (did you mean 'leaderworkerset.sigs.k8s.io/"
        "exclusive-topology'?)"]


def test_exclusive_topology_annotation_is_known(tmp_path: Path) -> None:
    sample = next(s for s in samples() if s["name"] == "deepseek-v3-wide-ep")
    objects = render_values(tmp_path, {"decode": {"multiNode": {
        "exclusiveTopology": "kubernetes.io/hostname"}}}, *sample_files(sample))
    lws = next(o for o in objects if o["kind"] == "LeaderWorkerSet")
    assert "leaderworkerset.sigs.k8s.io/exclusive-topology" in lws["metadata"]["annotations"]
    assert list(check_lws_env(objects)) == []


@pytest.mark.parametrize(("config", "message"), [
    ({"featureGates": ["flowControll"]}, "feature gate 'flowControll' is not registered in EPP "
     "v0.10.0 (did you mean 'flowControl'?)"),
    ({"schedulingProfiles": [{"name": "default", "plugin": []}]},
     "profile 'default': unknown field 'plugin'"),
    ({"schedulingProfiles": [{"name": "default", "plugins": [{"pluginRef": "max-score-picker",
                                                             "wieght": 1}]}]},
     "profile 'default': unknown field 'wieght' in a plugin reference"),
    ({"schedulerProfiles": []}, "unknown top-level field 'schedulerProfiles' for EPP v0.10.0 "
     "(did you mean 'schedulingProfiles'?)"),
])
def test_user_config_mistakes_fail(tmp_path: Path, config: dict[str, Any], message: str) -> None:
    text = yaml.safe_dump({"apiVersion": "llm-d.ai/v1alpha1", "kind": "EndpointPickerConfig",
                           "plugins": [{"type": "max-score-picker"}], **config})
    objects = render_values(tmp_path, {"routing": {"epp": {"config": text}}}, *sample_files(SIM))
    assert message in [f.message for f in run_contract_checks(objects)]


def test_deprecated_config_group_is_still_read_by_v0_10(tmp_path: Path) -> None:
    text = ("apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\n"
            "plugins:\n- type: max-score-picker\n")
    objects = render_values(tmp_path, {"routing": {"inferencePool": {"create": False, "name": "p"},
                                                   "epp": {"config": text}}}, *sample_files(SIM))
    assert generation_of(objects) == "v1"
    assert [f for f in run_contract_checks(objects) if f.check.startswith("epp-")] == []
