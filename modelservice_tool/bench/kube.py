"""kubectl through subprocess, bound to a namespace; whether a cluster answers."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import UserError
from ..lifecycle import find_kubectl


@dataclass(frozen=True)
class Kubectl:
    """kubectl bound to one namespace (and optionally a context)."""

    namespace: str
    context: str | None = None

    def command(self, args: Sequence[str]) -> list[str]:
        """The full command line."""
        context = ["--context", self.context] if self.context else []
        return [find_kubectl(), *context, "-n", self.namespace, *args]

    def run(self, args: Sequence[str], *, stdin: str | None = None, timeout: float = 60,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run kubectl; a failure (with `check`) or a hang becomes a UserError."""
        try:
            result = subprocess.run(self.command(args), input=stdin, capture_output=True,
                                    text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise UserError(f"kubectl {args[0]} did not finish within {timeout:g}s") from None
        if check and result.returncode != 0:
            message = result.stderr.strip() or result.stdout.strip()
            raise UserError(f"kubectl {' '.join(args[:2])} failed: {message}")
        return result

    def get(self, resource: str, name: str | None = None, *,
            selector: str | None = None) -> dict[str, Any] | None:
        """An object (or list) as JSON; None when it does not exist."""
        args = ["get", resource, *([name] if name else []), "-o", "json"]
        args += [f"--selector={selector}"] if selector else []
        result = self.run(args, check=False)
        if result.returncode != 0:
            if "NotFound" in result.stderr or "not found" in result.stderr:
                return None
            raise UserError(f"kubectl get {resource} failed: {result.stderr.strip()}")
        return json.loads(result.stdout)

    def apply(self, obj: dict[str, Any]) -> None:
        """`kubectl apply -f -` of one object."""
        self.run(["apply", "-f", "-"], stdin=json.dumps(obj))


def cluster_unreachable_reason(context: str | None = None) -> str | None:
    """None when a Kubernetes API server answers, else why not (for skips and errors)."""
    try:
        kubectl = Kubectl("default", context)
        result = kubectl.run(["version", "-o", "json", "--request-timeout=5s"], timeout=15,
                             check=False)
    except UserError as error:
        return str(error)
    if result.returncode != 0 or "serverVersion" not in result.stdout:
        return "no reachable Kubernetes cluster: " + (result.stderr.strip().splitlines() or
                                                      ["kubectl version failed"])[-1]
    return None
