"""Tests of the chart's values schema (charts/modelservice/values.schema.json).

The schema is built from schema/values.schema.yaml by scripts/build_schema.py. These tests
check that it is valid draft-07, up to date, fully documented, in step with values.yaml,
strict about unknown keys (with jsonschema and with real helm 4 / helm 3), and lenient about
the `null`s that values layering produces.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from conftest import missing_helm_reason

Schema = dict[str, Any]

VALID_URI = "hf://Qwen/Qwen3-0.6B"
ROLES = ("decode", "prefill")
# Schema properties that values.yaml need not have (injected by Helm).
ROOT_KEYS_NOT_IN_VALUES = {"global"}
SCHEMA_ERROR = "don't meet the specifications of the schema"


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def schema(chart_dir: Path) -> Schema:
    """The committed JSON schema."""
    return json.loads((chart_dir / "values.schema.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def chart_values(chart_dir: Path) -> dict[str, Any]:
    """The chart's default values."""
    return yaml.safe_load((chart_dir / "values.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator(schema: Schema) -> Draft7Validator:
    """A draft-07 validator of the whole values document."""
    return Draft7Validator(schema)


def errors_of(validator: Draft7Validator, values: Any) -> list[str]:
    """Readable validation errors of ``values`` (empty when valid)."""
    return [
        f"{err.json_path}: {err.message}"
        for err in sorted(validator.iter_errors(values), key=lambda e: e.json_path)
    ]


def iter_property_schemas(node: Schema, path: str = "#") -> Iterator[tuple[str, Any]]:
    """Yield ``(path, schema)`` of every property schema below ``node``.

    Walks ``definitions``, ``properties`` and ``additionalProperties`` schemas that are
    objects with ``properties`` (entries of user-named maps with fixed keys), recursively.
    """
    for name, sub in node.get("definitions", {}).items():
        sub_path = f"{path}/definitions/{name}"
        yield sub_path, sub
        yield from iter_property_schemas(sub, sub_path)
    for name, sub in node.get("properties", {}).items():
        sub_path = f"{path}/properties/{name}"
        yield sub_path, sub
        if isinstance(sub, dict):
            yield from iter_property_schemas(sub, sub_path)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and "properties" in extra:
        sub_path = f"{path}/additionalProperties"
        yield sub_path, extra
        yield from iter_property_schemas(extra, sub_path)


def resolve(node: Schema, root: Schema) -> Schema:
    """Follow a local ``$ref``, or an ``allOf`` that holds just one, to its target."""
    while True:
        if "$ref" in node:
            ref = node["$ref"]
        elif len(node.get("allOf", [])) == 1 and "$ref" in node["allOf"][0]:
            ref = node["allOf"][0]["$ref"]
        else:
            return node
        assert ref.startswith("#/definitions/"), f"non-local $ref {ref}"
        node = root["definitions"][ref.removeprefix("#/definitions/")]


def deep_merge(base: Any, override: Any) -> Any:
    """Helm-style deep merge of ``override`` over ``base`` (maps merge, the rest replaces)."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base.get(key), value)
        return merged
    return copy.deepcopy(override)


def key_mismatches(values: Any, node: Schema, root: Schema, path: str) -> list[str]:
    """Differences between the keys of ``values`` and a strict schema object, recursively."""
    node = resolve(node, root)
    if not isinstance(values, dict) or node.get("additionalProperties") is not False:
        return []  # a scalar, an open object, or a map keyed by user-chosen names
    props = node.get("properties", {})
    optional = ROOT_KEYS_NOT_IN_VALUES if path == "" else set()
    problems = [
        f"{path}/{key}: in values.yaml, not in the schema" for key in values.keys() - props.keys()
    ]
    problems += [
        f"{path}/{key}: in the schema, not in values.yaml"
        for key in props.keys() - values.keys() - optional
    ]
    for key in values.keys() & props.keys():
        problems += key_mismatches(values[key], props[key], root, f"{path}/{key}")
    return problems


def run_helm(
    helm: Path, chart_dir: Path, env: dict[str, str], *values_files: Path
) -> subprocess.CompletedProcess[str]:
    """``helm template`` the chart with a valid model.uri and the given values files."""
    cmd = [str(helm), "template", "schema-test", str(chart_dir), "--set", f"model.uri={VALID_URI}"]
    for path in values_files:
        cmd += ["-f", str(path)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, check=False)


def helm_or_skip(helm_binaries: dict[str, Path], name: str) -> Path:
    """The helm binary ``name``, or skip the test naming the missing binary."""
    if name not in helm_binaries:
        pytest.skip(missing_helm_reason(name))
    return helm_binaries[name]


# --------------------------------------------------------------------------- the schema itself


def test_schema_is_valid_draft7(schema: Schema) -> None:
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    Draft7Validator.check_schema(schema)


def test_schema_is_self_contained(schema: Schema) -> None:
    refs: list[str] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(schema)
    assert refs, "expected the engine/role definitions to be referenced"
    for ref in refs:
        assert ref.startswith("#/definitions/"), ref
        assert ref.removeprefix("#/definitions/") in schema["definitions"], ref


def test_build_check_passes(repo_root: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(repo_root / "scripts" / "build_schema.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_build_check_detects_stale_json(repo_root: Path, chart_dir: Path, tmp_path: Path) -> None:
    stale = tmp_path / "values.schema.json"
    stale.write_text((chart_dir / "values.schema.json").read_text(encoding="utf-8") + " ")
    result = subprocess.run(
        [
            sys.executable,
            str(repo_root / "scripts" / "build_schema.py"),
            "--check",
            "--target",
            str(stale),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "out of date" in result.stderr


def test_every_property_has_description_and_examples(schema: Schema) -> None:
    problems = []
    for path, node in iter_property_schemas(schema):
        if node is False:
            continue  # a forbidden key (e.g. `name` of a container keyed by name)
        if not isinstance(node, dict):
            problems.append(f"{path}: schema is {node!r}")
            continue
        description = node.get("description")
        if not isinstance(description, str) or not description.strip():
            problems.append(f"{path}: no description")
        examples = node.get("examples")
        if not isinstance(examples, list) or not examples:
            problems.append(f"{path}: no examples")
    assert not problems, "\n".join(problems)


def test_examples_validate_against_their_property(schema: Schema) -> None:
    problems = []
    checked = 0
    for path, node in iter_property_schemas(schema):
        if not isinstance(node, dict):
            continue
        # Give the property schema the root's definitions so local $refs resolve.
        property_validator = Draft7Validator({**node, "definitions": schema["definitions"]})
        for index, example in enumerate(node.get("examples", [])):
            checked += 1
            problems += [
                f"{path} examples[{index}]: {message}"
                for message in errors_of(property_validator, example)
            ]
    assert checked > 100
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- values.yaml


def test_chart_values_validate(validator: Draft7Validator, chart_values: dict[str, Any]) -> None:
    assert errors_of(validator, chart_values) == []


def test_chart_values_and_schema_have_the_same_keys(
    schema: Schema, chart_values: dict[str, Any]
) -> None:
    # A role's values are its own keys plus every key of `pod`, and its `engine` has the
    # keys of the top-level `engine`: compare the schema with the merged view.
    effective = copy.deepcopy(chart_values)
    for role in ROLES:
        merged = deep_merge(chart_values["pod"], chart_values[role])
        merged["engine"] = deep_merge(chart_values["engine"], chart_values[role]["engine"])
        effective[role] = merged
    problems = key_mismatches(effective, schema, schema, "")
    assert not problems, "\n".join(problems)


def test_pod_and_roles_share_the_pod_keys(schema: Schema) -> None:
    pod_keys = schema["properties"]["pod"]["properties"].keys()
    role = schema["definitions"]["role"]["properties"]
    assert pod_keys <= role.keys()
    assert schema["definitions"]["podSettings"]["properties"].keys() == pod_keys
    for role_name in ROLES:
        assert resolve(schema["properties"][role_name], schema) is schema["definitions"]["role"]


# --------------------------------------------------------------------------- jsonschema cases

VALID_LAYERED_VALUES: dict[str, Any] = {
    "fullnameOverride": "qwen3",
    "commonLabels": {"team": "ml", "obsolete": None},
    "model": {
        "uri": "pvc+hf://hf-cache/hub/meta-llama/Llama-3.3-70B-Instruct",
        "size": None,
        "authSecretName": "hf-token",
    },
    "engine": {
        "image": {
            "repository": "ghcr.io/llm-d/llm-d-cuda",
            "tag": "v0.6.0",
            "digest": "sha256:" + "ab12" * 16,
        },
        "args": {"max-model-len": 8192, "enforce-eager": True, "compilation-config": {"level": 3}},
        "extraArgs": ["--disable-log-requests"],
        "env": {
            "PLAIN": "x",
            "NUMBER": 1,
            "VALUE": {"value": "1"},
            "FROM": {"valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            "SWITCHED": {"value": "2", "valueFrom": None},
            "DROPPED": None,
        },
    },
    "pod": {
        "accelerator": {
            "type": "nvidia",
            "count": None,
            "labelKey": "nvidia.com/gpu.product",
            "labelValues": ["NVIDIA-H100-80GB-HBM3"],
        },
        "resources": {"requests": {"cpu": "8", "memory": "64Gi", "gone": None}, "limits": {"x": 1}},
        "tolerations": {
            "gpu": {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
            "preset": None,
            "partial": {"key": "k", "effect": None},
        },
        "imagePullSecrets": {"ghcr": True, "old": None},
        "volumes": {"templates": {"configMap": {"name": "t"}}, "old": None},
        "volumeMounts": {"templates": {"mountPath": "/templates", "readOnly": True}, "old": None},
        "sidecars": {"proxy": {"image": "example/proxy:1.0"}, "old": None},
        "initContainers": {"init": {"image": "busybox:1.37", "command": ["true"]}},
        "shm": {"sizeLimit": "16Gi"},
        "probes": {"startup": {"budgetSeconds": 3600}},
    },
    "decode": {
        "replicas": 2,
        "parallelism": {"tensor": 4, "expert": True},
        # Role-level keys have no chart default, so Helm keeps layering nulls here.
        "accelerator": {"count": None, "type": None},
        "shm": {"sizeLimit": None},
        "tolerations": {"gpu": None},
        # A role entry may be a partial override of the pod entry of the same name.
        "sidecars": {"proxy": {"args": ["--verbose"]}},
        "volumeMounts": {"templates": {"readOnly": False}},
        "engine": {"args": {"max-num-seqs": 512}, "image": {"tag": None}},
        "service": {"type": "ClusterIP", "annotations": {"a": "b", "c": None}},
        "strategy": {"type": "Recreate"},
        "autoscaling": {
            "enabled": True,
            "minReplicas": 2,
            "maxReplicas": None,
            "metrics": {
                "queue": {
                    "type": "Pods",
                    "pods": {
                        "metric": {"name": "vllm:num_requests_waiting"},
                        "target": {"type": "AverageValue", "averageValue": "5"},
                    },
                },
                "cpu": {"type": "Resource", "resource": None},
                "old": None,
            },
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 600}},
        },
        "podDisruptionBudget": {"enabled": True, "minAvailable": "50%", "maxUnavailable": None},
        "multiNode": {
            "enabled": True,
            "acceleratorsPerNode": 4,
            "mode": "dataParallel",
            "startupPolicy": "LeaderReady",
            "restartPolicy": "None",
            "subGroupSize": 2,
            "exclusiveTopology": "cloud.google.com/gke-nodepool",
            "coordinationPort": None,
        },
    },
    "prefill": {
        "enabled": True,
        "replicas": 4,
        "engine": None,
        "probes": None,
        "autoscaling": None,
        "podDisruptionBudget": {"maxUnavailable": "0%"},
        "multiNode": {"mode": "ray", "subGroupSize": None, "exclusiveTopology": ""},
    },
    "serviceAccount": {"create": False, "name": "model-reader"},
    "helmTest": {"enabled": False},
    "routing": {
        "generation": "v1alpha2",
        "inferencePool": {"create": False, "name": "shared-pool", "failureMode": None},
        "epp": {
            "image": {"repository": "", "tag": "v0.2.1", "digest": None},
            "replicas": 0,
            "config": "kind: EndpointPickerConfig\n",
            "plugins": {
                "my-scorer": {"type": "load-aware-scorer", "parameters": {"threshold": 128}},
                "partial": {"parameters": None},
                "prefix-cache-scorer": None,
            },
            "profilePlugins": {"default": {"my-scorer": 1, "half": 0.5, "gone": None}, "pd": None},
            "env": {"A": "x", "B": {"valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}},
            "resources": {"requests": {"cpu": "1", "memory": None}},
            "tolerations": {"infra": {"key": "infra", "operator": "Exists"}, "old": None},
            "nodeSelector": {"a": "b", "c": None},
            "podAnnotations": {"x": None},
            "metricsAuth": {"enabled": None},
        },
        "objective": {"enabled": True, "priority": -5, "criticality": "Sheddable"},
        "httpRoute": {
            "gateway": {"name": "inference-gateway", "namespace": "gateways", "sectionName": None},
            "path": "/qwen3",
            "rewritePrefix": "/",
            "hostnames": ["llm.example.com", "*.example.com"],
            "timeouts": {"request": "1h30m", "backendRequest": "0s"},
        },
        "proxy": {"enabled": True, "connector": "lmcache", "image": {"tag": None}},
        "kvTransfer": {"role": "kv_producer", "extraConfig": {"kv_ip": "1.2.3.4", "kv_rank": None}},
    },
    "lora": {
        "adapters": {
            "sql": {"uri": "hf://yard1/llama-2-7b-sql-lora-test", "revision": "main"},
            "support": {"uri": "pvc://adapters/support", "imagePath": None},
            "legal": {"uri": "oci://quay.io/org/legal-lora:1.0", "imagePath": "adapter"},
            "partial": {"revision": "v2"},
            "old": None,
        },
        "maxLoras": 4,
        "maxLoraRank": 320,
        "downloadSize": "50Gi",
        "downloader": {"image": {"repository": "python", "tag": "3.12-slim"}},
    },
    "monitoring": {
        "podMonitor": {
            "enabled": True,
            "interval": "1m30s",
            "scrapeTimeout": "",
            "labels": {"release": "prometheus", "old": None},
            "epp": None,
        },
    },
    "extraObjects": {"pdb": {"apiVersion": "policy/v1"}, "cm": "kind: ConfigMap", "old": None},
    "global": {"imageRegistry": "registry.example.com"},
}


def test_valid_layered_values_pass(
    validator: Draft7Validator, chart_values: dict[str, Any]
) -> None:
    assert errors_of(validator, VALID_LAYERED_VALUES) == []
    assert errors_of(validator, deep_merge(chart_values, VALID_LAYERED_VALUES)) == []


@pytest.mark.parametrize(
    "uri",
    [
        "hf://Qwen/Qwen3-0.6B",
        "pvc://models-pvc/llama-3.3-70b",
        "pvc+hf://hf-cache/hub/meta-llama/Llama-3.3-70B-Instruct",
        "oci://quay.io/org/model-car:1.0",
        "",
    ],
)
def test_model_uri_accepts(validator: Draft7Validator, uri: str) -> None:
    assert errors_of(validator, {"model": {"uri": uri}}) == []


INVALID_CASES = [
    pytest.param({"model": {"uri": "Qwen/Qwen3-0.6B"}}, id="uri-without-scheme"),
    pytest.param({"model": {"uri": "s3://bucket/model"}}, id="uri-unknown-scheme"),
    pytest.param({"model": {"uri": "hf://"}}, id="uri-empty-path"),
    pytest.param({"model": {"size": "40GB"}}, id="model-size-not-quantity"),
    pytest.param({"model": {"imagePullPolicy": "always"}}, id="model-pull-policy"),
    pytest.param({"model": {"mountPath": "model-cache"}}, id="model-mount-path-relative"),
    pytest.param({"engine": {"type": "sglang"}}, id="engine-type"),
    pytest.param({"engine": {"mode": "serve"}}, id="engine-mode"),
    pytest.param({"engine": {"port": 0}}, id="engine-port-0"),
    pytest.param({"engine": {"port": 65536}}, id="engine-port-65536"),
    pytest.param({"engine": {"port": "8000"}}, id="engine-port-string"),
    pytest.param({"engine": {"image": {"tag": 1.0}}}, id="image-tag-number"),
    pytest.param({"engine": {"image": {"digest": "sha256:abc"}}}, id="image-digest"),
    pytest.param({"engine": {"image": {"repository": "x/y:v1"}}}, id="image-repo-with-tag"),
    pytest.param({"engine": {"image": {"pullPolicy": "Sometimes"}}}, id="image-pull-policy"),
    pytest.param({"engine": {"args": {"--max-model-len": 1}}}, id="args-key-with-dashes"),
    pytest.param({"engine": {"extraArgs": "--x"}}, id="extra-args-not-list"),
    pytest.param({"engine": {"command": ["vllm", 1]}}, id="command-item-number"),
    pytest.param({"engine": {"env": {"A": {"value": "x", "valueFrom": {}}}}}, id="env-both"),
    pytest.param({"engine": {"env": {"A": {}}}}, id="env-empty-object"),
    pytest.param({"engine": {"env": {"A": {"value": None}}}}, id="env-only-null"),
    pytest.param({"engine": {"env": {"A": {"value": 1}}}}, id="env-value-number"),
    pytest.param({"engine": {"env": {"A": {"valu": "x"}}}}, id="env-typo"),
    pytest.param({"engine": {"env": {"A": ["x"]}}}, id="env-list"),
    pytest.param({"pod": {"accelerator": {"type": "gpu"}}}, id="accelerator-type"),
    pytest.param({"pod": {"accelerator": {"count": -1}}}, id="accelerator-count"),
    pytest.param({"pod": {"accelerator": {"labelValues": "H100"}}}, id="label-values"),
    pytest.param({"pod": {"resources": {"claims": []}}}, id="resources-unknown-key"),
    pytest.param({"pod": {"resources": {"limits": {"memory": "64GB"}}}}, id="resources-qty"),
    pytest.param({"pod": {"resources": {"limits": {"cpu": -1}}}}, id="resources-negative"),
    pytest.param({"pod": {"nodeSelector": {"a": 1}}}, id="node-selector-number"),
    pytest.param({"pod": {"tolerations": [{"key": "a"}]}}, id="tolerations-list"),
    pytest.param({"pod": {"tolerations": {"t": {"operator": "In"}}}}, id="toleration-operator"),
    pytest.param({"pod": {"tolerations": {"t": {"effect": "NoRun"}}}}, id="toleration-effect"),
    pytest.param({"pod": {"tolerations": {"t": {"keys": "a"}}}}, id="toleration-typo"),
    pytest.param({"pod": {"imagePullSecrets": {"s": "yes"}}}, id="pull-secret-string"),
    pytest.param({"pod": {"imagePullSecrets": ["s"]}}, id="pull-secrets-list"),
    pytest.param({"pod": {"volumes": {"v": {"name": "v", "emptyDir": {}}}}}, id="volume-name"),
    pytest.param({"pod": {"volumes": {"v": "emptyDir"}}}, id="volume-string"),
    pytest.param({"pod": {"volumeMounts": {"v": {"readOnly": True}}}}, id="mount-no-path"),
    pytest.param({"pod": {"volumeMounts": {"v": {"mountpath": "/x"}}}}, id="mount-typo"),
    pytest.param(
        {"pod": {"volumeMounts": {"v": {"mountPath": "/x", "name": "v"}}}}, id="mount-name"
    ),
    pytest.param({"pod": {"sidecars": {"s": {"command": ["x"]}}}}, id="sidecar-no-image"),
    pytest.param({"pod": {"sidecars": {"s": {"image": "x", "name": "s"}}}}, id="sidecar-name"),
    pytest.param({"pod": {"initContainers": {"i": {"args": []}}}}, id="init-no-image"),
    pytest.param({"decode": {"initContainers": {"i": {"name": "i"}}}}, id="role-init-name"),
    pytest.param({"pod": {"shm": {"sizeLimit": ""}}}, id="shm-empty"),
    pytest.param({"pod": {"shm": {"sizeLimit": "8 Gi"}}}, id="shm-space"),
    pytest.param({"pod": {"probes": {"startup": {"periodSeconds": 0}}}}, id="probe-period-0"),
    pytest.param({"pod": {"probes": {"readiness": {"path": "health"}}}}, id="probe-path"),
    pytest.param({"pod": {"probes": {"liveness": {"budgetSeconds": 60}}}}, id="probe-key"),
    pytest.param({"pod": {"terminationGracePeriodSeconds": -1}}, id="grace-negative"),
    pytest.param({"pod": {"replicas": 2}}, id="pod-role-key"),
    pytest.param({"decode": {"replicas": -1}}, id="replicas-negative"),
    pytest.param({"decode": {"replicas": 1.5}}, id="replicas-fraction"),
    pytest.param({"decode": {"parallelism": {"tensor": 0}}}, id="tensor-0"),
    pytest.param({"prefill": {"parallelism": {"dataLocal": 0}}}, id="data-local-0"),
    pytest.param({"decode": {"parallelism": {"expert": "yes"}}}, id="expert-string"),
    pytest.param({"decode": {"service": {"type": "ExternalName"}}}, id="service-type"),
    pytest.param({"decode": {"service": {"port": 80}}}, id="service-typo"),
    pytest.param({"decode": {"engine": {"imag": {}}}}, id="role-engine-typo"),
    pytest.param({"decode": {"engine": {"port": 0}}}, id="role-engine-port"),
    pytest.param({"prefill": {"shm": {"sizelimit": "1Gi"}}}, id="role-pod-key-typo"),
    pytest.param({"decode": {"enabled": "true"}}, id="enabled-string"),
    pytest.param({"nameOverride": "Qwen3"}, id="name-override-uppercase"),
    pytest.param({"fullnameOverride": "a" * 56}, id="fullname-override-too-long"),
    pytest.param({"fullnameOverride": "qwen3-"}, id="fullname-override-trailing-dash"),
    pytest.param({"commonLabels": {"a": 1}}, id="label-number"),
    pytest.param({"serviceAccount": {"automount": False}}, id="service-account-typo"),
    pytest.param({"serviceAccount": {"name": "Model_Reader"}}, id="service-account-name"),
    pytest.param({"helmTest": {"image": {"digest": ""}}}, id="helm-test-typo"),
    pytest.param({"extraObjects": {"x": 1}}, id="extra-object-number"),
    pytest.param({"extraObjects": [{"kind": "ConfigMap"}]}, id="extra-objects-list"),
    pytest.param({"unknownSection": {}}, id="unknown-section"),
    pytest.param({"routing": {"generation": "v1beta1"}}, id="routing-generation"),
    pytest.param({"routing": {"epp": {"replica": 2}}}, id="routing-epp-typo"),
    pytest.param({"routing": {"inferencePool": {"crate": False}}}, id="routing-pool-typo"),
    pytest.param({"routing": {"inferencePool": {"failureMode": "Open"}}}, id="failure-mode"),
    pytest.param({"routing": {"epp": {"profile": "prefix"}}}, id="epp-profile"),
    pytest.param({"routing": {"epp": {"replicas": -1}}}, id="epp-replicas-negative"),
    pytest.param({"routing": {"epp": {"nonCachedTokens": -1}}}, id="non-cached-negative"),
    pytest.param({"routing": {"epp": {"logVerbosity": 11}}}, id="log-verbosity"),
    pytest.param({"routing": {"epp": {"config": {"kind": "X"}}}}, id="epp-config-object"),
    pytest.param({"routing": {"epp": {"image": {"repository": "x:v1"}}}}, id="epp-image-repo"),
    pytest.param({"routing": {"epp": {"image": {"tags": "v1"}}}}, id="epp-image-typo"),
    pytest.param({"routing": {"epp": {"plugins": {"p": {"typ": "x"}}}}}, id="plugin-typo"),
    pytest.param({"routing": {"epp": {"plugins": {"p": "x"}}}}, id="plugin-string"),
    pytest.param({"routing": {"epp": {"plugins": {"p": {"parameters": []}}}}}, id="plugin-params"),
    pytest.param({"routing": {"epp": {"profilePlugins": {"d": {"p": "1"}}}}}, id="weight-string"),
    pytest.param({"routing": {"epp": {"profilePlugins": {"d": ["p"]}}}}, id="profile-list"),
    pytest.param({"routing": {"epp": {"env": {"A": {"valu": "x"}}}}}, id="epp-env-typo"),
    pytest.param({"routing": {"epp": {"tolerations": [{"key": "a"}]}}}, id="epp-tolerations"),
    pytest.param({"routing": {"epp": {"resources": {"limits": {"cpu": "1 core"}}}}}, id="epp-qty"),
    pytest.param({"routing": {"epp": {"metricsAuth": {"enable": True}}}}, id="metrics-auth"),
    pytest.param({"routing": {"objective": {"criticality": "High"}}}, id="criticality"),
    pytest.param({"routing": {"objective": {"priority": 1.5}}}, id="priority-fraction"),
    pytest.param({"routing": {"httpRoute": {"path": "v1"}}}, id="route-path-relative"),
    pytest.param({"routing": {"httpRoute": {"rewritePrefix": "v1"}}}, id="rewrite-relative"),
    pytest.param({"routing": {"httpRoute": {"hostnames": "a.example.com"}}}, id="hostnames"),
    pytest.param({"routing": {"httpRoute": {"timeouts": {"request": "1 hour"}}}}, id="timeout"),
    pytest.param({"routing": {"httpRoute": {"timeouts": {"request": 60}}}}, id="timeout-int"),
    pytest.param({"routing": {"httpRoute": {"timeouts": {"backendRequest": "1d"}}}}, id="to-day"),
    pytest.param({"routing": {"httpRoute": {"gateway": {"nmae": "gw"}}}}, id="gateway-typo"),
    pytest.param({"routing": {"proxy": {"enabled": "yes"}}}, id="proxy-enabled"),
    pytest.param({"routing": {"proxy": {"connector": "nixl-v2"}}}, id="proxy-connector"),
    pytest.param({"routing": {"proxy": {"enginePort": 0}}}, id="proxy-port"),
    pytest.param({"routing": {"kvTransfer": {"role": "both"}}}, id="kv-role"),
    pytest.param({"routing": {"kvTransfer": {"sideChannelPort": 70000}}}, id="side-port"),
    pytest.param({"routing": {"kvTransfer": {"extraConfig": []}}}, id="kv-extra-list"),
    pytest.param({"pod": {"autoscaling": {"enabled": True}}}, id="pod-autoscaling"),
    pytest.param({"pod": {"multiNode": {"enabled": True}}}, id="pod-multi-node"),
    pytest.param({"decode": {"autoscaling": {"minReplicas": 0}}}, id="hpa-min-0"),
    pytest.param({"decode": {"autoscaling": {"maxReplicas": "4"}}}, id="hpa-max-string"),
    pytest.param({"decode": {"autoscaling": {"metrics": [{"type": "Pods"}]}}}, id="hpa-list"),
    pytest.param(
        {"decode": {"autoscaling": {"metrics": {"m": {"type": "Custom"}}}}}, id="hpa-type"
    ),
    pytest.param({"decode": {"autoscaling": {"metrics": {"m": {"pod": {}}}}}}, id="hpa-src-typo"),
    pytest.param({"decode": {"autoscaling": {"metrics": {"m": {"pods": 5}}}}}, id="hpa-source"),
    pytest.param({"decode": {"autoscaling": {"behavior": []}}}, id="hpa-behavior-list"),
    pytest.param({"decode": {"podDisruptionBudget": {"minAvailable": "50"}}}, id="pdb-percent"),
    pytest.param({"decode": {"podDisruptionBudget": {"minAvailable": "50 %"}}}, id="pdb-space"),
    pytest.param({"decode": {"podDisruptionBudget": {"maxUnavailable": -1}}}, id="pdb-negative"),
    pytest.param({"decode": {"podDisruptionBudget": {"maxUnavailable": 0.5}}}, id="pdb-fraction"),
    pytest.param({"decode": {"multiNode": {"mode": "tensorParallel"}}}, id="multi-node-mode"),
    pytest.param({"decode": {"multiNode": {"acceleratorsPerNode": 0}}}, id="accel-per-node-0"),
    pytest.param({"decode": {"multiNode": {"startupPolicy": "Leader"}}}, id="startup-policy"),
    pytest.param({"decode": {"multiNode": {"restartPolicy": "Default"}}}, id="restart-policy"),
    pytest.param({"decode": {"multiNode": {"subGroupSize": 0}}}, id="subgroup-0"),
    pytest.param({"decode": {"multiNode": {"exclusiveTopology": "a b"}}}, id="exclusive-topo"),
    pytest.param({"prefill": {"multiNode": {"coordinationPort": 0}}}, id="coordination-port"),
    pytest.param({"lora": {"adapters": [{"uri": "hf://a/b"}]}}, id="lora-adapters-list"),
    pytest.param({"lora": {"adapters": {"a": {"uri": "s3://bucket/a"}}}}, id="lora-uri-scheme"),
    pytest.param({"lora": {"adapters": {"a": {"uri": "pvc+hf://c/hub/a/b"}}}}, id="lora-pvc-hf"),
    pytest.param({"lora": {"adapters": {"a": {"uri": "org/adapter"}}}}, id="lora-uri-bare"),
    pytest.param({"lora": {"adapters": {"a": {"url": "hf://a/b"}}}}, id="lora-adapter-typo"),
    pytest.param({"lora": {"adapters": {"a": "hf://a/b"}}}, id="lora-adapter-string"),
    pytest.param({"lora": {"maxLoraRank": 7}}, id="lora-rank-7"),
    pytest.param({"lora": {"maxLoraRank": "16"}}, id="lora-rank-string"),
    pytest.param({"lora": {"maxLoras": 0}}, id="lora-max-loras-0"),
    pytest.param({"lora": {"downloadSize": "10GB"}}, id="lora-download-size"),
    pytest.param({"lora": {"downloadSize": ""}}, id="lora-download-size-empty"),
    pytest.param({"lora": {"downloader": {"image": {"repository": "x/y:v1"}}}}, id="lora-dl-repo"),
    pytest.param({"lora": {"downloader": {"image": {"digest": ""}}}}, id="lora-dl-typo"),
    pytest.param({"monitoring": {"podMonitor": {"interval": "30"}}}, id="monitor-interval"),
    pytest.param({"monitoring": {"podMonitor": {"interval": "1 m"}}}, id="monitor-interval-sp"),
    pytest.param({"monitoring": {"podMonitor": {"interval": ""}}}, id="monitor-interval-empty"),
    pytest.param({"monitoring": {"podMonitor": {"interval": 30}}}, id="monitor-interval-int"),
    pytest.param({"monitoring": {"podMonitor": {"scrapeTimeout": "10sec"}}}, id="monitor-timeout"),
    pytest.param({"monitoring": {"podMonitor": {"path": "metrics"}}}, id="monitor-path"),
    pytest.param({"monitoring": {"podMonitor": {"labels": {"a": 1}}}}, id="monitor-label-number"),
    pytest.param({"monitoring": {"podMonitor": {"epp": "yes"}}}, id="monitor-epp"),
    pytest.param({"monitoring": {"serviceMonitor": {}}}, id="monitor-unknown"),
]


@pytest.mark.parametrize("values", INVALID_CASES)
def test_invalid_values_fail(validator: Draft7Validator, values: dict[str, Any]) -> None:
    assert errors_of(validator, values), f"expected {values} to be rejected"


# --------------------------------------------------------------------------- real helm

TYPO_CASES = [
    pytest.param({"modle": {"uri": VALID_URI}}, "modle", id="top-level"),
    pytest.param({"decode": {"replica": 2}}, "replica", id="role"),
    pytest.param({"decode": {"parallelism": {"tensr": 2}}}, "tensr", id="parallelism"),
    pytest.param({"model": {"urii": "x"}}, "urii", id="model"),
    pytest.param({"engine": {"imag": {}}}, "imag", id="engine"),
    pytest.param({"pod": {"shm": {"sizelimit": "1Gi"}}}, "sizelimit", id="pod"),
    pytest.param({"routing": {"epp": {"replica": 2}}}, "replica", id="routing-epp"),
    pytest.param({"routing": {"inferencePool": {"crate": False}}}, "crate", id="routing-pool"),
    pytest.param(
        {"routing": {"httpRoute": {"timeouts": {"requests": "1s"}}}},
        "requests",
        id="routing-timeouts",
    ),
    pytest.param({"routing": {"proxy": {"conector": "nixlv2"}}}, "conector", id="routing-proxy"),
    pytest.param({"decode": {"autoscaling": {"maxReplica": 3}}}, "maxReplica", id="autoscaling"),
    pytest.param(
        {"prefill": {"autoscaling": {"metrics": {"q": {"type": "Pods", "pod": {}}}}}},
        "pod",
        id="autoscaling-metric",
    ),
    pytest.param(
        {"decode": {"podDisruptionBudget": {"minAvaliable": 1}}}, "minAvaliable", id="pdb"
    ),
    pytest.param(
        {"decode": {"multiNode": {"acceleratorPerNode": 8}}}, "acceleratorPerNode", id="multi-node"
    ),
    pytest.param({"pod": {"autoscaling": {"enabled": True}}}, "autoscaling", id="pod-role-only"),
    pytest.param({"lora": {"adapter": {}}}, "adapter", id="lora"),
    pytest.param({"lora": {"adapters": {"a": {"url": "hf://a/b"}}}}, "url", id="lora-adapter"),
    pytest.param({"monitoring": {"podmonitor": {}}}, "podmonitor", id="monitoring"),
    pytest.param(
        {"monitoring": {"podMonitor": {"intervall": "30s"}}}, "intervall", id="pod-monitor"
    ),
]


@pytest.mark.parametrize("helm_name", ["helm4", "helm3"])
@pytest.mark.parametrize(("values", "bad_key"), TYPO_CASES)
def test_helm_rejects_misspelled_key(
    helm_binaries: dict[str, Path],
    helm_name: str,
    chart_dir: Path,
    helm_env: dict[str, str],
    tmp_path: Path,
    values: dict[str, Any],
    bad_key: str,
) -> None:
    helm = helm_or_skip(helm_binaries, helm_name)
    values_file = tmp_path / "typo.yaml"
    values_file.write_text(yaml.safe_dump(values), encoding="utf-8")
    result = run_helm(helm, chart_dir, helm_env, values_file)
    assert result.returncode != 0, result.stdout
    assert SCHEMA_ERROR in result.stderr, result.stderr
    assert f"'{bad_key}'" in result.stderr, result.stderr


@pytest.mark.parametrize("helm_name", ["helm4", "helm3"])
def test_helm_accepts_layered_nulls(
    helm_binaries: dict[str, Path],
    helm_name: str,
    chart_dir: Path,
    helm_env: dict[str, str],
    tmp_path: Path,
) -> None:
    """A later layer's nulls (kept by Helm where the chart has no default) pass validation.

    Only the schema verdict is checked: the templates may fail for unrelated reasons.
    """
    helm = helm_or_skip(helm_binaries, helm_name)
    preset = tmp_path / "preset.yaml"
    preset.write_text(yaml.safe_dump(VALID_LAYERED_VALUES), encoding="utf-8")
    override = {
        "pod": {
            "tolerations": {"gpu": None, "partial": {"key": None}},
            "sidecars": {"proxy": None},
            "shm": {"sizeLimit": None},
        },
        "decode": {
            "parallelism": {"expert": None},
            "strategy": None,
            "engine": {"args": {"max-num-seqs": None}, "env": {"X": None}},
            "volumeMounts": {"templates": None},
            "autoscaling": {"metrics": {"queue": {"pods": None}, "cpu": None}},
            "multiNode": {"subGroupSize": None},
        },
        "engine": {"env": {"SWITCHED": None, "FROM": {"value": "z", "valueFrom": None}}},
        "routing": {
            "epp": {
                "plugins": {"my-scorer": {"parameters": None}},
                "profilePlugins": {"default": {"my-scorer": None}},
                "tolerations": {"infra": None},
            },
            "httpRoute": {"gateway": {"sectionName": None}},
            "kvTransfer": {"extraConfig": {"kv_ip": None}},
        },
        "lora": {"adapters": {"sql": {"revision": None}, "old": None}},
        "monitoring": {"podMonitor": {"labels": {"release": None}}},
    }
    override_file = tmp_path / "override.yaml"
    override_file.write_text(yaml.safe_dump(override), encoding="utf-8")
    result = run_helm(helm, chart_dir, helm_env, preset, override_file)
    assert SCHEMA_ERROR not in result.stderr, result.stderr
