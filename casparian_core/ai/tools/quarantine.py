"""Tools over quarantined rows (`service.inspect.quarantine`): the rows a contract kept out of
the outputs, with the column, rule and reason, paged; one row's values; and a replay of their
files with the current registered version (`service.replay`), proposed as a pending action."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from casparian_core.ai.conversation import ActionKind
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
from casparian_core.ai.tools.changes import SHOWN_FILES, propose
from casparian_core.inspect.quarantine import QuarantineEntry, QuarantineState

if TYPE_CHECKING:
    from casparian_core.inspect.replay import ReplayPlan

PAGE_MAX = 200
OFFSET_MAX = 100_000  # the page is read from the start: deeper, filter instead
REASONS_MAX = 10
VALUE_CHARS = 500
ROOM_FOR_THE_REST = 3072  # the counts by reason, the note
ENTRY_COLUMNS = ["id", "output", "column", "rule", "reason", "source_file", "row", "job_id"]
RESOLUTION_COLUMNS = ["resolved_by", "resolved_at", "resolved_version", "resolved_job_id"]


class ListQuarantine(Params):
    output: str | None = Field(None, description="only rows kept out of this output table")
    job_id: str | None = Field(None, description="only rows of this job")
    parser: str | None = Field(None, description="only rows of this parser: name or name@version")
    offset: int = Field(0, ge=0, le=OFFSET_MAX, description="rows to skip (paging)")
    limit: int = Field(50, ge=1, le=PAGE_MAX, description="rows to return")
    state: Literal["open", "resolved", "all"] = Field(
        "open", description="open rows, rows a replay resolved (who, when, which version), or all"
    )


async def list_quarantine(env: ToolEnv, params: ListQuarantine) -> ToolOutput:
    page = await env.service.inspect.quarantine(
        job_id=params.job_id,
        parser=params.parser,
        output=params.output,
        limit=params.offset + params.limit,
        state=QuarantineState(params.state),
    )
    entries = page.entries[params.offset :]
    resolutions = params.state != "open"
    rows = [_entry_row(e, resolutions) for e in entries]
    shown = fitting(rows, DEFAULT_CAP_BYTES - ROOM_FOR_THE_REST)
    reasons = Counter(f"{e.output}.{e.column or '(row)'}: {e.rule}" for e in entries)
    result: dict[str, object] = {
        "total": page.total,
        "offset": params.offset,
        "columns": ENTRY_COLUMNS + (RESOLUTION_COLUMNS if resolutions else []),
        "rows": shown,
        "on_this_page_by_rule": dict(reasons.most_common(REASONS_MAX)),
    }
    if params.offset + len(shown) < page.total:
        result["next_offset"] = params.offset + len(shown)
    return ToolOutput(as_json(result), f"{len(shown)} of {page.total} quarantined rows")


def _entry_row(e: QuarantineEntry, resolutions: bool) -> list[object]:
    row: list[object] = [
        e.id,
        e.output,
        e.column,
        e.rule,
        clip(e.reason, VALUE_CHARS),
        e.source_file,
        e.row_number,
        e.job_id,
    ]
    if resolutions:
        row += [e.resolved_by, e.resolved_at, e.resolved_version, e.resolved_job_id]
    return row


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


class ReplayFilter(Params):
    output: str | None = Field(None, description="only files with rows kept out of this output")
    job_id: str | None = Field(None, description="only the files of this job")
    parser: str | None = Field(None, description="only rows of this parser: name or name@version")


async def replay_quarantine(env: ToolEnv, params: ReplayFilter) -> ToolOutput:
    plan = await env.service.replay.plan(
        job_id=params.job_id, parser=params.parser, output=params.output
    )
    if plan.empty:
        return ToolOutput(as_json({"nothing_to_replay": plan.effect}), "nothing to replay")
    runs = ", ".join(f"{p.name}@{p.version}" for p in plan.parsers)
    summary = f"Replay {len(plan.files)} files' quarantined rows with {runs}"
    shown = [f"  {file.path}" for file in plan.files[:SHOWN_FILES]]
    if len(plan.files) > SHOWN_FILES:
        shown.append(f"  ... and {len(plan.files) - SHOWN_FILES} more")
    effect = "\n".join([plan.effect, "Files:", *shown])
    payload = {"filter": params.model_dump(), **replay_fingerprint(plan)}
    return await propose(env, ActionKind.REPLAY_QUARANTINE, summary, effect, payload)


def replay_fingerprint(plan: ReplayPlan) -> dict[str, list[str]]:
    """What a replay was proposed against: its files and the versions that would run them (the
    applier re-plans and refuses when either changed)."""
    return {
        "files": sorted(file.path for file in plan.files),
        "versions": sorted(f"{p.name}@{p.version}" for p in plan.parsers),
    }


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
    Tool(
        "replay_quarantine",
        "Propose running the files whose rows are quarantined (filtered by output, job and "
        "parser) again with each parser's current registered version: rows that now pass reach "
        "the output, their entries are marked resolved; nothing runs until the user approves.",
        ReplayFilter,
        replay_quarantine,
    ),
)
