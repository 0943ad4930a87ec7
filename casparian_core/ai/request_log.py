"""The record of every request sent to the model (`cf_ai_requests`): this module owns the
table's SQL. It is how a user proves what left the machine: when, in which mode, with which
context, which tools the model called, how many bytes went each way, and how it ended."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, fields
from typing import Any


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
    face: str = "sidebar"  # who asked: the sidebar's model, or "mcp" (an MCP client's call)


# The table's columns are the record's fields, in order (tools_called stored as a JSON list).
NAMES = tuple(f.name for f in fields(AiRequest))
COLUMNS = ", ".join(NAMES)


def record(conn: sqlite3.Connection, request: AiRequest) -> None:
    values = asdict(request) | {"tools_called": json.dumps(list(request.tools_called))}
    conn.execute(
        f"INSERT INTO cf_ai_requests ({COLUMNS}) VALUES ({', '.join('?' * len(NAMES))})",
        [values[name] for name in NAMES],
    )


def recent(conn: sqlite3.Connection, limit: int) -> list[AiRequest]:
    """The latest `limit` requests, newest first."""
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM cf_ai_requests ORDER BY started_at DESC, id DESC LIMIT ?",
        (limit,),
    )
    found = []
    for row in rows:
        values: dict[str, Any] = dict(zip(NAMES, row, strict=True))
        values["tools_called"] = tuple(json.loads(values["tools_called"]))
        found.append(AiRequest(**values))
    return found
