"""One read-only SELECT over the catalogue, its rows as an Arrow table, capped."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from casparian_core.inspect.errors import QueryFailedError, QueryRefusedError
from casparian_core.inspect.sql import check_read_only, first_line

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

MAX_ROWS = 100_000


@dataclass(frozen=True)
class QueryResult:
    table: pa.Table  # at most max_rows rows
    truncated: bool  # more rows matched than max_rows
    elapsed_ms: float

    @property
    def columns(self) -> list[str]:
        return list(self.table.column_names)

    @property
    def types(self) -> list[str]:
        return [str(field.type) for field in self.table.schema]


def run_select(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    max_rows: int = MAX_ROWS,
    timeout_secs: float | None = None,
) -> QueryResult:
    """Run `sql` if it is one SELECT (QueryRefusedError otherwise); one row more than
    `max_rows` is fetched to know whether there were more. Blocking: call it from a thread.
    A DuckDB interrupt (the awaiting task was cancelled) propagates as duckdb's own error."""
    import duckdb

    start = time.perf_counter()
    timer = threading.Timer(timeout_secs, con.interrupt) if timeout_secs else None
    if timer is not None:
        timer.start()
    try:
        check_read_only(con, sql)
        relation = con.sql(sql)
        if relation is None:
            raise QueryRefusedError("Only a SELECT returns rows: write one SELECT statement.")
        table = relation.limit(max_rows + 1).to_arrow_table()
    except duckdb.InterruptException:
        if timer is not None and not timer.is_alive():
            raise QueryFailedError(
                f"The query ran past its {timeout_secs:g} s limit: narrow it with a WHERE or "
                "a LIMIT."
            ) from None
        raise
    except duckdb.Error as exc:
        raise QueryFailedError(f"The query failed: {first_line(exc)}") from None
    finally:
        if timer is not None:
            timer.cancel()
    elapsed = (time.perf_counter() - start) * 1000
    return QueryResult(table.slice(0, max_rows), table.num_rows > max_rows, elapsed)
