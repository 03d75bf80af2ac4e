"""Property-based fuzzing of the chart values.

Documents drawn from values.schema.json (bounded, see fuzz_support) are layered over a
preset and a minimal model file and rendered with `helm template`. Each one must either
render objects that all pass the Kubernetes schemas (core kinds), the upstream CRDs (custom
resources) and the API server's name/label rules, or fail with one of the chart's own
`fail` messages. Never a template panic, a nil pointer, unparsable output or an invalid
object.

Seeded and bounded: `--fuzz-examples` documents per run (default 520), in four shards so
pytest-xdist spreads them, rendered two at a time. The figure is printed in the summary.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from fuzz_support import Bounds, Outcome, bounded_schema, object_rule_problems, render_outcome
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft7Validator

from modelservice_tool.manifests import KubernetesSchemas, validate_manifests
from support import CHART, PRESETS, crd_schemas, default_helm, run_helm_template, unverifiable

SHARDS = 4
BATCH = 4  # documents per hypothesis example, rendered in parallel
WORKERS = 2
KUBERNETES = ("1.33", "1.34", "1.35")
DRA_MINIMUM = "1.34"
BASE_SEED = 20260806
# Minimal model files, one per URI scheme; the generated document is layered over them.
MODELS: dict[str, dict[str, Any]] = {
    "hf": {"model": {"uri": "hf://Qwen/Qwen3-0.6B"}},
    "pvc": {"model": {"uri": "pvc://models/llama-3.3-70b"}},
    "pvc+hf": {"model": {"uri": "pvc+hf://hub/cache/meta-llama/Llama-3.1-8B"}},
    "oci": {"model": {"uri": "oci://registry.example.com/models/granite:3.3", "imagePath": "m"}},
}
RELEASES = ("fz", "r" * 53)  # a short name and the longest helm accepts (truncation)


def preset_names() -> list[str | None]:
    """No preset, then every preset in presets/ (new ones are fuzzed automatically)."""
    return [None, *sorted(path.stem for path in PRESETS.glob("*.yaml"))]


@cache
def schema() -> dict[str, Any]:
    return json.loads((CHART / "values.schema.json").read_text())


@cache
def kubernetes(version: str) -> KubernetesSchemas:
    return KubernetesSchemas(version)


def case_strategy() -> st.SearchStrategy[dict[str, Any]]:
    """One fuzz case: preset, base model file, release name and a generated document."""
    return st.fixed_dictionaries({
        "preset": st.sampled_from(preset_names()),
        "model": st.sampled_from(sorted(MODELS)),
        "release": st.sampled_from(RELEASES),
        "values": from_schema(bounded_schema(schema(), Bounds())),
    })


def render_case(case: dict[str, Any], workdir: Path, index: int) -> Outcome:
    """Write the case's files and run `helm template` on them (one helm process)."""
    files: list[Path] = []
    if case["preset"]:
        files.append(PRESETS / f"{case['preset']}.yaml")
    for name, document in (("model", MODELS[case["model"]]), ("fuzz", case["values"])):
        path = workdir / f"{index}-{name}.yaml"
        # JSON is YAML whose strings are always quoted: PyYAML writes `n` or `y` bare,
        # which helm's YAML 1.1 parser reads as booleans.
        path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        files.append(path)
    result = run_helm_template(tuple(files), release=case["release"], namespace="fuzz")
    return render_outcome(result, CHART)


def object_problems(objects: list[dict[str, Any]], version: str) -> list[str]:
    """Schema problems (core kinds, and custom resources when the upstream CRDs are beside
    the repo) plus API-server name/label rule problems."""
    if any(obj["apiVersion"].startswith("resource.k8s.io/") for obj in objects):
        # DRA claims render only for Kubernetes >= 1.34 (older clusters are refused), so
        # check them there.
        version = max(version, DRA_MINIMUM, key=lambda v: tuple(map(int, v.split("."))))
    schemas, crds = kubernetes(version), crd_schemas()
    checked = [obj for obj in objects if not unverifiable(obj)] if crds is not None else [
        obj for obj in objects if schemas.validator(obj["kind"], obj["apiVersion"])]
    problems = [str(p) for p in validate_manifests(checked, schemas, crds)]
    for obj in objects:
        problems += object_rule_problems(obj)
    return problems


def describe(case: dict[str, Any], outcome: Outcome, problems: list[str]) -> str:
    return (f"preset={case['preset']} model={case['model']} release={case['release']}\n"
            f"values:\n{yaml.safe_dump(case['values'], sort_keys=False)}"
            f"{outcome.kind}: {outcome.message[:2000]}\n" + "\n".join(problems[:20]))


def run_shard(shard: int, examples: int, workdir: Path) -> Counter[str]:
    """Fuzz `examples` documents (rounded up to whole batches) with the shard's seed."""
    stats: Counter[str] = Counter()
    validator = Draft7Validator(schema())
    pool = ThreadPoolExecutor(WORKERS)

    @seed(BASE_SEED + shard)
    @settings(max_examples=math.ceil(examples / BATCH), database=None, deadline=None,
              suppress_health_check=list(HealthCheck), print_blob=True,
              phases=(Phase.explicit, Phase.generate))  # no shrinking: each try renders
    @given(st.lists(case_strategy(), min_size=BATCH, max_size=BATCH))
    def check(batch: list[dict[str, Any]]) -> None:
        for case in batch:
            assert validator.is_valid(case["values"]), "generator left the schema"
        outcomes = list(pool.map(render_case, batch, [workdir] * BATCH, range(BATCH)))
        for index, (case, outcome) in enumerate(zip(batch, outcomes, strict=True)):
            stats[outcome.kind] += 1
            problems: list[str] = []
            if outcome.kind == "rendered":
                version = KUBERNETES[(stats["documents"] + index) % len(KUBERNETES)]
                problems = object_problems(outcome.objects, version)
                stats["objects"] += len(outcome.objects)
            else:
                stats[f"fail: {outcome.message[:60]}"] += 1
            assert outcome.kind != "broken" and not problems, describe(case, outcome, problems)
        stats["documents"] += BATCH

    try:
        check()
    finally:
        pool.shutdown()
    return stats


@pytest.mark.parametrize("shard", range(SHARDS))
def test_fuzzed_values_render_valid_objects_or_fail_cleanly(
    shard: int, fuzz_examples: int, tmp_path: Path, record_property: Any,
) -> None:
    default_helm()  # a clear error when helm is missing
    started = time.monotonic()
    stats = run_shard(shard, math.ceil(fuzz_examples / SHARDS), tmp_path)
    elapsed = time.monotonic() - started
    record_property("fuzz_documents", stats["documents"])
    record_property("fuzz_rendered", stats["rendered"])
    record_property("fuzz_seconds", round(elapsed, 1))
    failures = {k.removeprefix("fail: "): v for k, v in stats.items() if k.startswith("fail: ")}
    print(f"shard {shard}: {stats['documents']} documents in {elapsed:.1f}s, "
          f"{stats['rendered']} rendered ({stats['objects']} objects), "
          f"{stats['clean-fail']} clean failures: {json.dumps(failures, indent=1)}")
    # Enough documents must render for the run to test the templates, not only the checks.
    assert stats["rendered"] >= stats["documents"] // 4, stats


# --------------------------------------------------------------------------- known bugs

# Minimal reproductions of the chart bugs the fuzzer found (all fixed; kept as regression
# tests). Each is layered over `model: {uri: hf://a/b}`.
KNOWN_BUG_CASES: dict[str, dict[str, Any]] = {
    "pod-null": {"pod": None},
    "engine-null": {"engine": None},
    "decode-null": {"decode": None},
    "service-account-null": {"serviceAccount": None},
    "helm-test-null": {"helmTest": None},
    "accelerator-null": {"pod": {"accelerator": None}},
    "helm-test-image-null": {"helmTest": {"image": None}},
    "helm-test-tag-empty": {"helmTest": {"image": {"tag": ""}}},
    "engine-image-null": {"engine": {"image": None}},
    "engine-repository-null": {"engine": {"image": {"repository": None}}},
    "engine-tag-empty": {"engine": {"image": {"tag": ""}}},
    "common-label-null": {"commonLabels": {"team": None}},
    "pod-label-null": {"pod": {"podLabels": {"team": None}}},
    "service-account-annotation-null": {"serviceAccount": {"annotations": {"a": None}}},
    "resource-limit-null": {"pod": {"resources": {"limits": {"cpu": None}}}},
    "mount-path-null": {"pod": {"volumes": {"x": {"emptyDir": {}}},
                                "volumeMounts": {"x": {"mountPath": None}}}},
    "mount-without-volume": {"pod": {"volumeMounts": {"x": {"mountPath": "/x"}}}},
    "fullname-digits": {"fullnameOverride": "0"},
    "fullname-leading-digit-service": {"fullnameOverride": "1abc"},
    "name-override-digits": {"nameOverride": "0"},
    "service-account-name-digits": {"serviceAccount": {"name": "0"}},
    "pool-name-digits": {"routing": {"inferencePool": {"name": "0"}}},
    "gateway-name-yaml-word": {"routing": {"httpRoute": {"gateway": {"name": "true"}}}},
    "epp-env-name-digits": {"routing": {"epp": {"env": {"123": "x"}}}},
    "scheduler-name-digits": {"decode": {"schedulerName": "0"}},
}


@pytest.mark.parametrize("case", sorted(KNOWN_BUG_CASES))
def test_known_bug_renders_valid_objects_or_fails_cleanly(case: str, tmp_path: Path) -> None:
    fuzz_case = {"preset": None, "model": "hf", "release": "fz",
                 "values": KNOWN_BUG_CASES[case]}
    outcome = render_case(fuzz_case, tmp_path, 0)
    problems = object_problems(outcome.objects, KUBERNETES[0])
    assert outcome.kind != "broken" and not problems, describe(fuzz_case, outcome, problems)


def test_schema_examples_of_template_strings_render(tmp_path: Path) -> None:
    """The schema's extraObjects example with a `tpl` string renders (the fuzzer leaves
    template strings out of its example picks, so this one is checked here)."""
    examples = schema()["properties"]["extraObjects"]["examples"]
    for example in examples:
        fuzz_case = {"preset": None, "model": "hf", "release": "fz",
                     "values": {"extraObjects": example}}
        outcome = render_case(fuzz_case, tmp_path, 0)
        assert outcome.kind == "rendered", describe(fuzz_case, outcome, [])
