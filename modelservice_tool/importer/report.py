"""The conversion report: every input key mapped, skipped (not needed, with the reason) or
left for the user (with the reason), plus the chart defaults that now apply."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from ..sources import KeyPath, Location, ValuesSource, format_path

Target = KeyPath | str  # a values key path, or a description when there is no single key


class Status(str, Enum):
    """What happened to one input key (or which new default applies)."""

    MAPPED = "mapped"
    DEFAULTED = "defaulted"
    SKIPPED = "not needed"
    UNMAPPED = "needs attention"


@dataclass(frozen=True)
class Entry:
    """One line of the report."""

    status: Status
    source: KeyPath | None
    target: Target
    detail: str
    location: Location | None = None

    @property
    def target_text(self) -> str:
        return format_path(self.target) if isinstance(self.target, tuple) else self.target

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        key = format_path(self.source) if self.source else ""
        target = self.target_text
        arrow = f"{key} -> {target}" if key and target else key or target
        return f"{where}{arrow}" + (f": {self.detail}" if self.detail else "")

    def to_dict(self) -> dict[str, Any]:
        """A plain mapping for machine-readable reports."""
        return {
            "status": self.status.value,
            "source": format_path(self.source) if self.source else None,
            "target": self.target_text or None,
            "detail": self.detail,
            "location": str(self.location) if self.location else None,
        }


@dataclass
class Report:
    """Entries in the order they were made, located in the input file."""

    source: ValuesSource
    entries: list[Entry] = field(default_factory=list)
    covered: set[KeyPath] = field(default_factory=set)

    def _add(self, status: Status, source: KeyPath | None, target: Target, detail: str,
             location: Location | None = None) -> None:
        if source:
            location = self.source.locations.get(source)
        self.entries.append(Entry(status, source, target, detail, location))

    def mapped(self, source: KeyPath, target: Target, detail: str = "") -> None:
        """An input key now lives at `target` (a values key path)."""
        self._add(Status.MAPPED, source, target, detail)

    def defaulted(self, target: Target, detail: str, source: KeyPath | None = None) -> None:
        """A chart default (or a value derived from the old chart's defaults) applies."""
        self._add(Status.DEFAULTED, source, target, detail)

    def skipped(self, source: KeyPath, reason: str) -> None:
        """An input key the new chart does not need, and why."""
        self._add(Status.SKIPPED, source, "", reason)

    def unmapped(self, source: KeyPath | None, reason: str, target: Target = "",
                 location: Location | None = None) -> None:
        """An input key (or behaviour) that could not be carried over: the user must act.
        `location` places an entry that claims no input key (e.g. a duplicate key)."""
        self._add(Status.UNMAPPED, source, target, reason, location)

    def retarget(self, move: Callable[[KeyPath], KeyPath]) -> None:
        """Rewrite every key-path target (e.g. after role settings moved to shared ones)."""
        self.entries = [replace(entry, target=move(entry.target))
                        if isinstance(entry.target, tuple) else entry
                        for entry in self.entries]

    def forget(self, source: KeyPath) -> None:
        """Drop the entries of one input key, so a later step can restate what happened to
        it (e.g. a flag that a multi-node layout now sets)."""
        self.entries = [entry for entry in self.entries if entry.source != source]

    def cover(self, source: KeyPath) -> None:
        """Account for an input key another entry already describes (a flag's value)."""
        self.covered.add(source)

    def claimed(self) -> set[KeyPath]:
        """Input key paths some entry accounts for (their sub-keys included)."""
        return {entry.source for entry in self.entries if entry.source} | self.covered

    def of(self, status: Status) -> list[Entry]:
        """Entries with one status, in order."""
        return [entry for entry in self.entries if entry.status == status]

    def text(self) -> str:
        """The human-readable report, grouped by status."""
        lines = []
        for status in Status:
            entries = self.of(status)
            if entries:
                lines.append(f"{status.value} ({len(entries)}):")
                lines += [f"  {entry}" for entry in entries]
        return "\n".join(lines)

    def to_list(self) -> list[dict[str, Any]]:
        """All entries as plain mappings."""
        return [entry.to_dict() for entry in self.entries]
