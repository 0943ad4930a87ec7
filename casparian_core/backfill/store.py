"""`cf_backfills`: one row per backfill (this module owns the table's SQL).

STAGING: its jobs run (or wait to be retried) and write to the staging area; SWAPPING: every job
succeeded and the swap began, so it is only ever finished, never undone (a crash there is
rolled forward by `--resume`); DONE; ABANDONED (its staging area removed, the output as it was).
One STAGING or SWAPPING backfill per parser: a unique index refuses a second. The owner is the
process running it (`{pid}-backfill`): a live owner refuses a second runner, a dead one's
backfill may be resumed.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from enum import StrEnum

from casparian_core.db.connection import write_transaction
from casparian_core.processes import left_by_dead_process


class BackfillStatus(StrEnum):
    STAGING = "STAGING"
    SWAPPING = "SWAPPING"
    DONE = "DONE"
    ABANDONED = "ABANDONED"


ACTIVE = (BackfillStatus.STAGING, BackfillStatus.SWAPPING)
_COLUMNS = (
    "id, parser_name, parser_version, sink_uri, staging_uri, part_keys, files, status, owner,"
    " created_at, swapped_at, finished_at, note"
)


@dataclass(frozen=True)
class BackfillRecord:
    id: str
    parser_name: str
    parser_version: str
    sink_uri: str
    staging_uri: str
    part_keys: tuple[str, ...]  # the parts it replaces in every output
    files: int
    status: BackfillStatus
    owner: str | None
    created_at: str
    swapped_at: str | None
    finished_at: str | None
    note: str | None

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "parser": self.parser_name,
            "version": self.parser_version,
            "sink": self.sink_uri,
            "staging": self.staging_uri,
            "files": self.files,
            "status": str(self.status),
            "created_at": self.created_at,
            "swapped_at": self.swapped_at,
            "finished_at": self.finished_at,
            "note": self.note,
        }


def _record(row: tuple[object, ...]) -> BackfillRecord:
    values = list(row)
    values[5] = tuple(json.loads(str(values[5])))
    values[7] = BackfillStatus(str(values[7]))
    return BackfillRecord(*values)  # type: ignore[arg-type]


def insert(conn: sqlite3.Connection, record: BackfillRecord) -> BackfillRecord | None:
    """Store a new backfill, owned by its creator; None (nothing stored) when the parser has
    an active backfill already."""
    with write_transaction(conn):
        try:
            conn.execute(
                f"INSERT INTO cf_backfills ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    record.id,
                    record.parser_name,
                    record.parser_version,
                    record.sink_uri,
                    record.staging_uri,
                    json.dumps(record.part_keys),
                    record.files,
                    record.status,
                    record.owner,
                    record.created_at,
                    record.swapped_at,
                    record.finished_at,
                    record.note,
                ),
            )
        except sqlite3.IntegrityError:
            return None
    return record


def get(conn: sqlite3.Connection, backfill_id: str) -> BackfillRecord | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM cf_backfills WHERE id = ?", (backfill_id,))
    found = row.fetchone()
    return None if found is None else _record(found)


def active(conn: sqlite3.Connection, parser_name: str) -> BackfillRecord | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM cf_backfills WHERE parser_name = ?"
        " AND status IN ('STAGING', 'SWAPPING')",
        (parser_name,),
    ).fetchone()
    return None if row is None else _record(row)


def listed(conn: sqlite3.Connection, limit: int = 100) -> list[BackfillRecord]:
    """Backfills, newest first."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM cf_backfills ORDER BY created_at DESC, rowid DESC LIMIT ?",
        (limit,),
    )
    return [_record(row) for row in rows]


def take(conn: sqlite3.Connection, backfill_id: str, owner: str) -> str | None:
    """Make `owner` the backfill's runner unless a live process runs it: None when taken, or
    the live owner."""
    with write_transaction(conn):
        row = conn.execute("SELECT owner FROM cf_backfills WHERE id = ?", (backfill_id,))
        current = row.fetchone()[0]
        if current not in (None, owner) and not left_by_dead_process(current):
            return str(current)
        conn.execute("UPDATE cf_backfills SET owner = ? WHERE id = ?", (owner, backfill_id))
    return None


def release(conn: sqlite3.Connection, backfill_id: str, owner: str) -> None:
    with write_transaction(conn):
        conn.execute(
            "UPDATE cf_backfills SET owner = NULL WHERE id = ? AND owner = ?", (backfill_id, owner)
        )


def set_status(conn: sqlite3.Connection, backfill_id: str, status: BackfillStatus, at: str) -> None:
    """Move the backfill on: SWAPPING stamps swapped_at, DONE and ABANDONED finished_at."""
    stamp = "swapped_at" if status == BackfillStatus.SWAPPING else "finished_at"
    with write_transaction(conn):
        conn.execute(
            f"UPDATE cf_backfills SET status = ?, {stamp} = ? WHERE id = ?",
            (status, at, backfill_id),
        )


def set_note(conn: sqlite3.Connection, backfill_id: str, note: str | None) -> None:
    """Why the backfill waits (the files whose jobs failed), or None once nothing blocks it."""
    with write_transaction(conn):
        conn.execute("UPDATE cf_backfills SET note = ? WHERE id = ?", (note, backfill_id))
