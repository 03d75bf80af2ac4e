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


def _pop(engine: dict[str, Any], field: str, key: str) -> Any:
    """Remove `key` from the engine's `field` map (the map too once empty); its value."""
    entries = dict(engine.get(field, {}))
    value = entries.pop(key, None)
    if entries:
        engine[field] = entries
    else:
        engine.pop(field, None)
    return value


def take_env(ctx: Context, result: RoleResult, name: str) -> tuple[Any, KeyPath | None]:
    """Remove `name` from the role's engine env: (its converted value, its input path);
    the caller reports what became of it."""
    value = _pop(result.values["engine"], "env", name)
    source = env_source(ctx, result, name)
    if source is not None:
        ctx.report.forget(source)
    return value, source


def take_arg(ctx: Context, result: RoleResult, flag: str) -> tuple[Any, KeyPath | None]:
    """Remove `--flag` from the role's engine args: (its value, its input path)."""
    value = _pop(result.values["engine"], "args", flag)
    source = result.flag_sources.get(flag)
    if source is not None and value is not None:
        ctx.report.forget(source)
    return value, source
