"""`mst kustomize-base`: write a kustomize base that renders one release through `helmCharts`.

kustomize only reads values files inside the kustomization directory, so the base holds
copies of the preset and model files under `values/`; the chart itself is referenced
through `helmGlobals.chartHome`, a path relative to the base. `kubectl kustomize
--enable-helm DIR` then renders exactly what `helm template -f PRESET -f MODEL` renders.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import yaml

from .errors import UserError
from .layers_io import Inputs
from .release import Release

VALUES_DIR = "values"


def _copy_names(files: list[Path]) -> list[str]:
    """File names for the copies under values/: the originals' names, numbered on clashes."""
    names: list[str] = []
    for index, path in enumerate(files):
        name = path.name
        if name in names:
            name = f"{index:02d}-{name}"
        names.append(name)
    return names


def kustomization(files: list[str], *, release: str, namespace: str, chart: Path,
                  base_dir: Path) -> dict[str, Any]:
    """The kustomization document: one helmCharts entry, values files in layer order."""
    entry: dict[str, Any] = {
        "name": chart.name,
        "releaseName": release,
        # kustomize 5.8 does not set an overlay namespace on helm output: helm must get it.
        "namespace": namespace,
        "valuesFile": files[0],
        # the `helm test` pod is a hook, not an object to apply with the release
        "skipTests": True,
    }
    if files[1:]:
        entry["additionalValuesFiles"] = files[1:]
    chart_home = os.path.relpath(chart.resolve().parent, base_dir.resolve())
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "helmGlobals": {"chartHome": chart_home},
        "helmCharts": [entry],
    }


def _header(inputs: Inputs, base_dir: Path, release: str, namespace: str) -> str:
    command = " ".join(["mst kustomize-base", *(f"-p {p}" for p in inputs.presets),
                        *(f"-f {v}" for v in inputs.values),
                        f"--release {release} -n {namespace} {base_dir}"])
    lines = [
        f"Kustomize base of release {release}, written by",
        f"  {command}",
        f"`kubectl kustomize --enable-helm {base_dir}` renders what `helm template",
        "--skip-tests` renders for the same files. values/ holds copies of the layers",
        "(kustomize reads files only inside this directory): rerun the command with",
        "--force after changing the originals. Put patches in overlays, not here.",
    ]
    return "".join(f"# {line}\n" for line in lines)


def write_base(inputs: Inputs, base_dir: Path, *, release: str, namespace: str,
               chart: Path, force: bool = False) -> list[Path]:
    """Validate the layers, render them once, then write the base; returns written files."""
    if not inputs.files():
        raise UserError("give the layers: --preset NAME and/or --values FILE (the model values)")
    Release(inputs, release, namespace, chart).render()  # values and chart errors now
    target = base_dir / "kustomization.yaml"
    if target.exists() and not force:
        raise UserError(f"{target} exists; pass --force to overwrite it")
    sources = inputs.files()
    names = _copy_names(sources)
    (base_dir / VALUES_DIR).mkdir(parents=True, exist_ok=True)
    written = []
    for source, name in zip(sources, names, strict=True):
        copy = base_dir / VALUES_DIR / name
        shutil.copyfile(source, copy)
        written.append(copy)
    document = kustomization([f"{VALUES_DIR}/{name}" for name in names], release=release,
                             namespace=namespace, chart=chart, base_dir=base_dir)
    text = _header(inputs, base_dir, release, namespace)
    target.write_text(text + yaml.safe_dump(document, sort_keys=False))
    return [target, *written]
