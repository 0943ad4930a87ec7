"""Preparing CASPARIAN_HOME: its folders, a write check, and an up-to-date, sound database.

A home is a folder holding a non-empty control database. Only commands that write create one
(`prepare_home(create=True)`), and never over a home whose database was lost: outputs or parsers
without a database mean it was deleted or truncated, and starting afresh would silently forget
every source, rule and test.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from casparian_core.config import Settings
from casparian_core.db.connection import connect, refuse_lost_database
from casparian_core.errors import (
    DatabaseCorruptError,
    DatabaseLostError,
    HomeNotFoundError,
    HomeNotWritableError,
)

PREPARE_LOCK = ".prepare.lock"
SQLITE_HEADER = 100


def home_exists(settings: Settings) -> bool:
    """Whether the home has a control database with something in it."""
    try:
        return settings.database_path.stat().st_size > 0
    except OSError:
        return False


def prepare_home(settings: Settings, *, create: bool = True) -> bool:
    """Create the home's folders and migrate its database, or raise a typed error. Returns
    whether a new home was created (only with `create`; without it a missing home is
    HomeNotFoundError).

    Nothing existing is overwritten: a corrupt or newer database stays exactly as it was.
    """
    if not home_exists(settings):
        _refuse_lost_database(settings)
        if not create:
            raise HomeNotFoundError(
                f"There is no Casparian home at {settings.home} (no "
                f"{settings.database_path.name}): check --home or CASPARIAN_HOME, or run "
                "`casparian scan <folder>` to create a home there."
            )
    _make_folders(settings)
    # Two processes preparing a new home at once: SQLite refuses the switch to WAL to the
    # second without waiting, so preparation takes turns.
    with _preparation_lock(settings.home):
        created = not home_exists(settings)
        if created:
            _refuse_lost_database(settings)
        with closing(connect(settings.database_path)) as conn:
            if not created and _looks_damaged(settings.database_path):
                check_integrity(conn, settings.database_path)
    return created


def verify_home(settings: Settings) -> None:
    """A full check of an existing home's database (`casparian status`): its schema and every
    page, with PRAGMA quick_check. Raises HomeNotFoundError or DatabaseCorruptError."""
    prepare_home(settings, create=False)
    with closing(connect(settings.database_path)) as conn:
        check_integrity(conn, settings.database_path)


def check_integrity(conn: sqlite3.Connection, path: Path) -> None:
    try:
        report = [row[0] for row in conn.execute("PRAGMA quick_check(2)")]
    except sqlite3.DatabaseError as exc:
        report = [str(exc)]
    if report != ["ok"]:
        # The report names the file first ("*** in database main ***"); the damage follows.
        lines = [line for text in report for line in text.splitlines() if "***" not in line]
        raise DatabaseCorruptError(
            f"{path} is damaged (SQLite's integrity check: {lines[0] if lines else report[0]}): "
            "restore it from a backup, or move it aside to start a fresh one."
        )


def _refuse_lost_database(settings: Settings) -> None:
    """Raise DatabaseLostError when the home shows it had a database (its path index, outputs
    or parsers) but has none."""
    refuse_lost_database(settings.database_path)
    if _has_entries(settings.output_dir) or _has_parsers(settings.parsers_dir):
        raise DatabaseLostError(
            f"{settings.home} holds outputs or parsers but its database "
            f"{settings.database_path.name} is missing or empty: restore it from a backup "
            "(a fresh one would forget every source, tag, rule and test), or move the home's "
            "contents aside to start afresh."
        )


def _make_folders(settings: Settings) -> None:
    home = settings.home
    try:
        for folder in (home, settings.parsers_dir, settings.output_dir, settings.logs_dir):
            folder.mkdir(parents=True, exist_ok=True)
        # mkdir succeeds on an existing read-only folder; only a real write proves we can write.
        fd, probe = tempfile.mkstemp(prefix=".write-check-", dir=home)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise HomeNotWritableError(
            f"Cannot write to CASPARIAN_HOME {home} ({exc.strerror or exc}): fix its "
            "permissions or set CASPARIAN_HOME to a folder you can write."
        ) from None


@contextmanager
def _preparation_lock(home: Path) -> Iterator[None]:
    with open(home / PREPARE_LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        yield


def _looks_damaged(database: Path) -> bool:
    """Cheap signs of a damaged file, from its size and header: not a whole number of pages,
    or fewer pages than the header says (truncated). A full check reads every page."""
    try:
        with database.open("rb") as handle:
            header = handle.read(SQLITE_HEADER)
            size = os.fstat(handle.fileno()).st_size
    except OSError:
        return True
    if len(header) < SQLITE_HEADER:
        return True
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    return page_size == 0 or size % page_size != 0 or size < pages * page_size


def _has_entries(folder: Path) -> bool:
    try:
        with os.scandir(folder) as entries:
            return any(True for _ in entries)
    except OSError:
        return False


def _has_parsers(folder: Path) -> bool:
    try:
        with os.scandir(folder) as entries:
            return any(entry.name.endswith(".py") for entry in entries)
    except OSError:
        return False
