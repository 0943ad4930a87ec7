"""`casparian process` end to end: a real registered parser (a project locked by uv, its venv
built offline), a scanned and tagged source, real guests, real Parquet, the real queue."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from casparian_core.engine.inputs import part_key
from casparian_core.jobs.status import JobStatus
from casparian_core.service import CoreService
from tests.jobs.pool_support import prepare, wheels_env
from tests.output_parts import part_rows
from tests.registry.test_envs import Fixture, locked

__all__ = ["locked", "wheels_env"]  # fixtures, used by name

DEADLINE_SECS = 120  # an upper bound for a loaded machine, not a timing check


def process(home: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "casparian_cli", "process", "--offline", "--json", *args],
        env={**os.environ, "CASPARIAN_HOME": str(home), **env},
        capture_output=True,
        text=True,
        timeout=DEADLINE_SECS * 2,
    )


def process_in_background(home: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """`process --offline --json` started, not waited for."""
    return subprocess.Popen(
        [sys.executable, "-m", "casparian_cli", "process", "--offline", "--json"],
        env={**os.environ, "CASPARIAN_HOME": str(home), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_process_runs_every_tagged_file_once(
    locked: Fixture, wheels_env: dict[str, str]
) -> None:
    files = {"a.csv": (50, "id,value"), "b.csv": (20, "id,value"), "sub/a.csv": (7, "id,value")}
    home = await prepare(locked, files)

    first = process(home.settings.home, wheels_env, "--workers", "2")
    again = process(home.settings.home, wheels_env)

    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["counts"] == {"COMPLETED": 3}
    assert summary["rows"] == 77
    assert summary["failed"] == []
    table = pq.read_table(home.settings.output_dir / "rows")
    assert table.num_rows == 77
    parts = part_rows(home.settings.output_dir / "rows")
    assert parts == {part_key(f"shop/{name}"): rows for name, (rows, _) in files.items()}
    async with CoreService(home.settings) as service:
        jobs = await service.queue.jobs()
        counts = await service.queue.counts()
    assert set(table.column("_cf_job_id").to_pylist()) == {job.job_id for job in jobs}
    assert {job.status for job in jobs} == {JobStatus.COMPLETED}
    assert sorted(job.rows_out or 0 for job in jobs) == [7, 20, 50]
    assert counts[JobStatus.COMPLETED] == 3
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["planned"] == 0
    assert json.loads(again.stdout)["already_done"] == 3


async def test_a_permanent_failure_is_dead_lettered_at_once(
    locked: Fixture, wheels_env: dict[str, str]
) -> None:
    home = await prepare(locked, {"good.csv": (5, "id,value"), "bad.csv": (5, "BROKEN")})

    result = process(home.settings.home, wheels_env, "--workers", "1")

    assert result.returncode == 1, result.stderr
    summary = json.loads(result.stdout)
    assert summary["counts"] == {"COMPLETED": 1, "FAILED": 1}
    [failed] = summary["failed"]
    assert failed["input"].endswith("bad.csv")
    assert failed["attempts"] == 1
    assert failed["error_code"] == "INVALID_DATA"
    assert "broken for good" in failed["message"]
    assert summary["dead_letters"] == [failed["job_id"]]
    async with CoreService(home.settings) as service:
        [letter] = await service.queue.dead_letters()
    assert (letter.job_id, letter.retry_count) == (failed["job_id"], 0)
    assert letter.reason.startswith("permanent failure (INVALID_DATA)")


async def test_a_guest_killed_mid_job_is_retried_and_succeeds(
    locked: Fixture, wheels_env: dict[str, str]
) -> None:
    home = await prepare(locked, {"slow.csv": (9, "HANG")})
    running = process_in_background(home.settings.home, wheels_env)
    pid = wait_for_hanging_guest(home.settings.logs_dir)
    (home.data / "slow.csv.release").touch()  # the retry, in a new guest, does not hang
    os.kill(pid, signal.SIGKILL)
    out, err = running.communicate(timeout=DEADLINE_SECS)

    assert running.returncode == 0, err
    summary = json.loads(out)
    assert summary["counts"] == {"COMPLETED": 1}
    assert summary["rows"] == 9
    async with CoreService(home.settings) as service:
        [job] = await service.queue.jobs()
    assert (job.status, job.attempts) == (JobStatus.COMPLETED, 2)


def wait_for_hanging_guest(logs_dir: Path) -> int:
    deadline = time.monotonic() + DEADLINE_SECS
    while time.monotonic() < deadline:
        for log in logs_dir.glob("*/*.log"):
            found = re.search(r"hanging in guest (\d+)", log.read_text())
            if found:
                return int(found.group(1))
        time.sleep(0.05)  # polling the file the guest writes, bounded by the deadline
    pytest.fail("the guest never logged that it hangs")


async def test_a_paused_parser_is_no_longer_claimed_and_the_summary_says_so(
    locked: Fixture, wheels_env: dict[str, str]
) -> None:
    home = await prepare(locked, {f"bad{n}.csv": (3, "BROKEN") for n in range(8)})

    result = process(home.settings.home, wheels_env, "--workers", "1")

    assert result.returncode == 1, result.stderr
    summary = json.loads(result.stdout)
    assert summary["paused_parsers"] == ["rows"]
    # The 5th failure pauses the parser; the job sent ahead to the guest meanwhile still runs.
    assert summary["counts"] == {"FAILED": 6}
    async with CoreService(home.settings) as service:
        counts = await service.queue.counts()
    assert (counts[JobStatus.FAILED], counts[JobStatus.QUEUED]) == (6, 2)


async def test_ctrl_c_twice_puts_the_running_job_back_and_commits_nothing(
    locked: Fixture, wheels_env: dict[str, str]
) -> None:
    home = await prepare(locked, {"slow.csv": (9, "HANG")})
    running = process_in_background(home.settings.home, wheels_env)
    wait_for_hanging_guest(home.settings.logs_dir)
    running.send_signal(signal.SIGINT)
    assert running.stderr is not None
    assert "casparian: stopping: running jobs finish" in running.stderr.readline()
    running.send_signal(signal.SIGINT)
    out, err = running.communicate(timeout=DEADLINE_SECS)

    assert running.returncode == 130, err
    assert json.loads(out)["interrupted"] is True
    async with CoreService(home.settings) as service:
        [job] = await service.queue.jobs()
    assert job.status == JobStatus.QUEUED
    assert not (home.settings.output_dir / "rows").exists()
