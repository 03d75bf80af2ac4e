"""Time `mst template` against plain `helm template` on the samples.

Usage: python benchmarks/bench_render.py [--runs N] [--releases N]

For every sample in examples/index.yaml it reports the median wall time of N rounds (each
round runs the three in turn, so machine noise hits them alike) of:
  helm      `helm template` with the preset and model files (one process)
  mst-api   what `mst template` does in-process: load + layer + schema check + one helm run
  mst-cli   the `mst template` command end to end (adds Python start-up and imports; it
            starts helm first and checks the values while helm renders)
then renders N distinct releases through the API, and times the schema check of one file.
"""

from __future__ import annotations

import argparse
import compileall
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from modelservice_tool.helm import find_helm  # noqa: E402
from modelservice_tool.layers_io import Inputs, load_layers, schema_problems  # noqa: E402
from modelservice_tool.paths import chart_dir  # noqa: E402
from modelservice_tool.release import Release  # noqa: E402


def median_ms(action: Callable[[], object], runs: int) -> float:
    """Median wall time of `runs` calls, in milliseconds (after one warm-up call)."""
    return interleaved_medians([action], runs)[0]


def interleaved_medians(actions: list[Callable[[], object]], runs: int) -> list[float]:
    """Median wall time (ms) of each action over `runs` rounds that run every action once,
    in turn, so that machine noise hits all of them alike (one warm-up round first)."""
    for action in actions:
        action()
    times: list[list[float]] = [[] for _ in actions]
    for _ in range(runs):
        for index, action in enumerate(actions):
            start = time.perf_counter()
            action()
            times[index].append((time.perf_counter() - start) * 1000)
    return [statistics.median(series) for series in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--releases", type=int, default=100)
    options = parser.parse_args()

    # Time the package as pip installs it: with current bytecode (an edited module would
    # otherwise be compiled on every run under PYTHONDONTWRITEBYTECODE).
    compileall.compile_dir(REPO / "modelservice_tool", quiet=1)
    helm, chart = find_helm(), chart_dir()
    samples = yaml.safe_load((REPO / "examples" / "index.yaml").read_text())["samples"]
    version = subprocess.run([helm, "version", "--short"], capture_output=True, text=True)
    print(f"helm: {version.stdout.strip()}  runs per figure: {options.runs} (median)")
    print(f"{'sample':<26}{'helm ms':>9}{'mst-api ms':>12}{'overhead':>10}{'mst-cli ms':>12}"
          f"{'cli/helm':>10}")
    ratios, cli_ratios = [], []
    for sample in samples:
        preset = REPO / "presets" / f"{sample['preset']}.yaml"
        model = REPO / "examples" / sample["file"]
        helm_args = [helm, "template", sample["release"], str(chart), "-f", str(preset),
                     "-f", str(model)]
        inputs = Inputs((sample["preset"],), (model,))
        cli_args = [str(Path(sys.executable).parent / "mst"), "template", "-p",
                    sample["preset"], "-f", str(model), "--release", sample["release"]]
        helm_ms, api_ms, cli_ms = interleaved_medians([
            lambda a=helm_args: subprocess.run(a, capture_output=True, check=True),
            lambda i=inputs, r=sample["release"]: Release(i, r, "default", chart).render(),
            lambda a=cli_args: subprocess.run(a, capture_output=True, check=True, cwd=REPO),
        ], options.runs)
        ratios.append(api_ms / helm_ms)
        cli_ratios.append(cli_ms / helm_ms)
        print(f"{sample['name']:<26}{helm_ms:>9.1f}{api_ms:>12.1f}"
              f"{(api_ms / helm_ms - 1) * 100:>9.1f}%{cli_ms:>12.1f}{cli_ms / helm_ms:>9.2f}x")
    print(f"median mst-api overhead over helm: {(statistics.median(ratios) - 1) * 100:.1f}%")
    print(f"mst template CLI / helm template: median {statistics.median(cli_ratios):.2f}x, "
          f"worst {max(cli_ratios):.2f}x (target: at most 1.5x)")

    base = samples[0]
    start = time.perf_counter()
    for index in range(options.releases):
        Release(Inputs((base["preset"],), (REPO / "examples" / base["file"],),
                       (f"decode.replicas={index % 8 + 1}",)),
                f"release-{index}", f"ns-{index % 10}", chart).render()
    total = time.perf_counter() - start
    print(f"{options.releases} distinct releases rendered: {total:.2f} s "
          f"({total / options.releases * 1000:.1f} ms each)")

    inputs = Inputs(("pd-a100",), (REPO / "examples" / "gpt-oss-120b-pd.yaml",))
    layered, _ = load_layers(inputs, chart)
    schema_problems(layered, chart)
    check_ms = median_ms(lambda: schema_problems(layered, chart), options.runs)
    load_ms = median_ms(lambda: load_layers(inputs, chart), options.runs)
    print(f"schema check of one layered file: {check_ms:.2f} ms (loading + layering: "
          f"{load_ms:.2f} ms)")


if __name__ == "__main__":
    main()
