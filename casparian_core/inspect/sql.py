"""Read-only SQL over the home's Parquet outputs, with DuckDB's own switches rather than any
parsing of SQL text of ours (notes/libraries.md, "DuckDB safety"):
- an in-memory database with one view per output table (quarantine tables included);
- files readable only under the output folder (`allowed_directories`, then external access
  off), extensions never installed or loaded, one thread and a memory limit, and the
  configuration locked last so no statement can undo any of it;
- one statement, and only a SELECT (DuckDB's own parser says which): COPY ... TO, ATTACH,
  INSTALL, SET, DROP, CREATE are refused before they run, since a COPY into the output folder
  would otherwise be allowed;
- rows capped (one more is fetched to know there were more), and a time limit that interrupts.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from casparian_core.inspect.errors import QueryFailedError, QueryRefusedError
from casparian_core.outputs import list_output_tables

if TYPE_CHECKING:
    import duckdb

MEMORY_LIMIT = "512MB"
QUERY_TIMEOUT_SECS = 30.0


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool  # more rows than `max_rows` matched; only the first are here


@dataclass(frozen=True)
class TableSchema:
    name: str
    rows: int
    columns: list[tuple[str, str]]  # (name, DuckDB type)


def open_console(output_dir: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with a view per output table, locked down (module docstring)."""
    import duckdb

    con = duckdb.connect(":memory:")
    for table in list_output_tables(output_dir):
        parts = literal(f"{table.path.resolve()}/*.parquet")
        con.execute(
            f"CREATE VIEW {_identifier(table.name)} AS "
            f"SELECT * FROM read_parquet({parts}, union_by_name = true)"
        )
    lock_down(con, output_dir)
    return con


def lock_down(con: duckdb.DuckDBPyConnection, output_dir: Path, *more: Path) -> None:
    """Files readable only under `output_dir` (and the `more` output folders), no extensions,
    one thread, a memory limit, no progress bar (DuckDB would draw it on the terminal), then
    the configuration locked."""
    allowed = ", ".join(literal(f"{folder.resolve()}/") for folder in (output_dir, *more))
    for setting in (
        f"allowed_directories = [{allowed}]",
        "enable_external_access = false",
        "autoinstall_known_extensions = false",
        "autoload_known_extensions = false",
        "enable_progress_bar = false",
        "threads = 1",
        f"memory_limit = '{MEMORY_LIMIT}'",
        "lock_configuration = true",  # last: nothing after it can change the ones above
    ):
        con.execute(f"SET {setting}")


def run_query(
    output_dir: Path, sql: str, max_rows: int, timeout_secs: float = QUERY_TIMEOUT_SECS
) -> QueryResult:
    """Run one SELECT over the outputs; QueryRefusedError for anything else, QueryFailedError
    when DuckDB fails it. Blocking: call it from a thread."""
    import duckdb

    con = open_console(output_dir)
    timer = threading.Timer(timeout_secs, con.interrupt)
    timer.start()
    try:
        check_read_only(con, sql)
        relation = con.sql(sql)
        if relation is None:  # not a query after all
            raise QueryRefusedError("Only a SELECT returns rows: write one SELECT statement.")
        rows = relation.limit(max_rows + 1).fetchall()
        columns, types = relation.columns, [str(t) for t in relation.types]
    except duckdb.Error as exc:
        raise QueryFailedError(f"The query failed: {first_line(exc)}") from None
    finally:
        timer.cancel()
        con.close()
    return QueryResult(columns, types, rows[:max_rows], len(rows) > max_rows)


def table_schemas(output_dir: Path) -> list[TableSchema]:
    """Each output table's columns (as DuckDB reads them) and row count."""
    con = open_console(output_dir)
    try:
        counts = {t.name: t.rows for t in list_output_tables(output_dir)}
        return [
            TableSchema(
                name,
                rows,
                [(c, t) for c, t, *_ in con.execute(f"DESCRIBE {_identifier(name)}").fetchall()],
            )
            for name, rows in counts.items()
        ]
    finally:
        con.close()


def check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    import duckdb

    statements = con.extract_statements(sql)
    if len(statements) != 1:
        raise QueryRefusedError(
            f"Write exactly one statement (this has {len(statements)}): one SELECT."
        )
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise QueryRefusedError(
            f"Only SELECT runs here (this is {kind.name}): the outputs are read-only."
        )


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def first_line(exc: Exception) -> str:
    """The first line of a DuckDB error: the rest repeats the query or lists candidates."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
