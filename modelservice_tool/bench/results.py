"""guidellm result JSON: trimming, extraction from Job logs, and the numbers a report needs."""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import UserError

BEGIN_MARKER = "=== mst-bench-result gzip+base64 begin ==="
END_MARKER = "=== mst-bench-result end ==="
# Per-request samples and per-modality breakdowns: most of the file, unused by the report.
TRIMMED_METRICS = ("text", "image", "video", "audio", "tool_call")
PERCENTILES = ("p50", "p90", "p99")


def trim_result(doc: dict[str, Any]) -> dict[str, Any]:
    """The document without per-request samples and per-modality metrics (in place)."""
    for benchmark in doc.get("benchmarks", []):
        benchmark.pop("requests", None)
        for key in TRIMMED_METRICS:
            benchmark.get("metrics", {}).pop(key, None)
    return doc


def extract_from_logs(logs: str) -> dict[str, Any]:
    """The result document the bench Job printed between the markers of its log."""
    lines = logs.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == BEGIN_MARKER)
        end = next(i for i in range(start + 1, len(lines)) if lines[i].strip() == END_MARKER)
    except StopIteration:
        tail = "\n".join(lines[-20:])
        raise UserError(f"the bench Job printed no result; last log lines:\n{tail}") from None
    payload = "".join(line.strip() for line in lines[start + 1:end])
    try:
        return json.loads(gzip.decompress(base64.b64decode(payload)))
    except (ValueError, OSError) as error:
        raise UserError(f"the bench Job's result is corrupt: {error}") from None


@dataclass(frozen=True)
class Latency:
    """Percentiles of one latency, in milliseconds."""

    p50: float
    p90: float
    p99: float


@dataclass(frozen=True)
class LoadPoint:
    """One guidellm benchmark: the load it held and what the server did under it."""

    label: str
    strategy: str
    setpoint: float | None  # requested rate (req/s) or streams; None for sync/throughput
    request_rate: float  # achieved requests/s, all requests
    concurrency: float  # mean requests in flight
    output_tps: float
    total_tps: float
    ttft_ms: Latency
    itl_ms: Latency
    e2e_ms: Latency
    successful: int
    errored: int
    incomplete: int
    duration_s: float

    @property
    def error_rate(self) -> float:
        """Errored requests over all requests."""
        total = self.successful + self.errored + self.incomplete
        return self.errored / total if total else 0.0

    def metrics(self) -> dict[str, float]:
        """Flat metrics by name (`ttft_p90_ms`, `output_tps`, ...): what objectives use."""
        flat: dict[str, float] = {
            "request_rate": self.request_rate, "concurrency": self.concurrency,
            "output_tps": self.output_tps, "total_tps": self.total_tps,
            "error_rate": self.error_rate,
        }
        for name in ("ttft", "itl", "e2e"):
            latency = getattr(self, f"{name}_ms")
            flat.update({f"{name}_{p}_ms": getattr(latency, p) for p in PERCENTILES})
        return flat

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self) | {"error_rate": self.error_rate}


@dataclass(frozen=True)
class BenchResult:
    """Every load point of one run, in load order, with what produced them."""

    tool: str
    target: str
    model: str
    points: tuple[LoadPoint, ...]
    warnings: tuple[str, ...] = ()

    def peak(self) -> LoadPoint:
        """The load point with the highest output token throughput."""
        return max(self.points, key=lambda point: point.output_tps)


def _stats(metrics: dict[str, Any], name: str, group: str) -> dict[str, Any]:
    value = metrics.get(name)
    if not isinstance(value, dict) or group not in value:
        raise UserError(f"guidellm result has no metrics.{name}.{group}: not guidellm 0.8 JSON?")
    return value[group]


def _latency(metrics: dict[str, Any], name: str, scale: float = 1.0) -> Latency:
    percentiles = _stats(metrics, name, "successful")["percentiles"]
    return Latency(*(float(percentiles[p]) * scale for p in PERCENTILES))


def _point(benchmark: dict[str, Any]) -> LoadPoint:
    strategy = benchmark["config"]["strategy"]
    kind = strategy.get("type_", "?")
    setpoint = strategy.get("rate", strategy.get("streams"))
    metrics = benchmark["metrics"]
    totals = metrics["request_totals"]
    return LoadPoint(
        label=kind if setpoint is None else f"{kind}@{setpoint:.2f}".rstrip("0").rstrip("."),
        strategy=kind,
        setpoint=None if setpoint is None else float(setpoint),
        request_rate=float(_stats(metrics, "requests_per_second", "total")["mean"]),
        concurrency=float(_stats(metrics, "request_concurrency", "total")["mean"]),
        output_tps=float(_stats(metrics, "output_tokens_per_second", "total")["mean"]),
        total_tps=float(_stats(metrics, "tokens_per_second", "total")["mean"]),
        ttft_ms=_latency(metrics, "time_to_first_token_ms"),
        itl_ms=_latency(metrics, "inter_token_latency_ms"),
        e2e_ms=_latency(metrics, "request_latency", scale=1000.0),
        successful=int(totals.get("successful", 0)),
        errored=int(totals.get("errored", 0)),
        incomplete=int(totals.get("incomplete", 0)),
        duration_s=float(benchmark.get("duration", 0.0)),
    )


def parse_guidellm(doc: dict[str, Any]) -> BenchResult:
    """The load points of a guidellm 0.8 `benchmarks.json` (full or trimmed)."""
    benchmarks = doc.get("benchmarks") if isinstance(doc, dict) else None
    if not benchmarks:
        raise UserError("guidellm result has no benchmarks")
    try:
        points = [_point(b) for b in benchmarks]
        backend = doc.get("config", {}).get("spec", {}).get("backend", {})
    except (KeyError, TypeError, ValueError) as error:
        raise UserError(f"unexpected guidellm result format: missing {error}") from None
    warnings = tuple(f"{p.label}: {w.get('message', w)}"
                     for p, b in zip(points, benchmarks, strict=True)
                     for w in b.get("warnings") or [])
    version = doc.get("metadata", {}).get("guidellm_version", "?")
    return BenchResult(tool=f"guidellm {version}", target=backend.get("target", "?"),
                       model=backend.get("model", "?"), points=tuple(points),
                       warnings=warnings)


def load_result_file(text: str) -> dict[str, Any]:
    """A guidellm JSON document from a file's text (UserError when it is not JSON)."""
    try:
        doc = json.loads(text)
    except ValueError as error:
        raise UserError(f"not a guidellm JSON result: {error}") from None
    if not isinstance(doc, dict):
        raise UserError("not a guidellm JSON result: the top level is not an object")
    return doc
