"""llm-d-benchmark scenario keys and the ModelService values keys they correspond to.

llm-d-benchmark (v0.8.0, config/templates/values/defaults.yaml) describes a stack with
dotted scenario keys such as `decode.parallelism.tensor`; experiment files vary them in
`setup.treatments`. `translate` turns such keys into `--set` items of this chart, and names
the keys that have no counterpart. docs/llm-d-benchmark.md shows the same table
(a test keeps the two equal).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import UserError

ROLES = ("decode", "prefill")


@dataclass(frozen=True)
class Mapping:
    """One scenario key: the values keys it sets (none: no counterpart, see `note`)."""

    scenario: str
    values: tuple[str, ...]
    note: str = ""
    convert: Callable[[Any], Any] | None = None

    def apply(self, value: Any) -> dict[str, Any]:
        """values key -> value for one scenario value."""
        converted = self.convert(value) if self.convert else value
        return dict.fromkeys(self.values, converted)


def _hf_uri(value: Any) -> str:
    text = str(value)
    return text if "://" in text else f"hf://{text}"


def _split_flags(value: Any) -> list[str]:
    flags = value if isinstance(value, list) else [value]
    return [part for flag in flags for part in str(flag).split(" ", 1) if part]


def _env_map(value: Any) -> dict[str, Any]:
    entries = value if isinstance(value, list) else []
    return {entry["name"]: {k: v for k, v in entry.items() if k != "name"}
            for entry in entries if isinstance(entry, dict) and "name" in entry}


def _role_mappings(role: str) -> list[Mapping]:
    return [
        Mapping(f"{role}.enabled", (f"{role}.enabled",)),
        Mapping(f"{role}.replicas", (f"{role}.replicas",)),
        Mapping(f"{role}.parallelism.tensor", (f"{role}.parallelism.tensor",)),
        Mapping(f"{role}.parallelism.data", (f"{role}.parallelism.data",)),
        Mapping(f"{role}.parallelism.dataLocal", (f"{role}.parallelism.dataLocal",)),
        Mapping(f"{role}.parallelism.workers", (),
                f"pods per replica: derived from {role}.multiNode.acceleratorsPerNode when "
                f"{role}.multiNode.enabled"),
        Mapping(f"{role}.autoscaling.enabled", (f"{role}.autoscaling.enabled",)),
        Mapping(f"{role}.autoscaling.minReplicas", (f"{role}.autoscaling.minReplicas",)),
        Mapping(f"{role}.autoscaling.maxReplicas", (f"{role}.autoscaling.maxReplicas",)),
        Mapping(f"{role}.acceleratorType.labelKey", (f"{role}.accelerator.labelKey",)),
        Mapping(f"{role}.acceleratorType.labelValue", (f"{role}.accelerator.labelValues",),
                "a one-item list", lambda value: [value]),
        Mapping(f"{role}.acceleratorType.labelValues", (f"{role}.accelerator.labelValues",)),
        Mapping(f"{role}.vllm.additionalFlags", (f"{role}.engine.extraArgs",),
                "`--flag value` items split in two", _split_flags),
        Mapping(f"{role}.vllm.customCommand", (),
                f"set {role}.engine.mode: custom and {role}.engine.command"),
        Mapping(f"{role}.extraEnvVars", (f"{role}.engine.env",),
                "the list becomes a map keyed by variable name", _env_map),
    ]


MAPPINGS: tuple[Mapping, ...] = (
    Mapping("model.name", ("model.uri",), "as `hf://<name>`", _hf_uri),
    Mapping("model.huggingfaceId", ("model.uri",), "as `hf://<id>`", _hf_uri),
    Mapping("model.maxModelLen", ("engine.args.max-model-len",)),
    Mapping("model.blockSize", ("engine.args.block-size",)),
    Mapping("model.gpuMemoryUtilization", ("engine.args.gpu-memory-utilization",)),
    Mapping("modelArtifacts.mountPath", ("model.mountPath",)),
    Mapping("accelerator.type", ("pod.accelerator.type",), "`google` becomes `google-tpu`",
            lambda value: {"google": "google-tpu"}.get(value, value)),
    Mapping("accelerator.resource", ("pod.accelerator.resourceName",)),
    Mapping("vllmCommon.inferencePort", ("engine.port",)),
    Mapping("vllmCommon.kvTransfer.connector", ("routing.kvTransfer.connector",)),
    Mapping("vllmCommon.kvTransfer.role", ("routing.kvTransfer.role",)),
    *_role_mappings("decode"),
    *_role_mappings("prefill"),
    Mapping("multinode.enabled", ("decode.multiNode.enabled", "prefill.multiNode.enabled")),
    Mapping("routing.connector", ("routing.proxy.connector",)),
    Mapping("routing.secure", ("routing.proxy.secureProxy",)),
    Mapping("routing.requestTimeout", ("routing.httpRoute.timeouts.request",)),
    Mapping("routing.backendRequestTimeout", ("routing.httpRoute.timeouts.backendRequest",)),
    Mapping("router.epp.replicas", ("routing.epp.replicas",)),
    Mapping("router.epp.verbosity", ("routing.epp.logVerbosity",)),
    Mapping("router.epp.pluginsCustomConfig", (),
            "write the complete EndpointPickerConfig in routing.epp.config"),
    Mapping("gateway.name", ("routing.httpRoute.gateway.name",)),
    Mapping("gateway.className", ("llmdBenchmark.standupParameters.gatewayClass",),
            "the Gateway itself is not part of the release"),
    Mapping("deploy_method", (), "ModelService deploys llm-d's modelservice layout only"),
    Mapping("standalone.enabled", (), "no standalone vLLM method: one decode role, no prefill"),
    Mapping("modelservice.enabled", (), "always on"),
)
BY_KEY = {mapping.scenario: mapping for mapping in MAPPINGS}


def translate(items: dict[str, Any], where: str) -> dict[str, Any]:
    """Values keys and values for scenario `items`; a UserError naming every key without
    a counterpart (and why) or unknown to this table."""
    result: dict[str, Any] = {}
    problems = []
    for key, value in items.items():
        mapping = BY_KEY.get(key)
        if mapping is None:
            problems.append(f"{where}: {key} has no ModelService values key in the mapping "
                            "(docs/llm-d-benchmark.md); use a values key of this chart "
                            "with `mst sweep -P` instead")
        elif not mapping.values:
            problems.append(f"{where}: {key} has no ModelService values key: {mapping.note}")
        else:
            result.update(mapping.apply(value))
    if problems:
        raise UserError("\n".join(problems))
    return result


def markdown_table() -> list[str]:
    """The mapping as markdown table rows (docs/llm-d-benchmark.md)."""
    rows = ["| llm-d-benchmark scenario key | ModelService values key | note |",
            "|---|---|---|"]
    for mapping in MAPPINGS:
        values = ", ".join(f"`{key}`" for key in mapping.values) or "(none)"
        rows.append(f"| `{mapping.scenario}` | {values} | {mapping.note} |")
    return rows
