"""Finding and running the helm binary."""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from .errors import UserError, tool_message
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
    return HelmRun(args, stdin=stdin).result()


class HelmRun:
    """One helm process started now and read later, so that a caller can do other work
    (mst checks the values while `helm template` renders them)."""

    _early: HelmRun | None = None  # started by `mst` before its imports (see launch.py)

    def __init__(self, args: Sequence[str], *, stdin: str | None = None) -> None:
        self.command = args[0]
        self.args = list(args)
        self._stdin = stdin
        self._process = subprocess.Popen(
            [find_helm(), *args], stdin=subprocess.PIPE if stdin is not None else None,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    @classmethod
    def start_early(cls, args: Sequence[str]) -> None:
        """Start helm now, for a later `start` with the same arguments to adopt."""
        cls._early = cls(args)
        atexit.register(cls._drop_early)

    @classmethod
    def start(cls, args: Sequence[str]) -> HelmRun:
        """helm with `args`: the run started early when its arguments are these, else a
        new one (an early run with other arguments is stopped)."""
        early, cls._early = cls._early, None
        if early is not None and early.args == list(args):
            return early
        if early is not None:
            early.cancel()
        return cls(args)

    @classmethod
    def _drop_early(cls) -> None:
        if cls._early is not None:
            cls._early.cancel()
            cls._early = None

    def result(self) -> str:
        """helm's stdout once it exits; HelmFailed when it exits non-zero."""
        stdout, stderr = self._process.communicate(self._stdin)
        if self._process.returncode != 0:
            raise HelmFailed(self.command, stderr.strip() or stdout.strip())
        return stdout

    def cancel(self) -> None:
        """Stop helm and reap it (its output is not wanted)."""
        self._process.kill()
        self._process.communicate()


class HelmFailed(UserError):
    """helm exited non-zero; the message is helm's, without its noise (helm 4's duplicate
    log line, the `--debug` advice mst has no flag for)."""

    def __init__(self, command: str, output: str) -> None:
        self.command = command
        self.lines = tool_message(output).splitlines()
        super().__init__(f"helm {command} failed:\n" + "\n".join(self.lines))

    def chart_failures(self) -> list[tuple[str, str]]:
        """(template file, message) of each `fail` the chart raised on these values."""
        found: list[tuple[str, str]] = []
        template = None  # a multi-line message continues until helm's next line of its own
        for line in self.lines:
            match = _CHART_FAIL.search(line)
            if match:
                template = match["template"]
                found.append((template, match["message"]))
            elif template and not line.startswith(("Error:", "level=")):
                found.append((template, line))
            else:
                template = None
        return found


_CHART_FAIL = re.compile(r"execution error at \((?:[^/]+/)?(?P<template>templates/[^:]+)"
                         r"(?::\d+)*\): (?P<message>.*)")




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
