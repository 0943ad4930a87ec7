"""Helpers for bridge tests: parser files written on the fly, fast-failing guest settings."""

from __future__ import annotations

import os
import signal
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pyarrow as pa
import pytest

from casparian_core.bridge import protocol
from casparian_core.bridge.host import GuestProcess, JobOutcome
from casparian_core.config import Settings, load_settings

WriteParser = Callable[[str], Path]


@pytest.fixture
def write_parser(tmp_path: Path) -> WriteParser:
    """Write a parser file from source text; returns its path."""
    counter = iter(range(1_000))

    def write(source: str) -> Path:
        path = tmp_path / f"parser_{next(counter)}.py"
        path.write_text(textwrap.dedent(source))
        return path

    return write


@pytest.fixture
def fast_settings(settings: Settings) -> Settings:
    """Short heartbeats and timeouts so hang detection takes about a second."""
    return settings.model_copy(update={"guest_heartbeat_secs": 0.2, "guest_timeout_secs": 1.5})


@pytest.fixture
def guest(fast_settings: Settings) -> Iterator[GuestProcess]:
    """A guest of this test's own, for tests that crash or kill it."""
    with GuestProcess(fast_settings) as process:
        yield process


@pytest.fixture(scope="module")
def warm_guest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GuestProcess]:
    """One guest shared by a module's well-behaved jobs (and proof that a guest stays warm)."""
    home = tmp_path_factory.mktemp("home")
    with GuestProcess(load_settings(env={}, home=home)) as process:
        yield process


class Collected:
    """What a job delivered: tables per output, and log lines."""

    def __init__(self) -> None:
        self.tables: dict[str, list[pa.Table]] = {}
        self.logs: list[tuple[str | None, int, str]] = []  # job id, level, text

    def on_data(self, output: str, table: pa.Table) -> None:
        self.tables.setdefault(output, []).append(table)

    def on_log(self, job_id: str | None, level: int, text: str) -> None:
        self.logs.append((job_id, level, text))

    def rows(self, output: str) -> list[dict[str, object]]:
        return [row for table in self.tables.get(output, []) for row in table.to_pylist()]


def run(
    process: GuestProcess,
    parser: Path,
    input_path: Path | str = "/dev/null",
    *,
    class_name: str | None = None,
    collected: Collected | None = None,
) -> tuple[JobOutcome, Collected]:
    collected = collected or Collected()
    job = protocol.Job("job-1", str(parser), str(input_path), "out", class_name)
    return process.run_job(job, collected.on_data), collected


GONE_WITHIN_SECS = 60.0  # a guard against a hung test, not a speed claim
POLL_SECS = 0.05


def wait_for(path: Path) -> None:
    """Wait until a process we signal through the file `path` has written it."""
    deadline = time.monotonic() + GONE_WITHIN_SECS
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(POLL_SECS)


def wait_gone(pid: int) -> None:
    """Wait until `pid` has ended: reaped when it was reparented to us (pytest may be a
    subreaper after other tests), or gone, or a zombie of someone else."""
    deadline = time.monotonic() + GONE_WITHIN_SECS
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
        except ChildProcessError:
            try:
                if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                    return
            except psutil.NoSuchProcess:
                return
        time.sleep(POLL_SECS)
    os.kill(pid, signal.SIGKILL)
    pytest.fail(f"the process {pid} was still running {GONE_WITHIN_SECS:g} s later")
