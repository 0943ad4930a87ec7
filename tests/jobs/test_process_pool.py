"""The process pool: each worker a process of its own, claiming from the queue. Real worker
processes, real guests, a real kill -9."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from pathlib import Path

import psutil
import pyarrow.parquet as pq

from casparian_core.engine.results import OutputResult, RunResult, RunStatus
from casparian_core.errors import ErrorCode
from casparian_core.jobs.executor import JobReport
from casparian_core.jobs.model import ClaimedJob
from casparian_core.jobs.plan import ProcessRequest
from casparian_core.jobs.process import ProcessSummary
from casparian_core.jobs.status import JobStatus
from casparian_core.jobs.worker_process import decode_report, encode_report
from casparian_core.service import CoreService
from tests.cli.test_process import DEADLINE_SECS, wait_for_hanging_guest
from tests.jobs.pool_support import prepare
from tests.registry.test_envs import Fixture, locked

__all__ = ["locked"]  # the fixture, used by name

WORKER_MODULE = "casparian_core.jobs.worker_process"


async def run_queue(service: CoreService) -> ProcessSummary:
    processing = service.processing(ProcessRequest(workers=2, offline=True))
    await processing.prepare()
    return await processing.run()


async def test_two_workers_run_every_job_once_each_in_a_process_of_its_own(
    locked: Fixture,
) -> None:
    home = await prepare(locked, {f"f{n}.csv": (3, "id,value") for n in range(12)})

    async with CoreService(home.settings) as service:
        summary = await run_queue(service)
        jobs = await service.queue.jobs()

    assert summary.counts == {JobStatus.COMPLETED: 12}
    assert summary.rows == 36
    # Workers claim under this process's id ({pid}-{n}-1), so its death makes their jobs orphans.
    assert {job.claimed_by for job in jobs} <= {f"{os.getpid()}-1-1", f"{os.getpid()}-2-1"}
    assert pq.read_table(home.settings.output_dir / "rows").num_rows == 36


async def test_a_worker_process_killed_has_its_job_given_back_and_run_once(
    locked: Fixture,
) -> None:
    files = {"slow.csv": (9, "HANG"), **{f"f{n}.csv": (3, "id,value") for n in range(4)}}
    home = await prepare(locked, files)
    settings = home.settings

    async with CoreService(settings) as service:
        processing = service.processing(ProcessRequest(workers=2, offline=True))
        await processing.prepare()
        running = asyncio.create_task(processing.run())
        guest = await asyncio.to_thread(wait_for_hanging_guest, settings.logs_dir)
        worker = psutil.Process(guest).parent()
        assert worker is not None and WORKER_MODULE in worker.cmdline()
        (home.data / "slow.csv.release").touch()  # its next run finishes
        worker.kill()
        await asyncio.wait_for(running, DEADLINE_SECS)
        [slow] = [job for job in await service.queue.jobs() if job.input_path.endswith("slow.csv")]
        # Given back to the queue as its worker died (or already run again by the other one).
        assert slow.status in (JobStatus.QUEUED, JobStatus.COMPLETED)
        await asyncio.wait_for(run_queue(service), DEADLINE_SECS)
        [slow] = [job for job in await service.queue.jobs() if job.input_path.endswith("slow.csv")]

    assert (slow.status, slow.attempts) == (JobStatus.COMPLETED, 2)
    texts = Counter(pq.read_table(settings.output_dir / "rows").column("text").to_pylist())
    assert texts["HANG"] == 1  # the slow file's rows are there once
    assert sum(texts.values()) == 9 + 4 * 3
    assert not psutil.pid_exists(guest) or psutil.Process(guest).status() == psutil.STATUS_ZOMBIE


def test_a_report_crosses_from_the_worker_whole() -> None:
    job = ClaimedJob("a" * 32, "rows", "1.0.0", "/data/x.csv", 7, "hash", 2, "b" * 32)
    output = OutputResult("rows", "/out/rows", rows=0, quarantined=0, rows_rolled_back=5)
    output.reasons.update({"n: min": 3})
    result = RunResult(
        "rows",
        "1.0.0",
        Path("/data/x.csv"),
        RunStatus.FAILED,
        job.job_id,
        error_code=ErrorCode.SINK_ERROR,
        error_message="the disk is full",
        traceback="Traceback ...",
        suggestion="free some space",
        duration_s=0.25,
        input_bytes=120,
        outputs=[output],
        transient=True,
    )
    report = JobReport(job, result, JobStatus.QUEUED, "2026-12-04T10:00:01+00:00", True, "/l.log")

    decoded = decode_report(encode_report(report))

    assert decoded == report
    assert decoded.result.error_code is ErrorCode.SINK_ERROR
    assert decoded.result.outputs[0].reasons == Counter({"n: min": 3})
