"""The Jobs screen on a 10,000-job queue: does it open, expand, scroll and follow updates without
stalls?

The real app headless at 120x36 (Textual composes and renders every frame) on a home whose
queue holds one run of 10,000 jobs (3,000 complete, 200 failed, 10 running, the rest pending)
and 50 finished runs of 20 jobs. Measured, each from the key event posted to its effect:
- opening Jobs (Alt+j until the runs are listed);
- expanding the big run (Enter until its 10,000 jobs are listed under it);
- Down and Page Down through the jobs (the cursor moved and the detail pane shows the job);
- updates: 5,000 jobs finished by a worker pool in bursts of 100 every 50 ms (the queue's rows
  changed, then JobChanged published as the queue's facade does), while Down is pressed every
  50 ms: the keystrokes' latency, and how long after the last burst the list shows every job's
  new status.

Run: .venv/bin/python -m tests.bench.bench_jobs_screen [--jobs N]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from textual.events import Key

from casparian_core.api import JobRecord, JobRequest, JobStatus
from casparian_core.config import load_settings
from casparian_core.db.connection import connect
from casparian_core.events import DataChanged, JobChanged
from casparian_core.home import prepare_home
from casparian_core.jobs import queue
from casparian_core.service import CoreService
from casparian_tui.app import CasparianApp
from casparian_tui.screens.jobs import JobsScreen
from casparian_tui.widgets.jobs_list import JobsList

BIG_BATCH = "b" * 32
SMALL_RUNS = 50
UPDATED = 5_000
BURST = 100
BURST_EVERY_SECS = 0.05
POLL_SECS = 0.0005
DEADLINE_SECS = 120.0
ENV: dict[str, str] = {}  # the default settings: change_poll_secs 1.0


def fill_queue(database: Path, jobs: int) -> list[str]:
    """The big run and the small ones, statuses set in one pass; returns the big run's pending
    job ids."""
    conn = connect(database, migrating=False)
    try:
        now = datetime.now(UTC)
        requests = [
            JobRequest("sales", "1.0.0", f"/data/big/{n:05d}.csv", batch_id=BIG_BATCH)
            for n in range(jobs)
        ]
        for run in range(SMALL_RUNS):
            batch = f"{run:032x}"
            requests += [
                JobRequest("auth", "1.0.0", f"/data/r{run}/{n}.log", batch_id=batch)
                for n in range(20)
            ]
        queue.enqueue(conn, requests, now)
        with conn:
            big = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM cf_processing_queue WHERE batch_id = ? ORDER BY rowid",
                    (BIG_BATCH,),
                )
            ]
            _set(conn, big[:3000], "COMPLETED", rows=100)
            _set(conn, big[3000:3200], "FAILED", code="SCHEMA_MISMATCH")
            _set(conn, big[3200:3210], "RUNNING")
            conn.execute(
                "UPDATE cf_processing_queue SET status = 'COMPLETED', rows_out = 20,"
                " started_at = enqueued_at, finished_at = enqueued_at WHERE batch_id != ?",
                (BIG_BATCH,),
            )
        return big[3210:]
    finally:
        conn.close()


def _set(
    conn: sqlite3.Connection,
    ids: list[str],
    status: str,
    *,
    rows: int | None = None,
    code: str | None = None,
) -> None:
    conn.executemany(
        "UPDATE cf_processing_queue SET status = ?, rows_out = ?, error_code = ?, attempts = 1,"
        " started_at = enqueued_at,"
        " finished_at = CASE WHEN ? = 'RUNNING' THEN NULL ELSE enqueued_at END WHERE id = ?",
        [(status, rows, code, status, job_id) for job_id in ids],
    )


async def until(condition: Callable[[], bool]) -> float:
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > DEADLINE_SECS:
            raise RuntimeError("gave up waiting")
        await asyncio.sleep(POLL_SECS)
    return time.perf_counter() - start


def press(app: CasparianApp, key: str) -> None:
    app.post_message(Key(key, None))  # as a terminal's key arrives: to the focused widget


async def keystroke(app: CasparianApp, key: str) -> float:
    """Latency of one key in the list: until the cursor moved and the pane shows that job."""
    screen = app.screen
    assert isinstance(screen, JobsScreen)
    jobs_list = screen.jobs_list
    before = jobs_list.cursor
    start = time.perf_counter()
    press(app, key)

    def shown() -> bool:
        row = jobs_list.highlighted
        if jobs_list.cursor == before or row is None or not isinstance(row.item, JobRecord):
            return False
        shown = screen.shown_job
        return shown is not None and shown.job_id == row.item.job_id

    await until(shown)
    return time.perf_counter() - start


def ms(since: float) -> str:
    return f"{(time.perf_counter() - since) * 1000:.0f} ms"


def summary(name: str, latencies: list[float]) -> None:
    ordered = sorted(latencies)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    print(
        f"{name}: {len(ordered)} keys, median {statistics.median(ordered) * 1000:.1f} ms,"
        f" p95 {p95 * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms"
    )


async def finish_jobs(service: CoreService, database: Path, ids: list[str]) -> None:
    """What a pool does, in bursts: the rows change in the database, then JobChanged."""
    conn = connect(database, migrating=False)
    try:
        for start in range(0, len(ids), BURST):
            burst = ids[start : start + BURST]
            with conn:
                _set(conn, burst, "COMPLETED", rows=100)
            for job_id in burst:
                service.events.publish(JobChanged(job_id, JobStatus.COMPLETED))
            service.events.publish(DataChanged(origin="queue"))
            await asyncio.sleep(BURST_EVERY_SECS)
    finally:
        conn.close()


async def measure(work: Path, jobs: int) -> None:
    settings = load_settings(env=ENV, home=work / "home")
    prepare_home(settings)
    started = time.perf_counter()
    pending = fill_queue(settings.database_path, jobs)
    print(f"queue of {jobs + SMALL_RUNS * 20:,} jobs made in {time.perf_counter() - started:.1f} s")
    app = CasparianApp(CoreService(settings), watch_sources=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await until(lambda: app.stats is not None)
        began = time.perf_counter()
        await pilot.press("alt+j")
        await until(
            lambda: (
                type(app.screen).__name__ == "JobsScreen"
                and len(app.screen.query_one(JobsList).rows) == SMALL_RUNS + 1
            )
        )
        print(f"open Jobs (Alt+j until {SMALL_RUNS + 1} runs listed): {ms(began)}")
        jobs_list = app.screen.query_one(JobsList)
        jobs_list.focus()
        await pilot.pause()
        began = time.perf_counter()
        press(app, "enter")
        await until(lambda: len(jobs_list.rows) == SMALL_RUNS + 1 + jobs)
        print(f"expand the {jobs:,}-job run (Enter until listed): {ms(began)}")
        await pilot.pause(0.5)
        summary("Down, idle", [await keystroke(app, "down") for _ in range(100)])
        summary("Page Down, idle", [await keystroke(app, "pagedown") for _ in range(100)])

        updates = asyncio.create_task(
            finish_jobs(app.service, settings.database_path, pending[:UPDATED])
        )
        during = []
        while not updates.done():
            during.append(await keystroke(app, "down"))
            await asyncio.sleep(BURST_EVERY_SECS)
        await updates
        last_burst = time.perf_counter()
        keys = {f"job:{job_id}" for job_id in pending[:UPDATED]}

        def all_shown() -> bool:
            return all(
                isinstance(row.item, JobRecord) and row.item.status == JobStatus.COMPLETED
                for row in jobs_list.rows
                if row.key in keys
            )

        await until(all_shown)
        summary(f"Down while {UPDATED:,} jobs finish in bursts of {BURST}", during)
        print(f"every finished job shown, after the last burst: {ms(last_burst)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(measure(Path(folder), args.jobs))


if __name__ == "__main__":
    main()
