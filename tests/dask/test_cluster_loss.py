"""The Dask executor when the cluster itself fails it: the scheduler going away in the middle
of a run, and a worker that does not see the inputs. Each test starts its own cluster (a
scheduler and worker processes on loopback TCP)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.dask.cluster_support import (
    assert_a_new_run_finishes_every_file_once,
    finish,
    hanging_source,
    queue_rows,
    real_cluster,
    release,
    start_process,
    wait_for,
)
from tests.jobs.daemon_support import logged_guests, source_of
from tests.jobs.pool_support import wheels_env
from tests.registry.test_envs import Fixture, locked

__all__ = ["locked", "wheels_env"]  # fixtures, used by name


async def test_the_scheduler_going_away_stops_the_run_cleanly_and_a_new_one_resumes(
    locked: Fixture, wheels_env: dict[str, str], tmp_path: Path
) -> None:
    home, lines, hang = await hanging_source(locked)
    with real_cluster(tmp_path / "first") as cluster:
        driver = start_process(home.settings.home, wheels_env, cluster.address)
        try:
            wait_for("a guest hangs", lambda: logged_guests(home, "hanging in"), driver)
            os.killpg(cluster.scheduler.pid, signal.SIGKILL)
            code, _, err = finish(driver)
        finally:
            driver.kill()

    assert code == 2, err
    assert f"the Dask scheduler at {cluster.address} went away: claiming stopped" in err
    assert "went back to the queue" in err
    statuses = {status for (status,) in queue_rows(home.settings.home)}
    assert "RUNNING" not in statuses  # nothing left held by a driver that is gone
    assert "QUEUED" in statuses

    release(hang)
    with real_cluster(tmp_path / "second") as cluster:
        assert_a_new_run_finishes_every_file_once(
            home.settings.home, wheels_env, cluster.address, lines
        )


async def test_a_worker_that_cannot_see_the_inputs_fails_the_run_once_before_any_job(
    locked: Fixture, wheels_env: dict[str, str], tmp_path: Path
) -> None:
    home, _ = await source_of(locked, {f"f{n}.csv": (3, "id,value") for n in range(6)})
    # The second worker runs where the source's folder is an empty mount: not shared storage.
    with real_cluster(tmp_path / "cluster", hide=home.data) as cluster:
        code, _, err = finish(start_process(home.settings.home, wheels_env, cluster.address))

    assert code == 2, err
    assert "Some Dask workers cannot use the shared storage, so nothing was run" in err
    assert err.count("cannot read the input") == 1, err  # one worker, one sample input
    assert "(No such file or directory)" in err
    assert set(queue_rows(home.settings.home, "status, attempts")) == {("QUEUED", 0)}
