"""The circuit breaker: 5 failures of a parser in a row pause it, and its jobs wait unclaimed
until it is resumed; a success resets the count."""

from __future__ import annotations

import logging
import sqlite3

import pytest

from casparian_core.jobs import health, queue
from casparian_core.jobs.model import JobSuccess

from .conftest import PERMANENT, TRANSIENT, Clock, claim_one, enqueue_one

PAUSED_LINE = "[CIRCUIT_BREAKER] Parser 'sales' paused after 5 consecutive failures"


def fail_next(conn: sqlite3.Connection, clock: Clock, name: str) -> bool:
    """Enqueue, claim and fail (permanently) one job of `sales`; whether it paused it."""
    job_id = enqueue_one(conn, clock, name)
    assert claim_one(conn, clock).job_id == job_id
    outcome = queue.fail(conn, job_id, "w", PERMANENT, clock())
    assert outcome is not None
    return outcome.paused_parser


def test_five_failures_in_a_row_pause_the_parser_and_its_jobs_wait(
    conn: sqlite3.Connection, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="casparian.jobs")
    assert [fail_next(conn, clock, f"{n}.csv") for n in range(5)] == [False] * 4 + [True]
    assert caplog.messages == [PAUSED_LINE]
    [sales] = health.health(conn, "sales")
    assert sales.paused and sales.consecutive_failures == 5 and sales.total_failures == 5
    assert sales.last_failure_reason == "SCHEMA_MISMATCH: KeyError: 'amount'"

    waiting = enqueue_one(conn, clock, "waiting.csv")
    other = enqueue_one(conn, clock, "other.csv", parser="logs")
    assert claim_one(conn, clock).job_id == other  # other parsers go on
    assert queue.claim(conn, "w", clock()) is None  # the paused parser's job waits

    assert health.resume(conn, "sales")
    assert claim_one(conn, clock).job_id == waiting
    assert not health.resume(conn, "sales")  # not paused any more
    [sales] = health.health(conn, "sales")
    assert not sales.paused and sales.consecutive_failures == 0


def test_a_success_resets_the_count(conn: sqlite3.Connection, clock: Clock) -> None:
    for n in range(4):
        fail_next(conn, clock, f"{n}.csv")
    job_id = enqueue_one(conn, clock, "good.csv")
    claim_one(conn, clock)
    queue.complete(conn, job_id, "w", JobSuccess(1), clock())

    assert [fail_next(conn, clock, f"again-{n}.csv") for n in range(4)] == [False] * 4
    [sales] = health.health(conn, "sales")
    assert (sales.paused, sales.consecutive_failures, sales.total_executions) == (False, 4, 9)


def test_transient_failures_count_too(conn: sqlite3.Connection, clock: Clock) -> None:
    job_id = enqueue_one(conn, clock)
    paused = []
    for _ in range(4):  # the first run and three retries
        claim_one(conn, clock)
        outcome = queue.fail(conn, job_id, "w", TRANSIENT, clock())
        assert outcome is not None
        paused.append(outcome.paused_parser)
        clock.advance(60)
    assert paused == [False] * 4
    assert fail_next(conn, clock, "b.csv")


def test_a_success_of_a_parser_not_failing_writes_nothing(
    conn: sqlite3.Connection, clock: Clock
) -> None:
    # Every completion records a success: writing the parser's row each time cost a page.
    health.record_success(conn, "sales")  # the parser's first: its row is made
    written = conn.total_changes

    health.record_success(conn, "sales")

    assert conn.total_changes == written
    fail_next(conn, clock, "bad.csv")
    written = conn.total_changes
    health.record_success(conn, "sales")
    assert conn.total_changes == written + 1  # the run of failures ends
    [sales] = health.health(conn, "sales")
    assert sales.consecutive_failures == 0
