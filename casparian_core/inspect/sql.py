"""The read-only rules every DuckDB connection over the outputs obeys (the catalogue's, the
query console's, the export's, the statistics'), with DuckDB's own switches rather than any
parsing of SQL text of ours (notes/libraries.md, "DuckDB safety"):
- files readable only under the output folder (`allowed_directories`, then external access
  off), extensions never installed or loaded, one thread and a memory limit, and the
  configuration locked last so no statement can undo any of it;
- one statement, and only a SELECT (DuckDB's own parser says which): COPY ... TO, ATTACH,
  INSTALL, SET, DROP, CREATE are refused before they run, since a COPY into the output folder
  would otherwise be allowed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from casparian_core.inspect.errors import QueryRefusedError

if TYPE_CHECKING:
    import duckdb

MEMORY_LIMIT = "512MB"


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


def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def first_line(exc: Exception) -> str:
    """The first line of a DuckDB error: the rest repeats the query or lists candidates."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
