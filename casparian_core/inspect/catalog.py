"""The catalogue: the home's Parquet output tables as DuckDB views, with what is known of each
(rows, parts, columns, the parser versions and jobs that produced it, its quarantine companion).

Only committed parts are seen: a part is written under a staging name and renamed into place,
so the `*.parquet` files of a table folder are whole. A part that is not readable Parquet
(corrupt, truncated) is left out of its table's view and listed as broken, so the rest of the
table still answers. The connection is locked down as inspect/sql.py describes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from casparian_core.contracts.lineage import LINEAGE_COLUMNS
from casparian_core.inspect.sql import literal, lock_down
from casparian_core.outputs import QUARANTINE_SUFFIX
from casparian_core.sinks.base import quote_identifier as quote

if TYPE_CHECKING:
    import duckdb

    from casparian_core.config import Settings

_, JOB_COLUMN, PARSER_COLUMN, VERSION_COLUMN = LINEAGE_COLUMNS


class SinkKind(StrEnum):
    PARQUET = "parquet"
    ARROW = "arrow"
    SQLITE = "sqlite"
    DUCKDB = "duckdb"


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str  # as DuckDB reads it


@dataclass(frozen=True)
class BrokenPart:
    path: str
    reason: str


@dataclass(frozen=True)
class CatalogTable:
    name: str  # the DuckDB view name
    sink: SinkKind
    location: str
    rows: int
    parts: int
    columns: list[ColumnInfo]
    producers: list[str]  # "parser@version"
    last_job_id: str | None
    quarantine_table: str | None
    quarantined_rows: int
    is_quarantine: bool
    broken_parts: list[BrokenPart]


@dataclass(frozen=True)
class _Folder:
    name: str
    path: Path
    parts: list[Path]  # readable, newest last
    rows: int
    broken: list[BrokenPart]


def open_catalog(settings: Settings) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with a view per output table over its readable parts."""
    return _connect(settings.output_dir, _folders(settings.output_dir))


def read_catalog(settings: Settings) -> list[CatalogTable]:
    """Every output table, sorted by name. Blocking: call it from a thread."""
    folders = _folders(settings.output_dir)
    con = _connect(settings.output_dir, folders)
    try:
        rows = {f.name: f.rows for f in folders}
        return [_describe(con, folder, rows) for folder in folders]
    finally:
        con.close()


def _folders(output_dir: Path) -> list[_Folder]:
    import pyarrow.parquet as pq

    if not output_dir.is_dir():
        return []
    found = []
    for folder in sorted(output_dir.iterdir()):
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        parts, broken, rows = [], [], 0
        for part in sorted(folder.glob("*.parquet"), key=lambda p: (p.stat().st_mtime_ns, p)):
            try:
                rows += pq.read_metadata(part).num_rows
            except (OSError, ValueError) as error:
                broken.append(BrokenPart(str(part), f"not readable as Parquet ({error})"))
                continue
            parts.append(part)
        if parts or broken:
            found.append(_Folder(folder.name, folder, parts, rows, broken))
    return found


def _connect(output_dir: Path, folders: list[_Folder]) -> duckdb.DuckDBPyConnection:
    import duckdb

    con = duckdb.connect(":memory:")
    for folder in folders:
        if folder.parts:
            files = ", ".join(literal(str(p.resolve())) for p in folder.parts)
            source = f"read_parquet([{files}], union_by_name = true)"
        else:  # every part broken: an empty view, so the name still answers
            source = "(SELECT NULL AS no_readable_parts WHERE false)"
        con.execute(f"CREATE VIEW {quote(folder.name)} AS SELECT * FROM {source}")
    lock_down(con, output_dir)
    return con


def _describe(
    con: duckdb.DuckDBPyConnection, folder: _Folder, rows: dict[str, int]
) -> CatalogTable:
    columns = [
        ColumnInfo(str(r[0]), str(r[1]))
        for r in con.execute(f"DESCRIBE {quote(folder.name)}").fetchall()
    ]
    is_quarantine = folder.name.endswith(QUARANTINE_SUFFIX)
    companion = None if is_quarantine else folder.name + QUARANTINE_SUFFIX
    if companion not in rows:
        companion = None
    producers, last_job = _lineage(con, folder, {c.name for c in columns})
    return CatalogTable(
        name=folder.name,
        sink=SinkKind.PARQUET,
        location=str(folder.path),
        rows=folder.rows,
        parts=len(folder.parts),
        columns=columns,
        producers=producers,
        last_job_id=last_job,
        quarantine_table=companion,
        quarantined_rows=rows[companion] if companion else 0,
        is_quarantine=is_quarantine,
        broken_parts=folder.broken,
    )


def _lineage(
    con: duckdb.DuckDBPyConnection, folder: _Folder, names: set[str]
) -> tuple[list[str], str | None]:
    """The parser versions that wrote the table, and the job that wrote its newest part (from
    the lineage columns of valid rows, or the quarantine's own parser/job columns)."""
    parser, version, job = (
        (PARSER_COLUMN, VERSION_COLUMN, JOB_COLUMN)
        if PARSER_COLUMN in names
        else ("parser", "parser_version", "job_id")
    )
    if not {parser, version, job} <= names or not folder.parts:
        return [], None
    # DISTINCT on the two columns, joined here: joining ten million pairs first took 4x longer.
    pairs = con.execute(
        f"SELECT DISTINCT {quote(parser)}, {quote(version)} FROM {quote(folder.name)} "
        f"WHERE {quote(parser)} IS NOT NULL"
    ).fetchall()
    producers = sorted(f"{name}@{number}" for name, number in pairs)
    newest = literal(str(folder.parts[-1].resolve()))
    last = con.execute(
        f"SELECT {quote(job)} FROM read_parquet({newest}) WHERE {quote(job)} IS NOT NULL LIMIT 1"
    ).fetchall()
    return producers, (str(last[0][0]) if last else None)
