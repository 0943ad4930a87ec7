"""The Jobs screen's reads on a real database file: runs (jobs grouped by batch) with their
counts, failed runs first; a run's jobs, failed first; jobs by id; a job's log tail."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from casparian_core.db.connection import connect
from casparian_core.jobs import queue
from casparian_core.jobs.log_tail import TAIL_BYTES, find_job_log, read_tail
from casparian_core.jobs.model import JobRequest, JobSuccess
from casparian_core.jobs.status import JobStatus
from tests.old_schema import connect_at_version

from .conftest import PERMANENT, TRANSIENT, Clock


def enqueue_batch(
    conn: sqlite3.Connection,
    clock: Clock,
    batch: str | None,
    names: list[str],
    parser: str = "sales",
) -> list[str]:
    requests = [JobRequest(parser, "1.0.0", f"/data/{n}", batch_id=batch) for n in names]
    return [made.job_id for made in queue.enqueue(conn, requests, clock())]


def finish(conn: sqlite3.Connection, clock: Clock, job_id: str, *, fail: bool = False) -> None:
    claimed = queue.claim(conn, "w", clock())
    assert claimed is not None and claimed.job_id == job_id
    if fail:
        queue.fail(conn, job_id, "w", PERMANENT, clock())
    else:
        queue.complete(conn, job_id, "w", JobSuccess(rows_out=5), clock())


def test_runs_group_jobs_by_batch_with_counts_and_failed_runs_first(
    conn: sqlite3.Connection, clock: Clock
) -> None:
    old = enqueue_batch(conn, clock, "b-old", ["a.csv", "b.csv", "c.csv"])
    clock.advance(10)
    new = enqueue_batch(conn, clock, "b-new", ["d.csv", "e.csv"], parser="auth")
    clock.advance(1)
    loose = enqueue_batch(conn, clock, None, ["f.csv"])
    clock.advance(5)
    finish(conn, clock, old[0])
    clock.advance(5)
    finish(conn, clock, old[1], fail=True)
    finish(conn, clock, old[2])
    queue.claim(conn, "w", clock())  # d.csv: running

    runs = queue.runs(conn)

    assert [run.batch_id for run in runs] == ["b-old", "", "b-new"]  # failed, then newest
    failed, unbatched, running = runs
    assert (failed.total, failed.completed, failed.failed, failed.done) == (3, 2, 1, 3)
    assert failed.warned == 0
    assert failed.status == JobStatus.FAILED and failed.parsers == ("sales",)
    assert failed.enqueued_at == "2026-11-27T12:00:00.000000Z"
    assert failed.finished_at == "2026-11-27T12:00:21.000000Z"
    assert (running.running, running.queued, running.status) == (1, 1, JobStatus.RUNNING)
    assert running.finished_at is None and running.parsers == ("auth",)
    assert unbatched.total == 1 and unbatched.status == JobStatus.QUEUED
    assert [job.job_id for job in queue.run_jobs(conn, "")] == loose
    assert {job.job_id for job in queue.run_jobs(conn, "b-new")} == set(new)


def test_runs_filtered_by_status_keep_the_runs_with_such_a_job(
    conn: sqlite3.Connection, clock: Clock
) -> None:
    done = enqueue_batch(conn, clock, "done", ["a.csv"])
    finish(conn, clock, done[0])
    clock.advance(1)
    enqueue_batch(conn, clock, "waiting", ["b.csv"])

    pending = queue.runs(conn, frozenset({JobStatus.QUEUED}))
    failed = queue.runs(conn, frozenset({JobStatus.FAILED, JobStatus.DEAD_LETTER}))

    assert [run.batch_id for run in pending] == ["waiting"]
    assert failed == []
    assert [run.batch_id for run in queue.runs(conn, limit=1)] == ["waiting"]


def test_a_runs_jobs_list_failed_first_then_running_then_queue_order(
    conn: sqlite3.Connection, clock: Clock
) -> None:
    a, b, c, d = enqueue_batch(conn, clock, "run", ["a.csv", "b.csv", "c.csv", "d.csv"])
    finish(conn, clock, a)
    finish(conn, clock, b, fail=True)
    queue.claim(conn, "w", clock())  # c: running

    listed = queue.run_jobs(conn, "run")
    only_failed = queue.run_jobs(conn, "run", frozenset({JobStatus.FAILED}))

    assert [job.job_id for job in listed] == [b, c, a, d]
    assert [job.job_id for job in only_failed] == [b]
    assert only_failed[0].error_code == PERMANENT.error_code


def test_jobs_by_id_reads_more_ids_than_one_statement_binds(
    conn: sqlite3.Connection, clock: Clock
) -> None:
    names = [f"{n}.csv" for n in range(queue.ID_CHUNK + 20)]
    made = enqueue_batch(conn, clock, "big", names)

    found = queue.jobs_by_id(conn, [*made, "0" * 32])

    assert {job.job_id for job in found} == set(made)


def test_the_run_index_serves_a_runs_jobs(conn: sqlite3.Connection) -> None:
    plan = conn.execute(
        "EXPLAIN QUERY PLAN " + queue.RUN_JOBS.format(where="1"), {"batch": "b", "limit": 5}
    ).fetchall()
    assert any("cf_queue_batch" in str(step) for step in plan)


def test_a_job_log_is_found_in_its_newest_date_folder_and_read_from_its_end(
    tmp_path: Path,
) -> None:
    job_id = "a" * 32
    assert find_job_log(tmp_path, job_id) is None
    (tmp_path / "2026-11-26").mkdir()
    (tmp_path / "2026-11-26" / f"{job_id}.log").write_text("INFO first attempt\n")
    (tmp_path / "2026-11-27").mkdir()
    newest = tmp_path / "2026-11-27" / f"{job_id}.log"
    lines = [f"INFO line {n:06d}" for n in range(20_000)]  # far more than TAIL_BYTES
    newest.write_text("\n".join(lines) + "\n")
    assert newest.stat().st_size > TAIL_BYTES

    assert find_job_log(tmp_path, job_id) == newest
    assert read_tail(newest, 3) == lines[-3:]
    tail = read_tail(newest, 100_000)
    assert tail == lines[-len(tail) :]  # whole lines only: the cut first line is dropped
    assert read_tail(tmp_path / "gone.log", 3) == []


def test_a_run_whose_jobs_quarantined_rows_completed_with_warnings(
    conn: sqlite3.Connection, clock: Clock
) -> None:
    clean, warned = enqueue_batch(conn, clock, "run", ["a.csv", "b.csv"])
    finish(conn, clock, clean)
    claimed = queue.claim(conn, "w", clock())
    assert claimed is not None and claimed.job_id == warned
    queue.complete(conn, warned, "w", JobSuccess(rows_out=5, rows_quarantined=2), clock())

    [run] = queue.runs(conn)

    assert (run.completed, run.warned) == (2, 1)
    assert run.status == JobStatus.COMPLETED_WITH_WARNINGS


# Every count the summary keeps, computed from the queue itself (queued and running jobs are
# counted together: a claim moves a job from one to the other without writing the summary).
GROUPED = """
SELECT coalesce(batch_id, ''), count(*), sum(status IN ('QUEUED', 'RUNNING')),
    sum(status = 'COMPLETED'), sum(status = 'COMPLETED_WITH_WARNINGS'), sum(status = 'FAILED'),
    sum(status = 'DEAD_LETTER'), sum(status = 'CANCELLED'), min(enqueued_at)
FROM cf_processing_queue GROUP BY 1 ORDER BY 1
"""
SUMMARY = """
SELECT batch, total, active, completed, completed_with_warnings, failed, dead_letter, cancelled,
    enqueued_at
FROM cf_runs ORDER BY 1
"""


def test_the_runs_summary_follows_every_change_of_a_jobs_status(
    conn: sqlite3.Connection, clock: Clock
) -> None:
    a, b, c, d, e = enqueue_batch(conn, clock, "run", ["a", "b", "c", "d", "e"])
    finish(conn, clock, a)
    finish(conn, clock, b, fail=True)
    claimed = queue.claim(conn, "w", clock())
    assert claimed is not None and claimed.job_id == c
    queue.fail(conn, c, "w", TRANSIENT, clock())  # queued again, due later
    claimed = queue.claim(conn, "w", clock())
    assert claimed is not None and claimed.job_id == d
    queue.release(conn, d, "w")
    queue.cancel(conn, e, clock())
    clock.advance(1)
    enqueue_batch(conn, clock, None, ["f"], parser="auth")
    enqueue_batch(conn, clock, "run", ["g"], parser="auth")
    queue.requeue(conn, b, clock())  # replayed by hand
    claimed = queue.claim(conn, "stale", clock())
    assert claimed is not None
    clock.advance(3600)
    queue.requeue_stale(conn, timedelta(minutes=5), clock())

    assert conn.execute(SUMMARY).fetchall() == conn.execute(GROUPED).fetchall()
    [unbatched, run] = queue.runs(conn, frozenset({JobStatus.CANCELLED, JobStatus.QUEUED}))
    assert run.parsers == ("auth", "sales") and unbatched.parsers == ("auth",)
    assert (run.queued, run.running, unbatched.queued, unbatched.running) == (4, 0, 1, 0)
    assert run.started_at == "2026-11-27T12:00:00.000000Z"  # its first claim
    assert queue.runs(conn, frozenset({JobStatus.CANCELLED})) == [run]
    claimed = queue.claim(conn, "w", clock())
    assert claimed is not None
    [running] = queue.runs(conn, frozenset({JobStatus.RUNNING}))
    assert (running.queued, running.running, running.status) == (3, 1, JobStatus.RUNNING)
    assert running.started_at == run.started_at  # a later claim leaves the start


def test_a_database_of_version_8_gets_the_runs_of_the_jobs_it_holds(tmp_path: Path) -> None:
    path = tmp_path / "cf.sqlite3"
    old = connect_at_version(path, 8)
    # Plain SQL: the queue's own functions write the columns of the latest version.
    old.executemany(
        "INSERT INTO cf_processing_queue (id, parser_name, parser_version, input_path,"
        " status, enqueued_at, next_attempt_at, batch_id) VALUES (?, ?, '1.0.0', ?, ?,"
        " '2026-11-27T12:00:00.000000Z', '2026-11-27T12:00:00.000000Z', ?)",
        [
            ("a" * 32, "sales", "/data/a", "COMPLETED", "old"),
            ("b" * 32, "sales", "/data/b", "QUEUED", "old"),
            ("c" * 32, "auth", "/data/c", "QUEUED", None),
        ],
    )
    old.close()

    conn = connect(path)

    assert conn.execute(SUMMARY).fetchall() == conn.execute(GROUPED).fetchall()
    assert sorted((run.batch_id, run.completed, run.queued) for run in queue.runs(conn)) == [
        ("", 0, 1),
        ("old", 1, 1),
    ]


def test_the_runs_are_read_without_reading_every_job(conn: sqlite3.Connection) -> None:
    # Only the running jobs, through their partial index (a million finished jobs took ~1 s).
    plan = conn.execute(
        "EXPLAIN QUERY PLAN " + queue.RUNS.format(having="failed > 0"), {"limit": 5}
    ).fetchall()
    reading_jobs = [str(step) for step in plan if "cf_processing_queue" in str(step)]
    assert reading_jobs and all("cf_queue_running" in step for step in reading_jobs)
