"""Where a release serves: its HTTPRoute's Gateway when one is rendered, else the decode Service
(refused for a prefill/decode release, whose requests must reach the endpoint picker)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..checks import engine_flags, model_workloads, pod_templates
from ..errors import UserError
from ..manifests import Manifest

GATEWAY_GROUP = "gateway.networking.k8s.io"


@dataclass(frozen=True)
class Endpoint:
    """An OpenAI-compatible base URL and the object it belongs to.

    `resolved` is False for a Gateway whose address has not been read from the cluster
    yet: `host` is then a placeholder `<gateway>.<namespace>.svc` (see `resolve_gateway`).
    """

    kind: str  # Gateway, Service or URL
    name: str
    namespace: str
    host: str
    port: int
    resolved: bool = True
    section: str | None = None
    path: str = ""

    @property
    def url(self) -> str:
        """`http://host:port[/path-prefix]`."""
        return f"http://{self.host}:{self.port}{self.path}"

    def describe(self) -> str:
        """`Service ns/name` or `Gateway ns/name` (or the URL)."""
        return self.url if self.kind == "URL" else f"{self.kind} {self.namespace}/{self.name}"


def _gateway_refs(route: Manifest) -> list[dict[str, Any]]:
    refs = route.get("spec", {}).get("parentRefs") or []
    return [ref for ref in refs if ref.get("kind", "Gateway") == "Gateway"
            and ref.get("group", GATEWAY_GROUP) == GATEWAY_GROUP and ref.get("name")]


def _path_prefix(route: Manifest) -> str:
    """The route's first PathPrefix match without its trailing slash ("" for `/`)."""
    for rule in route.get("spec", {}).get("rules") or []:
        for match in rule.get("matches") or []:
            path = match.get("path") or {}
            if path.get("type", "PathPrefix") == "PathPrefix" and path.get("value"):
                return str(path["value"]).rstrip("/")
    return ""


def _gateway(objects: list[Manifest], namespace: str) -> Endpoint | None:
    for route in (obj for obj in objects if obj.get("kind") == "HTTPRoute"):
        for ref in _gateway_refs(route):
            gw_namespace = ref.get("namespace") or route["metadata"].get("namespace", namespace)
            return Endpoint("Gateway", ref["name"], gw_namespace,
                            host=f"{ref['name']}.{gw_namespace}.svc", port=int(ref.get("port", 80)),
                            resolved=False, section=ref.get("sectionName"),
                            path=_path_prefix(route))
    return None


def _decode_service(objects: list[Manifest], release: str, namespace: str) -> Endpoint | None:
    services = [obj for obj in objects if obj.get("kind") == "Service"]
    wanted = f"{release}-decode"
    by_role = [s for s in services
               if s["metadata"].get("labels", {}).get("llm-d.ai/role") == "decode"]
    service = next((s for s in services if s["metadata"]["name"] == wanted), None) or next(
        iter(by_role), None)
    if service is None:
        return None
    ports = service.get("spec", {}).get("ports") or []
    port = next((p for p in ports if p.get("name") == "http"), ports[0] if ports else None)
    if port is None:
        raise UserError(f"Service {service['metadata']['name']} has no port")
    svc_namespace = service["metadata"].get("namespace") or namespace
    name = service["metadata"]["name"]
    return Endpoint("Service", name, svc_namespace, host=f"{name}.{svc_namespace}.svc",
                    port=int(port["port"]))


def _is_disaggregated(objects: list[Manifest]) -> bool:
    """True when the release renders a prefill workload (prefill/decode disaggregation)."""
    return any(template["metadata"].get("labels", {}).get("llm-d.ai/role") == "prefill"
               for workload in model_workloads(objects) for template in pod_templates(workload))


def discover(objects: list[Manifest], release: str, namespace: str) -> Endpoint:
    """The endpoint to load: a Gateway named by a rendered HTTPRoute, else the decode Service.

    A prefill/decode release without a route is refused: its decode Service bypasses the
    endpoint picker, so every request would be served decode-only."""
    found = _gateway(objects, namespace)
    if found is None and _is_disaggregated(objects):
        raise UserError(
            f"release {release} is prefill/decode but renders no HTTPRoute: through the decode "
            "Service requests skip the endpoint picker and are never prefilled remotely. Set "
            "routing.httpRoute.gateway.name (the Gateway the route attaches to; the pd-* presets "
            "set inference-gateway), or pass --target URL of a gateway that routes to the pool")
    found = found or _decode_service(objects, release, namespace)
    if found is None:
        raise UserError(f"release {release} renders neither an HTTPRoute nor a decode Service: "
                        "nothing to benchmark (or pass --target URL)")
    return found


def served_model(objects: list[Manifest]) -> str | None:
    """The served model name (`--served-model-name`) of the decode workload, if rendered."""
    workloads = model_workloads(objects)
    decode = [w for w in workloads if w["metadata"].get("labels", {}).get("llm-d.ai/role")
              == "decode"] or workloads
    for workload in decode:
        spec = workload["spec"]
        template = spec.get("template") or spec.get("leaderWorkerTemplate", {}).get(
            "workerTemplate", {})
        flags = engine_flags(template["spec"]["containers"][0])
        if flags.get("served-model-name"):
            return flags["served-model-name"]
    return None


def hf_token_env(objects: list[Manifest]) -> dict[str, Any] | None:
    """The engine's `HF_TOKEN` env entry (from a Secret), for the tokenizer download."""
    for workload in model_workloads(objects):
        template = workload["spec"].get("template") or {}
        for container in template.get("spec", {}).get("containers", [])[:1]:
            for env in container.get("env") or []:
                if env.get("name") == "HF_TOKEN" and "valueFrom" in env:
                    return env
    return None


def resolve_gateway(endpoint: Endpoint, gateway: Manifest) -> Endpoint:
    """The Gateway endpoint with its address (status) and listener port from the live object."""
    addresses = gateway.get("status", {}).get("addresses") or []
    if not addresses:
        raise UserError(f"Gateway {endpoint.namespace}/{endpoint.name} has no address yet "
                        "(status.addresses is empty); pass --target URL")
    listeners = gateway.get("spec", {}).get("listeners") or []
    listener = next((item for item in listeners if item.get("name") == endpoint.section), None)
    if listener is None and endpoint.port == 80:
        listener = next((item for item in listeners if item.get("protocol") == "HTTP"), None)
    port = int(listener["port"]) if listener else endpoint.port
    return replace(endpoint, host=addresses[0]["value"], port=port, resolved=True)
