"""Pictures of the Jobs screen for a run on a Dask cluster: each job's row names the worker
that ran it, a job whose worker died waits for its retry, and a job's detail says where it
ran (the queue seeded through its own functions, as the Dask driver records them)."""

from __future__ import annotations

from contextlib import closing
from datetime import timedelta

from casparian_core.config import Settings
from casparian_core.jobs import queue
from casparian_core.jobs.model import JobRequest, JobSuccess
from tests.conftest import FIXED_NOW
from tests.tui.conftest import TERMINAL, make_app
from tests.tui.jobs_support import after_keys, open_queue

WIDE = (160, TERMINAL[1])
BATCH = "da5cda5cda5cda5cda5cda5cda5cda5c"
DRIVER = "4242-dask"
WORKERS = {
    "orders-01.csv": "tcp://10.0.0.5:40331",
    "orders-02.csv": "tcp://10.0.0.6:39117",
    "orders-03.csv": "tcp://10.0.0.5:40331",
}


def seed_dask_run(settings: Settings) -> None:
    """Three jobs completed on two workers, one whose worker died (requeued, try 2)."""
    at = FIXED_NOW - timedelta(minutes=5)
    names = [*WORKERS, "orders-04.csv"]
    with closing(open_queue(settings)) as conn:
        requests = [JobRequest("sales", "1.0.0", f"/data/{n}", batch_id=BATCH) for n in names]
        made = {
            n: job.job_id for n, job in zip(names, queue.enqueue(conn, requests, at), strict=True)
        }
        queue.claim_batch(conn, DRIVER, at, None, len(names))
        done = at + timedelta(seconds=3)
        for name, worker in WORKERS.items():
            success = JobSuccess(1200, 0, {}, ran_on=worker)
            assert queue.complete(conn, made[name], DRIVER, success, done)
        lost = "the Dask worker tcp://10.0.0.6:39117 died while this job's task was on it"
        queue.requeue_lost(conn, [made["orders-04.csv"]], DRIVER, lost, done)


def test_a_dask_run_names_each_jobs_worker(snap_compare, settings: Settings) -> None:
    # A wide terminal: at 120 columns a row has no room for a worker's address beside the
    # file's name, and shows only the name (the detail pane names the worker).
    seed_dask_run(settings)
    app = make_app(settings)
    assert snap_compare(app, terminal_size=WIDE, run_before=after_keys("enter"))


def test_a_dask_jobs_detail_says_where_it_ran(snap_compare, settings: Settings) -> None:
    seed_dask_run(settings)
    app = make_app(settings)
    keys = ("enter", "down", "down")  # the run, expanded: its lost job first, then a done one
    assert snap_compare(app, terminal_size=TERMINAL, run_before=after_keys(*keys))
