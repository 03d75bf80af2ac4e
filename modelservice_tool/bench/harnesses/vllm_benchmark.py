"""vLLM's own load generator, `vllm bench serve`: one run per load point on the random
dataset, each saved as the tool's native result JSON (`--save-result`)."""

from __future__ import annotations

import math
import re
import shlex
from typing import Any

from ..profiles import LoadProfile
from .base import (
    RESULTS_DIR,
    Harness,
    Target,
    files_encoder,
    not_applicable,
    prompts_at_rate,
    requests_per_point,
)

# The vLLM of the chart's default engine image (docs/vllm-cli.md); its `vllm bench serve`
# flags were read from vllm/benchmarks/serve.py and datasets.py of that release.
VLLM_VERSION = "0.17.1"
PERCENTILES = "50,90,99"
# vLLM's random dataset draws lengths uniformly in mean x [1 - ratio, 1 + ratio], ratio < 1.
MAX_RANGE_RATIO = 0.95
# The `mst_*` metadata keys of a result -> llm-d report sequence length fields.
SEQ_FIELDS = {"input_len": "input_seq_len", "output_len": "output_seq_len"}


def range_ratio(profile: LoadProfile) -> float:
    """`--random-range-ratio`: the uniform spread whose standard deviation is the prompt
    tokens' (uniform on mean +- w has stdev w / sqrt(3)); output lengths get the same ratio."""
    ratio = math.sqrt(3) * profile.prompt_stdev / profile.prompt_tokens
    return round(min(ratio, MAX_RANGE_RATIO), 3)


def metadata(profile: LoadProfile) -> dict[str, str]:
    """What the result file should say about its load besides what vLLM records: the
    dataset and its lengths (read back into the llm-d benchmark report)."""
    return {"mst_profile": profile.name, "mst_dataset": "random",
            "mst_input_len": str(profile.prompt_tokens),
            "mst_output_len": str(profile.output_tokens),
            "mst_range_ratio": f"{range_ratio(profile):g}"}


def point_args(profile: LoadProfile, index: int) -> list[str]:
    """The load flags of one point: a request rate, or a concurrency at unbounded rate."""
    if profile.mode == "rate":
        rate = profile.rates[index]
        return ["--request-rate", f"{rate:g}", "--num-prompts",
                str(prompts_at_rate(profile, rate))]
    streams = profile.concurrency[index]
    return ["--max-concurrency", str(streams), "--num-prompts",
            str(requests_per_point(profile, streams))]


def command(profile: LoadProfile, target: Target, index: int) -> list[str]:
    """`vllm bench serve ...` for load point `index`, saving `point-<index>.json`."""
    return [
        "vllm", "bench", "serve",
        "--backend", "openai", "--endpoint", "/v1/completions",
        "--base-url", target.url, "--model", target.model, "--tokenizer", target.tokenizer,
        "--dataset-name", "random",
        "--random-input-len", str(profile.prompt_tokens),
        "--random-output-len", str(profile.output_tokens),
        "--random-range-ratio", f"{range_ratio(profile):g}",
        *point_args(profile, index),
        "--seed", str(index),
        "--percentile-metrics", "ttft,tpot,itl,e2el", "--metric-percentiles", PERCENTILES,
        "--label", f"mst-{profile.name}",
        "--metadata", *(f"{key}={value}" for key, value in metadata(profile).items()),
        "--save-result", "--result-dir", RESULTS_DIR,
        "--result-filename", f"point-{index}.json", "--disable-tqdm",
    ]


class VllmBenchmark(Harness):
    """`vllm bench serve`: constant rates or fixed concurrency, no sweep; completions API."""

    name = "vllm-benchmark"
    version = VLLM_VERSION
    image = f"vllm/vllm-openai:v{VLLM_VERSION}"
    container = "vllm-benchmark"
    done_line = r"=+ Serving Benchmark Result =+"
    converter = "import_vllm_benchmark"

    def unsupported(self, profile: LoadProfile, given: frozenset[str]) -> list[str]:
        """No sweep; concurrency points are bounded by requests, not time."""
        if profile.mode == "sweep":
            return ["vllm bench serve has no rate sweep: give --rate R1,R2,... "
                    "or --concurrency C1,C2,..."]
        problems = not_applicable(given, ("sweep_points",),
                                  "vllm bench serve has no rate sweep")
        if profile.mode == "concurrency":
            problems += not_applicable(given, ("seconds",),
                                       "a concurrency point runs --max-requests requests "
                                       "(vllm bench serve has no time limit)")
        return problems

    def script(self, profile: LoadProfile, target: Target) -> str:
        """One `vllm bench serve` per load point, then the result files to the log."""
        runs = "\n".join(shlex.join(command(profile, target, index))
                         for index in range(profile.load_points()))
        return f"""set -eu
mkdir -p {RESULTS_DIR}
{runs}
python3 - <<'EOF'{files_encoder('vllm')}EOF
"""

    def result_files(self, names: list[str]) -> list[str]:
        """`point-<i>.json`, by i."""
        points = [name for name in names if re.fullmatch(r"point-\d+\.json", name)]
        return sorted(points, key=lambda name: int(re.sub(r"\D", "", name)))

    def load_description(self, name: str, files: dict[str, Any], index: int
                         ) -> dict[str, Any]:
        """The random dataset's uniform lengths and the flags, from the `mst_*` metadata
        the Job saved in the result (nothing for results `mst` did not produce)."""
        result = files[name]
        if result.get("mst_dataset") != "random":
            return {}
        ratio = float(result["mst_range_ratio"])
        lengths = {key: int(result[f"mst_{key}"]) for key in ("input_len", "output_len")}
        args = {"dataset-name": "random", "random-range-ratio": result["mst_range_ratio"],
                "num-prompts": result.get("num_prompts"),
                "request-rate": result.get("request_rate"),
                "max-concurrency": result.get("max_concurrency")}
        args.update({f"random-{key.replace('_', '-')}": value
                     for key, value in lengths.items()})
        rate = result.get("request_rate")
        return {
            "standardized": {
                "source": "random", "stage": index,
                "rate_qps": rate if isinstance(rate, (int, float)) else None,
                **{SEQ_FIELDS[key]: {
                    "distribution": "uniform", "value": value,
                    "min": math.floor(value * (1 - ratio)),
                    "max": math.ceil(value * (1 + ratio))}
                   for key, value in lengths.items()},
            },
            "native": {"args": {k: v for k, v in args.items() if v is not None}},
        }
