"""What `mst bench` writes: the native result files of its harness, its summary and plots,
and the llm-d benchmark reports (v0.2) with the release's stack; reading a saved run back.
Warnings go to the `tell` callback the command gives (the core prints nothing itself)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..manifests import Manifest
from .harnesses import DEFAULT as DEFAULT_HARNESS
from .harnesses import Harness, get_harness
from .report import markdown, write_report
from .results import BenchResult, load_result_file, parse_guidellm
from .stack import stack_components

RESULT_FILE = "result.json"
# Which harness (and version) wrote the native files of a report folder.
HARNESS_FILE = "mst-harness.json"


def report(result_doc: dict[str, Any], output_dir: Path, title: str, *,
           llmd: LlmdReports | None = None) -> str:
    """Write the result, its report and (with `llmd`) the llm-d benchmark reports into
    `output_dir`; the summary markdown."""
    output_dir.mkdir(parents=True, exist_ok=True)
    result = parse_guidellm(result_doc)
    native = output_dir / RESULT_FILE
    native.write_text(json.dumps(result_doc) + "\n")
    files = write_report(result, output_dir, title)
    if llmd is not None:
        llmd.write(native, result_doc)
    return markdown(result, title, files.plots)


def write_native(harness: Harness, doc: dict[str, Any], output_dir: Path) -> str:
    """Write a harness's collected native files (`doc["files"]`) and the file naming the
    harness into `output_dir`; the harness version that wrote them."""
    output_dir.mkdir(parents=True, exist_ok=True)
    files, version = doc.get("files") or {}, str(doc.get("version") or harness.version)
    for name, content in files.items():
        path = output_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else json.dumps(content) + "\n")
    (output_dir / HARNESS_FILE).write_text(json.dumps({"harness": harness.name,
                                                       "version": version}) + "\n")
    return version


def native_result(harness: Harness, doc: dict[str, Any], output_dir: Path,
                  llmd: LlmdReports, *, target: str = "?", model: str = "?") -> BenchResult:
    """Write a harness's native files and their llm-d benchmark reports into `output_dir`;
    the load points read from those reports (a harness other than guidellm is summarised
    through its reports, converted by the llm-d package's own converters)."""
    from .llmd_points import bench_result

    version = write_native(harness, doc, output_dir)
    reports = llmd.write_harness(harness, output_dir, doc.get("files") or {}, version)
    return bench_result(reports, tool=f"{harness.name} {version}", target=target,
                        model=model)


def report_native(harness: Harness, doc: dict[str, Any], output_dir: Path, title: str, *,
                  llmd: LlmdReports | None, target: str = "?", model: str = "?") -> str:
    """Write a harness's collected native files (`doc["files"]`) into `output_dir`, with
    the llm-d benchmark reports and, from them, the summary; the summary markdown."""
    if llmd is None:
        version = write_native(harness, doc, output_dir)
        return (f"# Benchmark: {title}\n\n{harness.name} {version} results in "
                f"{output_dir}/; the summary is read from the llm-d benchmark reports "
                "(--llmd-reports).\n")
    result = native_result(harness, doc, output_dir, llmd, target=target, model=model)
    files_written = write_report(result, output_dir, title)
    return markdown(result, title, files_written.plots)


def read_native(path: Path) -> tuple[str | None, dict[str, Any]]:
    """A saved run of a harness other than guidellm: a folder as `mst bench` writes it (or
    one result file); the harness it names (None if it does not) and its files."""
    paths = sorted(p for p in path.rglob("*") if p.suffix in (".json", ".yaml")) \
        if path.is_dir() else [path]
    root = path if path.is_dir() else path.parent
    files: dict[str, Any] = {}
    for item in paths:
        name = str(item.relative_to(root))
        if name.startswith(("benchmark_report", "summary.json")):
            continue
        text = item.read_text()
        try:
            files[name] = json.loads(text) if item.suffix == ".json" else text
        except ValueError as error:
            raise UserError(f"{item}: not a JSON result: {error}") from None
    saved = files.pop(HARNESS_FILE, None) or {}
    return saved.get("harness"), {"files": files, "version": saved.get("version", "")}


@dataclass(frozen=True)
class LlmdReports:
    """How `mst bench` describes its run in llm-d benchmark reports."""

    release: str
    stack: list[dict[str, Any]]
    experiment: str
    tell: Callable[[str], None]  # prints one warning line (to stderr)

    def write(self, native: Path, doc: dict[str, Any]) -> list[Path]:
        """One report per benchmark beside the native file; warnings go to stderr."""
        from . import llmd_report

        run = llmd_report.RunInfo(self.experiment, f"mst bench {self.release}")
        paths, warnings = llmd_report.write_guidellm_reports(native, doc, stack=self.stack,
                                                             run=run)
        self._tell(warnings)
        return paths

    def write_harness(self, harness: Harness, folder: Path, files: dict[str, Any],
                      version: str) -> list[dict[str, Any]]:
        """One report per load point of a harness's native files in `folder`; the reports."""
        from . import llmd_report

        run = llmd_report.RunInfo(self.experiment, f"mst bench {self.release} "
                                  f"--harness {harness.name}")
        reports, warnings = llmd_report.harness_reports(harness, folder, files, version,
                                                        stack=self.stack, run=run)
        names = harness.result_files(list(files))
        for name, report in zip(names, reports, strict=True):
            llmd_report.write_report(report, folder, Path(name).name)
        self._tell(warnings)
        return reports

    def _tell(self, warnings: list[str]) -> None:
        from . import llmd_report

        for warning in warnings:
            self.tell(f"mst: {llmd_report.PACKAGE}: {warning}")
        if not self.stack:
            self.tell("mst: note: the llm-d benchmark reports have no scenario.stack: give the "
                      "release's inputs (-p/-f/--set) to describe it")


def llmd_reports(release: str, objects: list[Manifest] | None, tell: Callable[[str], None],
                 gateway_class: str = "") -> LlmdReports:
    """The llm-d report settings of a run (its stack from the release's objects)."""
    return LlmdReports(release, stack_components(objects or [], gateway_class),
                       f"mst-bench-{release}-{time.strftime('%Y%m%d-%H%M%S')}", tell)


def from_saved(harness: Harness, path: Path, folder: Path, title: str,
               llmd: LlmdReports | None) -> str:
    """The report of a saved run (`--from-json`): guidellm's JSON file, or the native
    files of another harness (the harness a folder written by `mst bench` names wins)."""
    if harness.name == DEFAULT_HARNESS and path.is_file():
        return report(load_result_file(path.read_text()), folder, title, llmd=llmd)
    named, doc = read_native(path)
    if named is not None:
        harness = get_harness(named)
    if harness.name == DEFAULT_HARNESS:
        raise UserError(f"{path} is a folder: --from-json takes guidellm's JSON file, or give "
                        f"--harness for another harness's results")
    return report_native(harness, doc, folder, title, llmd=llmd)
