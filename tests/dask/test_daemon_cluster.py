"""`casparian start --executor dask-local`: one LocalCluster serves all the daemon's batches
(its workers and their warm guests are kept between batches), and is closed when it stops."""

from __future__ import annotations

from casparian_core.processes import process_exists
from tests.cli.support import casparian
from tests.dask.cluster_support import queue_rows
from tests.jobs.daemon_support import (
    DEADLINE_SECS,
    job_counts,
    logged_guests,
    running_daemon,
    wait_until,
)
from tests.jobs.pool_support import prepare, wheels_env, write_rows
from tests.jobs.test_daemon import watched
from tests.registry.test_envs import Fixture, locked

__all__ = ["locked", "wheels_env"]  # fixtures, used by name


async def test_the_daemons_batches_share_one_local_cluster_closed_when_it_stops(
    locked: Fixture, wheels_env: dict[str, str]
) -> None:
    home = await prepare(locked, {"a.csv": (5, "id,value"), "b.csv": (7, "id,value")})
    await watched(home)
    root = home.settings.home
    args = ("--executor", "dask-local", "--workers", "1")

    with running_daemon(root, wheels_env, *args) as daemon:
        wait_until("the backlog is done", lambda: job_counts(root)["COMPLETED"] == 2, daemon)
        write_rows(home.data / "new" / "c.csv", 4)
        wait_until("the new file is done", lambda: job_counts(root)["COMPLETED"] == 3, daemon)
        stopped = casparian("stop", home=root, timeout=DEADLINE_SECS)
        _, err = daemon.communicate(timeout=DEADLINE_SECS)

    assert stopped.returncode == 0, stopped.stderr
    assert daemon.returncode == 0, err
    # Two batches, one worker: a cluster per batch would have put a new worker (a new port)
    # on the second; the guest too is the same one.
    workers = {worker for (worker,) in queue_rows(root, "ran_on")}
    assert len(workers) == 1, workers
    guests = logged_guests(home, "parsed by")
    assert len(guests) == 1
    assert not any(process_exists(pid) for pid in guests)  # closed with the daemon
