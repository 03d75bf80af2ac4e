"""Evaluate a variant on a real cluster: install it, wait until it serves, bench it, uninstall.

helm and kubectl run as subprocesses with the same files and `--set` items `mst template`
renders, so what is deployed is exactly the variant that was planned and validated. The wait
for readiness is `mst status --wait`'s: progress names per role how many pods are scheduled,
ready, or pending with the scheduler's reason, and so does the error at the deadline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .. import helm, lifecycle
from ..bench.harnesses import DEFAULT as DEFAULT_HARNESS
from ..bench.kube import Kubectl
from ..bench.plan import LoadSettings, plan_bench, resolve
from ..bench.results import parse_guidellm
from ..bench.runner import Progress, run_job
from ..errors import UserError
from ..release import Release
from .search import Evaluation
from .variants import RenderedVariant, variant_release

if TYPE_CHECKING:
    from ..bench.output import LlmdReports

DESCRIPTION = "mst sweep variant"


@dataclass
class ClusterEvaluator:
    """Deploy -> wait ready -> bench -> record -> uninstall, one variant at a time."""

    base: Release
    load: LoadSettings
    output_dir: Path
    progress: Progress
    context: str | None = None
    ready_timeout: int = 1800
    llmd_experiment: str | None = None  # write llm-d benchmark reports under this experiment
    _checked: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        if self.load.harness.name != DEFAULT_HARNESS and not self.llmd_experiment:
            raise UserError(f"--harness {self.load.harness.name}: mst reads its results "
                            "through the llm-d benchmark reports it writes: drop "
                            "--no-llmd-reports")

    def _helm(self, *args: str) -> str:
        context = ["--kube-context", self.context] if self.context else []
        return helm.run_helm([*args, "--namespace", self.base.namespace, *context])

    def check_release_is_ours(self) -> None:
        """Refuse to overwrite a release the sweep did not install (UserError); checked once."""
        if self._checked:
            return
        try:
            status = json.loads(self._helm("status", self.base.name, "-o", "json"))
        except UserError as error:
            if "not found" in str(error):
                return
            raise
        description = status.get("info", {}).get("description", "")
        if not description.startswith(DESCRIPTION):
            raise UserError(f"release {self.base.name} already exists and was not installed by "
                            "mst sweep; sweep under a release name that is not in use")
        self._checked = True

    def _install(self, rendered: RenderedVariant) -> None:
        release = variant_release(self.base, rendered.variant)
        args = ["upgrade", "--install", release.name, str(release.chart),
                "--description", f"{DESCRIPTION} {rendered.variant.id}"]
        for path in release.inputs.files():
            args += ["-f", str(path)]
        for item in release.inputs.set_values:
            args += ["--set", item]
        self._helm(*args)
        self._wait_ready(rendered)

    def _wait_ready(self, rendered: RenderedVariant) -> None:
        """Until every role is ready; progress when the pods' state changes, a UserError
        naming it (and the scheduler's reason for pending pods) after `ready_timeout`."""
        target = lifecycle.Target(self.base.name, self.base.namespace, context=self.context)
        last = ""
        for state in lifecycle.watch(target, timeout=self.ready_timeout,
                                     interval=min(5, self.ready_timeout)):
            line = "; ".join(role.summary() for role in state.pods) or state.summary()
            if line != last:
                self.progress(f"[{rendered.variant.label()}] {line}")
                last = line

    def _uninstall(self) -> None:
        try:
            self._helm("uninstall", self.base.name, "--wait", "--timeout", "600s")
        except UserError as error:
            if "not found" not in str(error):
                self.progress(f"warning: uninstall of {self.base.name} failed: {error}")

    def __call__(self, rendered: RenderedVariant) -> Evaluation:
        """Benchmark one valid variant; the cluster is left without the release afterwards."""
        self.check_release_is_ours()
        variant = rendered.variant
        try:
            self.progress(f"[{variant.label()}] installing {self.base.name}")
            self._install(rendered)
            plan = resolve(plan_bench(list(rendered.objects), release=self.base.name,
                                      namespace=self.base.namespace, load=self.load),
                           self.context)
            self.progress(f"[{variant.label()}] ready; benchmarking {plan.target} with "
                          f"{self.load.harness.name}")
            doc = run_job(Kubectl(self.base.namespace, self.context), plan.job,
                          points=plan.points, progress=self.progress)
        finally:
            self._uninstall()
        return self.record(rendered, doc, target=plan.target, model=plan.model)

    def record(self, rendered: RenderedVariant, doc: dict, *, target: str = "?",
               model: str = "?") -> Evaluation:
        """Keep what the bench Job printed for one variant and read its result: guidellm's
        JSON in `<output>/<variant id>.json`; another harness's native files and their llm-d
        reports (which its result is read from) in `<output>/<variant id>/`."""
        variant = rendered.variant
        harness = self.load.harness
        if harness.name != DEFAULT_HARNESS:
            from ..bench.output import native_result

            folder = self.output_dir / variant.id
            result = native_result(harness, doc, folder, self._reports(rendered),
                                   target=target, model=model)
            self.progress(f"[{variant.label()}] {harness.name} files and llm-d benchmark "
                          f"reports in {folder}/")
            return Evaluation(result, str(folder))
        self.output_dir.mkdir(parents=True, exist_ok=True)
        artifact = self.output_dir / f"{variant.id}.json"
        artifact.write_text(json.dumps(doc) + "\n")
        result = parse_guidellm(doc)
        if self.llmd_experiment:
            self._llmd_reports(rendered, artifact, doc)
        return Evaluation(result, str(artifact))

    def _reports(self, rendered: RenderedVariant) -> LlmdReports:
        """How the variant's llm-d benchmark reports describe it: its stack as rendered,
        one experiment id over the whole sweep (set: __post_init__ requires it here)."""
        from ..bench.output import LlmdReports
        from ..bench.stack import stack_components

        label = rendered.variant.label()
        return LlmdReports(self.base.name, stack_components(rendered.objects),
                           str(self.llmd_experiment),
                           lambda line: self.progress(f"[{label}] {line}"))

    def _llmd_reports(self, rendered: RenderedVariant, artifact: Path, doc: dict) -> None:
        """One llm-d benchmark report per load point in `<output>/<variant id>/`, the stack
        of the variant as rendered, one experiment id over the whole sweep."""
        from ..bench.llmd_report import RunInfo, write_guidellm_reports
        from ..bench.stack import stack_components

        variant = rendered.variant
        run = RunInfo(str(self.llmd_experiment),
                      f"mst sweep {self.base.name} {variant.id} ({variant.label()})")
        paths, warnings = write_guidellm_reports(
            artifact, doc, stack=stack_components(rendered.objects), run=run,
            folder=self.output_dir / variant.id)
        for warning in warnings:
            self.progress(f"[{variant.label()}] llmd-benchmark-report: {warning}")
        self.progress(f"[{variant.label()}] {len(paths)} llm-d benchmark report(s) in "
                      f"{self.output_dir / variant.id}/")
