"""Errors that reach the user as a clean message and an exit code, never a traceback."""


class UserError(Exception):
    """A problem with the user's input or environment; printed as-is, exit code 2."""

    exit_code = 2


class ValidationFailed(UserError):
    """Inputs or rendered manifests broke a rule; exit code 1."""

    exit_code = 1


# How to get the optional `bench` extra (matplotlib, optuna); the package is not on PyPI.
BENCH_EXTRA = "pip install '.[bench]' in a checkout of this repository"
