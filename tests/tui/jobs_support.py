"""A job queue for the Jobs screen's tests, made by the queue's own functions on the home's real
database (enqueue, claim, complete, fail, cancel), each step at a time of the test's choosing,
and the job logs the pool would have written."""

from __future__ import annotations

import io
import itertools
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from unittest.mock import patch

from rich.console import Console

from casparian_core.config import Settings
from casparian_core.db.connection import connect
from casparian_core.errors import ErrorCode
from casparian_core.home import prepare_home
from casparian_core.jobs import queue
from casparian_core.jobs.logs import job_log_path
from casparian_core.jobs.model import JobFailure, JobRequest, JobSuccess
from tests.conftest import FIXED_NOW
from tests.tui.conftest import settle, until, until_idle

TRACE = (
    "Traceback (most recent call last):\n"
    '  File "/home/u/parsers/sales.py", line 14, in parse\n'
    "    amount = float(row['amount'])\n"
    "KeyError: 'amount'\n"
)
BROKEN = JobFailure(
    ErrorCode.SCHEMA_MISMATCH, "KeyError: 'amount'", transient=False, traceback=TRACE
)
CRASHED = JobFailure(ErrorCode.CRASHED, "the guest process died with SIGKILL", transient=True)


@dataclass
class Seeded:
    """The ids of the jobs made, by file name."""

    jobs: dict[str, str] = field(default_factory=dict)


def open_queue(settings: Settings) -> sqlite3.Connection:
    prepare_home(settings)
    return connect(settings.database_path, migrating=False)


def seed_run(
    conn: sqlite3.Connection,
    settings: Settings,
    batch: str,
    parser: str,
    outcomes: dict[str, str],
    start: datetime,
    seeded: Seeded,
) -> None:
    """One run of `parser` on files named by `outcomes`' keys, each left as its value says:
    ok, warn (rows quarantined), fail (for good, with a trace), dead (a crash out of retries),
    run (running), wait (pending), cancel. A job that ran logs a few lines."""
    requests = [
        JobRequest(parser, "1.0.0", f"/data/{parser}/{name}", batch_id=batch) for name in outcomes
    ]
    made = queue.enqueue(conn, requests, start)
    at = start
    for (name, outcome), job in zip(outcomes.items(), made, strict=True):
        seeded.jobs[name] = job.job_id
        at += timedelta(seconds=2)
        if outcome == "wait":
            continue
        if outcome == "cancel":
            queue.cancel(conn, job.job_id, at)
            continue
        claimed = queue.claim(conn, "host-1-pool-1", at)
        assert claimed is not None and claimed.job_id == job.job_id, "seed in claim order"
        _log(settings, job.job_id, at, [f"INFO reading {name}", f"INFO {parser} parsing rows"])
        at += timedelta(seconds=1.5)
        if outcome in ("ok", "warn"):
            success = JobSuccess(
                1200,
                7 if outcome == "warn" else 0,
                {"orders": {"location": f"/out/orders/{name}.parquet", "rows": 1200}},
                input_hash="9f2c4e1a7b3d5f60" * 4,
            )
            queue.complete(conn, job.job_id, "host-1-pool-1", success, at)
        elif outcome == "fail":
            _log(settings, job.job_id, at, ["ERROR KeyError: 'amount'"])
            queue.fail(conn, job.job_id, "host-1-pool-1", BROKEN, at)
        elif outcome == "dead":
            for _ in range(queue.MAX_RETRIES):
                queue.fail(conn, job.job_id, "host-1-pool-1", CRASHED, at)
                at += timedelta(seconds=20)
                queue.claim(conn, "host-1-pool-1", at)
            queue.fail(conn, job.job_id, "host-1-pool-1", CRASHED, at)


def _log(settings: Settings, job_id: str, at: datetime, lines: list[str]) -> None:
    path = job_log_path(settings.logs_dir, job_id, at)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.writelines(f"{line}\n" for line in lines)


SALES = {f"orders-{n:02d}.csv": "ok" for n in range(1, 9)} | {"orders-bad.csv": "fail"}
AUTH = {
    "auth-01.log": "ok",
    "auth-02.log": "warn",
    "auth-03.log": "run",
    "auth-04.log": "wait",
    "auth-05.log": "wait",
}
SALES_BATCH = "5a1e5b47c0de4f00a1b2c3d4e5f60718"
AUTH_BATCH = "a07b0c1d2e3f40516273849506a7b8c9"


def seed_queue(settings: Settings, *, with_auth: bool = True) -> Seeded:
    """A failed run of `sales` (8 complete, 1 failed) an hour ago, and, with `with_auth`, a run
    of `auth_log` under way (2 complete, 1 running, 2 pending) plus a dead-lettered job. Job ids
    are numbered (the log paths and ids on screen are the same in every run)."""
    seeded = Seeded()
    conn = open_queue(settings)
    numbers = itertools.count(1)
    numbered = patch.object(queue, "new_job_id", lambda: f"{next(numbers):032x}")
    with closing(conn), numbered:
        seed_run(
            conn, settings, SALES_BATCH, "sales", SALES, FIXED_NOW - timedelta(hours=1), seeded
        )
        if with_auth:
            seed_run(
                conn,
                settings,
                "d3adbeefd3adbeefd3adbeefd3adbeef",
                "events",
                {"events-7.json": "dead"},
                FIXED_NOW - timedelta(minutes=40),
                seeded,
            )
            seed_run(
                conn,
                settings,
                AUTH_BATCH,
                "auth_log",
                AUTH,
                FIXED_NOW - timedelta(seconds=30),
                seeded,
            )
    return seeded


async def open_jobs(pilot) -> None:  # type: ignore[no-untyped-def]
    """Go to Jobs as a terminal would, and wait for its list."""
    await settle(pilot)
    await pilot.press("alt+j")
    await until(pilot, lambda: _on_jobs(pilot.app), "the Jobs screen")
    await settle(pilot)


def after_keys(*keys: str):  # type: ignore[no-untyped-def]
    """A snapshot's `run_before`: open Jobs, then press `keys`, each let settle."""

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await open_jobs(pilot)
        for key in keys:
            await pilot.press(key)
            await until_idle(pilot)

    return run_before


def _on_jobs(app) -> bool:  # type: ignore[no-untyped-def]
    return type(app.screen).__name__ == "JobsScreen"


def list_text(app) -> str:  # type: ignore[no-untyped-def]
    """The list's lines as drawn, one per row."""
    from casparian_tui.widgets.jobs_list import JobsList
    from casparian_tui.widgets.jobs_rows import render

    jobs_list = app.screen.query_one(JobsList)
    width = jobs_list.size.width
    return "\n".join(render(row, width, FIXED_NOW).plain for row in jobs_list.rows)


def detail_text(app) -> str:  # type: ignore[no-untyped-def]
    """The detail pane's content as plain text."""
    from casparian_tui.widgets.jobs_detail import JobDetailPane

    console = Console(width=200, record=True, file=io.StringIO())
    console.print(app.screen.query_one(JobDetailPane).shown)
    return console.export_text()
