"""Scanning a source: walk it, and let SQLite compare what was found with the catalogue.

The walk streams one folder at a time. Found files go into a TEMP table in batches of
WRITE_BATCH; per batch, one query picks out the files that are new, changed (size or mtime) or
still unhashed, and only those come back to Python to be read and written. One statement stamps
every unchanged row with this scan's `last_seen`. When the walk is over, ONE UPDATE marks the rows
that did not get the stamp as missing; rows are never deleted. No set of paths is held in
memory, and an unchanged rescan does no per-file work in Python beyond the walk itself.

Cancelling stops the walk: the batch in hand is committed and the missing-marking is skipped, so
rows the walk had not reached keep their state. Rows under a folder that could not be read are
left out of the missing-marking too: we cannot tell whether their files are still there.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from casparian_core.db.connection import utc_now
from casparian_core.events import ScanProgress
from casparian_core.scout import rules as tagging_rules
from casparian_core.scout import sources, text_index
from casparian_core.scout.content import Content, NotRegularFileError, read_content
from casparian_core.scout.ignore import is_builtin_ignored, rules_for_folder
from casparian_core.scout.names import display_text, openable_path
from casparian_core.scout.sources import SourceRecord
from casparian_core.scout.walk import FoundFile, Skipped, SkipReason, WalkItem, examine, walk

WRITE_BATCH = 10_000
PROGRESS_EVERY_SECS = 0.1
CHECK_EVERY_ITEMS = 256  # how often to look at the clock and the cancel flag
SKIP_EXAMPLES = 5
# A scan connection caches this much of the database (KiB, as SQLite's negative cache_size):
# the index pages a batch touches stay in memory on a million-file catalogue.
SCAN_CACHE_KIB = 32 * 1024

ProgressCallback = Callable[[ScanProgress], None]

CREATE_BATCH = """
CREATE TEMP TABLE IF NOT EXISTS scout_scan_batch (
    rel_path TEXT NOT NULL, path TEXT NOT NULL, path_bytes BLOB,
    size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL
)
"""
CREATE_PROTECTED = """
CREATE TEMP TABLE IF NOT EXISTS scout_scan_protected (low TEXT NOT NULL, high TEXT NOT NULL)
"""
FILL_BATCH = "INSERT INTO temp.scout_scan_batch VALUES (?, ?, ?, ?, ?)"
# The files of the batch that need more than a stamp: new, changed, or unhashed when hashing.
NEEDS_WORK = """
SELECT b.rel_path, b.path, b.path_bytes, b.size, b.mtime_ns, f.id,
       f.size = b.size AND f.mtime_ns = b.mtime_ns
FROM temp.scout_scan_batch b
LEFT JOIN scout_files f ON f.source_id = ?1 AND f.rel_path = b.rel_path
WHERE f.id IS NULL OR f.size != b.size OR f.mtime_ns != b.mtime_ns
   OR (?2 AND f.content_hash IS NULL)
"""
INSERT_NEW = """
INSERT INTO scout_files (source_id, path, path_bytes, rel_path, size, mtime_ns, content_hash,
                         kind, status, first_seen, last_seen)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'new', ?9, ?9)
ON CONFLICT (source_id, rel_path) DO UPDATE SET
    path_bytes = excluded.path_bytes, size = excluded.size, mtime_ns = excluded.mtime_ns,
    content_hash = excluded.content_hash, kind = excluded.kind, status = 'changed',
    last_seen = excluded.last_seen
"""
# (Another process, a watcher or a second scan, may have inserted the row meanwhile: then it is
# an update, not an error.)
UPDATE_CONTENT = """
UPDATE scout_files SET status = ?, size = ?, mtime_ns = ?, content_hash = ?, kind = ?,
                       path_bytes = ?, last_seen = ?
WHERE id = ?
"""
MARK_UNCHANGED = """
UPDATE scout_files SET status = 'unchanged', last_seen = ?1
FROM temp.scout_scan_batch b
WHERE scout_files.source_id = ?2 AND scout_files.rel_path = b.rel_path
  AND scout_files.size = b.size AND scout_files.mtime_ns = b.mtime_ns
  AND scout_files.last_seen != ?1
"""
FORGET_FROM_BATCH = "DELETE FROM temp.scout_scan_batch WHERE rel_path = ?"
CLEAR_BATCH = "DELETE FROM temp.scout_scan_batch"
MARK_MISSING = """
UPDATE scout_files SET status = 'missing'
WHERE source_id = ? AND status != 'missing' AND last_seen != ?
"""
IN_SCOPE = " AND (rel_path = ? OR (rel_path >= ? AND rel_path < ?))"
NOT_PROTECTED = """ AND NOT EXISTS (
    SELECT 1 FROM temp.scout_scan_protected p
    WHERE scout_files.rel_path >= p.low AND scout_files.rel_path < p.high)"""


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


@dataclass
class _Tally:
    seen: int = 0
    new: int = 0
    changed: int = 0
    missing: int = 0
    hashed: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    skipped_examples: dict[str, list[str]] = field(default_factory=dict)
    by_extension: Counter[str] = field(default_factory=Counter)

    def skip(self, rel_path: str, reason: SkipReason) -> None:
        self.skipped[reason.value] += 1
        examples = self.skipped_examples.setdefault(reason.value, [])
        if len(examples) < SKIP_EXAMPLES:
            examples.append(rel_path)


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
        self._stamp = utc_now()
        self._tally = _Tally()
        self._batch: list[tuple[object, ...]] = []
        self._protected: list[tuple[str, str]] = []
        self._root_unreadable = False
        self._fresh = False  # set by scan() for a source without rows
        self._rules_apply = tagging_rules.has_enabled_rules(conn)
        self._current = ""
        conn.execute(f"PRAGMA cache_size = -{SCAN_CACHE_KIB}")
        conn.execute(CREATE_BATCH)
        conn.execute(CREATE_PROTECTED)
        conn.execute(CLEAR_BATCH)
        conn.execute("DELETE FROM temp.scout_scan_protected")

    def scan(self) -> ScanSummary:
        """Scan the whole source."""
        self._fresh = (
            self._conn.execute(
                "SELECT 1 FROM scout_files WHERE source_id = ? LIMIT 1", (self._source.id,)
            ).fetchone()
            is None
        )
        root = self._source.path
        items = walk(root, "", True, rules_for_folder(root, "")[0])
        return self._run(items, scope=None)

    def refresh(self, rel_os_path: str) -> ScanSummary:
        """Bring one path of the source up to date: a file, or a folder and all below it.

        `rel_os_path` is relative to the source root, in OS form ('/'-separated); the watcher
        passes the paths that changed.
        """
        rel_path = "/".join(display_text(part) for part in rel_os_path.split("/"))
        return self._run(self._items_at(rel_os_path, rel_path), scope=rel_path)

    def _items_at(self, rel_os_path: str, rel_path: str) -> Iterator[WalkItem]:
        root = self._source.path
        path = os.path.join(root, rel_os_path)
        parent, _, name = rel_os_path.rpartition("/")
        rules, parent_ignored = rules_for_folder(root, parent)
        exact = rel_path == rel_os_path
        if parent_ignored or is_builtin_ignored(name):
            return iter(())
        if os.path.isdir(path) and not os.path.islink(path):
            if rules.ignores(rel_path, is_dir=True):
                return iter(())
            return walk(path, rel_path, exact, rules)
        if rules.ignores(rel_path, is_dir=False):
            return iter(())
        item = examine(path, rel_path, exact)
        return iter(() if item is None else (item,))

    def _run(self, items: Iterator[WalkItem], *, scope: str | None) -> ScanSummary:
        """Walk `items`; then, unless cancelled, mark what was not seen in `scope` missing.

        `scope` None is the whole source, else one path (a file, or a folder and its contents).
        """
        started = last_report = time.perf_counter()
        tally, batch, source_id = self._tally, self._batch, self._source.id
        for count, item in enumerate(items, 1):
            if count % CHECK_EVERY_ITEMS == 0:
                if self._cancel.is_set():
                    break
                if time.perf_counter() - last_report >= PROGRESS_EVERY_SECS:
                    self._report()
                    last_report = time.perf_counter()
            if type(item) is Skipped:
                self._skipped(item)
                continue
            assert type(item) is FoundFile
            tally.seen += 1
            tally.by_extension[_extension(item.rel_path)] += 1
            self._current = item.rel_path
            if item.exact:
                batch.append((item.rel_path, item.path, None, item.size, item.mtime_ns))
            else:
                raw = os.fsencode(item.path)
                batch.append(
                    (item.rel_path, display_text(item.path), raw, item.size, item.mtime_ns)
                )
            if len(batch) >= WRITE_BATCH:
                self._flush()
        self._flush()
        text_index.catch_up(self._conn)
        cancelled = self._cancel.is_set()
        if not cancelled:
            tally.missing = self._mark_missing(scope)
            if scope is None:
                sources.mark_scanned(self._conn, source_id, self._stamp)
        self._report()
        return self._summary(time.perf_counter() - started, cancelled)

    def _skipped(self, item: Skipped) -> None:
        self._tally.skip(item.rel_path, item.reason)
        if item.reason is SkipReason.UNREADABLE_FOLDER:
            if not item.rel_path:
                self._root_unreadable = True
            else:
                # '0' follows '/': [folder/, folder0) holds exactly the paths under the folder.
                self._protected.append((item.rel_path + "/", item.rel_path + "0"))

    # Writing.

    def _flush(self) -> None:
        """Write the batch: new and changed files one by one, all unchanged ones at once."""
        if not self._batch:
            return
        conn = self._conn
        if self._fresh:
            # A source with no rows yet: everything is new, nothing to compare.
            work = [(*found, None, None) for found in self._batch]
        else:
            conn.execute("BEGIN")  # the TEMP table only: no lock on the catalogue yet
            conn.executemany(FILL_BATCH, self._batch)
            conn.execute("COMMIT")
            work = conn.execute(NEEDS_WORK, (self._source.id, self._hash_files)).fetchall()
        self._batch.clear()
        inserts, updates, vanished = self._prepare(work)  # reads files: outside the write lock
        first_new_id = self._next_id() if inserts and self._rules_apply else None
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(INSERT_NEW, inserts)
            conn.executemany(UPDATE_CONTENT, updates)
            conn.executemany(FORGET_FROM_BATCH, vanished)
            conn.execute(MARK_UNCHANGED, (self._stamp, self._source.id))
            conn.execute(CLEAR_BATCH)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if first_new_id is not None:
            tagging_rules.apply_rules(conn, first_new_id)

    def _prepare(
        self, work: list[tuple]
    ) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], list[tuple[str]]]:
        """Rows to insert, rows to update, and files that vanished before they could be read."""
        tally, stamp, source_id = self._tally, self._stamp, self._source.id
        inserts: list[tuple[object, ...]] = []
        updates: list[tuple[object, ...]] = []
        vanished: list[tuple[str]] = []
        for row, content in zip(work, self._read_all(work), strict=True):
            rel_path, path, path_bytes, size, mtime_ns, file_id, same_stat = row
            if isinstance(content, (FileNotFoundError, NotRegularFileError)):
                tally.skip(rel_path, SkipReason.VANISHED)
                tally.seen -= 1
                tally.by_extension[_extension(rel_path)] -= 1
                vanished.append((rel_path,))
                continue
            if isinstance(content, OSError):
                tally.skip(rel_path, SkipReason.UNREADABLE_FILE)
                content = None  # catalogued all the same, without a hash
            digest, kind = (content.content_hash, content.kind.value) if content else (None, None)
            if file_id is None:
                tally.new += 1
                inserts.append(
                    (source_id, path, path_bytes, rel_path, size, mtime_ns, digest, kind, stamp)
                )
            elif not same_stat:
                tally.changed += 1
                updates.append(
                    ("changed", size, mtime_ns, digest, kind, path_bytes, stamp, file_id)
                )
            elif content is not None:
                # Unchanged but never hashed (an earlier --no-hash scan): fill in the hash.
                updates.append(
                    ("unchanged", size, mtime_ns, digest, kind, path_bytes, stamp, file_id)
                )
        return inserts, updates, vanished

    def _read_all(self, work: list[tuple]) -> list[Content | OSError | None]:
        """Hash and sniff the files of `work` (None each when not hashing), errors as values.

        In this thread: measured, two reader threads were slower (the per-file Python work
        holds the GIL), see docs/benchmarks.md.
        """
        if not self._hash_files:
            return [None] * len(work)
        paths = [openable_path(path, path_bytes) for _, path, path_bytes, *_ in work]
        contents = _read_each(paths, self._cancel)
        self._tally.hashed += sum(1 for c in contents if isinstance(c, Content))
        return contents

    def _mark_missing(self, scope: str | None) -> int:
        if self._root_unreadable:
            return 0  # we know nothing about any file
        sql, params = MARK_MISSING, [self._source.id, self._stamp]
        if scope is not None:
            sql += IN_SCOPE
            params += [scope, scope + "/", scope + "0"]
        if self._protected:
            self._conn.executemany(
                "INSERT INTO temp.scout_scan_protected VALUES (?, ?)", self._protected
            )
            sql += NOT_PROTECTED
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            missing = self._conn.execute(sql, params).rowcount
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return missing

    def _next_id(self) -> int:
        return (self._conn.execute("SELECT max(id) FROM scout_files").fetchone()[0] or 0) + 1

    # Reporting.

    def _report(self) -> None:
        if self._on_progress is None:
            return
        tally = self._tally
        self._on_progress(
            ScanProgress(
                source=self._source.name,
                seen=tally.seen,
                new=tally.new,
                changed=tally.changed,
                current_dir=os.path.dirname(self._current),
            )
        )

    def _summary(self, elapsed: float, cancelled: bool) -> ScanSummary:
        tally = self._tally
        return ScanSummary(
            source=self._source.name,
            source_id=self._source.id,
            path=self._source.path,
            seen=tally.seen,
            new=tally.new,
            changed=tally.changed,
            unchanged=tally.seen - tally.new - tally.changed,
            missing=tally.missing,
            hashed=tally.hashed,
            skipped=dict(tally.skipped),
            skipped_examples=tally.skipped_examples,
            by_extension=dict(tally.by_extension.most_common()),
            elapsed_s=elapsed,
            files_per_s=tally.seen / elapsed if elapsed > 0 else 0.0,
            cancelled=cancelled,
        )


def _read_each(paths: list[str | bytes], cancel: threading.Event) -> list[Content | OSError | None]:
    """Read each file; once `cancel` is set the rest are left unread (None): they are
    catalogued without a hash, which the next hashed scan fills in."""
    contents: list[Content | OSError | None] = []
    for count, path in enumerate(paths):
        if count % CHECK_EVERY_ITEMS == 0 and cancel.is_set():
            return contents + [None] * (len(paths) - count)
        try:
            contents.append(read_content(path))
        except OSError as exc:
            contents.append(exc)
    return contents


def _extension(rel_path: str) -> str:
    """The lower-case extension of the file name ('' for '.bashrc'), like os.path.splitext."""
    dot = rel_path.rfind(".")
    if dot <= rel_path.rfind("/") + 1:
        return "(none)"
    return rel_path[dot:].lower()
