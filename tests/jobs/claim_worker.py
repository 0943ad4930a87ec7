"""A worker process for the concurrency test: waits for the go file, then claims and completes
jobs until none is left, writing each claimed job id to its own file.

Run as `python -m tests.jobs.claim_worker DATABASE SLOT GO_FILE OUT_FILE`."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from casparian_core.db.connection import connect
from casparian_core.jobs import queue
from casparian_core.jobs.model import JobSuccess

GO_WAIT_SECS = 60.0


def main(database: Path, slot: int, go: Path, out: Path) -> None:
    conn = connect(database, migrating=False)
    worker = queue.worker_id(slot)
    deadline = time.monotonic() + GO_WAIT_SECS
    while not go.exists():  # all workers start claiming together
        if time.monotonic() > deadline:
            raise SystemExit("the go file never appeared")
        time.sleep(0.01)
    with out.open("w") as claimed_ids:
        while (claimed := queue.claim(conn, worker, datetime.now(UTC))) is not None:
            claimed_ids.write(f"{claimed.job_id}\n")
            assert queue.complete(conn, claimed.job_id, worker, JobSuccess(1), datetime.now(UTC))
    conn.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
