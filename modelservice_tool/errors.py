"""Errors that reach the user as a clean message and an exit code, never a traceback."""


class UserError(Exception):
    """A problem with the user's input or environment; printed as-is, exit code 2."""

    exit_code = 2


def error_line(error: UserError) -> str:
    """How `mst` prints a user error (then exits with its exit_code)."""
    return f"mst: error: {error}"


def warning_line(message: str) -> str:
    """How `mst` prints a warning about the values."""
    return f"mst: warning: {message}"


class ValidationFailed(UserError):
    """Inputs or rendered manifests broke a rule; exit code 1."""

    exit_code = 1


# How to get the optional `bench` extra (matplotlib, optuna); the package is not on PyPI.
BENCH_EXTRA = "pip install '.[bench]' in a checkout of this repository"


# Lines that repeat an error in a form meant for debugging: client-go's log lines
# (`E1128 12:00:00.000 1 memcache.go:265] ...`), helm 4's structured log lines
# (`level=ERROR msg=...`) and helm's advice to use a --debug flag mst does not have.
_NOISE = (r"^([IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+ [\w.-]+:\d+\] |level=|"
          r"Use --debug flag)")


def tool_message(stderr: str) -> str:
    """What kubectl or helm said, once per line, without the lines that only repeat it."""
    import re

    noise = re.compile(_NOISE)
    lines = [line.strip() for line in stderr.splitlines()
             if line.strip() and not noise.match(line.strip())]
    return "\n".join(dict.fromkeys(lines)) or stderr.strip()
