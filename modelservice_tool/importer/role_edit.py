"""Edits later steps make to a converted role: a held-back flag put back as a raw engine
argument, an engine variable or flag moved into a values key, with the report restated."""

from __future__ import annotations

from typing import Any

from ..sources import KeyPath
from .context import Context
from .roles import RoleResult


def keep_raw(ctx: Context, result: RoleResult, flag: str, value: Any, reason: str) -> None:
    """Put `--flag` back into the role's engine args as given, and say why it needs a look."""
    engine = result.values["engine"]
    engine["args"] = {**engine.get("args", {}), flag: value}
    ctx.report.unmapped(result.flag_sources.get(flag), reason,
                        (result.facts.role, "engine", "args", flag))


def env_source(ctx: Context, result: RoleResult, name: str) -> KeyPath | None:
    """Input path of the engine container's env entry `name` (the last one), if any."""
    entries = ctx.get((*result.engine_path, "env")) or []
    found = [i for i, e in enumerate(entries) if isinstance(e, dict) and e.get("name") == name]
    return (*result.engine_path, "env", found[-1]) if found else None


def take_env(ctx: Context, result: RoleResult, name: str) -> tuple[Any, KeyPath | None]:
    """Remove `name` from the role's engine env: (its converted value, its input path);
    the caller reports what became of it."""
    engine = result.values["engine"]
    env = dict(engine.get("env", {}))
    value = env.pop(name, None)
    if env:
        engine["env"] = env
    else:
        engine.pop("env", None)
    source = env_source(ctx, result, name)
    if source is not None:
        ctx.report.forget(source)
    return value, source


def take_arg(ctx: Context, result: RoleResult, flag: str) -> tuple[Any, KeyPath | None]:
    """Remove `--flag` from the role's engine args: (its value, its input path)."""
    engine = result.values["engine"]
    args = dict(engine.get("args", {}))
    value = args.pop(flag, None)
    if args:
        engine["args"] = args
    else:
        engine.pop("args", None)
    source = result.flag_sources.get(flag)
    if source is not None and value is not None:
        ctx.report.forget(source)
    return value, source
