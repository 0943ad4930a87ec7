"""The process pool: each worker a process of its own, claiming from the queue. Real worker
processes, real guests, a real kill -9."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections import Counter
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest

from casparian_core.engine.results import OutputResult, RunResult, RunStatus
from casparian_core.errors import ErrorCode
from casparian_core.jobs.cpu_shares import cpu_shares
from casparian_core.jobs.executor import JobReport
from casparian_core.jobs.model import ClaimedJob
from casparian_core.jobs.plan import ProcessRequest
from casparian_core.jobs.process import ProcessSummary
from casparian_core.jobs.process_pool import _line_batches
from casparian_core.jobs.status import JobStatus
from casparian_core.jobs.worker_process import decode_report, encode_report
from casparian_core.service import CoreService
from tests.cli.test_process import DEADLINE_SECS
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
    # Workers claim under this process's id ({pid}-1 here, {pid}-2-1 in a worker process), so
    # its death makes all their jobs orphans.
    assert {job.claimed_by for job in jobs} <= {f"{os.getpid()}-1", f"{os.getpid()}-2-1"}
    assert pq.read_table(home.settings.output_dir / "rows").num_rows == 36


def guest_cpus(logs_dir: Path) -> list[frozenset[int]]:
    """The CPUs each parse's guest could run on, as its job log says; each ran as batch work
    (jobs/cpu_shares.py)."""
    found = [
        (frozenset(int(cpu) for cpu in cpus.split(",")), int(policy))
        for log in logs_dir.glob("*/*.log")
        for cpus, policy in re.findall(
            r"parsed by guest \d+ on CPUs ([\d,]+), policy (\d+)", log.read_text()
        )
    ]
    assert {policy for _, policy in found} == {os.SCHED_BATCH}
    return [cpus for cpus, _ in found]


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: nothing to share")
async def test_each_worker_and_its_guest_run_on_cpus_of_their_own(locked: Fixture) -> None:
    home = await prepare(locked, {f"f{n}.csv": (3, "id,value") for n in range(12)})

    async with CoreService(home.settings) as service:
        summary = await run_queue(service)

    assert summary.counts == {JobStatus.COMPLETED: 12}
    seen = guest_cpus(home.settings.logs_dir)
    assert len(seen) == 12
    assert set(seen) <= set(cpu_shares(os.sched_getaffinity(0), 2))


async def test_workers_run_on_every_cpu_when_affinity_is_off(locked: Fixture) -> None:
    home = await prepare(locked, {f"f{n}.csv": (3, "id,value") for n in range(6)})
    settings = home.settings.model_copy(update={"worker_cpu_affinity": False})

    async with CoreService(settings) as service:
        summary = await run_queue(service)

    assert summary.counts == {JobStatus.COMPLETED: 6}
    assert set(guest_cpus(settings.logs_dir)) == {frozenset(os.sched_getaffinity(0))}


def hanging_guests(logs_dir: Path, count: int) -> list[int]:
    """The pids of `count` guests hanging in a parse (each job logs it), waited for."""
    deadline = time.monotonic() + DEADLINE_SECS
    while time.monotonic() < deadline:
        found = [
            int(pid)
            for log in logs_dir.glob("*/*.log")
            for pid in re.findall(r"hanging in guest (\d+)", log.read_text())
        ]
        if len(found) >= count:
            return found
        time.sleep(0.05)  # polling the files the guests write, bounded by the deadline
    pytest.fail(f"{count} guests never logged that they hang")


async def test_a_worker_process_killed_has_its_job_given_back_and_run_once(
    locked: Fixture,
) -> None:
    # Every file hangs, so both workers do: one in this process, one in a worker process, which
    # is killed. (A worker holds two jobs at most: the one parsing and the next, sent ahead.)
    files = {f"slow{n}.csv": (9, "HANG") for n in range(6)}
    home = await prepare(locked, files)
    settings = home.settings

    async with CoreService(settings) as service:
        processing = service.processing(ProcessRequest(workers=2, offline=True))
        await processing.prepare()
        running = asyncio.create_task(processing.run())
        guests = await asyncio.to_thread(hanging_guests, settings.logs_dir, 2)
        parents = {guest: psutil.Process(guest).parent() for guest in guests}
        [(guest, worker)] = [
            (guest, parent)
            for guest, parent in parents.items()
            if parent is not None and WORKER_MODULE in parent.cmdline()
        ]
        for name in files:
            (home.data / f"{name}.release").touch()  # their next runs finish
        worker.kill()
        [killed] = [  # the job's log names the guest that ran it
            log.stem
            for log in settings.logs_dir.glob("*/*.log")
            if f"hanging in guest {guest}" in log.read_text()
        ]
        processing.stop(abandon=True)  # the job hanging here goes back to the queue too
        await asyncio.wait_for(running, DEADLINE_SECS)
        await asyncio.wait_for(run_queue(service), DEADLINE_SECS)
        jobs = {job.job_id: job for job in await service.queue.jobs()}

    assert (jobs[killed].status, jobs[killed].attempts) == (JobStatus.COMPLETED, 2)
    assert {job.status for job in jobs.values()} == {JobStatus.COMPLETED}
    texts = Counter(pq.read_table(settings.output_dir / "rows").column("text").to_pylist())
    assert texts["HANG"] == 6  # each file's rows are there once
    assert sum(texts.values()) == 6 * 9
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


def test_reports_are_relayed_in_whole_lines_however_the_pipe_cuts_them() -> None:
    # A worker's reports reach the parent as one read brings them: several lines at once, or a
    # line cut in two; a line its worker never finished (it died writing) is no report.
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as stream:
        os.write(write_end, b"one\ntwo\nthr")
        batches = _line_batches(stream)
        assert next(batches) == [b"one", b"two"]
        os.write(write_end, b"ee\nfo")
        assert next(batches) == [b"three"]
        os.close(write_end)
        assert list(batches) == []
