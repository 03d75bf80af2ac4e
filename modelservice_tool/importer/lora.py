"""LoRA flags of the old engines -> the shared `lora` block (`adapters`, `maxLoras`,
`maxLoraRank`).

Each `--lora-modules name=path` becomes `lora.adapters.<name>` when its path says where the
adapter comes from: a Hugging Face repo id (which vLLM downloaded itself) -> hf://, a path
inside a mounted PersistentVolumeClaim (an extra volume, or the pvc:// model claim) ->
pvc://claim/dir, inside an image volume -> oci://. An adapter an init container or script
put into an emptyDir, or one baked into the image, has no such source: then every LoRA flag
stays a raw engine argument, as before, and the report says why."""

from __future__ import annotations

import posixpath
import re
from typing import Any

from .artifacts import Artifacts
from .context import Context
from .lora_args import SIZES, LoraArgs, LoraModule
from .roles import RoleResult
from .templates import escape

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+$")


def _mounts(ctx: Context, result: RoleResult, artifacts: Artifacts
            ) -> list[tuple[str, str, dict[str, Any]]]:
    """(mount path, sub path, volume source) of the engine container, longest path first."""
    role = result.facts.role
    volumes = {v.get("name"): v for v in ctx.get((role, "volumes")) or [] if isinstance(v, dict)}
    container = ctx.get(result.engine_path) or {}
    out = []
    for mount in container.get("volumeMounts") or []:
        if isinstance(mount, dict) and mount.get("name") in volumes:
            out.append((str(mount.get("mountPath", "")).rstrip("/"), str(mount.get("subPath", "")),
                        volumes[mount["name"]]))
    uri = str(artifacts.model.get("uri", ""))
    scheme, _, rest = uri.partition("://")
    if container.get("mountModelVolume") and scheme in ("pvc", "pvc+hf"):
        out.append((artifacts.mount_path, "", {"persistentVolumeClaim": {
            "claimName": rest.split("/")[0]}}))
    elif container.get("mountModelVolume") and scheme == "oci":
        out.append((artifacts.mount_path, "", {"image": {"reference": rest}}))
    return sorted(out, key=lambda item: len(item[0]), reverse=True)


def _source(ctx: Context, result: RoleResult, artifacts: Artifacts, path: str
            ) -> dict[str, Any] | str:
    """`{uri: ...}` (and imagePath) for an adapter path, or why there is none. The volume
    the path was in stays mounted as before (other files may live there)."""
    if "$" in path or "{{" in path:
        return f"{path!r} is computed at run time"
    if not path.startswith("/"):
        if REPO_ID.match(path):
            return {"uri": f"hf://{path}"}
        return f"{path!r} is neither an absolute path nor a Hugging Face repo id"
    for mount_path, sub_path, volume in _mounts(ctx, result, artifacts):
        if path != mount_path and not path.startswith(mount_path + "/"):
            continue
        inside = posixpath.join(sub_path, path[len(mount_path):].strip("/")).strip("/")
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        image = (volume.get("image") or {}).get("reference")
        if claim:
            return {"uri": f"pvc://{claim}/{inside}".rstrip("/")}
        if image:
            return {"uri": f"oci://{image}", **({"imagePath": inside} if inside else {})}
        kind = next(iter(sorted(set(volume) - {"name"})), "unknown")
        return (f"{path!r} is on volume {volume.get('name', '?')!r} ({kind}), filled at run "
                "time: the chart cannot fetch it; publish the adapter on Hugging Face, a PVC "
                "or an OCI image")
    return (f"{path!r} is in no mounted volume (inside the image, or written by a script): "
            "the chart cannot fetch it")


def _collect(ctx: Context, roles: list[RoleResult], artifacts: Artifacts
             ) -> tuple[dict[str, Any], dict[str, int], list[tuple[Any, str]]]:
    """(adapters, sizes, problems) over every role's LoRA flags."""
    adapters: dict[str, Any] = {}
    sizes: dict[str, int] = {}
    problems: list[tuple[Any, str]] = []
    for result in roles:
        lora = result.lora
        if lora is None:
            continue
        problems += [((*lora.args_path, i), why) for i, why in lora.unreadable]
        for module in lora.modules:
            where = (*lora.args_path, module.index)
            source = _source(ctx, result, artifacts, module.path)
            if not NAME.match(module.name):
                problems.append((where, f"adapter name {module.name!r} is not letters, "
                                 "digits, '.', '_' and '-'"))
            elif isinstance(source, str):
                problems.append((where, source))
            elif adapters.get(module.name, source) != source:
                problems.append((where, f"adapter {module.name!r} comes from different places "
                                 "in decode and prefill; `lora` is shared"))
            else:
                adapters[module.name] = source
        for flag, (index, value) in lora.sizes.items():
            key = SIZES[flag]
            if sizes.get(key, value) != value:
                problems.append(((*lora.args_path, index), f"--{flag} differs between the "
                                 "roles; `lora` is shared"))
            sizes[key] = value
    return adapters, sizes, problems


def _keep_raw(ctx: Context, roles: list[RoleResult], problems: list[tuple[Any, str]]) -> None:
    """Every LoRA token back into its engine's extraArgs, in order; reported with why."""
    for result in roles:
        lora = result.lora
        if lora is None:
            continue
        engine = result.values["engine"]
        tokens = [escape(lora.tokens[i]) for i in sorted(lora.indexes)]
        engine["extraArgs"] = [*engine.get("extraArgs", []), *tokens]
        target = (result.facts.role, "engine", "extraArgs")
        for index in sorted(lora.indexes):
            where = (*lora.args_path, index)
            if index in lora.flag_tokens or index == lora.enable or any(
                    index == i for i, _ in lora.sizes.values()):
                ctx.report.mapped(where, target, "kept as a raw argument: the LoRA flags "
                                  "cannot become lora.adapters (see needs attention)")
            else:
                ctx.report.cover(where)
        for where, reason in problems:
            if where is not None and where[:len(lora.args_path)] == lora.args_path:
                ctx.report.unmapped(where, f"{reason}: all LoRA flags stay raw engine "
                                    "arguments (the chart does not mount or download them)")


def _shared_note(roles: list[RoleResult]) -> str:
    """What the shared block means for roles that had no LoRA flags."""
    notes = []
    for result in roles:
        if result.lora:
            continue
        custom = result.values.get("engine", {}).get("mode") == "custom"
        notes.append(f"{result.facts.role} " + (
            "gets the adapter volumes but no flags (its command is custom)" if custom
            else "now loads them too (lora is shared)"))
    return "; " + "; ".join(notes) if notes else ""


def _report(ctx: Context, roles: list[RoleResult], adapters: dict[str, Any]) -> None:
    note = _shared_note(roles)
    for result in roles:
        lora: LoraArgs | None = result.lora
        if lora is None:
            continue
        for index in lora.flag_tokens:
            ctx.report.cover((*lora.args_path, index))
        for module in lora.modules:
            _report_module(ctx, lora, module, adapters[module.name], note)
        if lora.enable is not None:
            ctx.report.skipped((*lora.args_path, lora.enable), "the chart passes "
                               "--enable-lora with lora.adapters")
        for flag, (index, _) in lora.sizes.items():
            ctx.report.mapped((*lora.args_path, index), ("lora", SIZES[flag]))
            ctx.report.cover((*lora.args_path, index + 1))


def _report_module(ctx: Context, lora: LoraArgs, module: LoraModule, adapter: dict[str, Any],
                   note: str) -> None:
    where = (*lora.args_path, module.index)
    scheme = adapter["uri"].split("://")[0]
    how = {"hf": "downloaded by the lora-download init container (vLLM fetched it itself "
                 "before)",
           "pvc": f"the claim mounted read-only at /lora-pvc/{module.name} (was "
                  f"{module.path}; that mount stays, drop it if only the adapter used it)",
           "oci": f"the image mounted read-only at /lora-oci/{module.name} (was "
                  f"{module.path})"}[scheme]
    base = ""
    if module.base_model:
        base = f"; base_model_name {module.base_model!r} dropped (the chart registers the " \
               "adapter on the served model)"
    ctx.report.mapped(where, ("lora", "adapters", module.name),
                      f"{adapter['uri']}: {how}{base}{note}")


def convert_lora(ctx: Context, roles: list[RoleResult], artifacts: Artifacts
                 ) -> dict[str, Any] | None:
    """The shared `lora` block from the roles' LoRA flags (None: none, or kept raw)."""
    if not any(result.lora for result in roles):
        return None
    adapters, sizes, problems = _collect(ctx, roles, artifacts)
    if problems or not adapters or not ctx.support.has("lora"):
        if not ctx.support.has("lora"):
            problems.append((None, "this chart version has no lora values"))
        _keep_raw(ctx, roles, problems)
        return None
    _report(ctx, roles, adapters)
    return {"adapters": adapters, **sizes}
