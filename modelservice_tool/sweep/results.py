"""The sweep results file: one JSON object per line, appended as each variant finishes.

The format is documented in docs/sweep-results.md; `SCHEMA` names its version.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from ..errors import UserError

SCHEMA = "mst.sweep.result/v1"
Record = dict[str, Any]


def now() -> str:
    """UTC time as ISO 8601 (seconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class ResultsFile:
    """A JSON-lines file of records, read whole and appended one line at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> list[Record]:
        """Every record, in file order ([] when the file does not exist)."""
        if not self.path.exists():
            return []
        records = []
        for number, line in enumerate(self.path.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as error:
                raise UserError(f"{self.path}:{number}: not a JSON line ({error})") from None
            if not isinstance(record, dict) or record.get("schema") != SCHEMA:
                raise UserError(f"{self.path}:{number}: not a {SCHEMA} record")
            records.append(record)
        return records

    def append(self, record: Record) -> None:
        """Add one record and flush it to disk (a killed sweep loses nothing recorded)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as stream:
            stream.write(json.dumps(record, sort_keys=False) + "\n")
            stream.flush()
            os.fsync(stream.fileno())

    def finished(self, base_digest: str, *, retry_failed: bool = False) -> dict[str, Record]:
        """Records to reuse on resume, by variant id (the last record of each id wins).

        Refuses a file written for another base: its variants rendered different manifests.
        """
        reuse: dict[str, Record] = {}
        for record in self.load():
            if record.get("base", {}).get("digest") != base_digest:
                raise UserError(f"{self.path} holds results of a different base release (its "
                                "rendered manifests differ); use another --results file")
            if record["status"] == "failed" and retry_failed:
                reuse.pop(record["variant_id"], None)
                continue
            reuse[record["variant_id"]] = record
        return reuse
