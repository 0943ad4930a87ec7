"""The quarantine audit trail, `cf_quarantine_resolutions` (migration 11): every quarantined row
a replay resolved, as it was while open (its id, rule, reason, source, the row as the parser
produced it), with who replayed it, when, and the parser version and job that resolved it.

A replay first snapshots the open rows of the files it re-runs as pending (resolved_at NULL);
once the sink shows a file re-run, its pending rows are resolved or, still quarantined (they
are the new job's entries now), dropped. So a replay killed at any point loses no row: pending
rows are settled the next time anyone plans a replay.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from casparian_core.db.connection import write_transaction
from casparian_core.inspect.quarantine import QuarantineEntry

COLUMNS = (
    "entry_id, output, row_index, column_name, rule, reason, source_path, parser,"
    " parser_version, job_id, resolved_by, resolved_at, resolved_version, resolved_job_id"
)

SNAPSHOT = """
INSERT OR REPLACE INTO cf_quarantine_resolutions (entry_id, output, part_key, row_index,
    column_name, rule, reason, source_path, parser, parser_version, job_id, row_json,
    resolved_by, replayed_at, sink, sink_output)
VALUES (:entry_id, :output, :part_key, :row_index, :column, :rule, :reason, :source_path,
    :parser, :parser_version, :job_id, :row_json, :resolved_by, :replayed_at, :sink,
    :sink_output)
"""

RESOLVE = """
UPDATE cf_quarantine_resolutions
SET resolved_at = :at, resolved_version = :version, resolved_job_id = :job
WHERE output = :output AND part_key = :part_key AND sink IS :sink AND resolved_at IS NULL
"""


@dataclass(frozen=True)
class PendingPart:
    """An input whose open rows in one output were snapshotted before a replay re-ran it."""

    output: str  # as the catalogue names it
    part_key: str
    job_id: str | None  # the job whose rows they are
    parser: str | None  # its parser's name
    sink: str | None  # its sink's URI; None: the home's output folder (rows of migration 11)
    sink_output: str | None  # the output's name in that sink; None: `output`


@dataclass(frozen=True)
class Settled:
    resolved: int
    still_quarantined: int


def snapshot(conn: sqlite3.Connection, rows: Sequence[dict[str, object]]) -> None:
    """Record rows about to be replayed as pending (again, if an earlier replay was stopped)."""
    with write_transaction(conn):
        conn.executemany(SNAPSHOT, rows)


def pending_parts(conn: sqlite3.Connection) -> list[PendingPart]:
    rows = conn.execute(
        "SELECT DISTINCT output, part_key, job_id, parser, sink, sink_output"
        " FROM cf_quarantine_resolutions"
        " WHERE resolved_at IS NULL ORDER BY output, part_key"
    )
    return [PendingPart(*row) for row in rows]


def settle(
    conn: sqlite3.Connection,
    part: PendingPart,
    still_bad: frozenset[int],
    *,
    at: str,
    version: str | None,
    job_id: str | None,
) -> Settled:
    """The input was re-run: its pending rows at `still_bad` row indexes are entries of the new
    job, dropped here; the others are resolved by `job_id` of `version` ("name@version")."""
    keys = {"output": part.output, "part_key": part.part_key, "sink": part.sink}
    with write_transaction(conn):
        dropped = 0
        for row_index in still_bad:
            dropped += conn.execute(
                "DELETE FROM cf_quarantine_resolutions WHERE output = :output AND sink IS :sink"
                " AND part_key = :part_key AND row_index = :row AND resolved_at IS NULL",
                {**keys, "row": row_index},
            ).rowcount
        resolved = conn.execute(RESOLVE, {**keys, "at": at, "version": version, "job": job_id})
        return Settled(resolved.rowcount, dropped)


def drop_pending(conn: sqlite3.Connection, part: PendingPart) -> None:
    """The re-run did not happen (its job failed): the rows are open in the sink, unchanged."""
    with write_transaction(conn):
        conn.execute(
            "DELETE FROM cf_quarantine_resolutions WHERE output = ? AND part_key = ?"
            " AND sink IS ? AND resolved_at IS NULL",
            (part.output, part.part_key, part.sink),
        )


def resolved_entries(
    conn: sqlite3.Connection,
    *,
    job_id: str | None,
    parser: str | None,
    output: str | None,
    limit: int,
) -> tuple[list[QuarantineEntry], int]:
    """Resolved entries matching every filter given (by the job and parser that quarantined
    them), newest resolution first, at most `limit`; and how many match."""
    where, parameters = _filters(job_id, parser, output)
    (total,) = conn.execute(
        f"SELECT count(*) FROM cf_quarantine_resolutions WHERE {where}", parameters
    ).fetchone()
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM cf_quarantine_resolutions WHERE {where}"
        " ORDER BY resolved_at DESC, output, source_path, row_index LIMIT ?",
        [*parameters, limit],
    )
    return [_entry(row) for row in rows], int(total)


def resolved_row(conn: sqlite3.Connection, entry_id: str) -> tuple[QuarantineEntry, str] | None:
    """A resolved entry and its row as JSON text; None when no resolved entry has the id."""
    row = conn.execute(
        f"SELECT {COLUMNS}, row_json FROM cf_quarantine_resolutions"
        " WHERE entry_id = ? AND resolved_at IS NOT NULL",
        (entry_id,),
    ).fetchone()
    if row is None:
        return None
    *fields, row_json = row
    return _entry(tuple(fields)), row_json or "{}"


def _filters(
    job_id: str | None, parser: str | None, output: str | None
) -> tuple[str, list[object]]:
    clauses = ["resolved_at IS NOT NULL"]
    parameters: list[object] = []
    if job_id is not None:
        clauses.append("job_id = ?")
        parameters.append(job_id)
    if parser is not None:  # a name, or name@version
        clauses.append("(parser = ? OR parser || '@' || parser_version = ?)")
        parameters.extend([parser, parser])
    if output is not None:
        clauses.append("output = ?")
        parameters.append(output)
    return " AND ".join(clauses), parameters


def _entry(row: tuple[object, ...]) -> QuarantineEntry:
    (entry_id, output, row_index, column, rule, reason, source, parser, version, job,
     by, at, resolved_version, resolved_job) = row  # fmt: skip
    return QuarantineEntry(
        id=str(entry_id),
        output=str(output),
        column=None if column is None else str(column),
        rule=str(rule),
        reason=str(reason),
        source_file=None if source is None else str(source),
        row_number=None if row_index is None else int(str(row_index)),
        job_id=None if job is None else str(job),
        parser=f"{parser}@{version}" if parser else None,
        resolved_by=str(by),
        resolved_at=None if at is None else str(at),
        resolved_version=None if resolved_version is None else str(resolved_version),
        resolved_job_id=None if resolved_job is None else str(resolved_job),
    )
