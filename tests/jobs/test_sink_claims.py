"""Jobs carry the sink they were queued for, and a pool claims only its own sink's jobs: two
pools writing two sinks over one queue (a `process --sink X` beside a daemon on sink Y, a
replay's pool) never run each other's jobs. Real pools, real guests, real Parquet."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pyarrow.parquet as pq

from casparian_core.jobs.plan import ProcessRequest
from casparian_core.jobs.status import JobStatus
from casparian_core.service import CoreService
from tests.jobs.pool_support import prepare
from tests.registry.test_envs import Fixture, locked

__all__ = ["locked"]  # the fixture, used by name


def job_ids_in(folder: Path) -> set[str]:
    return set(pq.read_table(folder / "rows").column("_cf_job_id").to_pylist())


async def test_two_pools_on_two_sinks_over_one_queue_each_write_only_their_own_jobs(
    locked: Fixture,
) -> None:
    home = await prepare(locked, {f"f{n:02}.csv": (3, "id,value") for n in range(16)})
    first, second = home.settings.home / "first", home.settings.home / "second"

    async with CoreService(home.settings) as service:
        runs = [
            service.processing(ProcessRequest(workers=1, offline=True, sink_uri=f"parquet://{f}"))
            for f in (first, second)
        ]
        for run in runs:  # both sinks' jobs queued before either pool claims
            await run.prepare()
        summaries = await asyncio.gather(*(run.run() for run in runs))
        jobs = await service.queue.jobs()

    assert [summary.counts for summary in summaries] == [{JobStatus.COMPLETED: 16}] * 2
    first_jobs, second_jobs = ({r.job.job_id for r in s.reports.values()} for s in summaries)
    assert job_ids_in(first) == first_jobs
    assert job_ids_in(second) == second_jobs
    assert len(jobs) == 32  # a job per file and sink: one sink's active job is not the other's
    outputs = [o for s in summaries for r in s.reports.values() for o in r.result.outputs]
    assert outputs and all(o.preview is None for o in outputs)  # a pool keeps no rows for show
