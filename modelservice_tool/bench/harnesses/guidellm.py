"""guidellm (`guidellm run --scenario`): the scenario from profiles.py, its benchmarks.json
trimmed and printed to the log."""

from __future__ import annotations

import json
from typing import Any

from ..profiles import RESULT_PATH, LoadProfile, scenario
from ..results import TRIMMED_METRICS
from .base import Harness, Target, encoder

# The guidellm release the result parser and the committed fixtures were checked with.
GUIDELLM_VERSION = "0.8.1"

# The same trimming as results.trim_result.
ENCODER = encoder(f"""
doc = json.load(open({RESULT_PATH!r}))
for b in doc.get("benchmarks", []):
    b.pop("requests", None)
    for key in {TRIMMED_METRICS!r}:
        b.get("metrics", {{}}).pop(key, None)
""")

SCRIPT = f"""set -eu
GUIDELLM=$(command -v guidellm || echo /opt/app-root/bin/guidellm)
PYTHON=$(command -v python3 || echo /opt/app-root/bin/python3)
printf '%s' "$MST_SCENARIO" > /tmp/scenario.json
"$GUIDELLM" run --scenario /tmp/scenario.json --disable-progress
"$PYTHON" - <<'EOF'{ENCODER}EOF
"""


class Guidellm(Harness):
    """guidellm: every load mode (its own rate sweep included), chat completions."""

    name = "guidellm"
    version = GUIDELLM_VERSION
    image = f"ghcr.io/vllm-project/guidellm:v{GUIDELLM_VERSION}"
    container = "guidellm"
    done_line = r"Benchmark \d+ \([^)]*\): completed"

    def script(self, profile: LoadProfile, target: Target) -> str:
        """Write the scenario from $MST_SCENARIO, run it, print the trimmed result."""
        return SCRIPT

    def env(self, profile: LoadProfile, target: Target) -> list[dict[str, Any]]:
        """The scenario as $MST_SCENARIO (JSON)."""
        config = scenario(profile, target=target.url, model=target.model,
                          tokenizer=target.tokenizer)
        return [{"name": "MST_SCENARIO", "value": json.dumps(config, indent=1)}]

