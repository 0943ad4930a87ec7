"""Read-only tools over the outputs: the tables with their schemas (SQL over them is
pipeline.query_output)."""

from __future__ import annotations

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


TOOLS = (
    Tool(
        "list_output_tables",
        "The output tables (Parquet, in the home's output folder) with row counts and columns.",
        NoParams,
        list_output_tables,
    ),
)
