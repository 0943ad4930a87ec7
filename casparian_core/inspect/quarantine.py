"""Quarantined rows, read from the `<output>_quarantine` tables the engine writes beside each
output: which column broke which rule, the reason, the file and row it came from, the job and
parser version, and the row as the parser produced it (`row_json`).

An entry's id is "<output>:<job id>:<row index>": a job writes a row of an input once, so the
three name one quarantined row for as long as that job's output stands.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from casparian_core.inspect.errors import QuarantineEntryNotFoundError
from casparian_core.outputs import QUARANTINE_SUFFIX
from casparian_core.sinks.base import quote_identifier as quote

if TYPE_CHECKING:
    import duckdb

    from casparian_core.inspect.catalog import CatalogTable

# The columns the engine writes to a quarantine table (contracts/validate.py, engine lineage).
ENTRY_COLUMNS = (
    "row_index",
    "column",
    "rule",
    "reason",
    "source_path",
    "parser",
    "parser_version",
    "job_id",
)
DEFAULT_LIMIT = 1000


class QuarantineState(StrEnum):
    """Which entries to list: open (in the outputs' quarantine tables), resolved by a replay
    (the audit trail in the control plane), or both."""

    OPEN = "open"
    RESOLVED = "resolved"
    ALL = "all"


@dataclass(frozen=True)
class QuarantineEntry:
    id: str
    output: str
    column: str | None  # None for a row the parser flagged itself
    rule: str
    reason: str
    source_file: str | None
    row_number: int | None
    job_id: str | None
    parser: str | None  # "name@version"
    resolved_by: str | None = None
    resolved_at: str | None = None
    resolved_version: str | None = None  # "name@version" of the parser that resolved it
    resolved_job_id: str | None = None  # the replay job whose run resolved it


@dataclass(frozen=True)
class QuarantinePage:
    entries: list[QuarantineEntry]
    total: int
    truncated: bool


@dataclass(frozen=True)
class QuarantineRow:
    entry: QuarantineEntry
    values: dict[str, str]  # the row as the parser produced it, each value as text


def read_quarantine(
    con: duckdb.DuckDBPyConnection,
    tables: list[CatalogTable],
    *,
    job_id: str | None = None,
    parser: str | None = None,
    output: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> QuarantinePage:
    """The quarantined rows matching every filter given, by output, file and row."""
    entries: list[QuarantineEntry] = []
    total = 0
    for table in _quarantine_tables(tables, output):
        where, parameters = _filters(job_id, parser)
        source = f"FROM {quote(table.name)}{where}"
        (count,) = con.execute(f"SELECT count(*) {source}", parameters).fetchall()[0]
        total += int(count)
        left = limit - len(entries)
        if left <= 0:
            continue
        rows = con.execute(
            f"SELECT {', '.join(quote(c) for c in ENTRY_COLUMNS)} {source} "
            f"ORDER BY source_path, row_index LIMIT {int(left)}",
            parameters,
        ).fetchall()
        base = table.name.removesuffix(QUARANTINE_SUFFIX)
        entries.extend(_entry(base, row) for row in rows)
    return QuarantinePage(entries, total, total > len(entries))


def read_quarantine_row(
    con: duckdb.DuckDBPyConnection, tables: list[CatalogTable], entry_id: str
) -> QuarantineRow:
    output, _, rest = entry_id.partition(":")
    job, _, row_index = rest.rpartition(":")
    found = _quarantine_tables(tables, output)
    if found and row_index.isdigit():
        rows = con.execute(
            f"SELECT {', '.join(quote(c) for c in ENTRY_COLUMNS)}, row_json "
            f"FROM {quote(found[0].name)} WHERE job_id IS NOT DISTINCT FROM ? AND row_index = ?",
            [job or None, int(row_index)],
        ).fetchall()
        if rows:
            *fields, row_json = rows[0]
            return QuarantineRow(_entry(output, tuple(fields)), row_values(row_json))
    raise QuarantineEntryNotFoundError(
        f"No quarantined row has the id {entry_id!r}: list them with `casparian quarantine "
        "list` or Inspect's Q."
    )


def _quarantine_tables(tables: list[CatalogTable], output: str | None) -> list[CatalogTable]:
    return [
        t
        for t in tables
        if t.is_quarantine
        and (output is None or t.name == output + QUARANTINE_SUFFIX)
        and set(ENTRY_COLUMNS) <= {c.name for c in t.columns}
    ]


def _filters(job_id: str | None, parser: str | None) -> tuple[str, list[object]]:
    clauses: list[str] = []
    parameters: list[object] = []
    if job_id is not None:
        clauses.append("job_id = ?")
        parameters.append(job_id)
    if parser is not None:  # a name, or name@version
        clauses.append("(parser = ? OR parser || '@' || parser_version = ?)")
        parameters.extend([parser, parser])
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), parameters


def _entry(output: str, row: tuple[Any, ...]) -> QuarantineEntry:
    row_index, column, rule, reason, source, parser, version, job = row
    return QuarantineEntry(
        id=f"{output}:{job or ''}:{row_index}",
        output=output,
        column=column,
        rule=rule,
        reason=reason,
        source_file=source,
        row_number=row_index,
        job_id=job,
        parser=f"{parser}@{version}" if parser else None,
    )


def row_values(row_json: str | None) -> dict[str, str]:
    """The row as the parser produced it (its JSON text), each value as text."""
    try:
        values = json.loads(row_json or "{}")
    except ValueError:
        return {"row": row_json or ""}
    if not isinstance(values, dict):
        return {"row": str(values)}
    return {str(k): "null" if v is None else str(v) for k, v in values.items()}
