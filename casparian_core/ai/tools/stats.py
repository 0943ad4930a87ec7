"""Tools over an output table's numbers (`service.inspect`): every column's statistics, and one
column's distribution as a histogram of counts (the model reads numbers, not a chart)."""

from __future__ import annotations

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

BINS_MAX = 50
ROOM_FOR_THE_REST = 1024


class TableName(Params):
    table: str = Field(description="the output table's name (from list_output_tables)")


async def column_stats(env: ToolEnv, params: TableName) -> ToolOutput:
    table = await env.service.inspect.table(params.table)  # TableNotFoundError for the model
    found = await env.service.inspect.column_stats(table.name)
    rows = [
        {
            "column": s.name,
            "type": s.type,
            "null_pct": round(s.null_pct, 2),
            "distinct_approx": s.distinct,
            "min": s.min,
            "max": s.max,
            "top_values": [[value, count] for value, count in s.top_values],
        }
        for s in found
    ]
    shown = fitting(rows, DEFAULT_CAP_BYTES - ROOM_FOR_THE_REST)
    result: dict[str, object] = {"table": table.name, "rows": table.rows, "columns": shown}
    if len(shown) < len(rows):
        result["note"] = f"first {len(shown)} of {len(rows)} columns shown"
    return ToolOutput(as_json(result), f"{table.name}: {len(rows)} columns")


class Histogram(Params):
    table: str = Field(description="the output table's name (from list_output_tables)")
    column: str = Field(description="the column")
    bins: int = Field(
        20,
        ge=1,
        le=BINS_MAX,
        description="bins for numbers, periods for dates, top values for anything else",
    )


async def column_histogram(env: ToolEnv, params: Histogram) -> ToolOutput:
    table = await env.service.inspect.table(params.table)
    found = await env.service.inspect.distribution(table.name, params.column, bins=params.bins)
    result = {
        "table": table.name,
        "column": found.column,
        "kind": str(found.kind),
        "unit": found.unit,
        "rows": found.total,
        "nulls": found.nulls,
        "bins": [[label, count] for label, count in found.bins],
    }
    return ToolOutput(
        as_json(result), f"{table.name}.{found.column}: {len(found.bins)} {found.kind} bins"
    )


TOOLS = (
    Tool(
        "column_stats",
        "Statistics of every column of an output table: type, null %, approximate distinct "
        "count, min, max and the most frequent values.",
        TableName,
        column_stats,
    ),
    Tool(
        "column_histogram",
        "How one column's values spread, as numbers: equal-width bins with round edges for "
        "numbers, counts per period for dates and times, the most frequent values (the rest "
        "summed) for anything else; with the nulls counted apart.",
        Histogram,
        column_histogram,
    ),
)
