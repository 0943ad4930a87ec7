"""Tools over quarantined rows (`service.inspect.quarantine`): the rows a contract kept out of
the outputs, with the column, rule and reason, paged; and one row's values."""

from __future__ import annotations

from collections import Counter

from pydantic import Field

from casparian_core.ai.tools.base import (
    DEFAULT_CAP_BYTES,
    Params,
    Tool,
    ToolEnv,
    ToolOutput,
    as_json,
    clip,
    fitting,
)

PAGE_MAX = 200
OFFSET_MAX = 100_000  # the page is read from the start: deeper, filter instead
REASONS_MAX = 10
VALUE_CHARS = 500
ROOM_FOR_THE_REST = 3072  # the counts by reason, the note
ENTRY_COLUMNS = ["id", "output", "column", "rule", "reason", "source_file", "row", "job_id"]


class ListQuarantine(Params):
    output: str | None = Field(None, description="only rows kept out of this output table")
    job_id: str | None = Field(None, description="only rows of this job")
    parser: str | None = Field(None, description="only rows of this parser: name or name@version")
    offset: int = Field(0, ge=0, le=OFFSET_MAX, description="rows to skip (paging)")
    limit: int = Field(50, ge=1, le=PAGE_MAX, description="rows to return")


async def list_quarantine(env: ToolEnv, params: ListQuarantine) -> ToolOutput:
    page = await env.service.inspect.quarantine(
        job_id=params.job_id,
        parser=params.parser,
        output=params.output,
        limit=params.offset + params.limit,
    )
    entries = page.entries[params.offset :]
    rows = [
        [
            e.id,
            e.output,
            e.column,
            e.rule,
            clip(e.reason, VALUE_CHARS),
            e.source_file,
            e.row_number,
            e.job_id,
        ]
        for e in entries
    ]
    shown = fitting(rows, DEFAULT_CAP_BYTES - ROOM_FOR_THE_REST)
    reasons = Counter(f"{e.output}.{e.column or '(row)'}: {e.rule}" for e in entries)
    result: dict[str, object] = {
        "total": page.total,
        "offset": params.offset,
        "columns": ENTRY_COLUMNS,
        "rows": shown,
        "on_this_page_by_rule": dict(reasons.most_common(REASONS_MAX)),
    }
    if params.offset + len(shown) < page.total:
        result["next_offset"] = params.offset + len(shown)
    return ToolOutput(as_json(result), f"{len(shown)} of {page.total} quarantined rows")


class EntryId(Params):
    id: str = Field(description="the quarantined row's id (from list_quarantine)")


async def quarantine_row(env: ToolEnv, params: EntryId) -> ToolOutput:
    found = await env.service.inspect.quarantine_row(params.id)
    entry = found.entry
    result = {
        "id": entry.id,
        "output": entry.output,
        "column": entry.column,
        "rule": entry.rule,
        "reason": entry.reason,
        "source_file": entry.source_file,
        "row": entry.row_number,
        "job_id": entry.job_id,
        "parser": entry.parser,
        "values": {k: clip(v, VALUE_CHARS) for k, v in found.values.items()},
    }
    return ToolOutput(as_json(result), f"{entry.output} row {entry.row_number}: {entry.rule}")


TOOLS = (
    Tool(
        "list_quarantine",
        "Rows a contract kept out of the outputs, with the column, rule and reason, the file "
        "and row they came from and the job, filtered by output, job and parser, paged.",
        ListQuarantine,
        list_quarantine,
    ),
    Tool(
        "quarantine_row",
        "One quarantined row with its values as the parser produced them.",
        EntryId,
        quarantine_row,
    ),
)
