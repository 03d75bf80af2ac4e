"""The Kubernetes Job that runs guidellm against an endpoint and prints its result to the log."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from .profiles import RESULT_PATH, LoadProfile, scenario
from .results import BEGIN_MARKER, END_MARKER, TRIMMED_METRICS

# The guidellm release the result parser and the committed fixture were checked with.
GUIDELLM_VERSION = "0.8.1"
DEFAULT_IMAGE = f"ghcr.io/vllm-project/guidellm:v{GUIDELLM_VERSION}"
# Image pull, tokenizer download and start-up on top of the planned load phase.
STARTUP_ALLOWANCE_S = 900
CONTAINER = "guidellm"

# Runs in the Job after guidellm: the same trimming as results.trim_result, then the
# document gzip+base64 encoded in 76-character lines between two marker lines.
_ENCODER = f"""
import base64, gzip, json
doc = json.load(open({RESULT_PATH!r}))
for b in doc.get("benchmarks", []):
    b.pop("requests", None)
    for key in {TRIMMED_METRICS!r}:
        b.get("metrics", {{}}).pop(key, None)
data = base64.b64encode(gzip.compress(json.dumps(doc).encode())).decode()
print({BEGIN_MARKER!r})
for i in range(0, len(data), 76):
    print(data[i:i + 76])
print({END_MARKER!r}, flush=True)
"""

SCRIPT = f"""set -eu
GUIDELLM=$(command -v guidellm || echo /opt/app-root/bin/guidellm)
PYTHON=$(command -v python3 || echo /opt/app-root/bin/python3)
printf '%s' "$MST_SCENARIO" > /tmp/scenario.json
"$GUIDELLM" run --scenario /tmp/scenario.json --disable-progress
"$PYTHON" - <<'EOF'{_ENCODER}EOF
"""


@dataclass(frozen=True)
class JobSpec:
    """Everything a bench Job needs besides the load profile."""

    name: str
    namespace: str
    release: str
    target: str
    model: str
    tokenizer: str
    image: str = DEFAULT_IMAGE
    hf_token: dict[str, Any] | None = None
    labels: dict[str, str] = field(default_factory=dict)


def job_name(release: str, suffix: str = "bench") -> str:
    """`<release>-bench`, cut so the name (and the pods' names) fit 63 characters."""
    return f"{release[:63 - len(suffix) - 8].rstrip('-')}-{suffix}"


def labels(spec: JobSpec) -> dict[str, str]:
    """Labels of the Job and its pod (`app.kubernetes.io/managed-by: mst`)."""
    return {
        "app.kubernetes.io/name": "mst-bench",
        "app.kubernetes.io/instance": spec.release,
        "app.kubernetes.io/component": "bench",
        "app.kubernetes.io/managed-by": "mst",
        **spec.labels,
    }


def build_job(spec: JobSpec, profile: LoadProfile) -> dict[str, Any]:
    """The batch/v1 Job: one pod, no retries, a deadline of the planned load plus start-up."""
    config = scenario(profile, target=spec.target, model=spec.model, tokenizer=spec.tokenizer)
    env: list[dict[str, Any]] = [
        {"name": "MST_SCENARIO", "value": json.dumps(config, indent=1)},
        {"name": "HOME", "value": "/tmp"},
        {"name": "HF_HOME", "value": "/tmp/hf"},
    ]
    if spec.hf_token:
        env.append(spec.hf_token)
    pod_labels = labels(spec)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": spec.name,
            "namespace": spec.namespace,
            "labels": pod_labels,
            "annotations": {"mst.llm-d.ai/target": spec.target,
                            "mst.llm-d.ai/profile": profile.name},
        },
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": profile.planned_seconds() + STARTUP_ALLOWANCE_S,
            "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 1001,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": CONTAINER,
                        "image": spec.image,
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["/bin/sh", "-c", SCRIPT],
                        "env": env,
                        "resources": {"requests": {"cpu": "2", "memory": "2Gi"},
                                      "limits": {"memory": "4Gi"}},
                        "securityContext": {"allowPrivilegeEscalation": False,
                                            "capabilities": {"drop": ["ALL"]}},
                        "volumeMounts": [{"name": "results", "mountPath": "/results"},
                                         {"name": "tmp", "mountPath": "/tmp"}],
                    }],
                    "volumes": [{"name": "results", "emptyDir": {}},
                                {"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }


class _Dumper(yaml.SafeDumper):
    """Block scalars for multi-line strings, no anchors: readable `--dry-run` output."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(obj: dict[str, Any]) -> str:
    """An object as YAML, scripts and the scenario as literal blocks."""
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=False, width=100)
