"""The local pool in-process, with a clock the test controls: retries wait out their backoff on
that clock (no real waits), and each job's log lands in logs/{date}/{job_id}.log."""

from __future__ import annotations

import asyncio
import re
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import psutil

from casparian_core.config import Settings
from casparian_core.jobs.executor import JobReport
from casparian_core.jobs.plan import ProcessRequest
from casparian_core.jobs.process import ProcessSummary
from casparian_core.jobs.status import JobStatus
from casparian_core.service import CoreService
from tests.cli.test_process import DEADLINE_SECS, wait_for_hanging_guest
from tests.jobs.pool_support import prepare
from tests.registry.test_envs import Fixture, locked

__all__ = ["locked"]  # the fixture, used by name

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class SteppingClock:
    """Each reading is a minute after the previous one: a backoff of seconds has always passed
    by the next claim, so retries are due at once, in order."""

    def __init__(self) -> None:
        self._now = START
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            self._now += timedelta(minutes=1)
            return self._now


async def test_a_transient_failure_twice_then_success_completes_on_attempt_3(
    locked: Fixture,
) -> None:
    home = await prepare(locked, {"flaky.csv": (6, "FLAKY")})
    reports: list[JobReport] = []

    async with CoreService(home.settings, clock=SteppingClock()) as service:
        processing = service.processing(ProcessRequest(workers=1, offline=True))
        await processing.prepare()
        summary = await processing.run(reports.append)
        [job] = await service.queue.jobs()

    assert [(r.job.attempt, r.status) for r in reports] == [
        (1, JobStatus.QUEUED),
        (2, JobStatus.QUEUED),
        (3, JobStatus.COMPLETED),
    ]
    assert [r.result.transient for r in reports[:2]] == [True, True]
    assert (job.status, job.attempts, job.rows_out) == (JobStatus.COMPLETED, 3, 6)
    # Each retry was claimed only once its backoff had passed.
    due = [datetime.fromisoformat(r.next_attempt_at or "") for r in reports[:2]]
    assert job.started_at is not None and datetime.fromisoformat(job.started_at) >= due[1]
    assert summary.counts == {JobStatus.COMPLETED: 1}
    assert not summary.failed


async def test_a_job_log_over_the_cap_keeps_its_tail(locked: Fixture) -> None:
    home = await prepare(locked, {"noisy.csv": (4, "NOISY")})
    settings = home.settings.model_copy(update={"log_cap_bytes": 64 * 1024})

    async with CoreService(settings) as service:
        processing = service.processing(ProcessRequest(workers=1, offline=True))
        await processing.prepare()
        summary = await processing.run()
        [job] = await service.queue.jobs()

    [report] = summary.reports.values()
    assert report.log_path is not None
    log = settings.logs_dir / job.started_at[:10] / f"{job.job_id}.log"  # type: ignore[index]
    assert str(log) == report.log_path
    text = log.read_text()
    assert len(text.encode()) <= 64 * 1024
    assert text.startswith("[TRUNCATED] ")
    assert "line 2999 " in text  # the newest lines are kept
    assert "line 0 " not in text


def guest_pids(settings: Settings) -> list[int]:
    """The guest each job ran in (from each job's log)."""
    found = []
    for log in settings.logs_dir.glob("*/*.log"):
        [pid] = re.findall(r"parsed by guest (\d+)", log.read_text())
        found.append(int(pid))
    return found


async def run_all(settings: Settings) -> ProcessSummary:
    async with CoreService(settings) as service:
        processing = service.processing(ProcessRequest(workers=1, offline=True))
        await processing.prepare()
        return await processing.run()


async def test_a_warm_guest_is_replaced_after_its_quota_of_jobs(locked: Fixture) -> None:
    home = await prepare(locked, {f"f{n}.csv": (3, "id,value") for n in range(5)})
    settings = home.settings.model_copy(update={"worker_recycle_jobs": 2})

    summary = await run_all(settings)

    assert summary.counts == {JobStatus.COMPLETED: 5}
    jobs_per_guest = Counter(guest_pids(settings))
    assert sorted(jobs_per_guest.values()) == [1, 2, 2]


async def test_a_guest_over_the_memory_ceiling_is_replaced(locked: Fixture) -> None:
    home = await prepare(locked, {f"f{n}.csv": (3, "id,value") for n in range(3)})
    # Python with pyarrow loaded is well over 64 MB: every guest is over the ceiling.
    settings = home.settings.model_copy(update={"worker_max_guest_rss_mb": 64})

    summary = await run_all(settings)

    assert summary.counts == {JobStatus.COMPLETED: 3}
    assert len(set(guest_pids(settings))) == 3


async def test_a_job_cancelled_while_it_runs_stops_its_guest(locked: Fixture) -> None:
    home = await prepare(locked, {"slow.csv": (9, "HANG")})
    settings = home.settings.model_copy(update={"heartbeat_secs": 0.05})

    async with CoreService(settings) as service:
        processing = service.processing(ProcessRequest(workers=1, offline=True))
        await processing.prepare()
        running = asyncio.create_task(processing.run())
        pid = await asyncio.to_thread(wait_for_hanging_guest, settings.logs_dir)
        [job] = await service.queue.jobs()
        await service.queue.cancel(job.job_id)  # the next heartbeat is refused
        summary = await asyncio.wait_for(running, DEADLINE_SECS)
        [job] = await service.queue.jobs()

    assert job.status == JobStatus.CANCELLED
    assert summary.reports == {}  # the queue took the job back: nothing to report
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not (settings.output_dir / "rows").exists()
