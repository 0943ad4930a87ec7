"""The circuit breaker under `--executor dask-local`: the pause stops the paused parser's
tasks already on the workers, and their jobs go back to the queue unrun, as the local pool
gives back its unstarted jobs."""

from __future__ import annotations

import json

from casparian_core.jobs.status import JobStatus
from casparian_core.service import CoreService
from tests.cli.test_process import process
from tests.jobs.daemon_support import logged_guests, source_of
from tests.jobs.pool_support import wheels_env
from tests.registry.test_envs import Fixture, locked

__all__ = ["locked", "wheels_env"]  # fixtures, used by name


async def test_a_pause_stops_the_parsers_tasks_in_flight_and_gives_their_jobs_back(
    locked: Fixture, wheels_env: dict[str, str]
) -> None:
    # One worker thread takes two tasks of 20: the first fails all its files; the second
    # starts with a file whose parse hangs until its guest is killed, so the run can end only
    # if the pause stops that task.
    files = {f"f{n:02}.csv": (3, "BROKEN") for n in range(40)}
    files["f20.csv"] = (3, "HANG")
    home, _ = await source_of(locked, files)

    result = process(home.settings.home, wheels_env, "--executor", "dask-local", "--workers", "1")

    assert result.returncode == 1, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["paused_parsers"] == ["rows"]
    assert summary["counts"] == {"FAILED": 20, "QUEUED": 20}  # the second task's, given back
    async with CoreService(home.settings) as service:
        counts = await service.queue.counts()
        jobs = {job.input_path.rsplit("/", 1)[-1]: job for job in await service.queue.jobs()}
    assert (counts[JobStatus.FAILED], counts[JobStatus.QUEUED]) == (20, 20)
    hanging = jobs["f20.csv"]
    assert hanging.status == JobStatus.QUEUED
    assert hanging.attempts == 0  # given back unrun: no attempt counted
    assert logged_guests(home, "hanging in")  # it did start, and was stopped
