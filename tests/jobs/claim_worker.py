"""A worker process for the concurrency tests: waits for the go file, then claims and completes
jobs until none is left, writing each claimed job id to its own file. With BATCH, it claims up
to BATCH jobs at a time and completes them in the transaction of its next claim (queue.settle),
as a pool's worker does.

Run as `python -m tests.jobs.claim_worker DATABASE SLOT GO_FILE OUT_FILE [BATCH]`."""

from __future__ import annotations

import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from casparian_core.db.connection import connect
from casparian_core.jobs import queue
from casparian_core.jobs.model import JobSuccess

GO_WAIT_SECS = 60.0


def main(database: Path, slot: int, go: Path, out: Path, batch: int) -> None:
    conn = connect(database, migrating=False)
    worker = queue.worker_id(slot)
    deadline = time.monotonic() + GO_WAIT_SECS
    while not go.exists():  # all workers start claiming together
        if time.monotonic() > deadline:
            raise SystemExit("the go file never appeared")
        time.sleep(0.01)
    with out.open("w") as claimed_ids:
        if batch == 1:
            while (claimed := queue.claim(conn, worker, datetime.now(UTC))) is not None:
                claimed_ids.write(f"{claimed.job_id}\n")
                assert queue.complete(
                    conn, claimed.job_id, worker, JobSuccess(1), datetime.now(UTC)
                )
        else:
            settle_batches(conn, worker, batch, claimed_ids)
    conn.close()


def settle_batches(conn: sqlite3.Connection, worker: str, batch: int, out: TextIO) -> None:
    done: list[tuple[str, JobSuccess]] = []
    while True:
        settled = queue.settle(conn, worker, datetime.now(UTC), done, batch)
        assert settled.completed == [job_id for job_id, _ in done]
        if not settled.claimed:
            return
        out.writelines(f"{job.job_id}\n" for job in settled.claimed)
        done = [(job.job_id, JobSuccess(1)) for job in settled.claimed]


if __name__ == "__main__":
    batch = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    main(Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), batch)
