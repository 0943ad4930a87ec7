"""The queue's semantics on a real database file: enqueue, claim order, completion, the retry
schedule (an injected clock: no sleeps), dead letters and replay, cancel, stale and orphaned
jobs."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from casparian_core.db.connection import connect
from casparian_core.errors import ErrorCode
from casparian_core.jobs import health, queue
from casparian_core.jobs.errors import JobAlreadyQueuedError, JobNotFoundError, JobStateError
from casparian_core.jobs.model import JobQuery, JobSuccess
from casparian_core.jobs.status import JobStatus

from .conftest import PERMANENT, TRANSIENT, Clock, claim_one, enqueue_one, request

WAL_HEADER_BYTES = 32  # the WAL file's header, and each frame's (sqlite.org/fileformat.html)
WAL_FRAME_HEADER_BYTES = 24


def status_of(conn: sqlite3.Connection, job_id: str) -> JobStatus:
    return queue.job(conn, job_id).job.status


def test_a_job_is_queued_once_per_input_and_parser_version_while_it_is_active(
    conn: sqlite3.Connection, clock: Clock
) -> None:
    first, same, other_version = queue.enqueue(
        conn, [request("a.csv"), request("a.csv"), request("a.csv", version="2.0.0")], clock()
    )
    assert first.created and not same.created and other_version.created
    assert same.job_id == first.job_id
    assert len(first.job_id) == 32 and int(first.job_id, 16) >= 0  # uuid4 hex

    claim_one(conn, clock)  # running: still active
    [again] = queue.enqueue(conn, [request("a.csv")], clock())
    assert again.job_id == first.job_id and not again.created

    assert queue.complete(conn, first.job_id, "w", JobSuccess(rows_out=3), clock())
    [later] = queue.enqueue(conn, [request("a.csv")], clock())
    assert later.created and later.job_id != first.job_id


def test_jobs_are_claimed_by_priority_then_age(conn: sqlite3.Connection, clock: Clock) -> None:
    old = enqueue_one(conn, clock, "old.csv")
    clock.advance(1)
    new = enqueue_one(conn, clock, "new.csv")
    urgent = enqueue_one(conn, clock, "urgent.csv", priority=5)

    claimed = [claim_one(conn, clock).job_id for _ in range(3)]

    assert claimed == [urgent, old, new]
    assert queue.claim(conn, "w", clock()) is None


def test_a_claimed_job_is_running_for_its_worker(conn: sqlite3.Connection, clock: Clock) -> None:
    job_id = enqueue_one(conn, clock)

    claimed = claim_one(conn, clock, "worker-7")

    assert (claimed.job_id, claimed.attempt, claimed.input_path) == (job_id, 1, "/data/a.csv")
    record = queue.job(conn, job_id).job
    assert (record.status, record.claimed_by, record.started_at) == (
        JobStatus.RUNNING,
        "worker-7",
        record.heartbeat_at,
    )


def test_completion_records_the_outputs_and_the_history(
    conn: sqlite3.Connection, clock: Clock
) -> None:
    clean, warned = enqueue_one(conn, clock, "a.csv"), enqueue_one(conn, clock, "b.csv")
    for job_id, quarantined in ((clean, 0), (warned, 2)):
        claim_one(conn, clock)
        outputs = {"sales": {"rows": 10, "location": "/out/sales"}}
        success = JobSuccess(10, quarantined, outputs, input_hash="h-" + job_id)
        assert queue.complete(conn, job_id, "w", success, clock())

    detail = queue.job(conn, warned)
    assert detail.job.status == JobStatus.COMPLETED_WITH_WARNINGS
    assert detail.outputs == {"sales": {"rows": 10, "location": "/out/sales"}}
    assert status_of(conn, clean) == JobStatus.COMPLETED
    history = conn.execute(
        "SELECT job_id, input_path, input_hash, parser_name, parser_version, status, rows_out"
        " FROM cf_processing_history ORDER BY id"
    ).fetchall()
    assert history == [
        (clean, "/data/a.csv", f"h-{clean}", "sales", "1.0.0", "COMPLETED", 10),
        (warned, "/data/b.csv", f"h-{warned}", "sales", "1.0.0", "COMPLETED_WITH_WARNINGS", 10),
    ]


def test_only_the_worker_holding_a_job_can_finish_it(
    conn: sqlite3.Connection, clock: Clock
) -> None:
    job_id = enqueue_one(conn, clock)
    claim_one(conn, clock, "mine")

    assert not queue.complete(conn, job_id, "another", JobSuccess(1), clock())
    assert queue.fail(conn, job_id, "another", PERMANENT, clock()) is None
    assert not queue.heartbeat(conn, job_id, "another", clock())
    assert queue.heartbeat(conn, job_id, "mine", clock())
    assert status_of(conn, job_id) == JobStatus.RUNNING


def test_a_transient_failure_is_retried_after_1_4_and_16_seconds_then_dead_lettered(
    conn: sqlite3.Connection, clock: Clock
) -> None:
    job_id = enqueue_one(conn, clock)
    for attempt, backoff in enumerate((1, 4, 16), start=1):
        claimed = claim_one(conn, clock)
        assert (claimed.job_id, claimed.attempt) == (job_id, attempt)
        failed_at = clock()
        outcome = queue.fail(conn, job_id, "w", TRANSIENT, failed_at)
        assert outcome is not None and outcome.status == JobStatus.QUEUED
        record = queue.job(conn, job_id).job
        assert record.error_code is ErrorCode.CRASHED  # the last error stays visible
        # Not due a moment before its backoff is over; due when it is.
        clock.advance(backoff - 0.001)
        assert queue.claim(conn, "w", clock()) is None
        clock.advance(0.001)
        assert clock() - failed_at == timedelta(seconds=backoff)

    claim_one(conn, clock)
    outcome = queue.fail(conn, job_id, "w", TRANSIENT, clock())

    assert outcome is not None and outcome.status == JobStatus.DEAD_LETTER
    [letter] = queue.dead_letters(conn)
    assert (letter.job_id, letter.retry_count, letter.error_code) == (job_id, 3, ErrorCode.CRASHED)
    assert letter.reason == "failed 4 times (3 retries), last with CRASHED"
    assert status_of(conn, job_id) == JobStatus.DEAD_LETTER
    clock.advance(3600)
    assert queue.claim(conn, "w", clock()) is None


def test_a_permanent_failure_is_not_retried_and_goes_to_the_dead_letters_at_once(
    conn: sqlite3.Connection, clock: Clock
) -> None:
    job_id = enqueue_one(conn, clock)
    claim_one(conn, clock)

    outcome = queue.fail(conn, job_id, "w", PERMANENT, clock())

    assert outcome is not None and outcome.status == JobStatus.FAILED
    detail = queue.job(conn, job_id)
    assert detail.job.error_code is ErrorCode.SCHEMA_MISMATCH
    assert detail.traceback == PERMANENT.traceback
    assert detail.job.fingerprint == outcome.fingerprint
    [letter] = detail.dead_letters
    assert (letter.retry_count, letter.reason) == (
        0,
        "permanent failure (SCHEMA_MISMATCH): not retried",
    )
    clock.advance(3600)
    assert queue.claim(conn, "w", clock()) is None


def test_a_replayed_dead_letter_runs_again_and_its_letter_is_kept(
    conn: sqlite3.Connection, clock: Clock
) -> None:
    job_id = enqueue_one(conn, clock)
    claim_one(conn, clock)
    queue.fail(conn, job_id, "w", PERMANENT, clock())

    clock.advance(10)
    queue.requeue(conn, job_id, clock(), dead_letter_only=True)

    assert queue.dead_letters(conn) == []  # replayed: no longer waiting for someone
    [kept] = queue.dead_letters(conn, include_replayed=True)
    assert kept.replayed_at is not None
    claimed = claim_one(conn, clock)
    assert (claimed.job_id, claimed.attempt) == (job_id, 1)  # a fresh set of retries
    with pytest.raises(JobStateError, match="no dead letter to replay"):
        queue.requeue(conn, job_id, clock(), dead_letter_only=True)


def test_retry_by_hand_takes_failed_and_cancelled_jobs_only(
    conn: sqlite3.Connection, clock: Clock
) -> None:
    done, cancelled = enqueue_one(conn, clock, "a.csv"), enqueue_one(conn, clock, "b.csv")
    claim_one(conn, clock)
    queue.complete(conn, done, "w", JobSuccess(1), clock())
    queue.cancel(conn, cancelled, clock())

    with pytest.raises(JobStateError, match=f"The job {done} is COMPLETED: only a failed"):
        queue.requeue(conn, done, clock())
    queue.requeue(conn, cancelled, clock())
    assert status_of(conn, cancelled) == JobStatus.QUEUED
    with pytest.raises(JobNotFoundError, match="no job 'nope'"):
        queue.requeue(conn, "nope", clock())


def test_a_retry_is_refused_while_another_job_for_the_input_is_active(
    conn: sqlite3.Connection, clock: Clock
) -> None:
    failed = enqueue_one(conn, clock)
    claim_one(conn, clock)
    queue.fail(conn, failed, "w", PERMANENT, clock())
    active = enqueue_one(conn, clock)

    with pytest.raises(JobAlreadyQueuedError, match=f"the job {active} for the same input"):
        queue.requeue(conn, failed, clock())
    assert status_of(conn, failed) == JobStatus.FAILED


def test_cancel_stops_a_queued_or_running_job_and_its_worker_hears_it(
    conn: sqlite3.Connection, clock: Clock
) -> None:
    queued, running = enqueue_one(conn, clock, "a.csv"), enqueue_one(conn, clock, "b.csv")
    claimed = claim_one(conn, clock)
    assert claimed.job_id == queued
    queue.cancel(conn, running, clock())  # still queued: never claimed
    queue.cancel(conn, queued, clock())  # running

    assert not queue.heartbeat(conn, queued, "w", clock())  # the worker stops it
    assert not queue.complete(conn, queued, "w", JobSuccess(1), clock())
    assert {status_of(conn, queued), status_of(conn, running)} == {JobStatus.CANCELLED}
    assert queue.claim(conn, "w", clock()) is None
    with pytest.raises(JobStateError, match="only a queued or running job can be cancelled"):
        queue.cancel(conn, queued, clock())


def test_a_released_job_is_queued_again_without_counting_an_attempt(
    conn: sqlite3.Connection, clock: Clock
) -> None:
    job_id = enqueue_one(conn, clock)
    claim_one(conn, clock)

    assert queue.release(conn, job_id, "w")

    assert claim_one(conn, clock).attempt == 1


def test_a_job_without_heartbeat_for_the_stale_time_is_requeued(
    conn: sqlite3.Connection, clock: Clock
) -> None:
    quiet, beating = enqueue_one(conn, clock, "a.csv"), enqueue_one(conn, clock, "b.csv")
    claim_one(conn, clock, "w1")
    claim_one(conn, clock, "w2")
    clock.advance(200)
    assert queue.heartbeat(conn, beating, "w2", clock())
    clock.advance(100)
    assert queue.requeue_stale(conn, timedelta(seconds=300), clock()) == {}  # not yet
    clock.advance(0.001)

    moved = queue.requeue_stale(conn, timedelta(seconds=300), clock())

    assert moved == {quiet: JobStatus.QUEUED}
    record = queue.job(conn, quiet).job
    assert (record.error_code, record.claimed_by) == (ErrorCode.WORKER_LOST, None)
    assert not queue.complete(conn, quiet, "w1", JobSuccess(1), clock())  # not w1's any more
    claimed = claim_one(conn, clock, "w3")
    assert (claimed.job_id, claimed.attempt) == (quiet, 2)


def test_a_job_that_keeps_losing_its_worker_ends_in_the_dead_letters(
    conn: sqlite3.Connection, clock: Clock
) -> None:
    job_id = enqueue_one(conn, clock)
    for _ in range(3):
        claim_one(conn, clock)
        clock.advance(301)
        assert queue.requeue_stale(conn, timedelta(seconds=300), clock()) == {
            job_id: JobStatus.QUEUED
        }
    claim_one(conn, clock)
    clock.advance(301)

    assert queue.requeue_stale(conn, timedelta(seconds=300), clock()) == {
        job_id: JobStatus.DEAD_LETTER
    }
    [letter] = queue.dead_letters(conn)
    assert letter.reason == "its worker sent no heartbeat for 300 s, after 3 retries"


def test_jobs_orphaned_by_an_ended_process_are_reset_and_a_live_workers_are_left(
    conn: sqlite3.Connection, clock: Clock
) -> None:
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], stdout=subprocess.PIPE, check=True
    )
    dead_pid = int(ended.stdout)
    orphan, alive = enqueue_one(conn, clock, "a.csv"), enqueue_one(conn, clock, "b.csv")
    claim_one(conn, clock, f"{dead_pid}-0")
    claim_one(conn, clock, queue.worker_id(0))  # this process's: alive

    moved = queue.reset_orphans(conn, clock())

    assert moved == {orphan: JobStatus.QUEUED}
    assert status_of(conn, alive) == JobStatus.RUNNING
    assert queue.reset_orphans(conn, clock()) == {}


def test_counts_and_lists_by_status_and_parser(conn: sqlite3.Connection, clock: Clock) -> None:
    a = enqueue_one(conn, clock, "a.csv")
    clock.advance(1)
    b = enqueue_one(conn, clock, "b.csv", parser="logs")
    clock.advance(1)
    c = enqueue_one(conn, clock, "c.csv")
    claim_one(conn, clock)
    queue.fail(conn, a, "w", PERMANENT, clock())

    assert queue.counts(conn) == {JobStatus.FAILED: 1, JobStatus.QUEUED: 2}
    assert [r.job_id for r in queue.jobs(conn, JobQuery())] == [c, b, a]  # newest first
    assert [r.job_id for r in queue.jobs(conn, JobQuery(status=JobStatus.QUEUED))] == [c, b]
    assert [r.job_id for r in queue.jobs(conn, JobQuery(parser_name="logs"))] == [b]
    assert [r.job_id for r in queue.jobs(conn, JobQuery(limit=1, offset=1))] == [b]
    with pytest.raises(JobNotFoundError):
        queue.job(conn, "0" * 32)


def test_a_batch_claim_takes_the_due_jobs_by_priority_then_age_up_to_its_limit(
    conn: sqlite3.Connection, clock: Clock
) -> None:
    old = enqueue_one(conn, clock, "old.csv")
    clock.advance(1)
    new = enqueue_one(conn, clock, "new.csv")
    urgent = enqueue_one(conn, clock, "urgent.csv", priority=5)
    last = enqueue_one(conn, clock, "last.csv")
    queue.fail(conn, claim_one(conn, clock).job_id, "w", TRANSIENT, clock())  # urgent: backoff

    first = queue.claim_batch(conn, "w", clock(), None, 2)
    rest = queue.claim_batch(conn, "w", clock(), None, 5)

    assert [job.job_id for job in first] == [old, new]
    assert [job.job_id for job in rest] == [last]  # urgent waits out its backoff
    assert {status_of(conn, job) for job in (old, new, last)} == {JobStatus.RUNNING}
    assert status_of(conn, urgent) == JobStatus.QUEUED


def test_settle_completes_the_workers_jobs_and_claims_the_next_in_one_go(
    conn: sqlite3.Connection, clock: Clock
) -> None:
    a, b, c = (enqueue_one(conn, clock, name) for name in ("a.csv", "b.csv", "c.csv"))
    queue.claim_batch(conn, "w", clock(), None, 2)
    queue.cancel(conn, b, clock())  # no longer the worker's: not completed

    settled = queue.settle(conn, "w", clock(), [(a, JobSuccess(3)), (b, JobSuccess(4))], 5)

    assert settled.completed == [a]
    assert [job.job_id for job in settled.claimed] == [c]
    assert (status_of(conn, a), status_of(conn, b), status_of(conn, c)) == (
        JobStatus.COMPLETED,
        JobStatus.CANCELLED,
        JobStatus.RUNNING,
    )
    history = conn.execute("SELECT job_id, rows_out FROM cf_processing_history").fetchall()
    assert history == [(a, 3)]


def test_settle_counts_each_success_of_each_parser(conn: sqlite3.Connection, clock: Clock) -> None:
    jobs = [enqueue_one(conn, clock, f"{n}.csv") for n in range(3)]
    other = enqueue_one(conn, clock, "x.log", parser="logs")
    queue.claim_batch(conn, "w", clock(), None, 4)
    done = [(job, JobSuccess(n)) for n, job in enumerate([*jobs, other])]

    assert queue.settle(conn, "w", clock(), done).completed == [*jobs, other]

    executions = {found.parser_name: found.total_executions for found in health.health(conn)}
    assert executions == {"sales": 3, "logs": 1}
    history = conn.execute("SELECT job_id, rows_out FROM cf_processing_history ORDER BY rowid")
    assert history.fetchall() == [(job, n) for n, (job, _) in enumerate(done)]


def test_a_pool_claims_the_jobs_of_its_sink_and_those_queued_before_jobs_carried_one(
    conn: sqlite3.Connection, clock: Clock
) -> None:
    mine, theirs = "parquet:///out/mine", "duckdb:////out/theirs.duckdb"
    made = queue.enqueue(
        conn,
        [
            replace(request("a.csv"), sink_uri=mine),
            replace(request("a.csv"), sink_uri=theirs),  # the same input, for another sink
            request("old.csv"),  # queued before jobs carried their sink
        ],
        clock(),
    )
    assert all(job.created for job in made)

    claimed = queue.claim_batch(conn, "w", clock(), None, 10, sink=mine)

    assert [job.job_id for job in claimed] == [made[0].job_id, made[2].job_id]
    assert queue.next_due(conn, None, mine) is None  # nothing more for this pool: it ends
    assert queue.next_due(conn, None, theirs) is not None
    [again] = queue.enqueue(conn, [replace(request("a.csv"), sink_uri=theirs)], clock())
    assert again.job_id == made[1].job_id and not again.created


def test_counts_and_the_active_jobs_follow_every_change_of_a_jobs_status(
    conn: sqlite3.Connection, clock: Clock
) -> None:
    # counts() sums the runs' counts the triggers keep, and the unique index of active jobs
    # knows them by their missing end time (queue.ACTIVE): both must agree with the statuses
    # after each way a job's status changes.
    def counted_from_the_jobs() -> dict[JobStatus, int]:
        rows = conn.execute("SELECT status, count(*) FROM cf_processing_queue GROUP BY status")
        return {JobStatus(status): count for status, count in rows}

    def active_by_status() -> list[str]:
        return [
            job_id
            for (job_id,) in conn.execute(
                f"SELECT id FROM cf_processing_queue WHERE status IN ('QUEUED', 'RUNNING')"
                f" IS NOT ({queue.ACTIVE})"
            )
        ]

    made = [enqueue_one(conn, clock, f"{n}.csv") for n in range(8)]
    gone = enqueue_one(conn, clock, "gone.csv", priority=9)  # keeps losing its worker
    for _ in range(4):  # its first run and three retries
        claim_one(conn, clock)
        queue.requeue_stale(conn, timedelta(seconds=1), clock.advance(60))
    assert status_of(conn, gone) == JobStatus.DEAD_LETTER
    steps = [
        lambda: claim_one(conn, clock),
        lambda: queue.complete(conn, made[0], "w", JobSuccess(5), clock()),
        lambda: claim_one(conn, clock),
        lambda: queue.complete(conn, made[1], "w", JobSuccess(5, rows_quarantined=1), clock()),
        lambda: claim_one(conn, clock),
        lambda: queue.fail(conn, made[2], "w", TRANSIENT, clock()),  # queued again
        lambda: claim_one(conn, clock),
        lambda: queue.fail(conn, made[3], "w", PERMANENT, clock()),
        lambda: queue.cancel(conn, made[4], clock()),
        lambda: queue.requeue(conn, made[3], clock()),
        lambda: claim_one(conn, clock),
        lambda: queue.release(conn, made[3], "w"),
        lambda: claim_one(conn, clock),
        lambda: queue.requeue_stale(conn, timedelta(seconds=1), clock.advance(60)),
    ]
    for step in steps:
        step()
        assert queue.counts(conn) == counted_from_the_jobs()
        assert active_by_status() == []
    assert set(queue.counts(conn)) == {
        JobStatus.QUEUED,
        JobStatus.COMPLETED,
        JobStatus.COMPLETED_WITH_WARNINGS,
        JobStatus.CANCELLED,
        JobStatus.DEAD_LETTER,
    }


@pytest.mark.parametrize("status", [None, *JobStatus])
def test_listing_jobs_reads_an_index_not_every_job(
    conn: sqlite3.Connection, status: JobStatus | None
) -> None:
    # On a million jobs a listing that scans them all takes over a second.
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    queue.jobs(conn, JobQuery(status=status))
    conn.set_trace_callback(None)

    [listing] = [sql for sql in statements if sql.startswith("SELECT")]
    plan = " ".join(str(step) for step in conn.execute("EXPLAIN QUERY PLAN " + listing))
    assert "USING INDEX" in plan and "TEMP B-TREE" not in plan
    if status in queue.NEED_A_LOOK:
        assert "cf_queue_attention" in plan


def test_claiming_and_completing_a_job_writes_few_pages(tmp_path: Path, clock: Clock) -> None:
    # Each page a transaction writes costs ~10 us: an index moving every job on every change
    # of its status made the queue too slow to claim and complete 5,000 jobs a second.
    path = tmp_path / "pages.sqlite3"
    conn = connect(path)
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    queue.enqueue(conn, [request(f"{n}.csv") for n in range(200)], clock())
    for _ in range(100):
        queue.complete(conn, claim_one(conn, clock).job_id, "w", JobSuccess(5), clock())
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = Path(f"{path}-wal")
    assert wal.stat().st_size == 0

    for _ in range(100):
        queue.complete(conn, claim_one(conn, clock).job_id, "w", JobSuccess(5), clock())

    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    frames = (wal.stat().st_size - WAL_HEADER_BYTES) / (WAL_FRAME_HEADER_BYTES + page_size)
    assert frames / 100 <= 11  # 9.6 when measured: 3.4 pages to claim, 6.2 to complete
    conn.close()
