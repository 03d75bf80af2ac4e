"""Finding and running the helm binary.

Only `os` at import: `mst template` starts helm through this module before importing
anything heavy (launch.py), so it finds helm and spawns it without pathlib or subprocess."""

from __future__ import annotations

import atexit
import os

from .errors import UserError, tool_message
from .paths import tools_location

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path


def _executable(candidate: str | None) -> bool:
    return bool(candidate) and os.path.isfile(candidate) and os.access(candidate, os.X_OK)


def find_helm() -> str:
    """Path of helm: $MST_HELM, else helm on PATH, else the project's pinned .tools copy."""
    search = os.environ.get("PATH", os.defpath)  # as shutil.which: an empty PATH finds nothing
    on_path = (os.path.join(entry, "helm") for entry in search.split(os.pathsep) if search)
    candidates = [os.environ.get("MST_HELM"), *on_path,
                  os.path.join(tools_location(), "bin", "helm")]
    for candidate in candidates:
        if _executable(candidate):
            return str(candidate)
    raise UserError(
        "helm not found: install helm 3.x or 4.x on PATH, set MST_HELM, or run "
        "`python scripts/install_tools.py` to put pinned copies in .tools/"
    )


def run_helm(args: Sequence[str]) -> str:
    """Run helm with `args` and return its stdout; a helm failure becomes a UserError."""
    return HelmRun(args).result()


class HelmRun:
    """One helm process started now and read later, so that a caller can do other work
    (mst checks the values while `helm template` renders them). It inherits stdin and
    the environment; its stdout and stderr come back through pipes."""

    _early: HelmRun | None = None  # started by `mst` before its imports (see launch.py)

    def __init__(self, args: Sequence[str]) -> None:
        self.command = args[0]
        self.args = list(args)
        helm = find_helm()
        out_read, out_write = os.pipe()  # both ends close-on-exec; dup2 clears it on 1, 2
        err_read, err_write = os.pipe()
        try:
            self._pid = os.posix_spawn(helm, [helm, *self.args], os.environ, file_actions=[
                (os.POSIX_SPAWN_DUP2, out_write, 1), (os.POSIX_SPAWN_DUP2, err_write, 2)])
        except BaseException:
            for fd in (out_read, err_read):
                os.close(fd)
            raise
        finally:
            os.close(out_write)
            os.close(err_write)
        self._pipes: tuple[int, int] | None = (out_read, err_read)

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

    def _read(self) -> tuple[str, str]:
        """Everything helm writes to stdout and stderr, read together until both close."""
        import selectors

        assert self._pipes is not None, "a HelmRun is read once"
        chunks: dict[int, list[bytes]] = {fd: [] for fd in self._pipes}
        with selectors.DefaultSelector() as selector:
            for fd in self._pipes:
                selector.register(fd, selectors.EVENT_READ)
            while selector.get_map():
                for key, _ in selector.select():
                    data = os.read(key.fd, 65536)
                    if data:
                        chunks[key.fd].append(data)
                    else:
                        selector.unregister(key.fd)
                        os.close(key.fd)
        out, err = (b"".join(chunks[fd]).decode(errors="replace") for fd in self._pipes)
        self._pipes = None
        return out, err

    def result(self) -> str:
        """helm's stdout once it exits; HelmFailed when it exits non-zero."""
        stdout, stderr = self._read()  # then reaped: cancel() does nothing any more
        _, status = os.waitpid(self._pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise HelmFailed(self.command, stderr.strip() or stdout.strip())
        return stdout

    def cancel(self) -> None:
        """Stop helm and reap it (its output is not wanted); nothing once it was read."""
        if self._pipes is None:
            return
        os.kill(self._pid, 9)  # SIGKILL; not yet reaped, so the pid is still this helm
        for fd in self._pipes:
            os.close(fd)
        self._pipes = None
        os.waitpid(self._pid, 0)


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
        import re

        template = None  # a multi-line message continues until helm's next line of its own
        for line in self.lines:
            match = re.search(_CHART_FAIL, line)
            if match:
                template = match["template"]
                found.append((template, match["message"]))
            elif template and not line.startswith(("Error:", "level=")):
                found.append((template, line))
            else:
                template = None
        return found


_CHART_FAIL = (r"execution error at \((?:[^/]+/)?(?P<template>templates/[^:]+)"
               r"(?::\d+)*\): (?P<message>.*)")




def template_args(
    chart: str | Path,
    value_files: Sequence[str | Path],
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
