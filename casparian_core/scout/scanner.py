"""Scanning a source: compare its walk with the catalogue, and write what differs.

The comparison (compare.py) is a merge-join of the walk with the catalogue in rel_path order;
this module writes the batches of changes it yields, one transaction each (new rows through a
staging table and one INSERT … SELECT, staging.py), and tags new rows.
A scan starts in this process; once the walk passes HANDOVER_AFTER items, the rest of the walk,
the file reading and the comparison move to worker processes, each over its own range of the
tree (scan_worker.py), while this process keeps writing: the same comparison code either way,
and the watcher's small refreshes never pay for a process start. Meanwhile a thread fills the
path index with the rows written so far (text_index.BackgroundFill); a small scan fills it once
at its end.

Rows whose file was not found are marked missing only after a complete walk: a cancelled scan
keeps the batches already written, marks nothing missing and does not record the source as
scanned. A worker that dies is reported as ScanWorkerDiedError, after the same cleanup (the
other worker is stopped). The ids waiting to be marked are the only thing that grows during a
scan: 8 bytes per missing row.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from array import array
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from casparian_core.db.connection import utc_now, write_transaction
from casparian_core.events import ScanProgress
from casparian_core.scout import compare as compare_module
from casparian_core.scout import rules as tagging_rules
from casparian_core.scout import scan_worker, sources, text_index
from casparian_core.scout.compare import (
    ChangeBatch,
    Outcome,
    ScanJob,
    ScanTally,
    compare,
)
from casparian_core.scout.errors import SourceRemovedDuringScanError
from casparian_core.scout.scan_worker import ScanWorkers
from casparian_core.scout.sources import SourceRecord
from casparian_core.scout.staging import Stages

# A scan connection caches this much of the database (KiB, as SQLite's negative cache_size):
# the index pages a batch touches stay in memory on a million-file catalogue.
SCAN_CACHE_KIB = 32 * 1024

ProgressCallback = Callable[[ScanProgress], object]  # its return value is ignored

UPDATE_CONTENT = """
UPDATE scout_files SET status = ?, size = ?, mtime_ns = ?, content_hash = ?, kind = ?,
                       path_bytes = ?, last_seen = ?
WHERE id = ?
"""
MARK_UNCHANGED = (
    "UPDATE scout_files SET status = 'unchanged', last_seen = ? WHERE id BETWEEN ? AND ?"
)
MARK_MISSING = "UPDATE scout_files SET status = 'missing' WHERE id = ?"


@dataclass(frozen=True)
class ScanSummary:
    source: str
    source_id: int
    path: str
    seen: int
    new: int
    changed: int
    unchanged: int
    missing: int
    hashed: int
    skipped: dict[str, int]
    skipped_examples: dict[str, list[str]]
    by_extension: dict[str, int]
    elapsed_s: float
    files_per_s: float
    cancelled: bool

    def as_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "source_id": self.source_id,
            "path": self.path,
            "seen": self.seen,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "missing": self.missing,
            "hashed": self.hashed,
            "skipped": self.skipped,
            "skipped_examples": self.skipped_examples,
            "by_extension": self.by_extension,
            "elapsed_s": round(self.elapsed_s, 3),
            "files_per_s": round(self.files_per_s),
            "cancelled": self.cancelled,
        }


class Scanner:
    """Scans one source on its own connection; meant to run in a worker thread."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        source: SourceRecord,
        *,
        hash_files: bool = True,
        on_progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self._conn = conn
        self._source = source
        self._hash_files = hash_files
        self._on_progress = on_progress
        self._cancel = cancel or threading.Event()
        self._rules_apply = tagging_rules.has_enabled_rules(conn)
        self._missing = array("q")  # ids of rows whose file the walk did not find (set by _run)
        self._stamp = ""  # the time of the scan running (set by _run)
        conn.execute(f"PRAGMA cache_size = -{SCAN_CACHE_KIB}")
        self._stages = Stages(conn)

    def scan(self) -> ScanSummary:
        """Scan the whole source."""
        return self._run(scope=None)

    def refresh(self, rel_os_path: str) -> ScanSummary:
        """Bring one path of the source up to date: a file, or a folder and all below it.

        `rel_os_path` is relative to the source root, in OS form ('/'-separated); the watcher
        passes the paths that changed.
        """
        return self._run(scope=rel_os_path)

    def _run(self, *, scope: str | None) -> ScanSummary:
        started = time.perf_counter()
        self._missing = array("q")
        self._stamp = utc_now()
        job = ScanJob(
            source_id=self._source.id,
            root=self._source.path,
            scope=scope,
            hash_files=self._hash_files,
            stamp=self._stamp,
            write_batch=compare_module.WRITE_BATCH,
            handover_after=scan_worker.HANDOVER_AFTER,
        )
        try:
            last = self._write(compare(job, ScanTally(), self._conn, self._cancel.is_set))
            if last.resume is not None:
                jobs = scan_worker.worker_jobs(job, last.resume)
                database = self._database()
                with (
                    ScanWorkers(database, jobs, last.tally) as workers,
                    closing(text_index.BackgroundFill(database)) as fill,
                    self._stages.workers_attached(),
                ):
                    last = self._write(workers.batches(self._cancel), last, fill.wake)
            if last.outcome is Outcome.WALKED:
                self._mark_missing()
        finally:
            text_index.catch_up(self._conn)
        if last.outcome is Outcome.WALKED and scope is None:
            sources.mark_scanned(self._conn, self._source.id, job.stamp)
        return self._summary(last, time.perf_counter() - started)

    def _write(
        self,
        batches: Iterable[ChangeBatch],
        last: ChangeBatch | None = None,
        written: Callable[[], None] | None = None,
    ) -> ChangeBatch:
        """Write every batch, calling `written` after each write, and return the last one (the
        last one read when a cancel stops the worker early)."""
        for batch in batches:
            self._missing.extend(batch.missing)
            if batch.has_changes():
                self._write_batch(batch)
                if written is not None:
                    written()
            self._report(batch)
            last = batch
        assert last is not None  # compare() always yields a last batch
        return last

    def _write_batch(self, batch: ChangeBatch) -> None:
        conn, stages = self._conn, self._stages
        new = batch.inserts or batch.staged
        first_new_id = self._next_id() if new and self._rules_apply else None
        if batch.staged is not None:
            stages.attach(batch.staged)
        # The one foreign key these statements set, source_id, is checked once per batch rather
        # than once per row (~2 µs a row): under the write lock the transaction takes first, the
        # source cannot go away between the check and the commit. The pragma is ignored inside
        # a transaction, hence around it.
        conn.execute("PRAGMA foreign_keys = OFF")
        try:
            with write_transaction(conn):
                if not sources.exists(conn, self._source.id):
                    raise SourceRemovedDuringScanError(self._source.name)
                staged = stages.append(batch.inserts) if batch.inserts else batch.staged
                if staged is not None:
                    stages.insert(staged, self._source.id, self._stamp)
                conn.executemany(UPDATE_CONTENT, batch.updates)
                conn.executemany(
                    MARK_UNCHANGED, ((self._stamp, first, last) for first, last in batch.unchanged)
                )
        finally:
            conn.execute("PRAGMA foreign_keys = ON")
        if first_new_id is not None:
            tagging_rules.apply_rules(conn, first_new_id)

    def _mark_missing(self) -> None:
        conn, missing = self._conn, self._missing
        batch_size = compare_module.WRITE_BATCH
        for start in range(0, len(missing), batch_size):
            with write_transaction(conn):
                conn.executemany(
                    MARK_MISSING, ((id_,) for id_ in missing[start : start + batch_size])
                )

    def _next_id(self) -> int:
        return (self._conn.execute("SELECT max(id) FROM scout_files").fetchone()[0] or 0) + 1

    def _database(self) -> Path:
        """The file of this scan's connection, for the workers and the path index's fill."""
        return Path(self._conn.execute("PRAGMA database_list").fetchone()[2])

    # Reporting.

    def _report(self, batch: ChangeBatch) -> None:
        """One progress event per batch: compare() yields one at least every
        PROGRESS_EVERY_SECS, and the last one gives the final figures."""
        if self._on_progress is None:
            return
        tally = batch.tally
        self._on_progress(
            ScanProgress(
                source=self._source.name,
                seen=tally.seen,
                new=tally.new,
                changed=tally.changed,
                current_dir=os.path.dirname(batch.current),
            )
        )

    def _summary(self, last: ChangeBatch, elapsed: float) -> ScanSummary:
        tally = last.tally
        return ScanSummary(
            source=self._source.name,
            source_id=self._source.id,
            path=self._source.path,
            seen=tally.seen,
            new=tally.new,
            changed=tally.changed,
            unchanged=tally.seen - tally.new - tally.changed,
            missing=len(self._missing) if last.outcome is Outcome.WALKED else 0,
            hashed=tally.hashed,
            skipped=dict(tally.skipped),
            skipped_examples=tally.skipped_examples,
            by_extension=dict(tally.by_extension.most_common()),
            elapsed_s=elapsed,
            files_per_s=tally.seen / elapsed if elapsed > 0 else 0.0,
            cancelled=last.outcome is not Outcome.WALKED,
        )
