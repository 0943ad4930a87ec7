"""The Jobs screen shows a backfill as one run named after it, its swap as the last step:
"swapped" once done, "blocked" while a failed file keeps it from swapping, its detail saying
what to do. A real queue and cf_backfills on the home's database, the clock frozen."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import timedelta

from casparian_core.backfill import store
from casparian_core.backfill.store import BackfillRecord, BackfillStatus
from casparian_core.config import Settings
from casparian_core.db.connection import format_timestamp
from casparian_core.jobs import queue
from casparian_core.jobs.model import JobRequest, JobSuccess
from tests.conftest import FIXED_NOW
from tests.tui.conftest import TERMINAL, make_app, until_idle
from tests.tui.jobs_support import BROKEN, detail_text, list_text, open_jobs, open_queue

DONE_ID = "b0000000000000000000000000000001"
BLOCKED_ID = "b0000000000000000000000000000002"


def seed_backfill(
    conn: sqlite3.Connection,
    backfill_id: str,
    files: dict[str, str],
    status: BackfillStatus,
    minutes_ago: int,
) -> None:
    """A backfill of `prices` to 2.0.0 whose jobs end as `files` says (ok, fail)."""
    start = FIXED_NOW - timedelta(minutes=minutes_ago)
    at = format_timestamp(start)
    record = BackfillRecord(
        backfill_id,
        "prices",
        "2.0.0",
        "parquet:///home/u/.casparian_flow/output",
        f"parquet:///home/u/.casparian_flow/output/.staging/backfill-{backfill_id}",
        tuple(files),
        len(files),
        BackfillStatus.STAGING,
        None,
        at,
        None,
        None,
        None,
    )
    assert store.insert(conn, record) is not None
    requests = [
        JobRequest(
            "prices", "2.0.0", f"/data/shop/{name}", batch_id=backfill_id, backfill_id=backfill_id
        )
        for name in files
    ]
    made = queue.enqueue(conn, requests, start)
    for step, (outcome, job) in enumerate(zip(files.values(), made, strict=True)):
        when = start + timedelta(seconds=2 * step + 1)
        claimed = queue.claim(conn, "host-1-pool-1", when, backfill_id)
        assert claimed is not None and claimed.job_id == job.job_id
        if outcome == "ok":
            queue.complete(conn, job.job_id, "host-1-pool-1", JobSuccess(40), when)
        else:
            queue.fail(conn, job.job_id, "host-1-pool-1", BROKEN, when)
    end = format_timestamp(start + timedelta(seconds=30))
    if status == BackfillStatus.DONE:
        store.set_status(conn, backfill_id, BackfillStatus.SWAPPING, end)
        store.set_status(conn, backfill_id, BackfillStatus.DONE, end)
    else:
        store.set_note(conn, backfill_id, "1 file failed (c.csv): the swap waits")


def seed(settings: Settings) -> None:
    with closing(open_queue(settings)) as conn:
        seed_backfill(conn, DONE_ID, {"a.csv": "ok", "b.csv": "ok"}, BackfillStatus.DONE, 60)
        seed_backfill(
            conn,
            BLOCKED_ID,
            {"a.csv": "ok", "b.csv": "ok", "c.csv": "fail"},
            BackfillStatus.STAGING,
            5,
        )


async def test_a_backfill_is_a_run_whose_last_step_is_the_swap(settings: Settings) -> None:
    seed(settings)
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_jobs(pilot)
        lines = list_text(app).splitlines()
        blocked_detail = detail_text(app)  # the first run (failed runs come first)

    assert "backfill prices → 2.0.0" in lines[0] and "blocked" in lines[0]
    assert "backfill prices → 2.0.0" in lines[1] and "swapped" in lines[1]
    assert BLOCKED_ID in blocked_detail
    assert "last step, once every file succeeded" in blocked_detail
    assert "1 file failed (c.csv)" in blocked_detail
    assert f"casparian backfill --resume {BLOCKED_ID}" in blocked_detail


def test_snapshot_blocked_backfill(snap_compare, settings: Settings) -> None:
    seed(settings)
    assert snap_compare(make_app(settings), terminal_size=TERMINAL, run_before=open_jobs)


def test_snapshot_swapped_backfill(snap_compare, settings: Settings) -> None:
    seed(settings)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await open_jobs(pilot)
        await pilot.press("down")
        await until_idle(pilot)

    assert snap_compare(make_app(settings), terminal_size=TERMINAL, run_before=run_before)
