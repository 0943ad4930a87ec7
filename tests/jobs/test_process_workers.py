"""`process` starts no more workers than there are queued jobs: one big file gets one worker
(a real registered parser, real guests; the pool factory spied on for the count it is given).
The worker processes started while it plans end when they are not needed; those the command
starts before its imports (EarlyWorkers) are the ones its pool runs, or end with the command."""

from __future__ import annotations

from typing import Any

import psutil
import pytest

from casparian_core.jobs import process as process_module
from casparian_core.jobs import process_pool, worker_start
from casparian_core.jobs.executor import Executor
from casparian_core.jobs.plan import ProcessRequest
from casparian_core.jobs.worker_start import EarlyWorkers
from casparian_core.service import CoreService
from tests.child_processes import children_running
from tests.jobs.pool_support import prepare
from tests.registry.test_envs import Fixture, locked

__all__ = ["locked"]  # a fixture, used by name

WORKER_MODULE = "casparian_core.jobs.worker_process"


@pytest.mark.parametrize(("files", "workers"), [(1, 1), (3, 2)])
async def test_process_starts_at_most_one_worker_per_queued_job(
    locked: Fixture, monkeypatch: pytest.MonkeyPatch, files: int, workers: int
) -> None:
    home = await prepare(locked, {f"f{n}.csv": (3, "id,value") for n in range(files)})
    asked: list[int | None] = []
    real_pool = process_module.local_pool

    def spy(service: CoreService, request: ProcessRequest, *args: Any, **kwargs: Any) -> Executor:
        asked.append(request.workers)
        return real_pool(service, request, *args, **kwargs)

    monkeypatch.setattr(process_module, "local_pool", spy)
    async with CoreService(home.settings) as service:
        processing = service.processing(ProcessRequest(workers=2, offline=True))
        await processing.prepare()
        summary = await processing.run()

    assert asked == [workers]
    assert sum(report.result.rows for report in summary.reports.values()) == 3 * files
    # The worker process started while planning was ended when one job left it nothing to do.
    assert worker_processes() == []


def worker_processes() -> list[psutil.Process]:
    """Our live worker processes (other tests' ended processes may linger as zombies)."""
    return children_running(WORKER_MODULE, recursive=True)


async def test_a_plan_with_nothing_to_run_ends_the_workers_started_for_it(
    locked: Fixture,
) -> None:
    home = await prepare(locked, {"f0.csv": (3, "id,value")})
    request = ProcessRequest(tag="no-such-tag", workers=2, offline=True)

    async with CoreService(home.settings) as service:
        planned = await service.processing(request).prepare()
        assert planned.requests == []  # the Jobs screen runs nothing then
        assert worker_processes() == []


async def test_the_pool_runs_the_workers_the_command_started_early(
    locked: Fixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = await prepare(locked, {f"f{n}.csv": (3, "id,value") for n in range(4)})
    request = ProcessRequest(workers=2, offline=True)
    started = []
    real_start = worker_start.start_worker

    def counted() -> Any:
        started.append(real_start())
        return started[-1]

    monkeypatch.setattr(worker_start, "start_worker", counted)
    monkeypatch.setattr(process_pool, "start_worker", counted)
    with EarlyWorkers(home.settings, request) as early:
        assert [child.pid for child in started] == [p.pid for p in worker_processes()]
        async with CoreService(home.settings) as service:
            processing = service.processing(request, early)
            await processing.prepare()
            summary = await processing.run()

    assert len(started) == 1  # the early one: neither prepare nor the pool started another
    assert sum(report.result.rows for report in summary.reports.values()) == 3 * 4
    assert worker_processes() == []


def test_early_workers_never_taken_end_with_their_block(locked: Fixture) -> None:
    # The command failed before its pool took them (a home it could not open, say).
    with (
        pytest.raises(RuntimeError),
        EarlyWorkers(locked.settings, ProcessRequest(workers=3, offline=True)),
    ):
        assert len(worker_processes()) == 2
        raise RuntimeError("the command failed")
    assert worker_processes() == []


def test_no_early_workers_for_a_database_sink_or_another_executor(locked: Fixture) -> None:
    for request in (
        ProcessRequest(workers=2, sink_uri="duckdb:///out.duckdb"),
        ProcessRequest(workers=2, executor="dask-local"),
        ProcessRequest(workers=1),
    ):
        with EarlyWorkers(locked.settings, request) as early:
            assert early.take() == []
