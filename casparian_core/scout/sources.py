"""Sources: the folders Scout catalogues, by name."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path

from casparian_core.db.connection import utc_now, write_transaction
from casparian_core.scout import text_index
from casparian_core.scout.errors import (
    NonUtf8SourcePathError,
    NotAFolderError,
    ScanPathNotFoundError,
    SourceAlreadyRegisteredError,
    SourceNameTakenError,
    SourceNotFoundError,
)
from casparian_core.scout.names import display_text


@dataclass(frozen=True)
class SourceRecord:
    id: int
    name: str
    path: str


@dataclass(frozen=True)
class SourceInfo:
    """A source as lists show it: present files exclude those gone from disk."""

    id: int
    name: str
    path: str
    watch: bool
    files: int
    missing: int
    created_at: str
    last_scan_at: str | None

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def resolve_folder(path: str | Path) -> str:
    """The absolute, link-free form of a folder to scan, or a typed error saying what is wrong."""
    given = os.fspath(path)
    try:
        resolved = Path(given).expanduser().resolve(strict=True)
    except (FileNotFoundError, NotADirectoryError):
        raise ScanPathNotFoundError(given) from None
    if not resolved.is_dir():
        raise NotAFolderError(given)
    folder = str(resolved)
    if display_text(folder) != folder:
        # The path is stored as text; names inside the folder may be anything.
        raise NonUtf8SourcePathError(display_text(folder))
    return folder


def register(conn: sqlite3.Connection, folder: str, name: str | None) -> SourceRecord:
    """The source for `folder` (resolved), created on first scan and named after the folder."""
    with write_transaction(conn):  # two first scans of one folder at once: one registers it
        return _register(conn, folder, name)


def _register(conn: sqlite3.Connection, folder: str, name: str | None) -> SourceRecord:
    row = conn.execute(
        "SELECT id, name, path FROM scout_sources WHERE path = ?", (folder,)
    ).fetchone()
    if row is not None:
        if name is not None and name != row[1]:
            raise SourceAlreadyRegisteredError(folder, row[1])
        return SourceRecord(*row)
    if name is not None:
        taken = conn.execute("SELECT path FROM scout_sources WHERE name = ?", (name,)).fetchone()
        if taken is not None:
            raise SourceNameTakenError(name, taken[0])
    chosen = name or _free_name(conn, display_text(os.path.basename(folder)) or "root")
    cursor = conn.execute(
        "INSERT INTO scout_sources (name, path, created_at) VALUES (?, ?, ?)",
        (chosen, folder, utc_now()),
    )
    return SourceRecord(cursor.lastrowid or 0, chosen, folder)


def _free_name(conn: sqlite3.Connection, base: str) -> str:
    """`base`, or `base-2`, `base-3`... when another folder of the same name is a source."""
    candidate, suffix = base, 1
    while conn.execute("SELECT 1 FROM scout_sources WHERE name = ?", (candidate,)).fetchone():
        suffix += 1
        candidate = f"{base}-{suffix}"
    return candidate


def find(conn: sqlite3.Connection, name: str) -> SourceRecord:
    row = conn.execute(
        "SELECT id, name, path FROM scout_sources WHERE name = ?", (name,)
    ).fetchone()
    if row is None:
        raise SourceNotFoundError(name)
    return SourceRecord(*row)


def watched(conn: sqlite3.Connection) -> list[SourceRecord]:
    rows = conn.execute(
        "SELECT id, name, path FROM scout_sources WHERE watch = 1 AND enabled = 1 ORDER BY name"
    ).fetchall()
    return [SourceRecord(*row) for row in rows]


def list_sources(conn: sqlite3.Connection) -> list[SourceInfo]:
    # Both counts come from indexes: all rows per source from UNIQUE(source_id, rel_path),
    # missing ones from the small partial index.
    rows = conn.execute(
        """
        SELECT s.id, s.name, s.path, s.watch,
               (SELECT count(*) FROM scout_files f WHERE f.source_id = s.id),
               (SELECT count(*) FROM scout_files f
                 WHERE f.source_id = s.id AND f.status = 'missing'),
               s.created_at, s.last_scan_at
        FROM scout_sources s ORDER BY s.name
        """
    ).fetchall()
    return [
        SourceInfo(id_, name, path, bool(watch), total - missing, missing, created, last_scan)
        for id_, name, path, watch, total, missing, created, last_scan in rows
    ]


def remove(conn: sqlite3.Connection, name: str) -> SourceRecord:
    """Forget a source and its catalogue rows; the files on disk are not touched."""
    source = find(conn, name)
    # Its files and the rules scoped to it go by ON DELETE CASCADE, in this one statement;
    # jobs keep their input_path and lose only their link to the catalogue row (SET NULL).
    conn.execute("DELETE FROM scout_sources WHERE id = ?", (source.id,))
    # The path index still holds the deleted paths: fill it afresh. Should the process die
    # first, the index's mark keeps it from misleading a filter (text_index.py).
    text_index.catch_up(conn, afresh=True)
    return source


def set_watch(conn: sqlite3.Connection, name: str, on: bool) -> SourceRecord:
    source = find(conn, name)
    conn.execute("UPDATE scout_sources SET watch = ? WHERE id = ?", (int(on), source.id))
    return source


def exists(conn: sqlite3.Connection, source_id: int) -> bool:
    return (
        conn.execute("SELECT 1 FROM scout_sources WHERE id = ?", (source_id,)).fetchone()
        is not None
    )


def mark_scanned(conn: sqlite3.Connection, source_id: int, when: str) -> None:
    conn.execute("UPDATE scout_sources SET last_scan_at = ? WHERE id = ?", (when, source_id))
