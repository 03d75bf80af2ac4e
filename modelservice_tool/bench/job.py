"""The Kubernetes Job that runs a load generator (a harness) against an endpoint and prints
its result to the log. The pod is the same for every harness; what runs in it is theirs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from .harnesses import DEFAULT, HARNESSES, Harness, Target
from .profiles import LoadProfile

# Image pull, tokenizer download and start-up on top of the planned load phase.
STARTUP_ALLOWANCE_S = 900
DEFAULT_IMAGE = HARNESSES[DEFAULT].image


@dataclass(frozen=True)
class JobSpec:
    """Everything a bench Job needs besides the load profile."""

    name: str
    namespace: str
    release: str
    target: str
    model: str
    tokenizer: str
    image: str | None = None  # default: the harness's pinned image
    harness: Harness = HARNESSES[DEFAULT]
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
    harness = spec.harness
    target = Target(spec.target, spec.model, spec.tokenizer)
    env: list[dict[str, Any]] = [
        *harness.env(profile, target),
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
                            "mst.llm-d.ai/profile": profile.name,
                            "mst.llm-d.ai/harness": harness.name},
        },
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": harness.planned_seconds(profile) + STARTUP_ALLOWANCE_S,
            "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 1001,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": harness.container,
                        "image": spec.image or harness.image,
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["/bin/sh", "-c", harness.script(profile, target)],
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


def harness_of(job: dict[str, Any]) -> Harness:
    """The harness a Job built by `build_job` runs."""
    name = job["metadata"].get("annotations", {}).get("mst.llm-d.ai/harness", DEFAULT)
    return HARNESSES[name]


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
