"""Tools over error fingerprints (`service.queue.errors`): one root cause seen on many files and
runs is one fingerprint; list them with their counts, and one's occurrences across files."""

from __future__ import annotations

from dataclasses import asdict

from pydantic import Field

from casparian_core.ai.tools.base import (
    DEFAULT_CAP_BYTES,
    Params,
    Tool,
    ToolEnv,
    ToolOutput,
    as_json,
    clip,
    clip_start,
    fitting,
)

FINGERPRINTS_MAX = 100
FILES_MAX = 200
MESSAGE_CHARS = 300
TRACE_CHARS = 3000
ROOM_FOR_THE_REST = 4096  # the fingerprint's summary and trace beside the files


class ListErrors(Params):
    limit: int = Field(
        20, ge=1, le=FINGERPRINTS_MAX, description="fingerprints to return, most frequent first"
    )


async def list_error_fingerprints(env: ToolEnv, params: ListErrors) -> ToolOutput:
    errors = await env.service.queue.errors(params.limit + 1)
    rows = [
        {**e.as_json(), "message": clip(e.message, MESSAGE_CHARS)} for e in errors[: params.limit]
    ]
    shown = fitting(rows, DEFAULT_CAP_BYTES - 1024)
    result: dict[str, object] = {"fingerprints": shown}
    if len(errors) > len(shown):
        result["note"] = f"the {len(shown)} most frequent shown; there are more"
    return ToolOutput(as_json(result), f"{len(shown)} error fingerprints")


class Occurrences(Params):
    fingerprint: str = Field(description="the fingerprint (16 hex digits, from list_errors)")
    offset: int = Field(0, ge=0, description="files to skip (paging), most frequent first")
    limit: int = Field(50, ge=1, le=FILES_MAX, description="files to return")


async def error_occurrences(env: ToolEnv, params: Occurrences) -> ToolOutput:
    detail = await env.service.queue.error(params.fingerprint)
    files = await env.service.queue.error_files(params.fingerprint)
    page = [asdict(f) for f in files[params.offset : params.offset + params.limit]]
    shown = fitting(page, DEFAULT_CAP_BYTES - ROOM_FOR_THE_REST - TRACE_CHARS)
    result: dict[str, object] = {
        **detail.summary.as_json(),
        "message": clip(detail.summary.message, MESSAGE_CHARS),
        "trace": clip_start(detail.trace, TRACE_CHARS),
        "recent": [
            {
                "job_id": o.job_id,
                "parser": f"{o.parser_name}@{o.parser_version}",
                "input_path": o.input_path,
            }
            for o in detail.recent[:5]
        ],
        "files_total": len(files),
        "files": shown,
        "offset": params.offset,
    }
    if params.offset + len(shown) < len(files):
        result["next_offset"] = params.offset + len(shown)
    summary = detail.summary
    return ToolOutput(
        as_json(result),
        f"{summary.fingerprint}: {summary.occurrences} times on {summary.files} files",
    )


TOOLS = (
    Tool(
        "list_error_fingerprints",
        "The errors of prod jobs grouped by fingerprint (one root cause), most frequent first, "
        "with how often and on how many files each occurred.",
        ListErrors,
        list_error_fingerprints,
    ),
    Tool(
        "error_occurrences",
        "One error fingerprint: its normalized trace, its latest occurrences and the files it "
        "occurred on (paged), to find similar failures.",
        Occurrences,
        error_occurrences,
    ),
)
