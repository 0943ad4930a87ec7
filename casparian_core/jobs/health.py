"""The circuit breaker (`cf_parser_health`, owned here): a parser that fails
FAILURES_BEFORE_PAUSE times in a row is paused, its jobs are left unclaimed until a person
resumes it (`casparian parser resume NAME`); a success resets the count.

Each function takes a connection already inside the caller's write transaction (queue.py's
complete and fail, the facade's resume)."""

from __future__ import annotations

import logging
import sqlite3

from casparian_core.jobs.model import FAILURES_BEFORE_PAUSE, ParserHealth

log = logging.getLogger("casparian.jobs")

# A parser's executions are its successes (its rows in the history) and its failures: a
# success writes nothing here unless it ends a run of failures, one page fewer per completion.
_COLUMNS = (
    "parser_name, consecutive_failures, paused_at, last_failure_reason,"
    " total_failures + (SELECT count(*) FROM cf_processing_history AS h"
    " WHERE h.parser_name = p.parser_name), total_failures"
)


def record_success(conn: sqlite3.Connection, parser_name: str) -> None:
    """Note that the parser succeeded: its run of failures ends (a parser seen for the first
    time gets its row)."""
    conn.execute(
        "INSERT INTO cf_parser_health (parser_name) VALUES (?)"
        " ON CONFLICT (parser_name) DO UPDATE SET consecutive_failures = 0"
        " WHERE consecutive_failures > 0",
        (parser_name,),
    )


def record_failure(conn: sqlite3.Connection, parser_name: str, reason: str, now: str) -> bool:
    """Count a failure; returns True when it paused the parser (the failure that tripped the
    breaker, not those after it)."""
    [failures, paused_at] = conn.execute(
        "INSERT INTO cf_parser_health (parser_name, consecutive_failures, last_failure_reason,"
        " total_failures) VALUES (?, 1, ?, 1)"
        " ON CONFLICT (parser_name) DO UPDATE SET"
        " consecutive_failures = consecutive_failures + 1,"
        " last_failure_reason = excluded.last_failure_reason,"
        " total_failures = total_failures + 1"
        " RETURNING consecutive_failures, paused_at",
        (parser_name, reason),
    ).fetchone()
    if failures < FAILURES_BEFORE_PAUSE or paused_at is not None:
        return False
    conn.execute(
        "UPDATE cf_parser_health SET paused_at = ? WHERE parser_name = ?", (now, parser_name)
    )
    log.warning(
        "[CIRCUIT_BREAKER] Parser '%s' paused after %d consecutive failures",
        parser_name,
        FAILURES_BEFORE_PAUSE,
    )
    return True


def resume(conn: sqlite3.Connection, parser_name: str) -> bool:
    """Clear the parser's breaker; returns whether it was paused."""
    cursor = conn.execute(
        "UPDATE cf_parser_health SET paused_at = NULL, consecutive_failures = 0"
        " WHERE parser_name = ? AND paused_at IS NOT NULL",
        (parser_name,),
    )
    return cursor.rowcount == 1


def health(conn: sqlite3.Connection, parser_name: str | None = None) -> list[ParserHealth]:
    """Every parser's breaker (that ever ran a job), or one parser's; by name."""
    where, args = ("WHERE parser_name = ?", (parser_name,)) if parser_name else ("", ())
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM cf_parser_health AS p {where} ORDER BY parser_name", args
    )
    return [ParserHealth(*row) for row in rows]
