"""Layered rendering: presets and model values handed to `helm template` in order, and the
rendered objects written one file each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import helm
from .errors import UserError
from .layers_io import Inputs


def start_render(inputs: Inputs, chart: Path, *, release: str, namespace: str,
                 kube_version: str | None = None) -> helm.HelmRun:
    """`helm template` for these inputs, started; read it with `.result()`."""
    args = helm.template_args(chart, inputs.files(), release=release, namespace=namespace,
                              set_values=inputs.set_values, kube_version=kube_version)
    return helm.HelmRun.start(args)


def render(inputs: Inputs, chart: Path, *, release: str, namespace: str,
           kube_version: str | None = None) -> str:
    """The manifests `helm template` renders for these inputs (one helm process).

    The files go to helm as `-f` in layer order and `--set` items as given, so the output
    is byte-for-byte what plain helm prints for the same command line.
    """
    return start_render(inputs, chart, release=release, namespace=namespace,
                        kube_version=kube_version).result()


RECORD = ".mst-objects"


def write_objects(manifests: str, output_dir: Path) -> tuple[int, int]:
    """One `<kind>-<name>.yaml` file per rendered object, `helm test` hooks left out (an
    `kubectl apply -f DIR` would create them as ordinary pods). DIR holds exactly this
    render afterwards: files an earlier `mst template -o` wrote (listed in `.mst-objects`)
    are removed; a DIR with files mst did not write is refused before anything changes.
    Returns the numbers of objects written and hooks left out."""
    import yaml

    from .manifests import load_manifests, object_id

    objects = load_manifests(manifests)
    tests = [obj for obj in objects if _is_test_hook(obj)]
    files = {f"{object_id(obj).replace('/', '-').lower()}.yaml":
             yaml.safe_dump(obj, sort_keys=False) for obj in objects if obj not in tests}
    earlier = _earlier_render(output_dir)
    for name in earlier:
        (output_dir / name).unlink(missing_ok=True)
    output_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (output_dir / name).write_text(text)
    (output_dir / RECORD).write_text("".join(f"{name}\n" for name in sorted(files)))
    return len(files), len(tests)


def _earlier_render(output_dir: Path) -> list[str]:
    """Files a previous `mst template -o` wrote into DIR; UserError when DIR is not a
    directory or holds anything else."""
    if not output_dir.exists():
        return []
    if not output_dir.is_dir():
        raise UserError(f"--output-dir {output_dir} is a file, not a directory: "
                        "name a new or empty directory")
    record = output_dir / RECORD
    ours = set(record.read_text().split()) if record.is_file() else set()
    foreign = sorted(p.name for p in output_dir.iterdir() if p.name not in ours | {RECORD})
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise UserError(f"--output-dir {output_dir} holds files mst did not write ({shown}): "
                        "mst writes only into a new or empty directory, or one it wrote "
                        "before (whose old objects it replaces); name another directory")
    return sorted(ours)


def _is_test_hook(obj: dict[str, Any]) -> bool:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return "test" in str(annotations.get("helm.sh/hook", "")).split(",")
