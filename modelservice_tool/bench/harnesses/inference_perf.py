"""kubernetes-sigs/inference-perf: a generated config (synthetic data with the profile's
token lengths, load stages or its own sweep), its per-stage lifecycle metrics collected."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from ..profiles import LoadProfile
from .base import RESULTS_DIR, Harness, Target, files_encoder, not_applicable, requests_per_point

# The release whose config format (inference_perf/config/ at tag v0.6.1) the generated
# config follows; the PyPI package and the quay.io image carry the same version.
INFERENCE_PERF_VERSION = "0.6.1"
CONFIG_PATH = "/tmp/inference-perf.yaml"
# Worker processes: the Job's CPU request (inference-perf defaults to the node's cores).
WORKERS = 2
# A sweep first loads the server for this long to find its saturation rate (inference-perf's
# own default), then runs the stages.
SWEEP_PROBE_SECONDS = 60
# inference-perf length distribution types -> llm-d report distributions.
DISTRIBUTIONS = {"normal": "gaussian", "uniform": "uniform", "fixed": "fixed"}


def distribution(mean: int, stdev: int) -> dict[str, int]:
    """A normal length distribution cut at mean +- 3 stdev (as guidellm's scenario)."""
    spread = 3 * stdev
    return {"mean": mean, "std_dev": stdev, "min": max(1, mean - spread), "max": mean + spread}


def load(profile: LoadProfile) -> dict[str, Any]:
    """The `load` section: constant-rate stages, concurrent stages, or a linear sweep."""
    common: dict[str, Any] = {"num_workers": WORKERS}
    if profile.mode == "rate":
        stages = [{"rate": rate, "duration": profile.seconds} for rate in profile.rates]
        return {"type": "constant", "stages": stages, **common}
    if profile.mode == "concurrency":
        stages = [{"concurrency_level": streams,
                   "num_requests": requests_per_point(profile, streams)}
                  for streams in profile.concurrency]
        return {"type": "concurrent", "stages": stages, **common}
    return {"type": "constant", "sweep": {"type": "linear", "num_stages": profile.sweep_points,
                                          "stage_duration": profile.seconds,
                                          "timeout": SWEEP_PROBE_SECONDS}, **common}


def config(profile: LoadProfile, target: Target, results_dir: str = RESULTS_DIR
           ) -> dict[str, Any]:
    """The inference-perf config file of one run."""
    return {
        "api": {"type": "completion", "streaming": True},
        "server": {"type": "vllm", "model_name": target.model, "base_url": target.url,
                   "ignore_eos": True},
        "tokenizer": {"pretrained_model_name_or_path": target.tokenizer},
        "data": {"type": "synthetic",
                 "input_distribution": distribution(profile.prompt_tokens, profile.prompt_stdev),
                 "output_distribution": distribution(profile.output_tokens,
                                                     profile.output_stdev)},
        "load": load(profile),
        "report": {"request_lifecycle": {"summary": True, "per_stage": True,
                                         "per_request": False}},
        "storage": {"local_storage": {"path": results_dir}},
    }


class InferencePerf(Harness):
    """inference-perf: every load mode (sweep = its own linear sweep); completions API
    (its synthetic data generator supports no other)."""

    name = "inference-perf"
    version = INFERENCE_PERF_VERSION
    image = f"quay.io/inference-perf/inference-perf:v{INFERENCE_PERF_VERSION}"
    container = "inference-perf"
    done_line = r"Stage \d+ - run completed"
    converter = "import_inference_perf"

    def unsupported(self, profile: LoadProfile, given: frozenset[str]) -> list[str]:
        """Rate stages run for --duration; concurrent stages for a request count."""
        if profile.mode == "concurrency":
            return not_applicable(given, ("seconds",), "a concurrent stage runs "
                                  "--max-requests requests (inference-perf has no time limit)")
        return not_applicable(given, ("max_requests",), "inference-perf's rate stages run "
                              "for --duration (they take no request limit)")

    def planned_seconds(self, profile: LoadProfile) -> int:
        """The stages, plus the saturation probe of a sweep."""
        probe = SWEEP_PROBE_SECONDS if profile.mode == "sweep" else 0
        return profile.planned_seconds() + probe

    def script(self, profile: LoadProfile, target: Target) -> str:
        """Write the config from $MST_CONFIG, run inference-perf, print its reports."""
        return f"""set -eu
printf '%s' "$MST_CONFIG" > {CONFIG_PATH}
inference-perf --config_file {CONFIG_PATH}
python - <<'EOF'{files_encoder('inference-perf')}EOF
"""

    def env(self, profile: LoadProfile, target: Target) -> list[dict[str, Any]]:
        """The config as $MST_CONFIG (JSON, which is YAML)."""
        return [{"name": "MST_CONFIG", "value": json.dumps(config(profile, target), indent=1)}]

    def result_files(self, names: list[str]) -> list[str]:
        """`stage_<i>_lifecycle_metrics.json`, by i (not the run's summary)."""
        stages = {int(m.group(1)): name for name in names
                  if (m := re.fullmatch(r"stage_(\d+)_lifecycle_metrics\.json", name))}
        return [stages[i] for i in sorted(stages)]

    def load_description(self, name: str, files: dict[str, Any], index: int
                         ) -> dict[str, Any]:
        """Lengths and source from the config inference-perf saved beside its reports
        (`config.yaml`, the configuration it ran with)."""
        text = files.get("config.yaml")
        if not isinstance(text, str):
            return {}
        config = yaml.safe_load(text) or {}
        data = config.get("data") or {}
        standardized: dict[str, Any] = {
            "source": "random" if data.get("type") in ("random", "shared_prefix")
            else "sampled"}
        if (config.get("load") or {}).get("type") == "concurrent":
            standardized["rate_qps"] = None  # set at run time, not a setpoint
        for key, field in (("input_distribution", "input_seq_len"),
                           ("output_distribution", "output_seq_len")):
            spread = data.get(key)
            if spread:
                kind = DISTRIBUTIONS.get(str(spread.get("type", "normal")), "other")
                standardized[field] = {"distribution": kind, "value": spread["mean"],
                                       "std_dev": spread["std_dev"], "min": spread["min"],
                                       "max": spread["max"]}
        return {"standardized": standardized, "native": {"config": config}}
