"""The record of Parser Bench tests (`cf_parser_tests`): this module owns the table's SQL."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from casparian_core.engine.results import RunResult, RunStatus
from casparian_core.errors import ErrorCode


@dataclass(frozen=True)
class ParserTest:
    """One recorded test run (a row of cf_parser_tests)."""

    parser_name: str
    parser_path: str
    input_path: str
    status: RunStatus
    error_code: ErrorCode | None
    duration_s: float | None
    rows_out: int | None
    rows_quarantined: int | None
    tested_at: str


def record(conn: sqlite3.Connection, parser_path: Path, result: RunResult, at: str) -> None:
    conn.execute(
        "INSERT INTO cf_parser_tests (parser_name, parser_path, input_path, status, error_code,"
        " duration_s, rows_out, rows_quarantined, tested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            result.parser_name,
            str(parser_path),
            str(result.input_path),
            result.status,
            result.error_code,
            result.duration_s,
            result.rows,
            result.quarantined,
            at,
        ),
    )


def last_tests(conn: sqlite3.Connection) -> dict[str, tuple[RunStatus, str]]:
    """Each tested parser's latest test: its status and when."""
    rows = conn.execute(
        "SELECT parser_name, status, tested_at FROM (SELECT parser_name, status, tested_at,"
        " row_number() OVER (PARTITION BY parser_name ORDER BY tested_at DESC, id DESC) AS n"
        " FROM cf_parser_tests) WHERE n = 1"
    )
    return {name: (RunStatus(status), tested_at) for name, status, tested_at in rows}


def recent(conn: sqlite3.Connection, parser_name: str, limit: int) -> list[ParserTest]:
    """The parser's latest tests, newest first."""
    rows = conn.execute(
        "SELECT parser_name, parser_path, input_path, status, error_code, duration_s, rows_out,"
        " rows_quarantined, tested_at FROM cf_parser_tests WHERE parser_name = ?"
        " ORDER BY tested_at DESC, id DESC LIMIT ?",
        (parser_name, limit),
    )
    return [
        ParserTest(
            name,
            parser,
            path,
            RunStatus(status),
            None if code is None else ErrorCode(code),
            duration,
            rows_out,
            quarantined,
            at,
        )
        for name, parser, path, status, code, duration, rows_out, quarantined, at in rows
    ]


def failed_inputs(conn: sqlite3.Connection, parser_name: str) -> list[str]:
    """The inputs a test of the parser failed on, ever."""
    rows = conn.execute(
        "SELECT DISTINCT input_path FROM cf_parser_tests WHERE parser_name = ? AND status = ?",
        (parser_name, RunStatus.FAILED),
    )
    return [path for (path,) in rows]


def count_since(conn: sqlite3.Connection, since: str) -> int:
    """How many tests ran at or after `since` (an ISO-8601 UTC timestamp)."""
    return conn.execute(
        "SELECT count(*) FROM cf_parser_tests WHERE tested_at >= ?", (since,)
    ).fetchone()[0]
