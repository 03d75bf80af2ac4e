"""The load generators `mst bench --harness` runs: the three llm-d-benchmark uses."""

from __future__ import annotations

from ...errors import UserError
from .base import Harness, Target
from .guidellm import Guidellm
from .inference_perf import InferencePerf
from .vllm_benchmark import VllmBenchmark

HARNESSES: dict[str, Harness] = {h.name: h for h in (Guidellm(), VllmBenchmark(),
                                                      InferencePerf())}
DEFAULT = "guidellm"

__all__ = ["DEFAULT", "HARNESSES", "Harness", "Target", "get_harness"]


def get_harness(name: str) -> Harness:
    """The harness called `name`, or a UserError listing the known ones."""
    if name not in HARNESSES:
        raise UserError(f"unknown harness {name!r}; choose one of {', '.join(HARNESSES)}")
    return HARNESSES[name]
