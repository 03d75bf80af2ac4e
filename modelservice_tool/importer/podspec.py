"""Pod-level settings of a role (scheduling, security, pull secrets, `extraConfig`) and the
engine container's own extras (security context, probes, ports)."""

from __future__ import annotations

import re
from typing import Any

from ..sources import KeyPath
from .context import Context, RoleFacts

TOLERATION_KEYS = ("key", "operator", "value", "effect", "tolerationSeconds")
# Pod fields with a values key of the same meaning.
POD_FIELDS = {"nodeSelector": "nodeSelector", "affinity": "affinity",
              "priorityClassName": "priorityClassName", "schedulerName": "schedulerName",
              "terminationGracePeriodSeconds": "terminationGracePeriodSeconds",
              "securityContext": "podSecurityContext", "podSecurityContext": "podSecurityContext",
              "podAnnotations": "podAnnotations", "podLabels": "podLabels"}
PROBE_KINDS = {"startupProbe": "startup", "readinessProbe": "readiness",
               "livenessProbe": "liveness"}


def toleration_name(toleration: dict[str, Any], taken: set[str]) -> str:
    """A stable map key for a toleration: its taint key, sanitized, numbered on clashes."""
    base = re.sub(r"[^a-z0-9]+", "-", str(toleration.get("key") or "any").lower()).strip("-")
    name, number = base or "any", 2
    while name in taken:
        name, number = f"{base}-{number}", number + 1
    return name


def convert_tolerations(ctx: Context, path: KeyPath, tolerations: list[Any], role: str,
                        pod: dict[str, Any]) -> None:
    """A toleration list into `pod["tolerations"]`, keyed by taint key."""
    out = pod.setdefault("tolerations", {})
    for index, toleration in enumerate(tolerations):
        where = (*path, index)
        if not isinstance(toleration, dict):
            ctx.report.unmapped(where, "not a toleration")
            continue
        name = toleration_name(toleration, set(out))
        out[name] = {k: toleration[k] for k in TOLERATION_KEYS if k in toleration}
        extra = sorted(set(toleration) - set(TOLERATION_KEYS))
        ctx.report.mapped(where, (role, "tolerations", name),
                          f"dropped {', '.join(extra)}" if extra else "")


def _pull_secrets(ctx: Context, path: KeyPath, secrets: list[Any], role: str,
                  pod: dict[str, Any]) -> None:
    for index, secret in enumerate(secrets):
        name = secret.get("name") if isinstance(secret, dict) else secret
        pod.setdefault("imagePullSecrets", {})[str(name)] = True
        ctx.report.mapped((*path, index), (role, "imagePullSecrets", str(name)))


def convert_pod_field(ctx: Context, path: KeyPath, field: str, value: Any, role: str,
                      pod: dict[str, Any]) -> bool:
    """One pod-spec field (role level or in extraConfig); False when it has no values key."""
    if field == "tolerations" and isinstance(value, list):
        convert_tolerations(ctx, path, value, role, pod)
    elif field == "imagePullSecrets" and isinstance(value, list):
        _pull_secrets(ctx, path, value, role, pod)
    elif field in POD_FIELDS:
        target = POD_FIELDS[field]
        if isinstance(value, dict) and isinstance(pod.get(target), dict):
            pod[target] = {**pod[target], **value}
        else:
            pod[target] = value
        ctx.report.mapped(path, (role, target))
    else:
        return False
    return True


def convert_extra_config(ctx: Context, path: KeyPath, config: dict[str, Any], role: str,
                         pod: dict[str, Any]) -> None:
    """A role's `extraConfig` (raw pod-spec fields)."""
    for field, value in config.items():
        where = (*path, field)
        if not convert_pod_field(ctx, where, field, value, role, pod):
            ctx.report.unmapped(where, f"pod field {field!r} has no values key: add it with "
                                "a kustomize patch (see README, Kustomize overlays)")


def _probe(ctx: Context, path: KeyPath, kind: str, probe: dict[str, Any], facts: RoleFacts,
           pod: dict[str, Any]) -> None:
    name = PROBE_KINDS[kind]
    http = probe.get("httpGet") or {}
    port = http.get("port")
    if not http or port not in (None, facts.vllm_port, facts.service_port, "http", "vllm"):
        ctx.report.unmapped(path, f"only HTTP probes on the engine port map to "
                            f"probes.{name}; the chart's default {name} probe applies")
        return
    out: dict[str, Any] = {"enabled": True, "path": http.get("path", "/")}
    for key in ("periodSeconds", "timeoutSeconds"):
        if key in probe:
            out[key] = probe[key]
    if name == "startup":
        period = int(probe.get("periodSeconds", 10))
        out["budgetSeconds"] = (int(probe.get("initialDelaySeconds", 0))
                                + int(probe.get("failureThreshold", 3)) * period)
    elif "failureThreshold" in probe:
        out["failureThreshold"] = probe["failureThreshold"]
    pod.setdefault("probes", {})[name] = out
    note = ("initialDelaySeconds dropped: the startup probe gates this probe"
            if name != "startup" and probe.get("initialDelaySeconds") else "")
    ctx.report.mapped(path, (facts.role, "probes", name), note)


def convert_container_extras(ctx: Context, path: KeyPath, container: dict[str, Any],
                             facts: RoleFacts, pod: dict[str, Any],
                             engine: dict[str, Any]) -> None:
    """Security context, probes and other fields of the engine container (set directly, as
    older releases did, or in `extraConfig`)."""
    fields = {key: ((*path, key), value) for key, value in container.items()
              if key in ("securityContext", *PROBE_KINDS, "workingDir", "stdin", "tty")}
    for key, value in (container.get("extraConfig") or {}).items():
        fields[key] = ((*path, "extraConfig", key), value)
    for key, (where, value) in fields.items():
        if key == "securityContext":
            pod["securityContext"] = value
            ctx.report.mapped(where, (facts.role, "securityContext"))
        elif key in PROBE_KINDS and isinstance(value, dict):
            _probe(ctx, where, key, value, facts, pod)
        elif key == "imagePullPolicy":
            engine.setdefault("image", {})["pullPolicy"] = value
            ctx.report.mapped(where, (facts.role, "engine", "image", "pullPolicy"))
        else:
            ctx.report.unmapped(where, f"container field {key!r} has no values key: add it "
                                "with a kustomize patch (see README, Kustomize overlays)")
    missing = [PROBE_KINDS[k] for k in PROBE_KINDS if k not in fields]
    if missing:
        probes = ctx.support.default("pod", "probes")
        startup, readiness, liveness = (probes[k] for k in ("startup", "readiness", "liveness"))
        ctx.report.defaulted((facts.role, "probes"), (
            f"{', '.join(missing)} probe(s) added (startup {startup['path']} within "
            f"{startup['budgetSeconds']} s, readiness {readiness['path']}, liveness "
            f"{liveness['path']}); the old chart had none unless you set them"))


def convert_ports(ctx: Context, path: KeyPath, ports: list[Any], facts: RoleFacts,
                  side_channel: int | None) -> None:
    """Engine container ports: the chart declares the engine (and NIXL) ports itself."""
    known = {facts.vllm_port: "the engine port", facts.service_port: "the engine port"}
    if side_channel and facts.pd:
        known[side_channel] = "the NIXL side-channel port"
    for index, port in enumerate(ports):
        where = (*path, index)
        number = port.get("containerPort") if isinstance(port, dict) else None
        if number in known:
            ctx.report.skipped(where, f"{known[number]}: the chart declares it")
        elif isinstance(port, dict) and port.get("name"):
            ctx.report.unmapped(where, f"named port {port['name']!r} ({number}) is not "
                                "declared: add it with a kustomize patch if a Service or "
                                "PodMonitor refers to it")
        else:
            ctx.report.skipped(where, f"port {number}: declaring a container port is "
                               "informational; traffic to it works without")
