"""Finding and running the helm binary."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from .errors import UserError
from .paths import tools_dir


def find_helm() -> str:
    """Path of helm: $MST_HELM, else helm on PATH, else the project's pinned .tools copy."""
    candidates = [os.environ.get("MST_HELM"), shutil.which("helm"), tools_dir() / "bin" / "helm"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise UserError(
        "helm not found: install helm 3.x or 4.x on PATH, set MST_HELM, or run "
        "`python scripts/install_tools.py` to put pinned copies in .tools/"
    )


def run_helm(args: Sequence[str], *, stdin: str | None = None) -> str:
    """Run helm with `args` and return its stdout; a helm failure becomes a UserError."""
    helm = find_helm()
    result = subprocess.run(
        [helm, *args], input=stdin, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        message = result.stderr.strip() or result.stdout.strip()
        raise UserError(f"helm {args[0]} failed:\n{message}")
    return result.stdout


def template_args(
    chart: Path,
    value_files: Sequence[Path],
    *,
    release: str,
    namespace: str,
    set_values: Sequence[str] = (),
    kube_version: str | None = None,
) -> list[str]:
    """The `helm template` arguments for a layered render (files in order, then --set)."""
    args = ["template", release, str(chart), "--namespace", namespace]
    for path in value_files:
        args += ["-f", str(path)]
    for item in set_values:
        args += ["--set", item]
    if kube_version:
        args += ["--kube-version", kube_version]
    return args
