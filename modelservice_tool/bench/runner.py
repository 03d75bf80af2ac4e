"""Run a bench Job on the cluster: replace any previous run, wait with progress, collect."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from ..errors import UserError
from .job import harness_of
from .kube import Kubectl
from .results import extract_from_logs

Progress = Callable[[str], None]


def _condition(job: dict[str, Any]) -> str | None:
    for condition in job.get("status", {}).get("conditions") or []:
        if condition.get("status") == "True" and condition.get("type") in ("Complete", "Failed"):
            return str(condition["type"])
    return None


def _pod_phase(kubectl: Kubectl, name: str) -> str:
    pods = kubectl.get("pods", selector=f"job-name={name}") or {}
    items = pods.get("items") or []
    if not items:
        return "no pod yet"
    status = items[-1].get("status", {})
    waiting = [c.get("state", {}).get("waiting", {}).get("reason")
               for c in status.get("containerStatuses") or []]
    return next((reason for reason in waiting if reason), status.get("phase", "?"))


def _logs(kubectl: Kubectl, name: str, container: str) -> str:
    """The Job's log so far; empty at once while its pod is not running (kubectl would
    otherwise wait 20 s per poll for it to start)."""
    return kubectl.run(["logs", f"job/{name}", "-c", container, "--tail=-1",
                        "--pod-running-timeout=1s"], timeout=120, check=False).stdout


def run_job(kubectl: Kubectl, job: dict[str, Any], *, points: int, progress: Progress,
            poll_seconds: float = 5.0, keep: bool = False) -> dict[str, Any]:
    """Create the Job (deleting an earlier one of the same name), wait, return its result.

    Progress lines (pod state, load points done, elapsed time) are reported when they
    change. A failed Job is kept for inspection; a finished one is deleted unless `keep`.
    """
    name = job["metadata"]["name"]
    harness = harness_of(job)
    done_line = re.compile(harness.done_line)
    kubectl.run(["delete", "job", name, "--ignore-not-found", "--wait=true"], timeout=120)
    kubectl.apply(job)
    deadline = time.monotonic() + job["spec"]["activeDeadlineSeconds"] + 120
    started, last = time.monotonic(), ""
    while (finished := _condition(kubectl.get("job", name) or {})) is None:
        if time.monotonic() > deadline:
            raise UserError(f"Job {name} did not finish before its deadline")
        done = len(done_line.findall(_logs(kubectl, name, harness.container)))
        line = f"bench {name}: {_pod_phase(kubectl, name)}, load points {done}/{points}"
        if line != last:
            elapsed = int(time.monotonic() - started)
            progress(f"{line} ({elapsed // 60}m{elapsed % 60:02d}s)")
            last = line
        time.sleep(poll_seconds)
    logs = _logs(kubectl, name, harness.container)
    if finished == "Failed":
        tail = "\n".join(logs.splitlines()[-20:])
        raise UserError(f"bench Job {name} failed (kept for `kubectl describe job {name}`); "
                        f"last log lines:\n{tail}")
    result = extract_from_logs(logs)
    progress(f"bench {name}: complete, {len(done_line.findall(logs))} load points")
    if not keep:
        kubectl.run(["delete", "job", name, "--ignore-not-found", "--wait=false"], check=False)
    return result
