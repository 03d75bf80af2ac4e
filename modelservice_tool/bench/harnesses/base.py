"""What a load generator ("harness") contributes to a bench Job: its image, the script its
container runs, how the load profile maps onto it, and how its native output is collected."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from ...errors import UserError
from ..profiles import LoadProfile
from ..results import BEGIN_MARKER, END_MARKER

RESULTS_DIR = "/results"
# Requests per stream of a concurrency point when --max-requests is not given (harnesses
# whose concurrency points are bounded by a request count, not by time).
REQUESTS_PER_STREAM = 10
# Profile settings as `mst bench` options, for messages.
OPTION_NAMES = {"rates": "--rate", "concurrency": "--concurrency",
                "sweep_points": "--sweep-points", "seconds": "--duration",
                "max_requests": "--max-requests", "prompt_tokens": "--prompt-tokens",
                "output_tokens": "--output-tokens"}

_PRINT = f"""
data = base64.b64encode(gzip.compress(json.dumps(doc).encode())).decode()
print({BEGIN_MARKER!r})
for i in range(0, len(data), 76):
    print(data[i:i + 76])
print({END_MARKER!r}, flush=True)
"""


def encoder(build: str) -> str:
    """Python run in the Job after the harness: `build` sets `doc`, which is printed
    gzip+base64 encoded in 76-character lines between two marker lines."""
    return "\nimport base64, glob, gzip, json, os\n" + build.strip() + "\n" + _PRINT


def files_encoder(package: str) -> str:
    """The encoder of harnesses that write files: every JSON (parsed) and YAML (text) file
    under RESULTS_DIR by relative path, and the installed version of `package`."""
    return encoder(f"""
from importlib import metadata
root = {RESULTS_DIR!r}
files = {{}}
for path in sorted(glob.glob(root + "/**/*", recursive=True)):
    if path.endswith((".json", ".yaml")):
        text = open(path).read()
        files[os.path.relpath(path, root)] = json.loads(text) if path.endswith(".json") else text
try:
    version = metadata.version({package!r})
except metadata.PackageNotFoundError:
    version = ""
doc = {{"files": files, "version": version}}
""")


def requests_per_point(profile: LoadProfile, streams: int) -> int:
    """`--max-requests`, else REQUESTS_PER_STREAM per concurrent stream."""
    return profile.max_requests or REQUESTS_PER_STREAM * streams


def prompts_at_rate(profile: LoadProfile, rate: float) -> int:
    """`--max-requests`, else the requests a constant rate sends in `--duration`."""
    return profile.max_requests or max(1, math.ceil(rate * profile.seconds))


@dataclass(frozen=True)
class Target:
    """Where and what the harness loads: base URL, served model, tokenizer."""

    url: str
    model: str
    tokenizer: str


class Harness(ABC):
    """One load generator. Subclasses are stateless; `HARNESSES` holds one of each."""

    name: str  # `--harness` value and llm-d-benchmark's harness name
    version: str  # the release the Job and the result parsing were checked with
    image: str  # default image (pinned tag)
    container: str  # container name in the Job (logs are read from it)
    done_line: str  # regex of the log line printed when one load point is done
    # llmd_benchmark_report.native_to_br0_2 function converting one result file
    converter: str = ""

    def check(self, profile: LoadProfile, given: frozenset[str]) -> None:
        """UserError when the profile (or an option the user `given`) cannot be mapped."""
        problems = self.unsupported(profile, given)
        if problems:
            raise UserError(f"--harness {self.name}: " + "; ".join(problems))

    def unsupported(self, profile: LoadProfile, given: frozenset[str]) -> list[str]:
        """Why the profile cannot be mapped (empty when it can)."""
        return []

    def planned_seconds(self, profile: LoadProfile) -> int:
        """Upper bound of the load phase (the Job's deadline adds start-up time)."""
        return profile.planned_seconds()

    @abstractmethod
    def script(self, profile: LoadProfile, target: Target) -> str:
        """The container's `/bin/sh -c` script: run the load, then print the result."""

    def env(self, profile: LoadProfile, target: Target) -> list[dict[str, Any]]:
        """Extra environment of the container (its configuration, for example)."""
        return []

    def result_files(self, names: list[str]) -> list[str]:
        """The collected files holding one load point each, in load order."""
        return []

    def load_description(self, name: str, files: dict[str, Any], index: int
                         ) -> dict[str, Any]:
        """`scenario.load` fields of the llm-d report of result file `name` (the `index`th)
        that its converter cannot know: the `standardized` lengths and source, the
        `native` args or config. Empty when the files do not say."""
        return {}



def not_applicable(given: frozenset[str], names: tuple[str, ...], why: str) -> list[str]:
    """One problem naming the options among `names` the user gave, and why they do not
    apply."""
    options = [OPTION_NAMES[name] for name in names if name in given]
    if not options:
        return []
    return [f"{', '.join(options)} {'does' if len(options) == 1 else 'do'} not apply: {why}"]
