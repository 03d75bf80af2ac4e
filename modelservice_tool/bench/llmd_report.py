"""llm-d benchmark reports (v0.2.x) from a harness's native output, with the stack filled.

Conversion and validation are the `llmd-benchmark-report` package's own (its guidellm
converter, its loader); `mst` adds what only it knows: `scenario.stack` (from the
release, see `stack.py`), the harness version in `scenario.load.standardized.tool_version`,
and the run identity. File names follow llm-d-benchmark's convention
(`benchmark_report_v0.2,_<native file>_<i>.yaml`) so its analysis tools find them.
The package needs Python >= 3.11 and is imported only here, when reports are written.
"""

from __future__ import annotations

import contextlib
import io
import re
import uuid
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from ..errors import UserError
from .harnesses import Harness
from .stack import config_id

PACKAGE = "llmd-benchmark-report"
MINIMUM, BELOW = (0, 2, 1), (0, 3)
REPORT_PREFIX = "benchmark_report_v0.2,_"
HOW_TO_GET = (f"pip install '{PACKAGE}>=0.2.1,<0.3' (Python >= 3.11; it is part of the "
              "`bench` extra), or pass --no-llmd-reports")
# A converter warning mst answers itself by setting run.eid.
_EID_WARNING = "no experiment ID"


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def require() -> ModuleType:
    """The `llmd_benchmark_report` module, or a UserError (exit 2) saying how to get it."""
    try:
        version = metadata.version(PACKAGE)
        import llmd_benchmark_report
    except (ImportError, metadata.PackageNotFoundError):
        raise UserError(f"llm-d benchmark reports need the {PACKAGE} package, which is not "
                        f"installed: {HOW_TO_GET}") from None
    if not MINIMUM <= _version_tuple(version) < BELOW:
        raise UserError(f"{PACKAGE} {version} is installed; mst writes v0.2 reports with "
                        f"0.2.1 <= version < 0.3: {HOW_TO_GET}")
    return llmd_benchmark_report


def report_name(native: str, index: int | None = None) -> str:
    """`benchmark_report_v0.2,_<native>[_<index>].yaml`, as llm-d-benchmark names them."""
    return f"{REPORT_PREFIX}{native}{'' if index is None else f'_{index}'}.yaml"


@dataclass(frozen=True)
class RunInfo:
    """What identifies a run in its reports: an experiment id (hashed into `run.eid`) and
    a description."""

    experiment: str
    description: str


def validate(doc: dict[str, Any]) -> Any:
    """The report loaded by the package's own loader (UserError naming the problems)."""
    package = require()
    try:
        return package.load_benchmark_report(doc)
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        raise UserError(f"the llm-d benchmark report does not validate: {error}") from None


def _quiet(call: Any, *args: Any) -> tuple[Any, list[str]]:
    """Call a converter, collecting what it writes to stderr (its warnings)."""
    buffer = io.StringIO()
    with contextlib.redirect_stderr(buffer):
        result = call(*args)
    lines = [line for line in buffer.getvalue().splitlines()
             if line.strip() and _EID_WARNING not in line]
    return result, lines


def _complete(doc: dict[str, Any], *, stack: list[dict[str, Any]], tool_version: str,
              run: RunInfo) -> dict[str, Any]:
    scenario = doc.setdefault("scenario", {})
    if stack:
        scenario["stack"] = stack
    scenario.setdefault("load", {}).setdefault("standardized", {})["tool_version"] = tool_version
    doc["run"]["eid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, run.experiment))
    doc["run"].setdefault("description", run.description)
    return doc


def guidellm_reports(result_file: Path, guidellm_doc: dict[str, Any], *,
                     stack: list[dict[str, Any]], run: RunInfo
                     ) -> tuple[list[dict[str, Any]], list[str]]:
    """One validated v0.2 report per benchmark of a guidellm result file, and the
    converter's warnings. `guidellm_doc` is the same file parsed (for its version)."""
    require()
    from llmd_benchmark_report.native_to_br0_2 import import_guidellm

    version = str(guidellm_doc.get("metadata", {}).get("guidellm_version", ""))
    reports, warnings = [], []
    for index in range(len(guidellm_doc.get("benchmarks") or [])):
        try:
            report, lines = _quiet(import_guidellm, str(result_file), index)
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise UserError(f"{result_file}: benchmark {index} cannot be converted to an "
                            f"llm-d benchmark report: {type(error).__name__}: {error}") from None
        warnings += lines
        doc = _complete(report.dump(), stack=stack, tool_version=version, run=run)
        reports.append(validate(doc).dump())
    return reports, warnings


def _merge(into: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def harness_reports(harness: Harness, folder: Path, files: dict[str, Any], version: str, *,
                    stack: list[dict[str, Any]], run: RunInfo
                    ) -> tuple[list[dict[str, Any]], list[str]]:
    """One validated v0.2 report per load point of a harness's native files (written in
    `folder`, parsed in `files`), and the converter's warnings. The package's converter
    for the harness reads each file; the load description the converter cannot know
    (lengths, source, the tool's args or config: `Harness.load_description`) is added."""
    require()
    from llmd_benchmark_report import native_to_br0_2

    convert = getattr(native_to_br0_2, harness.converter)
    names = harness.result_files(list(files))
    if not names:
        raise UserError(f"{folder}: no {harness.name} result files ({', '.join(files) or 'empty'})")
    reports, warnings = [], []
    for index, name in enumerate(names):
        try:
            report, lines = _quiet(convert, str(folder / name))
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise UserError(f"{folder / name}: cannot be converted to an llm-d benchmark "
                            f"report: {type(error).__name__}: {error}") from None
        warnings += lines
        doc = report.dump()
        described = harness.load_description(name, files, index)
        _merge(doc["scenario"]["load"], described)
        if described.get("native"):
            doc["scenario"]["load"]["metadata"]["cfg_id"] = config_id(described["native"])
        doc = _complete(doc, stack=stack, tool_version=version, run=run)
        reports.append(validate(doc).dump())
    return reports, warnings


def write_report(report: dict[str, Any], output_dir: Path, native: str,
                 index: int | None = None) -> Path:
    """Write one report beside its native file (`report_name`); its path."""
    path = output_dir / report_name(native, index)
    path.write_text(yaml.safe_dump(report, sort_keys=False))
    return path


def write_reports(reports: list[dict[str, Any]], output_dir: Path, native: str) -> list[Path]:
    """Write the reports beside the native file, `..._<native>_<i>.yaml`; their paths."""
    return [write_report(report, output_dir, native, index)
            for index, report in enumerate(reports)]


def write_guidellm_reports(native: Path, doc: dict[str, Any], *, stack: list[dict[str, Any]],
                           run: RunInfo, folder: Path | None = None
                           ) -> tuple[list[Path], list[str]]:
    """Convert, validate and write the reports of one guidellm result file (into `folder`,
    default beside it); the paths written and the converter's warnings."""
    reports, warnings = guidellm_reports(native, doc, stack=stack, run=run)
    target = folder or native.parent
    target.mkdir(parents=True, exist_ok=True)
    return write_reports(reports, target, native.name), warnings
