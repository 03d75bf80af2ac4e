"""`modelArtifacts` -> `model`: the URI (templates resolved), served name, size, token
Secret, mount path, read-only flag and pod labels; plus what the old chart passed to vLLM
as the model argument, which each role must keep passing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .context import Context

BASE = ("modelArtifacts",)
OLD_MOUNT_PATH = "/model-cache"
# Labels this chart puts on model pods itself (a second copy would be a duplicate key).
CHART_LABELS = ("llm-d.ai/role", "llm-d.ai/model", "llm-d.ai/inferenceServing",
                "app.kubernetes.io/name", "app.kubernetes.io/instance",
                "app.kubernetes.io/component")
SCHEMES = ("hf", "pvc", "pvc+hf", "oci")


@dataclass
class Artifacts:
    """The converted `model` block and the old chart's derived values."""

    model: dict[str, Any] = field(default_factory=dict)
    pod_labels: dict[str, str] = field(default_factory=dict)
    scheme: str = "hf"
    model_arg: str = ""
    served_name: str = ""
    mount_path: str = OLD_MOUNT_PATH
    auth_secret: str = ""
    hub_cache: str = ""


def _strip_quotes(text: str) -> str:
    """`hf://"org/model"` (quotes around a template in the old examples) -> hf://org/model."""
    scheme, sep, rest = text.partition("://")
    return f"{scheme}{sep}{rest.strip().strip(chr(34)).strip(chr(39))}" if sep else text


def _old_model_arg(scheme: str, rest: str, mount_path: str) -> tuple[str, str]:
    """(model argument, HF hub cache dir) the old chart gave vLLM for a URI."""
    parts = rest.strip("/").split("/")
    if scheme == "pvc":
        return f"{mount_path}/{'/'.join(parts[1:])}".rstrip("/"), ""
    if scheme == "pvc+hf":
        return "/".join(parts[-2:]), f"{OLD_MOUNT_PATH}/{'/'.join(parts[1:-2])}".rstrip("/")
    if scheme == "oci":
        return mount_path, ""
    return rest.strip("/"), ""


def _uri(ctx: Context, out: Artifacts) -> None:
    path = (*BASE, "uri")
    raw = str(ctx.get(path, "hf://{{ .Values.modelArtifacts.name }}"))
    uri = _strip_quotes(ctx.text(path, raw))
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme not in SCHEMES or not rest.strip("/"):
        ctx.report.unmapped(path, f"model URI {uri!r} is not hf://, pvc://, pvc+hf:// or "
                            "oci://: set model.uri by hand", "model.uri")
        return
    out.scheme = scheme
    out.model["uri"] = f"{scheme}://{rest.strip('/')}"
    out.model_arg, out.hub_cache = _old_model_arg(scheme, rest, out.mount_path)
    detail = "" if raw == out.model["uri"] else f"{raw!r} resolved to {out.model['uri']!r}"
    if ctx.present(path):
        ctx.report.mapped(path, "model.uri", detail)
    else:
        ctx.report.defaulted("model.uri", f"{out.model['uri']} (the old chart's default, "
                             "hf://<modelArtifacts.name>)")
    if scheme == "oci":
        ctx.report.defaulted("model.imagePath", "empty: vLLM loads the model from the image "
                             "root mounted at model.mountPath; set the directory inside the "
                             "image if the files are below it")


def _name(ctx: Context, out: Artifacts) -> None:
    name = ctx.get((*BASE, "name"))
    legacy = ctx.get(("routing", "modelName"))
    if name is not None:
        out.served_name = str(name)
        out.model["name"] = out.served_name
        ctx.report.mapped((*BASE, "name"), "model.name")
    if legacy is not None:
        if name is None:
            out.served_name = str(legacy)
            out.model["name"] = out.served_name
            ctx.report.mapped(("routing", "modelName"), "model.name",
                              "the pre-v0.3 served name")
        else:
            ctx.report.skipped(("routing", "modelName"), "deprecated; modelArtifacts.name "
                               "is the served name")
    if not out.served_name:
        out.served_name = "random/model"
        out.model["name"] = out.served_name
        ctx.report.defaulted("model.name", "random/model (the old chart's default served "
                             "name): set the name clients send")


def _labels(ctx: Context, out: Artifacts) -> None:
    for key, value in (ctx.get((*BASE, "labels")) or {}).items():
        path = (*BASE, "labels", key)
        if key in CHART_LABELS:
            ctx.report.skipped(path, f"the chart sets {key} on model pods itself (the "
                               "InferencePool selects them by the chart's labels)")
        else:
            out.pod_labels[key] = str(value)
            ctx.report.mapped(path, f"pod.podLabels.{key}")


def convert_artifacts(ctx: Context) -> Artifacts:
    """The `model` block, the model pods' extra labels and the old model argument."""
    out = Artifacts()
    mount = ctx.get((*BASE, "mountPath"))
    if mount is not None:
        out.mount_path = str(mount).rstrip("/") or "/"
        out.model["mountPath"] = out.mount_path
        ctx.report.mapped((*BASE, "mountPath"), "model.mountPath")
    _name(ctx, out)
    _uri(ctx, out)
    size = ctx.get((*BASE, "size"))
    if size is not None:
        if out.scheme == "hf":
            out.model["size"] = str(size)
            ctx.report.mapped((*BASE, "size"), "model.size")
        else:
            ctx.report.skipped((*BASE, "size"), f"only sizes the hf:// download volume; "
                               f"{out.scheme}:// mounts existing storage")
    secret = ctx.get((*BASE, "authSecretName"))
    if secret:
        out.auth_secret = str(secret)
        out.model["authSecretName"] = out.auth_secret
        ctx.report.mapped((*BASE, "authSecretName"), "model.authSecretName",
                          "token read from key HF_TOKEN, as before")
    elif ctx.present((*BASE, "authSecretName")):
        ctx.report.skipped((*BASE, "authSecretName"), "empty: no token")
    if ctx.present((*BASE, "readOnly")):
        out.model["readOnly"] = bool(ctx.get((*BASE, "readOnly"), True))
        ctx.report.mapped((*BASE, "readOnly"), "model.readOnly")
    if ctx.present((*BASE, "imagePullPolicy")):
        out.model["imagePullPolicy"] = ctx.get((*BASE, "imagePullPolicy"))
        ctx.report.mapped((*BASE, "imagePullPolicy"), "model.imagePullPolicy")
    elif out.scheme == "oci":
        ctx.report.defaulted("model.imagePullPolicy", "IfNotPresent (the old chart pulled "
                             "the model image Always)")
    if out.scheme == "pvc+hf":
        ctx.report.defaulted("engine.env.HF_HUB_OFFLINE", "1 while the claim is read-only "
                             "(model.readOnly): vLLM reads the hub cache without network")
    _labels(ctx, out)
    return out
