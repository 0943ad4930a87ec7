"""Worker processes claiming from one database file: every job is claimed exactly once, one at
a time or in batches."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

from casparian_core.jobs import queue
from casparian_core.jobs.model import Enqueued
from casparian_core.jobs.status import JobStatus

from .conftest import Clock, request

JOBS = 4_000
WORKERS = 4
BATCH = 7
WAIT_SECS = 600  # a bound against a hung test on a loaded machine, never a timing check


def test_four_worker_processes_never_claim_a_job_twice(
    conn: sqlite3.Connection, database: Path, clock: Clock, tmp_path: Path
) -> None:
    made, outs = run_claimers(conn, database, clock, tmp_path, WORKERS, batch=1)
    claims = Counter(job for out in outs for job in out.read_text().split())
    assert sum(claims.values()) == JOBS  # nothing claimed twice...
    assert set(claims) == {entry.job_id for entry in made}  # ...and nothing left out
    assert queue.counts(conn) == {JobStatus.COMPLETED: JOBS}
    assert conn.execute("SELECT count(DISTINCT job_id) FROM cf_processing_history").fetchone() == (
        JOBS,
    )


def test_two_batch_claimers_never_claim_a_job_twice_and_each_claims_in_queue_order(
    conn: sqlite3.Connection, database: Path, clock: Clock, tmp_path: Path
) -> None:
    made, outs = run_claimers(conn, database, clock, tmp_path, 2, batch=BATCH)

    claimed = [out.read_text().split() for out in outs]
    claims = Counter(job for ids in claimed for job in ids)
    assert sum(claims.values()) == JOBS and set(claims) == {entry.job_id for entry in made}
    position = {entry.job_id: index for index, entry in enumerate(made)}
    for ids in claimed:  # the same priority: each batch, and each worker's, oldest first
        assert [position[job] for job in ids] == sorted(position[job] for job in ids)
    # Every completion rode on a later claim's transaction, and was recorded.
    assert queue.counts(conn) == {JobStatus.COMPLETED: JOBS}
    assert conn.execute("SELECT count(DISTINCT job_id) FROM cf_processing_history").fetchone() == (
        JOBS,
    )


def run_claimers(
    conn: sqlite3.Connection,
    database: Path,
    clock: Clock,
    tmp_path: Path,
    count: int,
    batch: int,
) -> tuple[list[Enqueued], list[Path]]:
    """Enqueue JOBS jobs, run `count` claim workers on them at once; their claim files."""
    clock.advance(-3600)  # due well before the workers' real clocks
    made = queue.enqueue(conn, [request(f"{n}.csv") for n in range(JOBS)], clock())
    go = tmp_path / "go"
    outs = [tmp_path / f"claimed-{slot}.txt" for slot in range(count)]
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.jobs.claim_worker",
                str(database),
                str(slot),
                str(go),
                str(out),
                str(batch),
            ]
        )
        for slot, out in enumerate(outs)
    ]
    go.touch()
    assert [worker.wait(WAIT_SECS) for worker in workers] == [0] * count
    return made, outs
