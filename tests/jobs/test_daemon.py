"""`casparian start`, `stop` and `status` end to end: a real registered parser (its venv built
offline), a scanned, watched source, a real daemon process, real guests, real Parquet."""

from __future__ import annotations

import re
import signal
import stat
from pathlib import Path

import pyarrow.parquet as pq

from casparian_core.jobs.daemon_lock import LOCK_NAME
from casparian_core.jobs.model import JobRecord
from casparian_core.processes import process_exists
from casparian_core.service import CoreService
from tests.cli.support import casparian, make_home, one_sentence
from tests.jobs.daemon_support import (
    DEADLINE_SECS,
    daemon_running,
    job_counts,
    logged_guests,
    running_daemon,
    start_daemon,
    status_json,
    wait_until,
)
from tests.jobs.pool_support import TOPIC, Home, prepare, wheels_env, write_rows
from tests.registry.test_envs import Fixture, locked

__all__ = ["locked", "wheels_env"]  # fixtures, used by name


async def watched(home: Home) -> None:
    """New .csv files in the source get the parser's topic, and the source is watched."""
    async with CoreService(home.settings) as service:
        await service.scout.add_rule("*.csv", TOPIC, source="shop")
        await service.scout.set_watch("shop", True)


async def test_the_daemon_processes_the_backlog_then_new_files_and_stops_cleanly(
    locked: Fixture, wheels_env: dict[str, str]
) -> None:
    home = await prepare(locked, {"a.csv": (5, "id,value"), "b.csv": (7, "id,value")})
    await watched(home)
    root = home.settings.home

    with running_daemon(root, wheels_env, "--workers", "2") as daemon:
        wait_until("the backlog is done", lambda: job_counts(root)["COMPLETED"] == 2, daemon)
        write_rows(home.data / "new" / "c.csv", 4)
        wait_until("the new file is done", lambda: job_counts(root)["COMPLETED"] == 3, daemon)
        wait_until("status counts 3 jobs", lambda: status_json(root).get("jobs_done") == 3, daemon)
        state = status_json(root)
        text = casparian("status", home=root)
        stopped = casparian("stop", home=root, timeout=DEADLINE_SECS)
        _, err = daemon.communicate(timeout=DEADLINE_SECS)

    assert (state["running"], state["pid"], state["workers"]) == (True, daemon.pid, 2)
    assert state["jobs_failed"] == 0
    assert f"Daemon   running (pid {daemon.pid}, since " in text.stdout
    assert "2 workers, 3 jobs done, 0 failed)" in text.stdout
    assert stopped.returncode == 0, stopped.stderr
    assert f"Stopping the daemon (pid {daemon.pid})" in stopped.stdout
    assert "The daemon stopped." in stopped.stdout
    assert daemon.returncode == 0, err
    assert "casparian: stopping: running jobs finish" in err
    assert pq.read_table(home.settings.output_dir / "rows").num_rows == 16
    assert status_json(root) == {"running": False}
    assert "Daemon   not running" in casparian("status", home=root).stdout
    # Every guest was reaped; the log says what happened, the batches have ids.
    assert logged_guests(home, "parsed by") and not any(
        process_exists(pid) for pid in logged_guests(home, "parsed by")
    )
    daemon_log = (home.settings.logs_dir / "daemon.log").read_text()
    assert f"daemon {daemon.pid} started on {root}: 2 workers" in daemon_log
    assert len(re.findall(r"batch [0-9a-f]{32}: \d+ jobs queued", daemon_log)) == 2
    assert f"daemon {daemon.pid} stopped: 3 jobs done, 0 failed" in daemon_log
    batches = {job.batch_id for job in await _jobs(home)}
    assert len(batches) == 2 and None not in batches


async def _jobs(home: Home) -> list[JobRecord]:
    async with CoreService(home.settings) as service:
        return await service.queue.jobs()


async def test_a_second_daemon_is_refused_naming_the_first_and_a_dead_ones_lock_is_taken(
    locked: Fixture, wheels_env: dict[str, str]
) -> None:
    home = await prepare(locked, {"a.csv": (3, "id,value")})
    root = home.settings.home

    with running_daemon(root, wheels_env) as first:
        wait_until("the first daemon runs", daemon_running(root, first.pid), first)
        second = casparian("start", "--offline", home=root, env=wheels_env)
        lock_mode = stat.S_IMODE((root / LOCK_NAME).stat().st_mode)
        first.send_signal(signal.SIGKILL)
        first.wait(DEADLINE_SECS)
        with running_daemon(root, wheels_env) as third:
            wait_until("the next daemon runs", daemon_running(root, third.pid), third)
            third.send_signal(signal.SIGTERM)
            _, err = third.communicate(timeout=DEADLINE_SECS)

    one_sentence(second, "A daemon already runs on the home", f"the process {first.pid}")
    assert "casparian stop" in second.stderr
    assert lock_mode == 0o600  # nobody else can take or tamper with it
    assert third.returncode == 0, err


def test_stop_without_a_daemon_says_so(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")

    result = casparian("stop", home=home)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"No daemon runs on the home {home}."
    assert status_json(home) == {"running": False}


def test_a_lock_file_of_another_kind_is_refused(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")
    (home / LOCK_NAME).symlink_to(home / "elsewhere")

    daemon = start_daemon(home, {})
    _, err = daemon.communicate(timeout=DEADLINE_SECS)

    assert daemon.returncode == 2
    assert f"The daemon's lock file {home / LOCK_NAME} cannot be opened" in err
    assert not (home / "elsewhere").exists()


async def test_stop_puts_a_job_that_does_not_finish_back_in_the_queue(
    locked: Fixture, wheels_env: dict[str, str]
) -> None:
    home = await prepare(locked, {"slow.csv": (9, "HANG")})
    root = home.settings.home

    with running_daemon(root, wheels_env) as daemon:
        wait_until("the job hangs", lambda: bool(logged_guests(home, "hanging in")), daemon)
        stopped = casparian("stop", "--wait", "0.5", home=root, timeout=DEADLINE_SECS)
        _, err = daemon.communicate(timeout=DEADLINE_SECS)

    assert stopped.returncode == 0, stopped.stderr
    assert "Still running after 0.5 s: its running jobs go back to the queue" in stopped.stdout
    assert "The daemon stopped; its running jobs are queued again." in stopped.stdout
    assert daemon.returncode == 0, err
    assert "casparian: stopping now: running jobs go back to the queue" in err
    assert job_counts(root) == {"QUEUED": 1}
    assert not (home.settings.output_dir / "rows").exists()  # nothing of it committed
    assert not any(process_exists(pid) for pid in logged_guests(home, "hanging in"))
