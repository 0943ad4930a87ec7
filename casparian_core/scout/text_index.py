"""The trigram index over relative paths that answers rare substring and glob filters.

`path_index.scout_files_text` is a contentless FTS5 table with the `trigram` tokenizer, in the
path index file (db/schema.py PATH_INDEX) that every connection attaches: it maps trigrams of
scout_files.rel_path to row ids, and nothing else (detail=none, columnsize=0: a third of the
fill's cost). Without positions it cannot match a phrase, so a needle is asked as all of its
trigrams, anywhere in the path: a few more candidates, which the exact LIKE or GLOB drops.

Filling it row by row from a trigger cost ~90 µs per inserted row (it would cut the first
scan's rate by two thirds), so it is filled in bulk: every row with an id above the mark's
`indexed_upto` at once, after each scan, and during a large scan by a thread of its own
(BackgroundFill) on the second core, since the index has its own file and hence its own write
lock.

Rows are never renamed, only deleted with their source. The index may keep a deleted row's
trigrams: its candidates are a superset anyway. What it must not do is take a new row for an
indexed one, and SQLite gives a new row the id after the largest present one, so deleting the
newest rows frees their ids. Hence the mark also keeps the last indexed row's rel_path and
first_seen: when that row is no longer there, ids may have been reused, and the index is not
used until it has been filled afresh.

A filter asks the index for candidates only when the needle (a substring, or a glob's longest
literal run) is at least three characters and matches few rows: then the first page and the
count read those rows by id. When it matches many, the ordered index scan finds a page of them
quickly anyway, and reading every candidate by id would be slower than the scan.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
from pathlib import Path

from casparian_core.db.connection import connect, write_transaction
from casparian_core.processes import lower_priority

TRIGRAM = 3
# Above this many indexed candidates the filter scans the (source_id, rel_path) index instead.
RARE_AT_MOST = 20_000
FILL_NICENESS = 10  # added to the fill thread's nice value

MARK = "SELECT indexed_upto, upto_rel_path, upto_first_seen FROM path_index.scout_files_text_mark"


def catch_up(conn: sqlite3.Connection, *, afresh: bool = False) -> None:
    """Index every row added since the last call, in one write transaction of the path index;
    the catalogue is only read meanwhile. All rows, after emptying the index, if `afresh` (to
    drop deleted rows' trigrams) or if the mark no longer holds."""
    if not afresh and _valid_mark(conn) == _newest_id(conn):
        return  # nothing to do, and no write
    with write_transaction(conn, "path_index"):
        upto = None if afresh else _valid_mark(conn)
        if upto is None:
            conn.execute(
                "INSERT INTO path_index.scout_files_text (scout_files_text) VALUES ('delete-all')"
            )
            upto = 0
        newest = conn.execute(
            "SELECT id, rel_path, first_seen FROM scout_files ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if newest is not None and newest[0] > upto:
            conn.execute(
                "INSERT INTO path_index.scout_files_text (rowid, rel_path)"
                " SELECT id, rel_path FROM scout_files WHERE id > ? AND id <= ?",
                (upto, newest[0]),
            )
            conn.execute(
                "UPDATE path_index.scout_files_text_mark SET indexed_upto = ?,"
                " upto_rel_path = ?, upto_first_seen = ?",
                newest,
            )


def _newest_id(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT max(id) FROM scout_files").fetchone()[0] or 0


def _valid_mark(conn: sqlite3.Connection) -> int | None:
    """The id up to which the index is complete, or None if the mark's row is gone or is
    another row now (ids may have been reused)."""
    upto, rel_path, first_seen = conn.execute(MARK).fetchone()
    if upto == 0:
        return 0
    same = conn.execute(
        "SELECT 1 FROM scout_files WHERE id = ? AND rel_path = ? AND first_seen = ?",
        (upto, rel_path, first_seen),
    ).fetchone()
    return upto if same else None


class BackgroundFill:
    """Fills the index from a thread of its own while a large scan writes the catalogue.

    `wake()` after each write; each round indexes everything committed by then, so rounds grow
    when the writer runs ahead. `close()` waits for one last round (the scanner's own catch_up
    indexes what a round in progress missed) and raises what the thread failed with, if
    anything.
    """

    def __init__(self, database: Path) -> None:
        self._conn = connect(database, migrating=False)  # the scan's gateway migrated it
        self._wake = threading.Event()
        self._stopping = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="path-index-fill", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def close(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join()
        self._conn.close()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        # SQLite releases the GIL while it works, so the rounds run on the second core; at a
        # lower priority, since the rounds may lag but the writer and the walk must not.
        # (Linux gives each thread its own nice value; elsewhere the id would name a process.)
        if sys.platform == "linux":
            lower_priority(threading.get_native_id(), FILL_NICENESS)
        try:
            # The stop flag is read after a round, never before one: a close() that comes
            # before this thread's first look still gets its last round.
            while True:
                self._wake.wait()
                self._wake.clear()
                catch_up(self._conn)
                if self._stopping:
                    return
        except BaseException as exc:  # handed to the scanning thread by close()
            self._error = exc


def rare_candidates(conn: sqlite3.Connection, needle: str) -> tuple[str, list[object]] | None:
    """A clause limiting rows to the index's candidates for `needle`, when they are few.

    The candidates are a superset (the index folds case; rows not indexed yet are all
    candidates): the caller still applies the exact LIKE or GLOB to them.
    """
    if len(needle) < TRIGRAM:
        return None
    upto = _valid_mark(conn)
    if upto is None:
        return None  # until the index is filled afresh, only the scan is exact
    trigrams = " AND ".join(
        '"' + needle[start : start + TRIGRAM].replace('"', '""') + '"'
        for start in range(len(needle) - TRIGRAM + 1)
    )
    found = conn.execute(
        "SELECT count(*) FROM (SELECT rowid FROM path_index.scout_files_text"
        " WHERE scout_files_text MATCH ? LIMIT ?)",
        (trigrams, RARE_AT_MOST + 1),
    ).fetchone()[0]
    if found > RARE_AT_MOST:
        return None
    return (
        "(id IN (SELECT rowid FROM path_index.scout_files_text WHERE scout_files_text MATCH ?)"
        " OR id > ?)",
        [trigrams, upto],
    )


def longest_literal(glob: str) -> str:
    """The longest run of plain characters in a SQLite GLOB pattern (outside `*`, `?`, `[…]`)."""
    runs: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(glob):
        char = glob[index]
        if char in "*?[":
            runs.append("".join(current))
            current = []
            if char == "[":
                index = _class_end(glob, index)
        else:
            current.append(char)
        index += 1
    runs.append("".join(current))
    return max(runs, key=len)


def _class_end(glob: str, start: int) -> int:
    """The index of the `]` closing the class opened at `start` (a leading `^` and a `]` right
    after the opening are members, as in SQLite); the end of the pattern if it never closes."""
    index = start + 1
    if index < len(glob) and glob[index] == "^":
        index += 1
    if index < len(glob) and glob[index] == "]":
        index += 1
    closing = glob.find("]", index)
    return len(glob) if closing < 0 else closing
