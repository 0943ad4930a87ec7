"""Opening the control-plane database: pragmas, checks and forward migrations.

Both the sync connections (scans, the queue) and the async store open the file through here, so
every connection gets the same pragmas and nobody touches a database we cannot read or that a
newer release wrote.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from casparian_core.db.schema import LATEST_VERSION, MIGRATIONS
from casparian_core.errors import DatabaseCorruptError, SchemaTooNewError

BUSY_TIMEOUT_MS = 10_000
CORRUPTION_CODES = frozenset({sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT})
PRAGMAS = (
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys = ON",
)
# Switching to WAL rewrites the file header, so it happens only once the version check passed.
WRITE_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
)
ALL_PRAGMAS = PRAGMAS + WRITE_PRAGMAS


def utc_now() -> str:
    """The current time as the ISO-8601 UTC text the schema stores."""
    return format_timestamp(datetime.now(UTC))


def format_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def connect(path: Path) -> sqlite3.Connection:
    """A sync connection in autocommit mode (callers issue BEGIN themselves), schema up to date."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        for pragma in PRAGMAS:
            conn.execute(pragma)
        check_version(conn, path)
        for pragma in WRITE_PRAGMAS:
            conn.execute(pragma)
        migrate(conn, path)
    except sqlite3.DatabaseError as exc:
        conn.close()
        if exc.sqlite_errorcode not in CORRUPTION_CODES:
            raise
        raise DatabaseCorruptError(
            f"{path} is not a readable Casparian database: move it aside "
            "(or restore a backup) and run the command again to start a fresh one."
        ) from None
    except BaseException:
        conn.close()
        raise
    return conn


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
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read inside the write lock: another process may have migrated meanwhile.
            version = schema_version(conn)
            if version < LATEST_VERSION:
                for statement in _statements(MIGRATIONS[version]):
                    conn.execute(statement)
                version += 1
                conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
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
