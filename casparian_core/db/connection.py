"""Opening the control-plane database: pragmas, checks and forward migrations.

Both the sync connections (scans, the queue) and the async store open the file through here, so
every connection gets the same pragmas and nobody touches a database we cannot read or that a
newer release wrote. Sync connections also attach the path index (schema.PATH_INDEX), the
database's companion file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from casparian_core.db.schema import LATEST_VERSION, MIGRATIONS, PATH_INDEX
from casparian_core.errors import (
    CasparianError,
    DatabaseCorruptError,
    DatabaseLockedError,
    DatabaseLostError,
    DatabaseWriteError,
    SchemaTooNewError,
)

BUSY_TIMEOUT_MS = 10_000
WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024
WAL_CHECKPOINT_PAGES = 10_000  # ~40 MB of WAL, within the size limit
CORRUPTION_CODES = frozenset({sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT})
LOCKED_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
# A full disk is SQLITE_FULL; a file-size limit (or a failing disk) is an I/O error.
WRITE_FAILURE_CODES = frozenset({sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR})
PRAGMAS = (
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys = ON",
    # A statement inside a larger transaction keeps the pages it changes in a statement
    # journal, to be undone alone; past 64 KiB SQLite spills it to a file in /var/tmp. Each
    # enqueued job's INSERT (six indexes, the run-count trigger) spilled: 16 page writes per
    # job, 32,000 for 2,000 files, in the command's path before any job ran. In memory, a
    # statement's journal holds only the pages that one statement changes.
    "PRAGMA temp_store = MEMORY",
)
# Switching to WAL rewrites the file header, so it happens only once the version check passed.
WRITE_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    # A large first scan can grow the WAL to a few hundred MB (the path index's fill reads
    # while the scan writes, so it cannot start over); once it does, it shrinks back to this.
    f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT_BYTES}",
    # Each checkpoint waits for two fsyncs; every 1,000 pages (the default) they were a tenth
    # to a fifth of the queue's claim+complete time on this machine's disk.
    f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}",
)
# A write that changes nothing, per file: first in a transaction, it takes that file's write
# lock (waiting as busy_timeout allows) and no other file's.
TAKE_WRITE_LOCK = {
    "main": "UPDATE main.scout_sources SET id = id WHERE 0",
    "path_index": "UPDATE path_index.scout_files_text_mark SET indexed_upto = 0 WHERE 0",
}


def utc_now() -> str:
    """The current time as the ISO-8601 UTC text the schema stores."""
    return format_timestamp(datetime.now(UTC))


def format_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def connect(path: Path, *, migrating: bool = True) -> sqlite3.Connection:
    """A sync connection in autocommit mode (callers issue BEGIN themselves), schema up to date,
    with the path index attached. Without `migrating` the schema is only checked: for the
    gateway's connections, opened after prepare_home migrated the database."""
    refuse_lost_database(path)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        for pragma in PRAGMAS:
            conn.execute(pragma)
        check_version(conn, path)
        for pragma in WRITE_PRAGMAS:
            conn.execute(pragma)
        if migrating:
            migrate(conn, path)
        attach_path_index(conn, path_index_file(path))
    except sqlite3.Error as exc:
        conn.close()
        raise_translated(exc, path)
    except BaseException:
        conn.close()
        raise
    return conn


def refuse_lost_database(path: Path) -> None:
    """SQLite makes a new, empty database where the file is missing or empty: never where its
    path index shows there was one (deleted or truncated, maybe while the app had it open)."""
    try:
        lost = path.stat().st_size == 0
    except OSError:  # missing, or a path through a file: SQLite says what is wrong
        lost = True
    if lost and path_index_file(path).exists():
        raise DatabaseLostError(
            f"{path} is missing or empty but its path index {path_index_file(path).name} is "
            "still there, so the database was deleted or truncated: restore it from a backup, "
            "or delete the path index too to start afresh."
        )


def database_error(exc: sqlite3.Error, path: Path | str) -> CasparianError | None:
    """The one-sentence error for a fault of the database file or its environment (another
    process holding the lock, a full disk, a file-size limit, damage), or None for anything
    else, which is a bug to show in full."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = None if code is None else code & 0xFF  # extended codes carry the primary below
    if primary in LOCKED_CODES:
        return DatabaseLockedError(
            f"{path} is locked by another process that is writing to it (waited "
            f"{BUSY_TIMEOUT_MS // 1000} s): let that process finish (or stop it), then run "
            "the command again."
        )
    if primary in WRITE_FAILURE_CODES:
        return DatabaseWriteError(
            f"Cannot write to {path} (the disk is full or a file-size limit was reached): free "
            "some space or raise the limit, then run the command again; what was saved before "
            "is intact."
        )
    if primary in CORRUPTION_CODES:
        return DatabaseCorruptError(
            f"{path} is damaged or not a Casparian database: restore it from a backup, or "
            "move it aside and run the command again to start a fresh one."
        )
    return None


def raise_translated(exc: sqlite3.Error, path: Path | str) -> NoReturn:
    """Raise `exc` as its typed error (see database_error), or as it is."""
    translated = database_error(exc, path)
    if translated is None:
        raise exc
    raise translated from exc


@contextmanager
def translated_errors(path: Path | str) -> Iterator[None]:
    """Around work on the database at `path`: its faults raise as typed errors."""
    try:
        yield
    except sqlite3.Error as exc:
        raise_translated(exc, path)


def database_file(conn: sqlite3.Connection, schema: str = "main") -> str:
    """The file behind `schema` of `conn`, for messages."""
    try:
        files = {row[1]: row[2] for row in conn.execute("PRAGMA database_list")}
    except sqlite3.Error:
        files = {}
    return files.get(schema) or f"the {schema} database"


@contextmanager
def write_transaction(conn: sqlite3.Connection, schema: str | None = "main") -> Iterator[None]:
    """A transaction holding the write lock of one file from its start, committed at the end
    of the block and rolled back if it raises.

    Not BEGIN IMMEDIATE, which locks every attached file: a scan writes the catalogue while
    another connection fills the path index (scout/text_index.py), and neither may wait for
    the other. Taking the lock first also means the transaction reads the newest data and
    cannot fail later for having read an older snapshot. `schema` None locks every file
    (BEGIN IMMEDIATE), for the rare work before everything else: migrations, creating the
    path index.
    """
    try:
        conn.execute("BEGIN IMMEDIATE" if schema is None else "BEGIN")
        try:
            if schema is not None:
                conn.execute(TAKE_WRITE_LOCK[schema])
            yield
            conn.execute("COMMIT")
        except BaseException:
            # After a failed write (disk full) SQLite may already have rolled back.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise_translated(exc, database_file(conn, schema or "main"))


def path_index_file(database: Path) -> Path:
    """The path index's file: `casparian_flow.sqlite3` has `casparian_flow.paths.sqlite3`."""
    return database.with_suffix(".paths" + database.suffix)


def attach_path_index(conn: sqlite3.Connection, index: Path) -> None:
    """Attach the path index as `path_index`, creating it if missing. An unreadable one is
    derived data: it is deleted and made afresh (empty: the next scan fills it)."""
    try:
        _attach_path_index(conn, index)
    except sqlite3.DatabaseError as exc:
        if exc.sqlite_errorcode not in CORRUPTION_CODES:
            raise
        if "path_index" in (row[1] for row in conn.execute("PRAGMA database_list")):
            conn.execute("DETACH DATABASE path_index")
        for companion in ("", "-wal", "-shm"):
            index.with_name(index.name + companion).unlink(missing_ok=True)
        _attach_path_index(conn, index)


def _attach_path_index(conn: sqlite3.Connection, index: Path) -> None:
    conn.execute("ATTACH DATABASE ? AS path_index", (str(index),))
    conn.execute("PRAGMA path_index.journal_mode = WAL")
    conn.execute("PRAGMA path_index.synchronous = NORMAL")
    if _has_path_index(conn):
        return
    with write_transaction(conn, None):  # two processes opening a new home: one creates it
        if not _has_path_index(conn):
            for statement in _statements(PATH_INDEX):
                conn.execute(statement)


def _has_path_index(conn: sqlite3.Connection) -> bool:
    found = conn.execute(
        "SELECT count(*) FROM path_index.sqlite_master WHERE name = 'scout_files_text_mark'"
    ).fetchone()[0]
    return found > 0


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def check_version(conn: sqlite3.Connection, path: Path) -> int:
    version = schema_version(conn)
    if version > LATEST_VERSION:
        raise SchemaTooNewError(
            f"{path} was written by a newer Casparian Flow (schema {version}, this release "
            f"knows up to {LATEST_VERSION}): upgrade casparian-flow, or point CASPARIAN_HOME "
            "elsewhere."
        )
    return version


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Bring the schema to LATEST_VERSION, one migration per transaction. Returns the version."""
    version = check_version(conn, path)
    while version < LATEST_VERSION:
        with write_transaction(conn, None):
            # Re-read inside the write lock: another process may have migrated meanwhile.
            version = schema_version(conn)
            if version < LATEST_VERSION:
                for statement in _statements(MIGRATIONS[version]):
                    conn.execute(statement)
                version += 1
                conn.execute(f"PRAGMA user_version = {version}")
    return version


def _statements(script: str) -> list[str]:
    """Split a migration into statements so they run inside our own transaction.

    `executescript` would commit first; sqlite3.complete_statement finds the boundaries.
    """
    statements: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements
