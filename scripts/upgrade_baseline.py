#!/usr/bin/env python3
"""Store the rendering of every sample at the current chart version, for upgrade checks.

Writes tests/upgrade_baseline/<chart version>/<sample>.yaml: `helm template` of each sample
in examples/index.yaml (its preset, then its model file, its release name, namespace
`upgrade-check`). tests/test_upgrade.py renders HEAD the same way and compares it with the
newest stored version (modelservice_tool.upgrade, the engine of `mst diff`): breaking
changes and removed objects fail, pod template changes (restarts) are printed; its
upgrade scenarios start from these renderings too.

Run it when cutting a chart release (after bumping Chart.yaml `version`), see README.md
"Cutting a chart release".

Usage::

    python3 scripts/upgrade_baseline.py            # write the current version's baseline
    python3 scripts/upgrade_baseline.py --force    # overwrite an existing one
    python3 scripts/upgrade_baseline.py --ref HEAD # render a commit, not the work tree
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
BASELINES = REPO / "tests" / "upgrade_baseline"
NAMESPACE = "upgrade-check"


def chart_version(root: Path = REPO) -> str:
    """`version` of charts/modelservice/Chart.yaml."""
    chart = root / "charts" / "modelservice" / "Chart.yaml"
    return str(yaml.safe_load(chart.read_text())["version"])


def helm_binary() -> str:
    """$MST_HELM, else the pinned .tools/bin/helm, else helm on PATH."""
    for candidate in (os.environ.get("MST_HELM"), REPO / ".tools" / "bin" / "helm",
                      shutil.which("helm")):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    sys.exit("helm not found: run `python scripts/install_tools.py` or set MST_HELM")


def render_sample(sample: dict[str, str], helm: str, root: Path = REPO) -> str:
    """`helm template` of one sample (preset, then model file) in the baseline namespace,
    with the chart, presets and examples below `root`."""
    command = [helm, "template", sample["release"], str(root / "charts" / "modelservice"),
               "--namespace", NAMESPACE,
               "-f", str(root / "presets" / f"{sample['preset']}.yaml"),
               "-f", str(root / "examples" / sample["file"])]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"helm template failed for {sample['name']}:\n{result.stderr}")
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="overwrite an existing baseline")
    parser.add_argument("--ref", help="render this git commit/tag instead of the work tree")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = export(args.ref, Path(scratch)) if args.ref else REPO
        write_baseline(root, force=args.force)


def export(ref: str, directory: Path) -> Path:
    """The chart, presets and examples of a git ref, unpacked into `directory`."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "charts", "presets",
                              "examples"], capture_output=True, check=False)
    if archive.returncode != 0:
        sys.exit(f"git archive {ref} failed: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(directory)], input=archive.stdout, check=True)
    return directory


def write_baseline(root: Path, *, force: bool) -> None:
    """Render every sample of `root` into tests/upgrade_baseline/<its chart version>/."""
    target = BASELINES / chart_version(root)
    if target.exists() and not force:
        sys.exit(f"{target.relative_to(REPO)} exists: a released version's baseline never "
                 "changes (bump Chart.yaml `version`, or --force for an unreleased one)")
    helm = helm_binary()
    samples = yaml.safe_load((root / "examples" / "index.yaml").read_text())["samples"]
    target.mkdir(parents=True, exist_ok=True)
    for sample in samples:
        (target / f"{sample['name']}.yaml").write_text(render_sample(sample, helm, root))
    print(f"wrote {len(samples)} sample renderings to {target.relative_to(REPO)}/")


if __name__ == "__main__":
    main()
