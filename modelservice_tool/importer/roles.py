"""`decode` / `prefill` of the old chart -> this chart's role blocks: replicas,
parallelism, the engine container, accelerators, volumes, containers and pod settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..sources import KeyPath
from . import containers as ctrs
from . import podspec
from .accelerators import role_accelerator, type_env
from .artifacts import Artifacts
from .autoscaling import convert_autoscaling
from .context import Context, RoleFacts
from .dra import convert_claims, convert_dra
from .engine import convert_engine
from .env import convert_env, used_old_chart_vars
from .layout import Layout, convert_group_key, convert_layout
from .lora_args import LoraArgs
from .resources import convert_resources
from .templates import resolve
from .volumes import Volumes, convert_mounts, convert_volumes

OLD_REPLICAS = {"decode": 1, "prefill": 0}
SIM_CONTAINER = {"name": "vllm", "image": "ghcr.io/llm-d/llm-d-inference-sim:v0.8.2",
                 "modelCommand": "imageDefault", "mountModelVolume": True}
HANDLED = ("create", "replicas", "parallelism", "containers", "volumes", "initContainers",
           "acceleratorTypes", "accelerator", "autoscaling", "monitoring")
NO_VALUES_KEY = ("hostIPC", "hostPID", "enableServiceLinks")
LWS_ONLY = ("subGroupPolicy", "subGroupExclusiveToplogy", "subGroupExclusiveTopology")


@dataclass(frozen=True)
class Network:
    """The old chart's ports: the Service port, and vLLM's port behind the sidecar."""

    service_port: int
    proxy: bool
    target_port: int


@dataclass
class RoleResult:
    """One converted role and what routing needs from it."""

    values: dict[str, Any]
    facts: RoleFacts
    old_type: str
    layout: Layout
    engine_path: tuple[Any, ...]
    kv_config: dict[str, Any] | None = None
    side_channel: int | None = None
    revision: str | None = None
    lora: LoraArgs | None = None
    dra_type: str | None = None  # old accelerator type claimed through DRA
    kv_events: dict[str, Any] | None = None  # --kv-events-config of a vLLM engine
    flag_sources: dict[str, KeyPath] = field(default_factory=dict)  # engine flag -> input


def enabled(ctx: Context, role: str) -> bool:
    """Whether the old chart rendered pods for the role (create, and replicas or an HPA)."""
    if ctx.get((role, "create"), True) is False:
        return False
    replicas = int(ctx.get((role, "replicas"), OLD_REPLICAS[role]))
    return replicas > 0 or bool(ctx.get((role, "autoscaling", "enabled")))


def old_parallelism(par: dict[str, Any]) -> tuple[int, int, int, int]:
    """tensor, data, dataLocal, workers as the old chart derived them."""
    tensor = int(par.get("tensor") or 1)
    data, local, workers = (int(par.get(k) or 0) for k in ("data", "dataLocal", "workers"))
    dp = data or (local * workers if local and workers else local) or 1
    dpl = local or (data // workers if data and workers else data) or 1
    w = workers or (data // local if data and local else 1)
    return tensor, dp, dpl, w


def _engine_env(ctx: Context, path: tuple[Any, ...], container: dict[str, Any],
                facts: RoleFacts, old_type: str, text: str) -> tuple[dict[str, Any], int | None]:
    env, side_channel = convert_env(ctx, (*path, "env"), container.get("env") or [], facts)
    env.update(type_env(ctx, old_type))  # the old chart listed these last: they won
    old_values = {"TP_SIZE": facts.tensor, "DP_SIZE": facts.data,
                  "DP_SIZE_LOCAL": facts.data_local}
    used_text = " ".join([text, *(str(v) for v in env.values())])
    for name in used_old_chart_vars(used_text):
        if name not in env:
            env[name] = str(old_values[name])
            ctx.report.defaulted((facts.role, "engine", "env", name), (
                f"{old_values[name]}: the old chart set it on every container and the "
                "command uses it"))
    return env, side_channel


def _mounts_and_volumes(ctx: Context, role: str, path: tuple[Any, ...],
                        container: dict[str, Any], facts: RoleFacts, pod: dict[str, Any]
                        ) -> None:
    volumes = Volumes()
    shm = convert_mounts(ctx, (*path, "volumeMounts"), container.get("volumeMounts") or [],
                         role, volumes)
    convert_volumes(ctx, (role, "volumes"), ctx.get((role, "volumes")) or [], role, shm,
                    volumes)
    for key, value in (("volumes", volumes.volumes), ("volumeMounts", volumes.mounts),
                       ("shm", volumes.shm)):
        if value:
            pod[key] = value
    if volumes.shm is None:
        size = ctx.support.default("pod", "shm", "sizeLimit")
        ctx.report.defaulted((role, "shm"), f"a memory-backed {size} /dev/shm is mounted for "
                             "NCCL (the old chart mounted none); set shm.enabled: false to "
                             "drop it")
    clash = [n for n, m in volumes.mounts.items() if m.get("mountPath") == facts.mount_path]
    mount_model = container.get("mountModelVolume")
    if mount_model:
        ctx.report.skipped((*path, "mountModelVolume"), "the chart always mounts the model "
                           "volume at model.mountPath")
    else:
        ctx.report.defaulted((role, "volumeMounts"), "the chart mounts the model volume at "
                             f"{facts.mount_path} even though mountModelVolume was off",
                             (*path, "mountModelVolume") if "mountModelVolume" in container
                             else None)
    for name in clash:
        ctx.report.unmapped((*path, "volumeMounts"), f"volume {name!r} is mounted at "
                            f"{facts.mount_path}, where the chart mounts the model: set "
                            "model.mountPath elsewhere")


def _role_keys(ctx: Context, role: str, pod: dict[str, Any], layout: Layout) -> None:
    for key, value in (ctx.get((role,)) or {}).items():
        path = (role, key)
        if key in HANDLED:
            continue
        if key == "extraConfig":
            podspec.convert_extra_config(ctx, path, value or {}, role, pod)
        elif key in NO_VALUES_KEY:
            (ctx.report.unmapped if value else ctx.report.skipped)(path, (
                f"pod field {key} has no values key: add it with a kustomize patch"
                if value else "off"))
        elif key in LWS_ONLY:
            convert_group_key(ctx, path, value, layout)
        elif key == "resourceClaims":
            claims = convert_claims(ctx, path, value, role)
            if claims:
                pod["resourceClaims"] = claims
        elif value is not None:
            podspec.convert_pod_field(ctx, path, key, value, role, pod)


def convert_role(ctx: Context, role: str, artifacts: Artifacts, network: Network,
                 pd: bool) -> RoleResult:
    """One enabled role as this chart's role block (engine and pod keys included)."""
    containers = ctx.get((role, "containers")) or []
    if not containers:
        containers = [SIM_CONTAINER]
        ctx.report.defaulted((role, "engine", "image"), "the old chart's default container: "
                             f"the llm-d inference simulator ({SIM_CONTAINER['image']})")
    index = ctrs.engine_index(containers)
    path = (role, "containers", index)
    container = containers[index]
    image, _ = resolve(str(container.get("image", "")), ctx.values)
    accelerator = role_accelerator(ctx, role, image)
    tensor, data, local, workers = old_parallelism(ctx.get((role, "parallelism")) or {})
    facts = RoleFacts(
        role=role, model_arg=artifacts.model_arg, served_name=artifacts.served_name,
        vllm_port=network.target_port if role == "decode" and network.proxy
        else network.service_port,
        service_port=network.service_port, pd=pd,
        kv_managed=pd and ctx.support.has("routing", "kvTransfer"),
        tensor=tensor, data=data, data_local=local, workers=workers,
        resource_name=accelerator.resource_name, mount_path=artifacts.mount_path,
        auth_secret=artifacts.auth_secret, scheme=artifacts.scheme,
        hub_cache=artifacts.hub_cache)
    engine = convert_engine(ctx, path, container, facts)
    env, side_channel = _engine_env(ctx, path, container, facts, accelerator.old_type,
                                    engine.text)
    if env:
        engine.engine["env"] = env
    replicas = int(ctx.get((role, "replicas"), OLD_REPLICAS[role]))
    values: dict[str, Any] = {"replicas": replicas}
    layout = convert_layout(ctx, facts, path, engine, container)
    par = layout.parallelism
    if par:
        values["parallelism"] = par
    values["engine"] = engine.engine
    pod: dict[str, Any] = {}
    labels = {k: ctx.get((role, "acceleratorTypes", k)) for k in ("labelKey", "labelValues")}
    pod["accelerator"] = dict(accelerator.values)
    if labels["labelKey"] and labels["labelValues"]:
        pod["accelerator"].update(labels)
        ctx.report.mapped((role, "acceleratorTypes"), (role, "accelerator"),
                          "required node affinity, as before")
    elif ctx.present((role, "acceleratorTypes")):
        ctx.report.skipped((role, "acceleratorTypes"), "no labelKey with labelValues: no "
                           "node affinity (the old chart rendered none either, or an invalid "
                           "one)")
    dra = convert_dra(ctx, role, accelerator.old_type, pod["accelerator"],
                      (layout.per_pod, facts.accelerators))
    if dra:
        pod["accelerator"]["dra"] = dra
    resources = convert_resources(ctx, (*path, "resources"), container.get("resources") or {},
                                  facts, layout.per_pod, layout.rule, dra is not None)
    if resources:
        pod["resources"] = resources
    _mounts_and_volumes(ctx, role, path, container, facts, pod)
    podspec.convert_container_extras(ctx, path, container, facts, pod, engine.engine)
    podspec.convert_ports(ctx, (*path, "ports"), container.get("ports") or [], facts,
                          side_channel or (ctx.support.default(
                              "routing", "kvTransfer", "sideChannelPort")
                              if facts.kv_managed else None))
    if container.get("name", "vllm") != "vllm":
        ctx.report.skipped((*path, "name"), "the engine container is named `vllm`")
    elif "name" in container:
        ctx.report.skipped((*path, "name"), "the engine container is named `vllm`, as before")
    sidecars = ctrs.convert_sidecars(ctx, (role, "containers"), containers, index, role,
                                     artifacts.mount_path)
    if sidecars:
        pod["sidecars"] = sidecars
    inits = ctrs.convert_init_containers(ctx, (role, "initContainers"),
                                         ctx.get((role, "initContainers")) or [], role,
                                         artifacts.mount_path)
    if inits:
        pod["initContainers"] = inits
    _role_keys(ctx, role, pod, layout)
    if ctx.present((role, "create")):
        ctx.report.mapped((role, "create"), (role, "enabled"))
    autoscaling = convert_autoscaling(ctx, role, replicas, layout.multi_node is not None)
    if ctx.present((role, "replicas")):
        ctx.report.mapped((role, "replicas"), (role, "replicas"), (
            "the HPA owns the count while autoscaling is on" if autoscaling else ""))
    values.update(pod)
    if autoscaling:
        values["autoscaling"] = autoscaling
    if layout.multi_node:
        values["multiNode"] = layout.multi_node
    return RoleResult(values, facts, accelerator.old_type, layout, path, engine.kv_config,
                      side_channel, engine.revision, engine.lora,
                      accelerator.old_type if dra else None, engine.kv_events, engine.sources)
