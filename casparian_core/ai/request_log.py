"""The record of every request sent to the model (`cf_ai_requests`): this module owns the
table's SQL. It is how a user proves what left the machine: when, in which mode, with which
context, which tools the model called, how many bytes went each way, and how it ended."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass


@dataclass
class ByteCount:
    """Bytes of request and response bodies so far, counted on the wire (ai/wire.py)."""

    sent: int = 0
    received: int = 0


@dataclass(frozen=True)
class AiRequest:
    started_at: str
    model: str
    mode: str
    context: str  # the context summary: mode and selection, the detail's size only
    tools_called: tuple[str, ...]
    bytes_sent: int
    bytes_received: int
    input_tokens: int | None
    output_tokens: int | None
    outcome: str  # the stop reason, or the failure kind, or "cancelled"
    duration_s: float


COLUMNS = (
    "started_at, model, mode, context, tools_called, bytes_sent, bytes_received, input_tokens,"
    " output_tokens, outcome, duration_s"
)


def record(conn: sqlite3.Connection, request: AiRequest) -> None:
    conn.execute(
        f"INSERT INTO cf_ai_requests ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            request.started_at,
            request.model,
            request.mode,
            request.context,
            json.dumps(list(request.tools_called)),
            request.bytes_sent,
            request.bytes_received,
            request.input_tokens,
            request.output_tokens,
            request.outcome,
            request.duration_s,
        ),
    )


def recent(conn: sqlite3.Connection, limit: int) -> list[AiRequest]:
    """The latest `limit` requests, newest first."""
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM cf_ai_requests ORDER BY started_at DESC, id DESC LIMIT ?",
        (limit,),
    )
    return [
        AiRequest(
            started_at,
            model,
            mode,
            context,
            tuple(json.loads(tools)),
            sent,
            received,
            input_tokens,
            output_tokens,
            outcome,
            duration,
        )
        for (
            started_at,
            model,
            mode,
            context,
            tools,
            sent,
            received,
            input_tokens,
            output_tokens,
            outcome,
            duration,
        ) in rows
    ]
