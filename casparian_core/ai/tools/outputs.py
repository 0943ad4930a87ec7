"""Read-only tools over the outputs, through `service.inspect`: the tables with their schemas,
and SQL with capped rows."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from casparian_core.ai.tools.base import (
    DEFAULT_CAP_BYTES,
    Params,
    Tool,
    ToolEnv,
    ToolOutput,
    as_json,
    fitting,
)

ROWS_MAX = 200
TABLES_MAX = 100
QUERY_TIMEOUT_SECS = 30.0
ROOM_FOR_THE_REST = 2048  # the columns, the note


class NoParams(Params):
    pass


async def list_output_tables(env: ToolEnv, params: NoParams) -> ToolOutput:
    tables = await env.service.inspect.tables()
    shown = tables[:TABLES_MAX]
    rows = [
        {
            "name": t.name,
            "sink": str(t.sink),
            "rows": t.rows,
            "columns": [f"{c.name} {c.type}" for c in t.columns],
            "producers": t.producers,
            "quarantine_table": t.quarantine_table,
            "quarantined_rows": t.quarantined_rows,
            **({"broken_parts": [b.reason for b in t.broken_parts]} if t.broken_parts else {}),
        }
        for t in shown
    ]
    fitted = fitting(rows, DEFAULT_CAP_BYTES - ROOM_FOR_THE_REST)
    result: dict[str, object] = {"tables": fitted}
    if len(tables) > len(fitted):
        result["note"] = f"first {len(fitted)} of {len(tables)} tables shown"
    return ToolOutput(as_json(result), f"{len(tables)} tables")


class Query(Params):
    sql: str = Field(
        description="one DuckDB SELECT; each output table is a view of its name "
        "(quarantined rows in <output>_quarantine)"
    )
    limit: int = Field(50, ge=1, le=ROWS_MAX, description="rows to return at most")


async def query_output(env: ToolEnv, params: Query) -> ToolOutput:
    result = await env.service.inspect.query(
        params.sql, max_rows=params.limit, timeout_secs=QUERY_TIMEOUT_SECS
    )
    columns = [column.to_pylist() for column in result.table.columns]
    rows: list[list[Any]] = [list(row) for row in zip(*columns, strict=True)]
    shown = fitting(rows, DEFAULT_CAP_BYTES - ROOM_FOR_THE_REST)
    answer: dict[str, object] = {
        "columns": [f"{c} {t}" for c, t in zip(result.columns, result.types, strict=True)],
        "rows": shown,
    }
    if len(shown) < len(rows):
        answer["note"] = f"only the first {len(shown)} rows fit; select fewer columns or rows"
    elif result.truncated:
        answer["note"] = f"only the first {len(shown)} rows are shown; more matched"
    more = "+" if result.truncated or len(shown) < len(rows) else ""
    return ToolOutput(as_json(answer), f"{len(shown)}{more} rows")


TOOLS = (
    Tool(
        "list_output_tables",
        "The output tables with their sink, row counts, columns, the parser versions that "
        "produced them and their quarantined rows.",
        NoParams,
        list_output_tables,
    ),
    Tool(
        "query_output",
        "Run one read-only SELECT (DuckDB SQL) over the output tables; rows are capped (and "
        "cut to whole rows that fit the result's size).",
        Query,
        query_output,
    ),
)
