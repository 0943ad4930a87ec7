"""Comparing a walk with the catalogue: a merge-join that yields only the changes to write.

The walk comes out in `rel_path` order (walk.py) and the unique index (source_id, rel_path)
reads in the same order, so one pass over both finds every new, changed, unhashed and missing
file. Unchanged files cost a comparison and no write: a row is rewritten only when its status
says otherwise ('new', 'changed' or 'missing' becoming 'unchanged'), so a row's `last_seen` is
the last scan that changed it, and a present row of a fully scanned source was seen by the scan
that `scout_sources.last_scan_at` records.

The catalogue is read in chunks, each its own short statement, always from the last row
compared onwards: a writer inserting behind the walk (another process in a pipelined scan)
neither stalls the WAL nor shows up in a later chunk, because its rows sort before the walk's
position. The ids of rows the walk passes without finding their file travel with the batches;
the scanner marks them missing only once the walk is complete, so a cancelled scan marks
nothing missing. Rows under a folder that could not be read are never counted missing: we
cannot tell whether their files are still there.

Pure Python on purpose: this runs in the scanning process for small scans and in a worker
process for large ones (scan_worker.py), the same code either way.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from casparian_core.scout.content import NotRegularFileError, read_content
from casparian_core.scout.names import display_path, display_text
from casparian_core.scout.staging import NewRow, StagedRows
from casparian_core.scout.walk import FoundFile, Skipped, SkipReason, source_items

WRITE_BATCH = 10_000  # changes per batch (one write transaction each), checked every 256 items
CATALOGUE_CHUNK = 2_000  # catalogue rows read per statement
PROGRESS_EVERY_SECS = 0.1
CHECK_EVERY_ITEMS = 256  # how often to look at the clock and the cancel flag
SKIP_EXAMPLES = 5

CATALOGUE_ROWS = """
SELECT rel_path, id, size, mtime_ns, status, content_hash IS NOT NULL
FROM scout_files WHERE source_id = ? AND rel_path {start} ?{scope}{end}
ORDER BY rel_path LIMIT ?
"""
IN_SCOPE = " AND (rel_path = ? OR (rel_path >= ? AND rel_path < ?))"
BEFORE_END = " AND rel_path < ?"


@dataclass
class ScanTally:
    """What a scan found so far, as its ScanSummary reports it."""

    seen: int = 0
    new: int = 0
    changed: int = 0
    hashed: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    skipped_examples: dict[str, list[str]] = field(default_factory=dict)
    by_extension: Counter[str] = field(default_factory=Counter)

    def plus(self, other: ScanTally) -> ScanTally:
        """The tally of this range of the walk followed by `other`'s range."""
        examples = {
            reason: (self.skipped_examples.get(reason, []) + found)[:SKIP_EXAMPLES]
            for reason, found in other.skipped_examples.items()
        }
        skipped, by_extension = self.skipped.copy(), self.by_extension.copy()
        skipped.update(other.skipped)  # update() adds counts and, unlike +, keeps zeros
        by_extension.update(other.by_extension)
        return ScanTally(
            self.seen + other.seen,
            self.new + other.new,
            self.changed + other.changed,
            self.hashed + other.hashed,
            skipped,
            self.skipped_examples | examples,
            by_extension,
        )

    def skip(self, rel_path: str, reason: SkipReason) -> None:
        self.skipped[reason.value] += 1
        examples = self.skipped_examples.setdefault(reason.value, [])
        if len(examples) < SKIP_EXAMPLES:
            examples.append(rel_path)


@dataclass(frozen=True)
class Resume:
    """Where a comparison goes on: the walk and the catalogue both from the rel_path `start`
    (inclusive; a file where the scanning process handed over, or a worker's range's start)."""

    start: str


@dataclass(frozen=True)
class ScanJob:
    """What to compare; crosses to the worker process, so plain values only."""

    source_id: int
    root: str
    scope: str | None  # a refresh's path relative to the root ('/'-separated, OS form)
    hash_files: bool
    stamp: str  # this scan's time, for first_seen / last_seen
    write_batch: int  # changes per batch: the writer's transaction size (WRITE_BATCH)
    handover_after: int | None = None  # stop after this many walk items, with a Resume
    resume: Resume | None = None
    end: str | None = None  # compare only the rel_paths before this one (a worker's range)


class Outcome(StrEnum):
    WALKED = "walked"  # the walk finished and every catalogue row in scope was compared
    CANCELLED = "cancelled"
    HANDED_OVER = "handed over"


@dataclass
class ChangeBatch:
    """The changes found since the previous batch, as parameter rows for the writer."""

    inserts: list[NewRow]  # new files, unless a worker staged them (then in `staged`)
    updates: list[tuple[object, ...]]
    unchanged: list[list[int]]  # [first id, last id]: runs of rows becoming 'unchanged'
    missing: list[int]  # ids of rows whose file was not found: marked once the walk completes
    tally: ScanTally
    current: str  # the last path walked, for progress
    outcome: Outcome | None = None  # set on the last batch
    resume: Resume | None = None  # set when handed over
    staged: StagedRows | None = None  # the new files, as a worker staged them (staging.py)

    def has_changes(self) -> bool:
        """Whether there is anything to write now (missing rows wait for the walk's end)."""
        return bool(self.inserts or self.staged or self.updates or self.unchanged)


CatalogueRow = tuple[str, int, int, int, str, int]  # rel_path, id, size, mtime_ns, status, hashed


def compare(
    job: ScanJob,
    tally: ScanTally,
    conn: sqlite3.Connection,
    cancelled: Callable[[], bool],
) -> Iterator[ChangeBatch]:
    """The batches of changes that bring the catalogue in line with the walk of `job`."""
    return _Comparison(job, tally, conn).batches(cancelled)


class _Comparison:
    def __init__(self, job: ScanJob, tally: ScanTally, conn: sqlite3.Connection) -> None:
        self._job = job
        self._tally = tally
        self._scope = None if job.scope is None else display_path(job.scope)
        start = job.resume.start if job.resume else ""
        self._rows = _catalogue_rows(conn, job.source_id, self._scope, start, job.end)
        self._head: CatalogueRow | None = next(self._rows, None)
        self._protect_all = False  # the root could not be read: nothing may go missing
        self._new_batch("")

    def _new_batch(self, current: str) -> None:
        self._inserts: list[NewRow] = []
        self._updates: list[tuple[object, ...]] = []
        self._unchanged: list[list[int]] = []
        self._missing: list[int] = []
        self._current = current

    def _batch(self, outcome: Outcome | None = None, resume: Resume | None = None) -> ChangeBatch:
        batch = ChangeBatch(
            self._inserts,
            self._updates,
            self._unchanged,
            self._missing,
            self._tally,
            self._current,
            outcome,
            resume,
        )
        self._new_batch(self._current)
        return batch

    def _pending(self) -> int:
        return len(self._inserts) + len(self._updates) + len(self._unchanged) + len(self._missing)

    def batches(self, cancelled: Callable[[], bool]) -> Iterator[ChangeBatch]:
        job = self._job
        resume = job.resume
        items = source_items(job.root, job.scope, resume.start if resume else None, job.end)
        handover_after = job.handover_after
        last_batch = time.perf_counter()
        for count, item in enumerate(items, 1):
            if count % CHECK_EVERY_ITEMS == 0:
                if cancelled():
                    yield self._batch(Outcome.CANCELLED)
                    return
                now = time.perf_counter()
                if self._pending() >= job.write_batch or now - last_batch >= PROGRESS_EVERY_SECS:
                    yield self._batch()
                    last_batch = now
            if type(item) is Skipped:
                self._skipped(item)
            elif handover_after is not None and count > handover_after:
                # Hand over at a file: everything before it is compared, and both the walk
                # and the catalogue can go on from its path.
                self._pass_catalogue_before(item.rel_path)
                yield self._batch(Outcome.HANDED_OVER, Resume(item.rel_path))
                return
            else:
                self._found(item)  # type: ignore[arg-type]
        if cancelled():
            yield self._batch(Outcome.CANCELLED)
            return
        self._pass_catalogue_before(None)
        yield self._batch(Outcome.WALKED)

    def _found(self, item: FoundFile) -> None:
        tally, job = self._tally, self._job
        rel_path = item.rel_path
        tally.seen += 1
        tally.by_extension[_extension(rel_path)] += 1
        self._current = rel_path
        head = self._head
        if head is not None and head[0] < rel_path:
            self._pass_catalogue_before(rel_path)
            head = self._head
        if head is not None and head[0] == rel_path:
            self._head = next(self._rows, None)
            _, file_id, size, mtime_ns, status, hashed = head
            same_stat = size == item.size and mtime_ns == item.mtime_ns
            if same_stat and (hashed or not job.hash_files):
                if status != "unchanged":
                    self._flip_to_unchanged(file_id)
                return
        else:
            file_id = None
            same_stat = False
        if item.exact:
            path, path_bytes = item.path, None
        else:
            path, path_bytes = display_text(item.path), os.fsencode(item.path)
        digest = kind = None
        if job.hash_files:
            try:
                content = read_content(path if path_bytes is None else path_bytes)
            except (FileNotFoundError, NotRegularFileError):
                self._vanished(rel_path, file_id)
                return
            except OSError:
                tally.skip(rel_path, SkipReason.UNREADABLE_FILE)  # catalogued without a hash
            else:
                tally.hashed += 1
                digest, kind = content.content_hash, content.kind.value
        if file_id is None:
            tally.new += 1
            self._inserts.append(
                (path, path_bytes, rel_path, item.size, item.mtime_ns, digest, kind)
            )
        elif not same_stat:
            tally.changed += 1
            self._updates.append(
                ("changed", item.size, item.mtime_ns, digest, kind, path_bytes, job.stamp, file_id)
            )
        elif digest is not None:
            # Unchanged but never hashed (an earlier --no-hash scan): fill in the hash.
            self._updates.append(
                (
                    "unchanged",
                    item.size,
                    item.mtime_ns,
                    digest,
                    kind,
                    path_bytes,
                    job.stamp,
                    file_id,
                )
            )

    def _flip_to_unchanged(self, file_id: int) -> None:
        """Add a row to the runs of ids to mark 'unchanged'. After a first scan, ids follow
        rel_path order, so a rescan's flips are long runs: one UPDATE over a range of ids
        costs a fraction of one UPDATE per id."""
        runs = self._unchanged
        if runs and runs[-1][1] == file_id - 1:
            runs[-1][1] = file_id
        else:
            runs.append([file_id, file_id])

    def _vanished(self, rel_path: str, file_id: int | None) -> None:
        """A listed file was gone (or no longer a file) when we came to read it."""
        tally = self._tally
        tally.skip(rel_path, SkipReason.VANISHED)
        tally.seen -= 1
        tally.by_extension[_extension(rel_path)] -= 1
        if file_id is not None:
            self._missing.append(file_id)

    def _skipped(self, item: Skipped) -> None:
        self._tally.skip(item.rel_path, item.reason)
        if item.reason is not SkipReason.UNREADABLE_FOLDER:
            return  # its rows (if any) are passed, hence missing, like any file not found
        if not item.rel_path:
            self._protect_all = True
            return
        # '0' follows '/': [folder/, folder0) holds exactly the paths under the folder.
        self._pass_catalogue_before(item.rel_path + "/")
        low, high = item.rel_path + "/", item.rel_path + "0"
        while self._head is not None and low <= self._head[0] < high:
            self._head = next(self._rows, None)

    def _pass_catalogue_before(self, rel_path: str | None) -> None:
        """Count missing every catalogue row before `rel_path` (None: every row left)."""
        head, rows, missing = self._head, self._rows, self._missing
        while head is not None and (rel_path is None or head[0] < rel_path):
            if head[4] != "missing" and not self._protect_all:
                missing.append(head[1])
            head = next(rows, None)
        self._head = head


def _catalogue_rows(
    conn: sqlite3.Connection, source_id: int, scope: str | None, start: str, end: str | None
) -> Iterator[CatalogueRow]:
    """The source's catalogue rows from `start` on (and before `end`) in rel_path order, within
    `scope` if given.

    Each chunk is read when the previous one is used up, from the row after its last.
    """
    scope_sql, end_sql = ("" if scope is None else IN_SCOPE), ("" if end is None else BEFORE_END)
    params = [] if scope is None else [scope, scope + "/", scope + "0"]
    if end is not None:
        params.append(end)
    first = CATALOGUE_ROWS.format(start=">=", scope=scope_sql, end=end_sql)
    rest = CATALOGUE_ROWS.format(start=">", scope=scope_sql, end=end_sql)
    sql, bound = first, start
    while True:
        chunk = conn.execute(sql, [source_id, bound, *params, CATALOGUE_CHUNK]).fetchall()
        yield from chunk
        if len(chunk) < CATALOGUE_CHUNK:
            return
        sql, bound = rest, chunk[-1][0]


def _extension(rel_path: str) -> str:
    """The lower-case extension of the file name ('' for '.bashrc'), like os.path.splitext."""
    dot = rel_path.rfind(".")
    if dot <= rel_path.rfind("/") + 1:
        return "(none)"
    return rel_path[dot:].lower()
