"""`service.queue`: the queue through CoreService, as the Jobs CLI and screen use it; each job it
changes is published as JobChanged."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casparian_core.api import JobFailure, JobQuery, JobRequest, JobSuccess
from casparian_core.config import Settings
from casparian_core.errors import ErrorCode
from casparian_core.events import DataChanged, Event, JobChanged
from casparian_core.jobs.errors import ErrorNotFoundError, JobNotFoundError
from casparian_core.jobs.status import JobStatus
from casparian_core.service import CoreService

from .conftest import Clock

FAILURE = JobFailure(
    ErrorCode.INVALID_DATA,
    "ValueError: could not convert 'x'",
    transient=False,
    traceback='Traceback (most recent call last):\n  File "/p/sales.py", line 8, in parse\n'
    "    float(value)\nValueError: could not convert 'x'\n",
    context={"column": "amount"},
)


async def test_each_change_is_published_as_job_changed(service: CoreService) -> None:
    received: list[Event] = []
    service.subscribe(received.append, JobChanged)
    made = await service.queue.enqueue(
        [JobRequest("sales", "1.0.0", "/d/a.csv"), JobRequest("sales", "1.0.0", "/d/b.csv")]
    )
    a, b = (entry.job_id for entry in made)
    claimed = await service.queue.claim("w")
    assert claimed is not None and claimed.job_id == a
    assert await service.queue.heartbeat(a, "w")
    assert await service.queue.complete(a, "w", JobSuccess(5, 1))
    await service.queue.cancel(b)
    await service.queue.retry(b)

    assert received == [
        JobChanged(a, JobStatus.QUEUED),
        JobChanged(b, JobStatus.QUEUED),
        JobChanged(a, JobStatus.RUNNING),
        JobChanged(a, JobStatus.COMPLETED_WITH_WARNINGS),
        JobChanged(b, JobStatus.CANCELLED),
        JobChanged(b, JobStatus.QUEUED),
    ]


async def test_a_change_also_tells_faces_that_data_changed(service: CoreService) -> None:
    received: list[Event] = []
    service.subscribe(received.append, DataChanged)
    await service.queue.enqueue([JobRequest("sales", "1.0.0", "/d/a.csv")])
    assert received == [DataChanged(origin="queue")]  # the first of a quiet spell: at once


async def test_a_failure_is_listed_shown_and_fingerprinted(service: CoreService) -> None:
    [made] = await service.queue.enqueue([JobRequest("sales", "1.0.0", "/d/a.csv")])
    await service.queue.claim("w")
    outcome = await service.queue.fail(made.job_id, "w", FAILURE)
    assert outcome is not None and outcome.status == JobStatus.FAILED

    [listed] = await service.queue.jobs(JobQuery(status=JobStatus.FAILED))
    assert (listed.job_id, listed.error_code) == (made.job_id, ErrorCode.INVALID_DATA)
    detail = await service.queue.job(made.job_id)
    assert detail.traceback == FAILURE.traceback
    assert detail.as_json()["dead_letters"][0]["reason"] == (  # type: ignore[index]
        "permanent failure (INVALID_DATA): not retried"
    )
    [letter] = await service.queue.dead_letters()
    assert letter.job_id == made.job_id
    [error] = await service.queue.errors()
    assert (error.fingerprint, error.occurrences, error.files) == (outcome.fingerprint, 1, 1)
    shown = await service.queue.error(outcome.fingerprint)
    assert shown.trace == 'File "sales.py", in parse\nfloat(value)'
    [where] = await service.queue.error_files(outcome.fingerprint)
    assert where.input_path == "/d/a.csv"
    assert (await service.stats()).jobs == {"FAILED": 1}

    await service.queue.replay(made.job_id)
    assert await service.queue.dead_letters() == []
    assert (await service.stats()).jobs_summary() == "1 pending"


async def test_unknown_jobs_and_fingerprints_are_clear_errors(service: CoreService) -> None:
    with pytest.raises(JobNotFoundError, match="`casparian jobs` lists the jobs"):
        await service.queue.job("f" * 32)
    with pytest.raises(ErrorNotFoundError, match="`casparian errors list` lists them"):
        await service.queue.error_files("0123456789abcdef")


async def test_the_sweeps_publish_what_they_moved(service: CoreService) -> None:
    received: list[Event] = []
    service.subscribe(received.append, JobChanged)
    [made] = await service.queue.enqueue([JobRequest("sales", "1.0.0", "/d/a.csv")])
    await service.queue.claim("w")
    received.clear()

    # The service's clock is fixed: no heartbeat since the claim is older than -1 s.
    moved = await service.queue.requeue_stale(timedelta(seconds=-1))

    assert moved == {made.job_id: JobStatus.QUEUED}
    assert received == [JobChanged(made.job_id, JobStatus.QUEUED)]
    assert await service.queue.reset_orphans() == {}


async def test_a_transient_failure_waits_the_configured_backoff(settings: Settings) -> None:
    custom = settings.model_copy(update={"retry_backoff_secs": (0.25, 2.0, 30.0)})
    transient = JobFailure(ErrorCode.CRASHED, "the guest died", transient=True)
    clock = Clock()
    async with CoreService(custom, clock=clock) as service:
        [made] = await service.queue.enqueue([JobRequest("sales", "1.0.0", "/d/a.csv")])
        for wait in (0.25, 2.0, 30.0):
            claimed = await service.queue.claim("w")
            assert claimed is not None and claimed.job_id == made.job_id
            outcome = await service.queue.fail(made.job_id, "w", transient)
            assert outcome is not None and outcome.status == JobStatus.QUEUED
            clock.advance(wait - 0.001)
            assert await service.queue.claim("w") is None  # not yet due
            clock.advance(0.001)
        claimed = await service.queue.claim("w")
        assert claimed is not None and claimed.attempt == 4
