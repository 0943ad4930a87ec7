"""What a backfill would do: the inputs whose history has an older version of the parser (its
latest run was by another version than the current one; with `force`, every input it
processed), their bytes, a time estimate from the parser's recent throughput, and how each
older version's contracts changed. Nothing runs here.
"""

from __future__ import annotations

import os
import sqlite3
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from casparian_core.backfill.diff import OutputDiff, contract_diff
from casparian_core.jobs import queue
from casparian_core.jobs.input_keys import input_key
from casparian_core.scout import queries, sources
from casparian_core.units import format_bytes, format_duration, plural

if TYPE_CHECKING:
    from casparian_core.service import CoreService

RECENT_RUNS = 200  # the parser's completed jobs its throughput is measured on


@dataclass(frozen=True)
class BackfillFile:
    """One input to run again: one job."""

    path: str
    from_version: str
    size: int
    file_id: int | None
    input_key: str  # as the outputs know it: its parts are replaced


@dataclass(frozen=True)
class VersionCount:
    version: str
    files: int
    bytes: int


@dataclass(frozen=True)
class VersionDiff:
    from_version: str
    outputs: list[OutputDiff]

    @property
    def storage_changed(self) -> bool:
        return any(o.storage_changed for o in self.outputs if o.state != "removed")


@dataclass(frozen=True)
class BackfillPlan:
    parser: str
    version: str  # the current registered version: what runs
    sink_uri: str
    files: list[BackfillFile]  # what runs (the first `limit`)
    by_version: list[VersionCount]  # of `files`
    up_to_date: int  # inputs last processed by the current version (left out unless forced)
    missing: list[str]  # inputs no longer on disk: left out
    left_by_limit: int
    estimate_secs: float | None  # None: the parser has no recent completed job to go by
    diffs: list[VersionDiff]
    refused: str | None  # why `--execute` would be refused

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)

    def lines(self) -> list[str]:
        """The plan as a person reads it."""
        if not self.files:
            return [
                f"Nothing to backfill for {self.parser} {self.version}: "
                f"{plural(self.up_to_date, 'input')} already processed by it"
                f"{', ' + plural(len(self.missing), 'input') + ' missing' if self.missing else ''}"
                " (--force runs them again)."
            ]
        estimate = "unknown" if self.estimate_secs is None else format_duration(self.estimate_secs)
        lines = [
            f"Backfill {self.parser} to {self.version}: {plural(len(self.files), 'file')}, "
            f"{format_bytes(self.bytes)}, about {estimate}, into {self.sink_uri}",
        ]
        lines += [
            f"  from {count.version}: {plural(count.files, 'file')}, {format_bytes(count.bytes)}"
            for count in self.by_version
        ]
        if self.up_to_date:
            lines.append(
                f"  left out: {plural(self.up_to_date, 'input')} already on {self.version}"
            )
        if self.left_by_limit:
            lines.append(f"  left out by --limit: {plural(self.left_by_limit, 'file')}")
        for path in self.missing:
            lines.append(f"  missing (left out): {path}")
        for diff in self.diffs:
            lines.append(f"Contract changes from {diff.from_version} to {self.version}:")
            for output in diff.outputs:
                lines += ["  " + line for line in output.lines(diff.from_version, self.version)]
        if self.refused:
            lines.append(f"Cannot execute: {self.refused}")
        return lines

    def as_json(self) -> dict[str, object]:
        return {
            "parser": self.parser,
            "version": self.version,
            "sink": self.sink_uri,
            "files": [
                {"path": f.path, "from_version": f.from_version, "bytes": f.size}
                for f in self.files
            ],
            "by_version": [
                {"version": c.version, "files": c.files, "bytes": c.bytes} for c in self.by_version
            ],
            "bytes": self.bytes,
            "up_to_date": self.up_to_date,
            "missing": self.missing,
            "left_by_limit": self.left_by_limit,
            "estimate_secs": self.estimate_secs,
            "contract_changes": [
                {"from_version": d.from_version, "outputs": [o.as_json() for o in d.outputs]}
                for d in self.diffs
            ],
            "refused": self.refused,
        }


async def make_plan(
    service: CoreService, parser: str, *, limit: int | None, force: bool, sink_uri: str
) -> BackfillPlan:
    detail = await service.registry.show(parser)  # ParserNotRegisteredError
    current = detail.parser.version
    processed = await service.db.read(queue.processed_inputs, parser)
    todo = [row for row in processed if force or row[1] != current]
    found = await service.db.read(_located, todo)
    present = [f for f in found if f.size >= 0]
    missing = [f.path for f in found if f.size < 0]
    files = present if limit is None else present[:limit]
    counts = Counter(f.from_version for f in files)
    sizes = Counter[str]()
    for f in files:
        sizes[f.from_version] += f.size
    older = [v for v in detail.versions if v in counts]
    diffs = [
        VersionDiff(
            version,
            contract_diff(
                (await service.registry.show(parser, version)).contracts, detail.contracts, parser
            ),
        )
        for version in older
        if version != current
    ]
    recent = await service.db.read(queue.recent_runs, parser, RECENT_RUNS)
    workers = service.settings.max_workers
    left = len(present) - len(files)
    return BackfillPlan(
        parser,
        current,
        sink_uri,
        files,
        [VersionCount(v, counts[v], sizes[v]) for v in older],
        len(processed) - len(todo),
        missing,
        left,
        _estimate(recent, files, workers),
        diffs,
        _refusal(files, left + len(missing), diffs),
    )


def _located(conn: sqlite3.Connection, rows: list[tuple[object, ...]]) -> list[BackfillFile]:
    """Each input with its size (-1: no longer on disk) and the key its parts have."""
    names = {source.id: source.name for source in sources.list_sources(conn)}
    found = []
    for path, version, file_id, key in rows:
        try:
            size = os.stat(str(path)).st_size
        except OSError:
            size = -1
        if key is None:
            key = _catalogued_key(conn, file_id, names) or str(path)
        found.append(BackfillFile(str(path), str(version), size, _int(file_id), str(key)))
    return found


def _catalogued_key(conn: sqlite3.Connection, file_id: object, names: dict[int, str]) -> str | None:
    """The key `casparian process` gave the file (its source's name, its path within it)."""
    if not isinstance(file_id, int):
        return None
    row = queries.file_by_id(conn, file_id)
    return None if row is None else input_key(names[row[0].source_id], row[0].rel_path)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) else None


def _estimate(
    recent: list[tuple[str, ...]], files: list[BackfillFile], workers: int
) -> float | None:
    """Seconds for `files` at the recent runs' seconds per byte (per file, when the recent
    inputs are gone or empty), spread over the workers."""
    spent, size, runs = 0.0, 0, 0
    for path, started, finished in recent:
        try:
            size += os.stat(path).st_size
        except OSError:
            continue
        spent += (
            datetime.fromisoformat(finished) - datetime.fromisoformat(started)
        ).total_seconds()
        runs += 1
    if not runs or not files:
        return None
    total = sum(f.size for f in files)
    per_worker = spent * total / size if size and total else spent / runs * len(files)
    return per_worker / max(1, min(workers, len(files)))


def _refusal(files: list[BackfillFile], left: int, diffs: list[VersionDiff]) -> str | None:
    """Why the plan cannot run: `left` inputs (left out by --limit, or missing) would keep
    their older rows beside new rows of other columns, and an output never holds two schemas."""
    if not files:
        return "there is nothing to backfill"
    if left and any(diff.storage_changed for diff in diffs):
        return (
            f"{plural(left, 'input')} left out (by --limit, or missing) would keep rows of the "
            "older version beside the new version's, whose columns differ, and an output never "
            "holds two schemas: run it without --limit (with --limit the plan is a preview)"
        )
    return None
