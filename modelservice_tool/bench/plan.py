"""A bench run before it runs: the load settings, the endpoint, the model, the Job."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..errors import UserError
from ..manifests import Manifest
from .endpoint import Endpoint, discover, hf_token_env, resolve_gateway, served_model
from .harnesses import DEFAULT, HARNESSES, Harness
from .job import JobSpec, build_job, job_name
from .kube import Kubectl
from .profiles import LoadProfile


@dataclass(frozen=True)
class LoadSettings:
    """What `mst bench` and `mst sweep` send: the profile, the image (None: the harness's
    pinned one), a tokenizer, and the load generator."""

    profile: LoadProfile
    image: str | None = None
    tokenizer: str | None = None
    harness: Harness = HARNESSES[DEFAULT]
    given: frozenset[str] = frozenset()  # profile settings given as options

    @property
    def job_image(self) -> str:
        """The image the Job runs."""
        return self.image or self.harness.image


@dataclass(frozen=True)
class BenchPlan:
    """The endpoint, the served model, and the Job that loads it."""

    endpoint: Endpoint
    model: str
    job: dict[str, Any]
    points: int

    @property
    def target(self) -> str:
        """The base URL the Job sends requests to."""
        return str(self.job["metadata"]["annotations"]["mst.llm-d.ai/target"])


def plan_bench(objects: list[Manifest], *, release: str, namespace: str, load: LoadSettings,
               target: str | None = None, model: str | None = None) -> BenchPlan:
    """The endpoint (`target`, else discovered in `objects`), the model, and the Job."""
    if target:
        endpoint = Endpoint("URL", target, namespace, host=target, port=0)
    else:
        endpoint = discover(objects, release, namespace)
    served = model or served_model(objects)
    if not served:
        raise UserError("cannot tell the served model name from the release; pass --model")
    spec = JobSpec(name=job_name(release), namespace=namespace, release=release,
                   target=target.rstrip("/") if target else endpoint.url, model=served,
                   tokenizer=load.tokenizer or served, image=load.job_image,
                   harness=load.harness, hf_token=hf_token_env(objects))
    return BenchPlan(endpoint, served, build_job(spec, load.profile), load.profile.load_points())


def resolve(plan: BenchPlan, context: str | None) -> BenchPlan:
    """The plan with a Gateway's live address (from the cluster) as the Job's target."""
    if plan.endpoint.resolved:
        return plan
    gateway = Kubectl(plan.endpoint.namespace, context).get(
        "gateways.gateway.networking.k8s.io", plan.endpoint.name)
    if gateway is None:
        raise UserError(f"Gateway {plan.endpoint.describe()} not found; pass --target URL")
    endpoint = resolve_gateway(plan.endpoint, gateway)
    job = json.loads(json.dumps(plan.job).replace(plan.endpoint.url, endpoint.url))
    return BenchPlan(endpoint, plan.model, job, plan.points)
