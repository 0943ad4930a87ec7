"""The local pool in-process, with a clock the test controls: retries wait out their backoff on
that clock (no real waits), and each job's log lands in logs/{date}/{job_id}.log."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from casparian_core.jobs.executor import JobReport
from casparian_core.jobs.plan import ProcessRequest
from casparian_core.jobs.status import JobStatus
from casparian_core.service import CoreService
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
