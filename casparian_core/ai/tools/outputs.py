"""Read-only tools over the outputs: the tables with their schemas, and SQL with capped rows."""

from __future__ import annotations

from pydantic import Field

from casparian_core.ai.tools.base import Params, Tool, ToolEnv, ToolOutput, as_json

ROWS_MAX = 200
TABLES_MAX = 100


class NoParams(Params):
    pass


async def list_output_tables(env: ToolEnv, params: NoParams) -> ToolOutput:
    schemas = await env.service.output_schemas()
    shown = schemas[:TABLES_MAX]
    result: dict[str, object] = {
        "tables": [
            {"name": s.name, "rows": s.rows, "columns": [f"{c} {t}" for c, t in s.columns]}
            for s in shown
        ]
    }
    if len(schemas) > len(shown):
        result["note"] = f"first {len(shown)} of {len(schemas)} tables shown"
    return ToolOutput(as_json(result), f"{len(schemas)} tables")


class Query(Params):
    sql: str = Field(
        description="one DuckDB SELECT; each output table is a view of its name "
        "(quarantined rows in <output>_quarantine)"
    )
    max_rows: int = Field(50, ge=1, le=ROWS_MAX, description="rows to return at most")


async def query_outputs(env: ToolEnv, params: Query) -> ToolOutput:
    result = await env.service.query_outputs(params.sql, params.max_rows)
    answer: dict[str, object] = {
        "columns": [f"{c} {t}" for c, t in zip(result.columns, result.types, strict=True)],
        "rows": [list(row) for row in result.rows],
    }
    if result.truncated:
        answer["note"] = f"only the first {len(result.rows)} rows are shown; more matched"
    more = "+" if result.truncated else ""
    return ToolOutput(as_json(answer), f"{len(result.rows)}{more} rows")


TOOLS = (
    Tool(
        "list_output_tables",
        "The output tables (Parquet, in the home's output folder) with row counts and columns.",
        NoParams,
        list_output_tables,
    ),
    Tool(
        "query_outputs",
        "Run one read-only SELECT (DuckDB SQL) over the output tables; rows are capped.",
        Query,
        query_outputs,
    ),
)
