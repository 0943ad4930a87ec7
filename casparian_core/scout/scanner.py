"""Scanning a source: merge its sorted walk with its catalogue rows read in the same order.

Both sides stream: the walk lists one folder at a time and the catalogue is read in keyset
chunks, so memory does not grow with the tree. A row the walk passes by without a matching file
is a file gone from disk: it is marked missing, never deleted. A file whose size and mtime are
unchanged is not read again. Writes go in transactions of WRITE_BATCH rows.

Cancelling stops the walk; what was found is committed, and rows the walk had not reached yet
are left as they were, so the catalogue stays consistent (a cancelled scan marks nothing missing
beyond where it got to). Rows under a folder that could not be read are left as they were too.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import chain

from casparian_core.db.connection import utc_now
from casparian_core.events import ScanProgress
from casparian_core.scout import rules as tagging_rules
from casparian_core.scout import sources
from casparian_core.scout.content import Content, NotRegularFileError, read_content
from casparian_core.scout.ignore import is_builtin_ignored, rules_for_folder
from casparian_core.scout.names import display_text
from casparian_core.scout.sources import SourceRecord
from casparian_core.scout.walk import FoundFile, Skipped, SkipReason, WalkItem, examine, walk

WRITE_BATCH = 10_000
READ_CHUNK = 5_000
PROGRESS_EVERY_SECS = 0.1
CHECK_EVERY_ITEMS = 256  # how often to look at the clock and the cancel flag
SKIP_EXAMPLES = 5

ProgressCallback = Callable[[ScanProgress], None]

INSERT_NEW = """
INSERT INTO scout_files (source_id, path, path_bytes, rel_path, size, mtime_ns, content_hash,
                         kind, status, first_seen, last_seen)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'new', ?9, ?9)
ON CONFLICT (source_id, rel_path) DO UPDATE SET
    path_bytes = excluded.path_bytes, size = excluded.size, mtime_ns = excluded.mtime_ns,
    content_hash = excluded.content_hash, kind = excluded.kind, status = 'changed',
    last_seen = excluded.last_seen
"""
# Another process (a watcher, a second scan) may have inserted the row meanwhile: then it is an
# update, not an error.
MARK_SEEN = "UPDATE scout_files SET status = 'unchanged', last_seen = ? WHERE id = ?"
UPDATE_CONTENT = """
UPDATE scout_files SET status = ?, size = ?, mtime_ns = ?, content_hash = ?, kind = ?,
                       path_bytes = ?, last_seen = ?
WHERE id = ?
"""
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


@dataclass(frozen=True, slots=True)
class _Row:
    id: int
    rel_path: str
    size: int
    mtime_ns: int
    content_hash: str | None
    status: str


@dataclass
class _Tally:
    seen: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
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


class _Lookahead:
    """The catalogue rows in order, with a look at the next one."""

    def __init__(self, rows: Iterator[_Row]) -> None:
        self._rows = rows
        self.next: _Row | None = next(rows, None)

    def advance(self) -> _Row:
        row = self.next
        assert row is not None
        self.next = next(self._rows, None)
        return row


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
        self._inserts: list[tuple[object, ...]] = []
        self._seen: list[tuple[object, ...]] = []
        self._contents: list[tuple[object, ...]] = []
        self._missing: list[tuple[int]] = []
        self._rules_apply = tagging_rules.has_enabled_rules(conn)
        self._current_dir = ""

    def scan(self) -> ScanSummary:
        """Scan the whole source."""
        root = self._source.path
        items = walk(root, "", True, rules_for_folder(root, "")[0])
        return self._run(items, self._rows_from(""), whole=True)

    def refresh(self, rel_os_path: str) -> ScanSummary:
        """Bring one path of the source up to date: a file, or a folder and all below it.

        `rel_os_path` is relative to the source root, in OS form ('/'-separated); used by the
        watcher for the paths that changed.
        """
        rel_path = "/".join(display_text(part) for part in rel_os_path.split("/"))
        rows = chain(self._exact_row(rel_path), self._rows_from(rel_path + "/"))
        return self._run(self._items_at(rel_os_path, rel_path), rows, whole=False)

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

    # The merge.

    def _run(self, items: Iterator[WalkItem], rows: Iterator[_Row], *, whole: bool) -> ScanSummary:
        started = time.perf_counter()
        last_report = started
        catalogue = _Lookahead(rows)
        cancelled = False
        for count, item in enumerate(items, 1):
            if count % CHECK_EVERY_ITEMS == 0:
                if self._cancel.is_set():
                    cancelled = True
                    break
                now = time.perf_counter()
                if now - last_report >= PROGRESS_EVERY_SECS:
                    self._report()
                    last_report = now
            if isinstance(item, Skipped):
                self._skipped(item, catalogue)
            else:
                self._found(item, catalogue)
            if self._pending() >= WRITE_BATCH:
                self._flush()
        else:
            cancelled = self._cancel.is_set()
        if not cancelled:
            while catalogue.next is not None:
                self._gone(catalogue.advance())
        self._flush()
        if whole and not cancelled:
            sources.mark_scanned(self._conn, self._source.id, self._stamp)
        self._report()
        return self._summary(time.perf_counter() - started, cancelled)

    def _found(self, item: FoundFile, catalogue: _Lookahead) -> None:
        self._pass_rows_before(item.rel_path, catalogue)
        row = catalogue.advance() if _at(catalogue, item.rel_path) else None
        try:
            content = self._content_if_needed(item, row)
        except (FileNotFoundError, NotRegularFileError):
            # Gone (or replaced by something that is not a file) since it was listed.
            self._tally.skip(item.rel_path, SkipReason.VANISHED)
            if row is not None:
                self._gone(row)
            return
        tally = self._tally
        tally.seen += 1
        tally.by_extension[_extension(item.rel_path)] += 1
        self._current_dir = item.rel_path
        path_bytes = None if item.exact else os.fsencode(item.path)
        display_path = item.path if item.exact else display_text(item.path)
        digest, kind = (content.content_hash, content.kind.value) if content else (None, None)
        if row is None:
            tally.new += 1
            self._inserts.append(
                (
                    self._source.id,
                    display_path,
                    path_bytes,
                    item.rel_path,
                    item.size,
                    item.mtime_ns,
                    digest,
                    kind,
                    self._stamp,
                )
            )
            return
        unchanged = _same_stat(row, item)
        if unchanged:
            tally.unchanged += 1
        else:
            tally.changed += 1
        if unchanged and content is None:
            self._seen.append((self._stamp, row.id))
        else:
            status = "unchanged" if unchanged else "changed"
            self._contents.append(
                (status, item.size, item.mtime_ns, digest, kind, path_bytes, self._stamp, row.id)
            )

    def _content_if_needed(self, item: FoundFile, row: _Row | None) -> Content | None:
        """The file's hash and kind when they must be (re)computed, else None.

        Raises FileNotFoundError or NotRegularFileError when the file is no longer there.
        """
        if not self._hash_files:
            return None
        if row is not None and row.content_hash is not None and _same_stat(row, item):
            return None
        try:
            content = read_content(item.path)
        except (FileNotFoundError, NotRegularFileError):
            raise
        except OSError:
            self._tally.skip(item.rel_path, SkipReason.UNREADABLE_FILE)
            return None  # catalogued all the same, without a hash
        self._tally.hashed += 1
        return content

    def _skipped(self, item: Skipped, catalogue: _Lookahead) -> None:
        self._tally.skip(item.rel_path, item.reason)
        if item.reason is not SkipReason.UNREADABLE_FOLDER:
            return
        # We cannot tell what is in there now: leave its rows exactly as they are.
        prefix = item.rel_path + "/" if item.rel_path else ""
        self._pass_rows_before(prefix, catalogue)
        while catalogue.next is not None and catalogue.next.rel_path.startswith(prefix):
            catalogue.advance()

    def _pass_rows_before(self, rel_path: str, catalogue: _Lookahead) -> None:
        while catalogue.next is not None and catalogue.next.rel_path < rel_path:
            self._gone(catalogue.advance())

    def _gone(self, row: _Row) -> None:
        if row.status != "missing":
            self._tally.missing += 1
            self._missing.append((row.id,))

    # Writing.

    def _pending(self) -> int:
        return len(self._inserts) + len(self._seen) + len(self._contents) + len(self._missing)

    def _flush(self) -> None:
        if not self._pending():
            return
        first_new_id = self._next_id() if self._inserts and self._rules_apply else None
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(INSERT_NEW, self._inserts)
            conn.executemany(MARK_SEEN, self._seen)
            conn.executemany(UPDATE_CONTENT, self._contents)
            conn.executemany(MARK_MISSING, self._missing)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        for pending in (self._inserts, self._seen, self._contents, self._missing):
            pending.clear()
        if first_new_id is not None:
            tagging_rules.apply_rules(conn, first_new_id)

    def _next_id(self) -> int:
        return (self._conn.execute("SELECT max(id) FROM scout_files").fetchone()[0] or 0) + 1

    # Reading the catalogue.

    def _rows_from(self, prefix: str) -> Iterator[_Row]:
        """Rows whose rel_path starts with `prefix` ('' = all), in order, in keyset chunks."""
        # '0' follows '/': [prefix, prefix-with-'/'-bumped) is exactly the paths under it.
        upper = prefix[:-1] + "0" if prefix else None
        bound = "AND rel_path < ?" if upper is not None else ""
        extra: tuple[object, ...] = (upper,) if upper is not None else ()
        after, comparison = prefix, ">="
        while True:
            chunk = self._conn.execute(
                "SELECT id, rel_path, size, mtime_ns, content_hash, status FROM scout_files"
                f" WHERE source_id = ? AND rel_path {comparison} ? {bound}"
                " ORDER BY rel_path LIMIT ?",
                (self._source.id, after, *extra, READ_CHUNK),
            ).fetchall()
            yield from (_Row(*row) for row in chunk)
            if len(chunk) < READ_CHUNK:
                return
            after, comparison = chunk[-1][1], ">"

    def _exact_row(self, rel_path: str) -> Iterator[_Row]:
        row = self._conn.execute(
            "SELECT id, rel_path, size, mtime_ns, content_hash, status FROM scout_files"
            " WHERE source_id = ? AND rel_path = ?",
            (self._source.id, rel_path),
        ).fetchone()
        if row is not None:
            yield _Row(*row)

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
                current_dir=os.path.dirname(self._current_dir),
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
            unchanged=tally.unchanged,
            missing=tally.missing,
            hashed=tally.hashed,
            skipped=dict(tally.skipped),
            skipped_examples=tally.skipped_examples,
            by_extension=dict(tally.by_extension.most_common()),
            elapsed_s=elapsed,
            files_per_s=tally.seen / elapsed if elapsed > 0 else 0.0,
            cancelled=cancelled,
        )


def _same_stat(row: _Row, item: FoundFile) -> bool:
    """Same size and mtime: taken as unchanged, and not read again."""
    return row.size == item.size and row.mtime_ns == item.mtime_ns


def _at(catalogue: _Lookahead, rel_path: str) -> bool:
    return catalogue.next is not None and catalogue.next.rel_path == rel_path


def _extension(rel_path: str) -> str:
    return os.path.splitext(rel_path)[1].lower() or "(none)"
