"""Running `casparian start` as a user does, and watching what it does through the home: the
queue (read from the control database), `status --json`, and the daemon's log."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from casparian_core.db.connection import connect
from tests.cli.support import casparian
from tests.jobs.pool_support import Home, prepare
from tests.registry.test_envs import Fixture

DEADLINE_SECS = 120  # an upper bound for a loaded machine, not a timing check
POLL_SECS = 0.05


def start_daemon(home: Path, env: Mapping[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "casparian_cli", "start", "--offline", *args],
        env={**os.environ, "CASPARIAN_HOME": str(home), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@contextmanager
def running_daemon(
    home: Path, env: Mapping[str, str], *args: str
) -> Iterator[subprocess.Popen[str]]:
    """A daemon that is killed (with its process group's guests reaped by it) if the test
    leaves it running."""
    daemon = start_daemon(home, env, *args)
    try:
        yield daemon
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGKILL)
        daemon.communicate(timeout=DEADLINE_SECS)


def wait_until(what: str, condition: Callable[[], bool], daemon: subprocess.Popen[str]) -> None:
    """Poll `condition` (the home's files) until it holds; fail if the daemon ended first."""
    deadline = time.monotonic() + DEADLINE_SECS
    while not condition():
        if daemon.poll() is not None:
            _, err = daemon.communicate()
            pytest.fail(f"the daemon ended ({daemon.returncode}) before {what}: {err}")
        if time.monotonic() > deadline:
            daemon.kill()
            _, err = daemon.communicate()
            pytest.fail(f"never happened: {what}; the daemon said: {err}")
        time.sleep(POLL_SECS)


def job_counts(home: Path) -> Counter[str]:
    database = home / "casparian_flow.sqlite3"
    with closing(connect(database, migrating=False)) as conn:
        rows = conn.execute("SELECT status, count(*) FROM cf_processing_queue GROUP BY status")
        return Counter({status: count for status, count in rows})


def status_json(home: Path, env: Mapping[str, str] | None = None) -> dict[str, object]:
    result = casparian("status", "--json", home=home, env=env)
    assert result.returncode == 0, result.stderr
    daemon: dict[str, object] = json.loads(result.stdout)["daemon"]
    return daemon


def daemon_running(home: Path, pid: int) -> Callable[[], bool]:
    """Whether `status` shows the daemon `pid` running, past its start."""

    def running() -> bool:
        state = status_json(home)
        return state.get("pid") == pid and state.get("started_at") != ""

    return running


def write_unique(folder: Path, name: str, rows: int, head: str = "id,value") -> list[str]:
    """A file whose every line (a row of the parser's output) is unique among the test's
    files, except the first; returns its lines."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [head, *(f"{name}-{n}" for n in range(rows - 1))]
    (folder / name).write_text("\n".join(lines) + "\n")
    return lines


async def source_of(locked: Fixture, files: dict[str, tuple[int, str]]) -> tuple[Home, list[str]]:
    """Register the parser and scan a source of `files` (name -> rows, first line)."""
    shop = locked.project.folder.parent / "shop"
    lines = []
    for name, (rows, head) in files.items():
        lines += write_unique(shop, name, rows, head)
    return await prepare(locked, {}), lines


def logged_guests(home: Home, what: str) -> set[int]:
    """The guests whose parse logged `{what} guest {pid}` (the test parser logs "parsed by"
    on every parse, "hanging in" before it hangs)."""
    found: set[int] = set()
    for log in home.settings.logs_dir.glob("*/*.log"):
        found |= {int(pid) for pid in re.findall(rf"{what} guest (\d+)", log.read_text())}
    return found
