"""A later `process` run settles the quarantine entries an earlier version left (issue 17 §3,
"resolutions settle by any later run"): the rows the new version now passes are resolved in the
audit trail by that run's job and version (who: the OS user), the rows still bad stay open as
the new job's entries, and a run that fails settles nothing and leaves nothing pending. In the
home's Parquet folder and in a SQLite sink; and by the daemon (`casparian start`)."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest

from casparian_core.api import QuarantineState
from casparian_core.jobs.plan import ProcessRequest
from casparian_core.jobs.status import JobStatus
from casparian_core.service import CoreService
from tests.cli.support import casparian
from tests.conftest import fixed_clock
from tests.inspect.replay_support import FIXED, RAISING, Home, prepare, register
from tests.jobs.daemon_support import DEADLINE_SECS, job_counts, running_daemon, wait_until
from tests.jobs.pool_support import wheels_env
from tests.registry.test_envs import Fixture, locked

__all__ = ["locked", "wheels_env"]  # fixtures, used by name


def sink_for(home: Home, kind: str) -> str | None:
    return None if kind == "parquet" else f"sqlite:///{home.settings.home / 'warehouse.db'}"


async def process(home: Home, sink: str | None) -> dict[str, JobStatus]:
    async with CoreService(home.settings, clock=fixed_clock) as service:
        processing = service.processing(ProcessRequest(workers=1, offline=True, sink_uri=sink))
        await processing.prepare()
        summary = await processing.run()
    return {job_id: report.status for job_id, report in summary.reports.items()}


async def pending_rows(service: CoreService) -> int:
    (count,) = await service.db.read(
        lambda conn: conn.execute(
            "SELECT count(*) FROM cf_quarantine_resolutions WHERE resolved_at IS NULL"
        ).fetchone()
    )
    return int(count)


@pytest.mark.parametrize("kind", ["parquet", "sqlite"])
async def test_a_later_process_run_resolves_what_its_version_now_passes(
    locked: Fixture, kind: str
) -> None:
    home = await prepare(locked)
    sink = sink_for(home, kind)
    await process(home, sink)
    await register(home, FIXED)

    async with CoreService(home.settings) as service:
        before = {e.id: e for e in (await service.inspect.quarantine()).entries}
    jobs = await process(home, sink)
    async with CoreService(home.settings) as service:
        still = (await service.inspect.quarantine()).entries
        resolved = await service.inspect.quarantine(state=QuarantineState.RESOLVED)
        pending = await pending_rows(service)
        replay = await service.replay.plan()

    assert len(before) == 3 and len(jobs) == 3
    assert [(Path(e.source_file or "").name, e.row_number, e.parser) for e in still] == [
        ("a.csv", 2, "prices@2.0.0")  # "bad": open, as the new job's entry
    ]
    assert resolved.total == 2 and pending == 0
    for entry in resolved.entries:
        assert entry.id in before and entry.parser == "prices@1.0.0"  # as it was while open
        assert entry.resolved_version == "prices@2.0.0"
        assert entry.resolved_job_id in jobs and entry.resolved_by == getpass.getuser()
    assert sorted((Path(e.source_file or "").name, e.row_number) for e in resolved.entries) == [
        ("a.csv", 1),
        ("c.csv", 0),
    ]
    assert replay.empty  # nothing left for a replay: settled by the run


async def test_a_later_run_that_fails_settles_nothing_and_leaves_nothing_pending(
    locked: Fixture,
) -> None:
    home = await prepare(locked)
    await process(home, None)
    await register(home, RAISING)

    async with CoreService(home.settings) as service:
        before = sorted(e.id for e in (await service.inspect.quarantine()).entries)
    jobs = await process(home, None)
    async with CoreService(home.settings) as service:
        after = sorted(e.id for e in (await service.inspect.quarantine()).entries)
        resolved = await service.inspect.quarantine(state=QuarantineState.RESOLVED)
        pending = await pending_rows(service)

    assert set(jobs.values()) <= {JobStatus.FAILED, JobStatus.DEAD_LETTER}
    assert after == before and resolved.total == 0 and pending == 0


def resolved_count(home: Home) -> int:
    from contextlib import closing

    from casparian_core.db.connection import connect

    with closing(connect(home.settings.database_path, migrating=False)) as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM cf_quarantine_resolutions WHERE resolved_at IS NOT NULL"
        ).fetchone()
        return int(count)


async def test_the_daemon_settles_what_its_jobs_now_pass(
    locked: Fixture, wheels_env: dict[str, str]
) -> None:
    home = await prepare(locked)
    await process(home, None)
    await register(home, FIXED)
    root = home.settings.home

    with running_daemon(root, wheels_env) as daemon:  # plans the 3 files for 2.0.0 at once
        wait_until("its jobs ran", lambda: sum(job_counts(root).values()) == 6, daemon)
        wait_until("its entries settled", lambda: resolved_count(home) == 2, daemon)
        stopped = casparian("stop", home=root, timeout=DEADLINE_SECS)
        daemon.communicate(timeout=DEADLINE_SECS)

    assert stopped.returncode == 0, stopped.stderr
    async with CoreService(home.settings) as service:
        resolved = await service.inspect.quarantine(state=QuarantineState.RESOLVED)
        still = (await service.inspect.quarantine()).entries
    assert {e.resolved_version for e in resolved.entries} == {"prices@2.0.0"}
    assert [(Path(e.source_file or "").name, e.parser) for e in still] == [
        ("a.csv", "prices@2.0.0")
    ]
