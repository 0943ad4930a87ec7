"""Every path that re-runs inputs settles the quarantine entries an earlier version left, with
a record (inspect/settling.py): a daemon killed between queuing its jobs and running them, and
restarted; a run killed between its commit and its settling; a backfill's swap. (`process`:
test_replay_by_runs.py; a replay: test_replay.py; `casparian run`: test_settling_dev_run.py;
bad parts: test_bad_arrow_parts.py.)"""

from __future__ import annotations

import signal
from contextlib import closing
from pathlib import Path

from casparian_core.api import QuarantineState
from casparian_core.db.connection import connect
from casparian_core.jobs.plan import ProcessRequest
from casparian_core.jobs.process import local_pool
from casparian_core.jobs.status import JobStatus
from casparian_core.service import CoreService
from tests.backfill.support import cli_json
from tests.cli.support import casparian
from tests.inspect.replay_support import FIXED, Home, prepare, register
from tests.inspect.test_replay_by_runs import pending_rows, process, resolved_count
from tests.jobs.daemon_support import DEADLINE_SECS, job_counts, running_daemon, wait_until
from tests.jobs.pool_support import wheels_env
from tests.registry.test_envs import Fixture, locked

__all__ = ["locked", "wheels_env"]  # fixtures, used by name


def pause(home: Home, parser: str) -> None:
    """What the circuit breaker leaves: the parser paused, its queued jobs left alone."""
    with closing(connect(home.settings.database_path, migrating=False)) as conn:
        conn.execute(
            "INSERT INTO cf_parser_health (parser_name, consecutive_failures, paused_at)"
            " VALUES (?, 5, '2026-01-01T00:00:00Z') ON CONFLICT (parser_name)"
            " DO UPDATE SET paused_at = excluded.paused_at",
            (parser,),
        )


async def open_and_resolved(home: Home) -> tuple[list[tuple[str, str | None]], set[str | None]]:
    async with CoreService(home.settings) as service:
        still = (await service.inspect.quarantine()).entries
        resolved = await service.inspect.quarantine(state=QuarantineState.RESOLVED)
        assert await pending_rows(service) == 0
    opened = [(Path(e.source_file or "").name, e.parser) for e in still]
    return opened, {e.resolved_version for e in resolved.entries}


async def test_a_daemon_killed_between_queuing_and_running_settles_once_restarted(
    locked: Fixture, wheels_env: dict[str, str]
) -> None:
    home = await prepare(locked)
    await process(home, None)  # 1.0.0: 3 entries open
    await register(home, FIXED)
    pause(home, "prices")  # the daemon queues 2.0.0's jobs and leaves them queued
    root = home.settings.home

    with running_daemon(root, wheels_env) as daemon:
        wait_until("its jobs queued", lambda: job_counts(root)[JobStatus.QUEUED] == 3, daemon)
        daemon.send_signal(signal.SIGKILL)
        daemon.communicate(timeout=DEADLINE_SECS)
    resumed = casparian("parser", "resume", "prices", home=root)
    assert resumed.returncode == 0, resumed.stderr
    with running_daemon(root, wheels_env) as daemon:  # plans nothing new: they are queued
        wait_until("its jobs ran", lambda: job_counts(root)[JobStatus.QUEUED] == 0, daemon)
        wait_until("its entries settled", lambda: resolved_count(home) == 2, daemon)
        stopped = casparian("stop", home=root, timeout=DEADLINE_SECS)
        daemon.communicate(timeout=DEADLINE_SECS)

    assert stopped.returncode == 0, stopped.stderr
    opened, resolved_by = await open_and_resolved(home)
    assert opened == [("a.csv", "prices@2.0.0")]  # "bad": the new job's entry
    assert resolved_by == {"prices@2.0.0"}


async def test_a_backfill_swap_settles_what_its_version_now_passes(locked: Fixture) -> None:
    home = await prepare(locked)
    await process(home, None)
    await register(home, FIXED)

    result = cli_json(home, "prices", "--execute", "--offline")

    assert result["status"] == "DONE", result
    opened, resolved_by = await open_and_resolved(home)
    assert opened == [("a.csv", "prices@2.0.0")]
    assert resolved_by == {"prices@2.0.0"} and resolved_count(home) == 2


async def test_a_run_killed_between_its_commit_and_its_settling_is_settled_by_the_next(
    locked: Fixture,
) -> None:
    home = await prepare(locked)
    await process(home, None)
    await register(home, FIXED)
    async with CoreService(home.settings) as service:  # process, up to its settling
        processing = service.processing(ProcessRequest(workers=1, offline=True))
        await processing.prepare()
        captured = await service.replay.capture_queued(processing.sink_uri)
        request = ProcessRequest(workers=1, offline=True)
        await local_pool(service, request, processing.sink_uri, None).run()
        left = await pending_rows(service)  # killed here: committed, nothing settled

    jobs = await process(home, None)  # nothing new to run; it settles what is pending

    assert len(captured) == 2 and left == 3 and jobs == {}
    opened, resolved_by = await open_and_resolved(home)
    assert opened == [("a.csv", "prices@2.0.0")]
    assert resolved_by == {"prices@2.0.0"} and resolved_count(home) == 2
