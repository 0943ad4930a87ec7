"""The trigram index over relative paths that answers rare substring and glob filters.

`scout_files_text` is an FTS5 table with the `trigram` tokenizer whose content is
scout_files.rel_path. Filling it row by row from a trigger cost ~90 µs per inserted row
(measured: it would cut the first scan's rate by two thirds), so it is filled in bulk after each
scan: every row with an id above `scout_files_text_mark.indexed_upto` is indexed at once. Rows
are never renamed; they are deleted only with their source, after which the index is rebuilt.

A filter asks the index for candidates only when the needle (a substring, or a glob's longest
literal run) is at least three characters and matches few rows: then the first page and the
count read those rows by id. When it matches many, the ordered index scan finds a page of them
quickly anyway, and reading every candidate by id would be slower than the scan.
"""

from __future__ import annotations

import sqlite3

TRIGRAM = 3
# Above this many indexed candidates the filter scans the (source_id, rel_path) index instead.
RARE_AT_MOST = 20_000


def catch_up(conn: sqlite3.Connection) -> None:
    """Index every row added since the last call, in one write transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        (upto,) = conn.execute("SELECT indexed_upto FROM scout_files_text_mark").fetchone()
        newest = conn.execute("SELECT max(id) FROM scout_files").fetchone()[0] or 0
        if newest > upto:
            conn.execute(
                "INSERT INTO scout_files_text (rowid, rel_path)"
                " SELECT id, rel_path FROM scout_files WHERE id > ?",
                (upto,),
            )
            conn.execute("UPDATE scout_files_text_mark SET indexed_upto = ?", (newest,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def rebuild(conn: sqlite3.Connection) -> None:
    """Index the whole catalogue afresh (after rows were deleted), in the caller's
    transaction."""
    conn.execute("INSERT INTO scout_files_text (scout_files_text) VALUES ('rebuild')")
    conn.execute(
        "UPDATE scout_files_text_mark SET indexed_upto = (SELECT coalesce(max(id), 0)"
        " FROM scout_files)"
    )


def rare_candidates(conn: sqlite3.Connection, needle: str) -> tuple[str, list[object]] | None:
    """A clause limiting rows to the index's candidates for `needle`, when they are few.

    The candidates are a superset (the index folds case; rows not indexed yet are all
    candidates): the caller still applies the exact LIKE or GLOB to them.
    """
    if len(needle) < TRIGRAM:
        return None
    phrase = '"' + needle.replace('"', '""') + '"'
    found = conn.execute(
        "SELECT count(*) FROM (SELECT rowid FROM scout_files_text"
        " WHERE scout_files_text MATCH ? LIMIT ?)",
        (phrase, RARE_AT_MOST + 1),
    ).fetchone()[0]
    if found > RARE_AT_MOST:
        return None
    (upto,) = conn.execute("SELECT indexed_upto FROM scout_files_text_mark").fetchone()
    return (
        "(id IN (SELECT rowid FROM scout_files_text WHERE scout_files_text MATCH ?) OR id > ?)",
        [phrase, upto],
    )


def longest_literal(glob: str) -> str:
    """The longest run of plain characters in a SQLite GLOB pattern (outside `*`, `?`, `[…]`)."""
    runs, current, index = [], [], 0
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
