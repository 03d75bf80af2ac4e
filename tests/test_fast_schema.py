"""The fast validity check (fastjsonschema, cached) says valid exactly when the explaining
validator (jsonschema, draft-07, Go-anchored patterns) finds no problem: on generated
documents, on mutations of them that break a rule, and on the bad-input corpus."""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fuzz import case_strategy

from modelservice_tool.schema_check import is_valid, load_validator
from support import CHART, REPO

SCHEMA = CHART / "values.schema.json"
def _at(values: dict[str, Any], key: str) -> dict[str, Any]:
    if not isinstance(values.get(key), dict):
        values[key] = {}
    return values[key]


MUTATIONS = [
    lambda v: _at(v, "decode").update({"replica": 1}),
    lambda v: _at(v, "decode").update({"replicas": "two"}),
    lambda v: _at(v, "decode").update({"replicas": True}),
    lambda v: _at(v, "model").update({"uri": "s3://x/y"}),
    lambda v: _at(v, "model").update({"size": "40GB"}),
    lambda v: _at(v, "engine").update({"env": [{"name": "A", "value": "b"}]}),
    lambda v: _at(v, "routing").update({"generation": "v2"}),
    lambda v: _at(_at(v, "engine"), "image").update({"tag": "a b"}),
]


def slow_valid(values: Any) -> bool:
    return not any(True for _ in load_validator(SCHEMA).iter_errors(values))


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(case_strategy(), st.integers(min_value=0, max_value=len(MUTATIONS)))
def test_fast_and_explaining_validators_agree(case: dict[str, Any], mutation: int) -> None:
    values = copy.deepcopy(case["values"]) or {}
    assert is_valid(values, SCHEMA) == slow_valid(values)
    if mutation < len(MUTATIONS):
        MUTATIONS[mutation](values)
        assert is_valid(values, SCHEMA) == slow_valid(values)


def test_bad_input_corpus_agrees() -> None:
    for path in sorted((REPO / "tests" / "bad_inputs").glob("*.yaml")):
        if path.name == "index.yaml":
            continue
        try:
            values = yaml.safe_load(path.read_text())
        except yaml.YAMLError:
            continue
        if isinstance(values, dict):
            assert is_valid(values, SCHEMA) == slow_valid(values), path.name
