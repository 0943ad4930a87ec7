"""Four worker processes claiming from one database file: every job is claimed exactly once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

from casparian_core.jobs import queue
from casparian_core.jobs.status import JobStatus

from .conftest import Clock, request

JOBS = 4_000
WORKERS = 4
WAIT_SECS = 600  # a bound against a hung test on a loaded machine, never a timing check


def test_four_worker_processes_never_claim_a_job_twice(
    conn: sqlite3.Connection, database: Path, clock: Clock, tmp_path: Path
) -> None:
    clock.advance(-3600)  # due well before the workers' real clocks
    made = queue.enqueue(conn, [request(f"{n}.csv") for n in range(JOBS)], clock())
    go = tmp_path / "go"
    outs = [tmp_path / f"claimed-{slot}.txt" for slot in range(WORKERS)]
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
            ]
        )
        for slot, out in enumerate(outs)
    ]
    go.touch()
    assert [worker.wait(WAIT_SECS) for worker in workers] == [0] * WORKERS

    claims = Counter(job for out in outs for job in out.read_text().split())
    assert sum(claims.values()) == JOBS  # nothing claimed twice...
    assert set(claims) == {entry.job_id for entry in made}  # ...and nothing left out
    assert queue.counts(conn) == {JobStatus.COMPLETED: JOBS}
    assert conn.execute("SELECT count(DISTINCT job_id) FROM cf_processing_history").fetchone() == (
        JOBS,
    )
