"""Load profiles (synthetic token shapes, load pattern, duration) as guidellm scenarios."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..errors import UserError

MODES = ("sweep", "rate", "concurrency")
RESULT_PATH = "/results/benchmarks.json"


@dataclass(frozen=True)
class LoadProfile:
    """What load to send: token shapes, how the load is stepped, and for how long.

    `mode`: `sweep` (guidellm measures the synchronous and the saturated rate, then
    `sweep_points` evenly spaced constant rates between them), `rate` (constant request
    rates in req/s) or `concurrency` (fixed numbers of concurrent streams). Every load
    point runs for at most `seconds` and at most `max_requests` requests.
    """

    name: str
    description: str
    prompt_tokens: int
    output_tokens: int
    prompt_stdev: int = 0
    output_stdev: int = 0
    mode: str = "sweep"
    sweep_points: int = 8
    rates: tuple[float, ...] = ()
    concurrency: tuple[int, ...] = ()
    seconds: int = 60
    max_requests: int | None = None

    def load_points(self) -> int:
        """Number of load points (guidellm benchmarks) the profile runs."""
        if self.mode == "rate":
            return len(self.rates)
        if self.mode == "concurrency":
            return len(self.concurrency)
        return self.sweep_points

    def planned_seconds(self) -> int:
        """Upper bound of the load phase: points x seconds per point."""
        return self.load_points() * self.seconds

    def check(self) -> LoadProfile:
        """The profile itself, or a UserError naming the bad setting."""
        if self.mode not in MODES:
            raise UserError(f"load mode {self.mode!r} is not one of {', '.join(MODES)}")
        if self.prompt_tokens < 1 or self.output_tokens < 1:
            raise UserError("prompt and output tokens must be at least 1")
        if self.seconds < 1:
            raise UserError("--duration must be at least 1 second per load point")
        if self.mode == "sweep" and self.sweep_points < 2:
            raise UserError("a rate sweep needs at least 2 points (--sweep-points)")
        if self.mode == "rate" and not all(rate > 0 for rate in self.rates or (0,)):
            raise UserError("--rate needs one or more request rates > 0 (req/s)")
        if self.mode == "concurrency" and not all(c >= 1 for c in self.concurrency or (0,)):
            raise UserError("--concurrency needs one or more stream counts >= 1")
        return self


PROFILES: dict[str, LoadProfile] = {
    profile.name: profile
    for profile in (
        LoadProfile("chat", "chat turns: 512 +-128 prompt, 256 +-64 output tokens",
                    prompt_tokens=512, prompt_stdev=128, output_tokens=256, output_stdev=64),
        LoadProfile("rag", "long context: 4096 +-512 prompt, 256 +-64 output tokens",
                    prompt_tokens=4096, prompt_stdev=512, output_tokens=256, output_stdev=64),
        LoadProfile("generation", "long answers: 256 +-64 prompt, 1024 +-256 output tokens",
                    prompt_tokens=256, prompt_stdev=64, output_tokens=1024, output_stdev=256),
        LoadProfile("smoke", "a quick check: 64 +-16 prompt, 32 +-8 output tokens, 5 x 4 s",
                    prompt_tokens=64, prompt_stdev=16, output_tokens=32, output_stdev=8,
                    sweep_points=5, seconds=4, max_requests=200),
    )
}


def get_profile(name: str, **overrides: Any) -> LoadProfile:
    """A built-in profile with the given fields replaced (None values are ignored)."""
    if name not in PROFILES:
        raise UserError(f"unknown load profile {name!r}; choose one of {', '.join(PROFILES)}")
    changes = {key: value for key, value in overrides.items() if value not in (None, ())}
    if changes.get("rates"):
        changes.setdefault("mode", "rate")
    if changes.get("concurrency"):
        changes.setdefault("mode", "concurrency")
    if changes.get("rates") and changes.get("concurrency"):
        raise UserError("give --rate or --concurrency, not both")
    return replace(PROFILES[name], **changes).check()


def _tokens(mean: int, stdev: int) -> dict[str, int]:
    spread = 3 * stdev
    return {"": mean, "_stdev": stdev, "_min": max(1, mean - spread), "_max": mean + spread}


def _profile_spec(profile: LoadProfile) -> dict[str, Any]:
    if profile.mode == "rate":
        return {"kind": "constant", "rate": list(profile.rates)}
    if profile.mode == "concurrency":
        return {"kind": "concurrent", "streams": list(profile.concurrency)}
    return {"kind": "sweep", "sweep_size": profile.sweep_points}


def scenario(profile: LoadProfile, *, target: str, model: str, tokenizer: str,
             output_path: str = RESULT_PATH) -> dict[str, Any]:
    """The guidellm (0.8) scenario file for one run: backend, load, data and limits."""
    data: dict[str, Any] = {"kind": "synthetic_text"}
    for prefix, (mean, stdev) in (("prompt_tokens", (profile.prompt_tokens, profile.prompt_stdev)),
                                  ("output_tokens", (profile.output_tokens, profile.output_stdev))):
        data.update({prefix + suffix: value for suffix, value in _tokens(mean, stdev).items()})
    constraints: list[dict[str, Any]] = [{"kind": "max_duration", "seconds": profile.seconds}]
    if profile.max_requests:
        constraints.append({"kind": "max_requests", "count": profile.max_requests})
    return {
        "metadata": {"name": f"mst-{profile.name}", "description": profile.description},
        "spec": {
            "backend": {"kind": "openai_http", "target": target, "model": model,
                        "request_format": "/v1/chat/completions"},
            "profile": _profile_spec(profile),
            "tokenizer": {"kind": "huggingface_auto", "model": tokenizer},
            "data": [data],
            "constraints": constraints,
            "outputs": [{"kind": "json", "path": output_path}],
        },
    }
