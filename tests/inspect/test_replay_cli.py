"""`casparian quarantine replay|list|show` end to end, as a user runs them: real processes, a
real registered parser in its managed venv, the real queue and guests; the confirmation asked
on the terminal's stdin; a replay killed with SIGKILL mid-run loses nothing and the next one
finishes it."""

from __future__ import annotations

import getpass
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from casparian_core.service import CoreService
from tests.cli.test_process import DEADLINE_SECS, wait_for_hanging_guest
from tests.inspect.replay_support import FIXED, HANGING, Home, prepare, register
from tests.jobs.pool_support import wheels_env
from tests.registry.test_envs import Fixture, locked

__all__ = ["locked", "wheels_env"]  # fixtures, used by name

EXPECTED_IDS = Counter({(1, 10): 1, (2, 0): 1, (4, 40): 1, (1, 5): 1, (2, 6): 1, (1, 0): 1})


def casparian(
    home: Home, env: dict[str, str], *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "casparian_cli", *args],
        env={**os.environ, "CASPARIAN_HOME": str(home.settings.home), **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=DEADLINE_SECS * 2,
    )


def processed(home: Home, env: dict[str, str]) -> None:
    done = casparian(home, env, "process", "--offline", "--json")
    assert done.returncode == 0, done.stderr


def valid_rows(home: Home) -> Counter[tuple[int, int]]:
    table = pq.read_table(home.settings.output_dir / "prices", columns=["id", "amount"])
    ids, amounts = table.column("id").to_pylist(), table.column("amount").to_pylist()
    return Counter(zip(ids, amounts, strict=True))


def open_entries(home: Home, env: dict[str, str]) -> list[dict[str, object]]:
    listed = casparian(home, env, "quarantine", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    entries: list[dict[str, object]] = json.loads(listed.stdout)["entries"]
    return entries


async def test_replay_asks_then_resolves_and_list_and_show_tell_who_when_which_version(
    locked: Fixture, wheels_env: dict[str, str]
) -> None:
    home = await prepare(locked)
    processed(home, wheels_env)
    await register(home, FIXED)

    declined = casparian(home, wheels_env, "quarantine", "replay", "--offline", stdin="n\n")
    untouched = open_entries(home, wheels_env)
    accepted = casparian(home, wheels_env, "quarantine", "replay", "--offline", stdin="y\n")
    resolved = casparian(home, wheels_env, "quarantine", "list", "--resolved", "--json")
    every = casparian(home, wheels_env, "quarantine", "list", "--all")
    entries = json.loads(resolved.stdout)["entries"]
    shown = casparian(home, wheels_env, "quarantine", "show", entries[0]["id"])

    assert declined.returncode == 1, declined.stderr
    assert "prices@2.0.0" in declined.stdout and "2 files" in declined.stdout
    assert "Replay? [y/N]" in declined.stdout and "Nothing replayed." in declined.stdout
    assert len(untouched) == 3
    assert accepted.returncode == 0, accepted.stderr
    assert "2 rows resolved, 1 still quarantined" in accepted.stdout
    assert valid_rows(home) == EXPECTED_IDS
    assert resolved.returncode == 0, resolved.stderr
    assert len(entries) == 2
    for entry in entries:
        assert entry["resolved_by"] == getpass.getuser()
        assert entry["resolved_version"] == "prices@2.0.0"
        assert entry["resolved_at"] and entry["resolved_job_id"]
    assert every.returncode == 0, every.stderr
    lines = every.stdout.splitlines()
    assert sum("[resolved " in line for line in lines) == 2
    assert "(3 rows of 3)" in lines[-1]
    assert shown.returncode == 0, shown.stderr
    assert f"resolved {entries[0]['resolved_at']} by {getpass.getuser()}" in shown.stdout
    assert "prices@2.0.0" in shown.stdout


async def test_replay_json_with_yes_and_nothing_left_to_do(
    locked: Fixture, wheels_env: dict[str, str]
) -> None:
    home = await prepare(locked)
    processed(home, wheels_env)
    await register(home, FIXED)

    first = casparian(home, wheels_env, "quarantine", "replay", "--yes", "--offline", "--json")
    second = casparian(home, wheels_env, "quarantine", "replay", "--yes", "--offline", "--json")

    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["plan"]["entries"] == 3
    assert [p["version"] for p in report["plan"]["parsers"]] == ["2.0.0"]
    outcome = report["outcome"]
    assert (outcome["resolved"], outcome["still_quarantined"], outcome["failed"]) == (2, 1, [])
    assert len(outcome["jobs"]) == 2
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert again["plan"]["empty"] and again["outcome"] is None
    assert valid_rows(home) == EXPECTED_IDS


async def test_a_replay_killed_mid_run_loses_nothing_and_the_next_one_finishes(
    locked: Fixture, wheels_env: dict[str, str]
) -> None:
    home = await prepare(locked)
    processed(home, wheels_env)
    before = valid_rows(home)
    await register(home, HANGING)
    command = [sys.executable, "-m", "casparian_cli", "quarantine", "replay"]
    running = subprocess.Popen(
        [*command, "--yes", "--offline", "--workers", "1"],
        env={**os.environ, "CASPARIAN_HOME": str(home.settings.home), **wheels_env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_hanging_guest(home.settings.logs_dir)
    os.kill(running.pid, signal.SIGKILL)
    running.wait(timeout=DEADLINE_SECS)

    after_kill = (valid_rows(home), len(open_entries(home, wheels_env)))
    async with CoreService(home.settings) as service:
        pending = await service.db.read(
            lambda conn: conn.execute(
                "SELECT count(*) FROM cf_quarantine_resolutions WHERE resolved_at IS NULL"
            ).fetchone()
        )
    for name in ("a.csv", "c.csv"):
        (home.data / f"{name}.release").touch()
    finished = casparian(home, wheels_env, "quarantine", "replay", "--yes", "--offline", "--json")

    assert after_kill == (before, 3)  # the killed replay committed nothing
    assert pending == (3,)  # its snapshot, kept for the next replay
    assert finished.returncode == 0, finished.stderr
    outcome = json.loads(finished.stdout)["outcome"]
    assert (outcome["resolved"], outcome["still_quarantined"]) == (2, 1)
    assert valid_rows(home) == EXPECTED_IDS
    entries = open_entries(home, wheels_env)
    assert [(Path(str(e["source_file"])).name, e["row_number"]) for e in entries] == [("a.csv", 2)]


async def test_ctrl_c_twice_mid_replay_puts_the_jobs_back_and_changes_nothing(
    locked: Fixture, wheels_env: dict[str, str]
) -> None:
    home = await prepare(locked)
    processed(home, wheels_env)
    before = valid_rows(home)
    await register(home, HANGING)
    command = [sys.executable, "-m", "casparian_cli", "quarantine", "replay"]
    running = subprocess.Popen(
        [*command, "--yes", "--offline", "--workers", "1", "--json"],
        env={**os.environ, "CASPARIAN_HOME": str(home.settings.home), **wheels_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_hanging_guest(home.settings.logs_dir)
    running.send_signal(signal.SIGINT)
    assert running.stderr is not None  # the plan, then the first Ctrl+C's answer
    for line in running.stderr:
        if line.startswith("casparian: stopping: running replay"):
            break
    else:
        pytest.fail("the first Ctrl+C was not answered")
    running.send_signal(signal.SIGINT)  # the second stops the hanging job itself
    out, err = running.communicate(timeout=DEADLINE_SECS)

    assert running.returncode == 130, err
    outcome = json.loads(out)["outcome"]
    assert outcome["interrupted"] and outcome["resolved"] == 0 and outcome["failed"] == []
    assert valid_rows(home) == before
    assert len(open_entries(home, wheels_env)) == 3
    for name in ("a.csv", "c.csv"):
        (home.data / f"{name}.release").touch()
    finished = casparian(home, wheels_env, "quarantine", "replay", "--yes", "--offline", "--json")
    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout)["outcome"]["resolved"] == 2
    assert valid_rows(home) == EXPECTED_IDS


async def test_an_unknown_job_or_parser_exits_with_a_clear_error(
    locked: Fixture, wheels_env: dict[str, str]
) -> None:
    home = await prepare(locked)

    job = casparian(home, wheels_env, "quarantine", "replay", "--job", "f" * 32, "--yes")
    parser = casparian(home, wheels_env, "quarantine", "replay", "--parser", "nosuch", "--yes")

    assert job.returncode not in (0, 1) and "casparian jobs" in job.stderr
    assert parser.returncode not in (0, 1) and "nosuch" in parser.stderr
    assert "Traceback" not in job.stderr + parser.stderr
