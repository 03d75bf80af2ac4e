"""Property-based values fuzzing: strategies from values.schema.json and the render oracle.

The strategy is hypothesis-jsonschema's `from_schema` over a *bounded* copy of the chart
schema. Every document it draws is also valid against the real schema (the tests assert it);
the bounds only keep documents small and realistic:

- strings without a pattern or enum get at most `max_string` printable characters and no
  `{` (those strings go through `tpl`; a broken user template is the user's error);
- user-named maps get at most `max_map` entries, keys shaped like Kubernetes names (the
  schema leaves key syntax to Kubernetes on purpose) and label maps get valid label values;
- lists get at most `max_items` items;
- raw Kubernetes passthrough objects (affinity, security contexts, volume sources, extra
  containers, `valueFrom`, `strategy`, `extraObjects` entries, ...) take one of the schema's
  own `examples` or null: the chart copies them verbatim, so random maps would only test
  Kubernetes, not the chart.

`render_outcome` classifies one `helm template` run: rendered manifests, a clean failure
(an `execution error` whose message is one of the chart's own `fail` messages), or broken
(anything else: a Go template panic, nil pointer, "can't evaluate field", a YAML error of
the rendered output, a schema rejection of a schema-valid document).
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

Schema = dict[str, Any]
Obj = dict[str, Any]

# Kubernetes-shaped names for the keys of user-named maps (env, volumes, containers, labels,
# annotations, tolerations, pull secrets...). Digits-only and YAML words ("true", "null")
# are allowed on purpose: they are valid names and a classic way to break unquoted YAML.
NAME_KEY = r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,10}[A-Za-z0-9])?$"
# Label values: empty, or alphanumeric ends with -_. inside, at most 63 characters.
LABEL_VALUE = r"^([A-Za-z0-9]([A-Za-z0-9._-]{0,14}[A-Za-z0-9])?)?$"
NO_CONTROL = {"type": "string", "pattern": "[\x00-\x1f\x7f-\x9f]"}
# Free text: printable (control characters are not valid in YAML output nor in Kubernetes
# strings) and without `{` (such strings go through `tpl`: `{{` would be a user template).
FREE_TEXT = r"^[^\x00-\x1f\x7f-\x9f{]*$"
SCALAR_TYPES = ("string", "number", "integer", "boolean", "null")
LABEL_MAPS = ("commonLabels", "podLabels", "labels")
# Unstructured object/array values that the chart serialises itself (engine.args entries).
JSON_SAMPLES: list[Any] = [{"kv_connector": "NixlConnector"}, [1, "two"], {}]


# YAML 1.1 words helm reads as booleans or null when a template prints them unquoted.
YAML_WORDS = ["y", "n", "yes", "no", "on", "off", "true", "false", "null"]
SAFE_KEYS: Schema = {"propertyNames": {"pattern": r"^[A-Za-z_][A-Za-z0-9_]{0,10}$",
                                       "not": {"enum": YAML_WORDS}}}
# Constraints generation adds on top of the schema, keyed by schema path (definitions by
# their name, `*` for map entries): only for inputs the schema deliberately lets through
# and Kubernetes rejects later. The chart bugs the fuzzer found are fixed; their
# reproductions live on as regression tests (test_fuzz.py, KNOWN_BUG_CASES).
EXTRA_CONSTRAINTS: dict[tuple[str, ...], Schema] = {
    # env var names are user-chosen map keys the schema does not pattern-check (Kubernetes
    # rejects e.g. a leading digit at apply time)
    ("routing", "epp", "env"): SAFE_KEYS,
}


@dataclass(frozen=True)
class Bounds:
    """Size caps of generated documents."""

    max_string: int = 24
    max_map: int = 3
    max_items: int = 3


def _types(node: Schema) -> list[str]:
    kind = node.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)


def _is_unstructured_object(node: Schema) -> bool:
    """An object with no typed structure: the chart passes it through verbatim."""
    if "object" not in _types(node) or isinstance(node.get("additionalProperties"), dict):
        return False
    if node.get("additionalProperties") is False and any(
        sub is not False for sub in (node.get("properties") or {}).values()
    ):
        return False
    return not any(sub is not False for sub in (node.get("properties") or {}).values())


def _valid_examples(node: Schema) -> list[Any]:
    """The node's examples that validate, without template strings (`tpl` input is tested
    on its own: a random pick of them would only test the example)."""
    validator = jsonschema.Draft7Validator(node)
    return [ex for ex in node.get("examples", [])
            if validator.is_valid(ex) and "{{" not in json.dumps(ex)]


def bounded_schema(schema: Schema, bounds: Bounds = Bounds()) -> Schema:
    """A copy of the chart schema whose documents are small and Kubernetes-shaped."""
    out = copy.deepcopy(schema)
    out["definitions"] = {
        name: _bound(node, (name,), bounds) for name, node in out.get("definitions", {}).items()
    }
    return _bound(out, (), bounds)


def _bound(node: Any, path: tuple[str, ...], bounds: Bounds) -> Any:
    bounded = _bound_node(node, path, bounds)
    patch = EXTRA_CONSTRAINTS.get(path)
    if patch is None or not isinstance(bounded, dict):
        return bounded
    if "not" in patch and "not" in bounded:
        return {"allOf": [bounded, patch]}
    if "propertyNames" in patch and "propertyNames" in bounded:
        return {**bounded, "propertyNames": {"allOf": [bounded["propertyNames"],
                                                       patch["propertyNames"]]}}
    return {**bounded, **patch}


def _bound_node(node: Any, path: tuple[str, ...], bounds: Bounds) -> Any:
    if not isinstance(node, dict) or "$ref" in node:
        return node
    node = {key: value for key, value in node.items() if key not in ("description", "title")}
    types = _types(node)
    if _is_unstructured_object(node) and not node.get("oneOf"):
        examples = _valid_examples(node)
        scalars = [t for t in types if t in SCALAR_TYPES]
        if path[-2:] == ("extraObjects", "*"):
            return {"enum": [*examples, None]}  # a string must be a YAML manifest
        if len(scalars) > 1 or (scalars and scalars != ["null"]):
            # a mixed scalar/object/array value (engine.args entries)
            samples = [s for s in JSON_SAMPLES if jsonschema.Draft7Validator(node).is_valid(s)]
            return {"anyOf": [_bound({"type": scalars}, path, bounds),
                              {"enum": [*examples, *samples]}]}
        return {"enum": [*examples, None]}
    map_examples = [ex for ex in node.pop("examples", []) if isinstance(ex, dict)]
    if "string" in types and "pattern" not in node and "enum" not in node:
        node["maxLength"] = min(node.get("maxLength", bounds.max_string), bounds.max_string)
        node["pattern"] = LABEL_VALUE if path[-2:-1] and path[-2] in LABEL_MAPS else FREE_TEXT
    elif "string" in types and "pattern" in node and "not" not in node:
        # no control characters; a final newline would pass Python's `$` but not helm's
        node["not"] = NO_CONTROL
    if "array" in types:
        node["maxItems"] = min(node.get("maxItems", bounds.max_items), bounds.max_items)
    if isinstance(node.get("properties"), dict):
        node["properties"] = {key: _bound(sub, (*path, key), bounds)
                              for key, sub in node["properties"].items()}
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        if "examples" not in extra and map_examples:
            # entries of a user-named map without examples of their own: the map's entries
            extra = {**extra, "examples": [v for ex in map_examples for v in ex.values()]}
        node["additionalProperties"] = _bound(extra, (*path, "*"), bounds)
        node["maxProperties"] = min(node.get("maxProperties", bounds.max_map), bounds.max_map)
        node.setdefault("propertyNames", {"pattern": NAME_KEY})
    if isinstance(node.get("items"), dict):
        node["items"] = _bound(node["items"], (*path, "[]"), bounds)
    for key in ("allOf", "anyOf", "oneOf"):
        if key in node:
            node[key] = [_bound(sub, path, bounds) if "$ref" in sub else sub for sub in node[key]]
    return node


# --------------------------------------------------------------------------- the oracle


# `fail "..."`, `fail (printf "...")`, and lines collected for one `fail` as
# `append $failures (printf "...")` (the chart joins them with newlines)
FAIL_CALL = re.compile(
    r'(?:fail|append\s+\$failures)\s+(?:\(printf\s+)?"((?:[^"\\]|\\.)*)"')
EXECUTION_ERROR = re.compile(r"execution error at \((?P<where>[^)]*)\): (?P<message>.*)", re.S)
VERB = re.compile(r"%[-+# 0-9.]*[a-zA-Z%]")


@cache
def fail_messages(chart: Path) -> tuple[re.Pattern[str], ...]:
    """Regexes of every message the chart's templates pass to `fail` (printf verbs: any)."""
    patterns = []
    for template in sorted((chart / "templates").rglob("*")):
        if template.suffix not in (".yaml", ".tpl", ".txt"):
            continue
        for literal in FAIL_CALL.findall(template.read_text(encoding="utf-8")):
            text = json.loads(f'"{literal}"')
            parts = VERB.split(text)
            patterns.append(re.compile(".*?".join(re.escape(p) for p in parts), re.S))
    return tuple(patterns)


@dataclass
class Outcome:
    """What one `helm template` run produced."""

    kind: str  # "rendered", "clean-fail" or "broken"
    objects: list[Obj] = field(default_factory=list)
    message: str = ""


def render_outcome(result: subprocess.CompletedProcess[str], chart: Path) -> Outcome:
    """Classify a finished `helm template` run (see the module docstring)."""
    if result.returncode == 0:
        try:
            objects = [doc for doc in yaml.safe_load_all(result.stdout) if doc is not None]
        except yaml.YAMLError as error:
            return Outcome("broken", message=f"rendered output is not YAML: {error}")
        bad = [doc for doc in objects if not isinstance(doc, dict)]
        if bad:
            return Outcome("broken", message=f"rendered document is not an object: {bad[0]!r}")
        return Outcome("rendered", objects)
    stderr = result.stderr.strip()
    match = EXECUTION_ERROR.search(stderr)
    if match:
        message = match["message"].split("\n\n")[0].strip()
        if all(any(pattern.fullmatch(line) for pattern in fail_messages(chart))
               for line in message.splitlines()):
            return Outcome("clean-fail", message=message)
    return Outcome("broken", message=stderr)


# --------------------------------------------------------------------------- object rules

INT32_MAX = 2**31 - 1
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
LABEL_VALUE_RE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


def _label_problems(where: str, labels: Any) -> Iterator[str]:
    for key, value in (labels or {}).items():
        prefix, _, name = str(key).rpartition("/")
        if (prefix and not DNS_SUBDOMAIN.match(prefix)) or not LABEL_NAME.match(name):
            yield f"{where}: invalid label key {key!r}"
        if not isinstance(value, str) or not LABEL_VALUE_RE.match(value):
            yield f"{where}: invalid label value {key}={value!r}"


def _string_map_problems(where: str, what: str, values: Any) -> Iterator[str]:
    for key, value in (values or {}).items():
        if not isinstance(value, str):
            yield f"{where}: {what} {key}={value!r} is not a string"


def _pod_specs(obj: Obj) -> Iterator[tuple[str, Obj]]:
    spec = obj.get("spec") or {}
    if obj.get("kind") == "Pod":
        yield "spec", obj
    elif isinstance(spec.get("template"), dict):
        yield "spec.template", spec["template"]
    lwt = spec.get("leaderWorkerTemplate") or {}
    for key in ("leaderTemplate", "workerTemplate"):
        if isinstance(lwt.get(key), dict):
            yield f"spec.leaderWorkerTemplate.{key}", lwt[key]


def object_rule_problems(obj: Obj) -> Iterator[str]:
    """What the API server checks beyond the OpenAPI schema: names, labels, unique names."""
    kind, metadata = obj.get("kind", "?"), obj.get("metadata") or {}
    name = metadata.get("name", "")
    where = f"{kind}/{name}"
    name_rule = DNS_1035 if kind == "Service" else DNS_SUBDOMAIN
    if not isinstance(name, str) or not name_rule.match(name):
        yield f"{where}: invalid object name for a {kind}"
    yield from _label_problems(where, metadata.get("labels"))
    yield from _string_map_problems(where, "annotation", metadata.get("annotations"))
    replicas = (obj.get("spec") or {}).get("replicas")
    if replicas is not None and not (isinstance(replicas, int) and 0 <= replicas <= INT32_MAX):
        yield f"{where}: spec.replicas {replicas!r} is not an int32 >= 0"
    for path, template in _pod_specs(obj):
        template_labels = (template.get("metadata") or {}).get("labels")
        yield from _label_problems(f"{where} {path}", template_labels)
        pod = template.get("spec") or {}
        yield from _string_map_problems(f"{where} {path}", "annotation",
                                        (template.get("metadata") or {}).get("annotations"))
        yield from _string_map_problems(f"{where} {path}", "nodeSelector",
                                        pod.get("nodeSelector"))
        containers = [*pod.get("initContainers", []), *pod.get("containers", [])]
        names = [c.get("name") for c in containers]
        if len(names) != len(set(names)):
            yield f"{where} {path}: duplicate container names {names}"
        volumes = [v.get("name") for v in pod.get("volumes", [])]
        if len(volumes) != len(set(volumes)):
            yield f"{where} {path}: duplicate volume names {volumes}"
        for container in containers:
            for mount in container.get("volumeMounts", []):
                if mount.get("name") not in volumes:
                    yield f"{where} {path}: mount of unknown volume {mount.get('name')!r}"
            ports = [p.get("name") for p in container.get("ports", []) if p.get("name")]
            if len(ports) != len(set(ports)) or any(len(str(p)) > 15 for p in ports):
                yield f"{where} {path}: bad port names {ports}"
