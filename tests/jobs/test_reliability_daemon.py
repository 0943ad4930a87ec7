"""The daemon under faults (issue 16's reliability list), with real processes and no mocks: a
daemon killed with SIGKILL in the middle of a batch, a worker that stops heartbeating, a parser
that fails until its circuit breaker trips, a disk that fills up.

Already covered elsewhere, not repeated here: a guest killed mid-job is retried
(tests/cli/test_process.py), a transient failure twice then success on attempt 3 after its
backoffs (tests/jobs/test_pool.py), 4 worker processes never claiming a job twice over 4,000
(tests/jobs/test_concurrent_claims.py).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import duckdb
import psutil
import pyarrow.parquet as pq
import pytest

from casparian_core.db.connection import connect
from casparian_core.errors import ErrorCode
from casparian_core.jobs.model import JobRequest
from casparian_core.jobs.status import JobStatus
from casparian_core.service import CoreService
from tests.cli.support import casparian
from tests.jobs.daemon_support import (
    DEADLINE_SECS,
    job_counts,
    logged_guests,
    running_daemon,
    source_of,
    status_json,
    wait_until,
    write_unique,
)
from tests.jobs.pool_support import Home, prepare, wheels_env
from tests.output_parts import part_rows
from tests.registry.test_envs import Fixture, locked

__all__ = ["locked", "wheels_env"]  # fixtures, used by name


def output_texts(sink: str, home: Home) -> Counter[str]:
    if sink == "parquet":
        return Counter(pq.read_table(home.settings.output_dir / "rows").column("text").to_pylist())
    with duckdb.connect(str(home.settings.home / "out.duckdb"), read_only=True) as conn:
        return Counter(text for (text,) in conn.execute("SELECT text FROM rows").fetchall())


def sink_args(sink: str, home: Home) -> tuple[str, ...]:
    if sink == "parquet":
        return ()
    return ("--sink", f"duckdb:///{home.settings.home / 'out.duckdb'}")


@pytest.mark.parametrize("sink", ["parquet", "duckdb"])
async def test_a_daemon_killed_mid_batch_then_started_again_outputs_every_file_exactly_once(
    locked: Fixture, wheels_env: dict[str, str], sink: str
) -> None:
    files = {f"f{n:02}.csv": (5 + n, "id,value") for n in range(24)}
    files |= {"hang1.csv": (6, "HANG"), "hang2.csv": (8, "HANG")}
    home, lines = await source_of(locked, files)
    root = home.settings.home
    args = ("--workers", "2", *sink_args(sink, home))

    with running_daemon(root, wheels_env, *args) as first:
        # A worker stuck in a hanging parse: the batch is mid-way, the hanging job held.
        wait_until("a worker hangs", lambda: bool(logged_guests(home, "hanging in")), first)
        at_kill = job_counts(root)
        first.send_signal(signal.SIGKILL)
        first.wait(DEADLINE_SECS)
    for name in ("hang1.csv", "hang2.csv"):
        (home.data / name).with_suffix(".csv.release").touch()  # run again, they finish
    with running_daemon(root, wheels_env, *args) as second:
        wait_until("every job is done", lambda: job_counts(root)["COMPLETED"] == 26, second)
        second.send_signal(signal.SIGTERM)
        _, err = second.communicate(timeout=DEADLINE_SECS)

    assert at_kill["RUNNING"] >= 1 and at_kill["COMPLETED"] < 26
    assert second.returncode == 0, err
    assert "jobs of a process that ended were put back in the queue" in err
    assert output_texts(sink, home) == Counter(lines)  # none missing, none twice
    assert job_counts(root) == Counter({"COMPLETED": 26})
    assert not any(
        alive(pid) for pid in logged_guests(home, "hanging in")
    )  # died with the first daemon


def alive(pid: int) -> bool:
    """Running, not a zombie (the test process may be a subreaper: orphans come to it)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


CLAIMER = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from casparian_core.db.connection import connect
from casparian_core.jobs import queue

conn = connect(Path(sys.argv[1]), migrating=False)
job = queue.claim(conn, queue.worker_id(), datetime.now(UTC))
print(job.job_id, flush=True)
sys.stdin.read()  # alive, holding the job, never heartbeating: a hung worker
"""


@pytest.fixture
def hung_worker(tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        process.kill()
        process.communicate()


async def test_a_job_whose_worker_stopped_heartbeating_is_requeued_and_done(
    locked: Fixture, wheels_env: dict[str, str], hung_worker: list[subprocess.Popen[str]]
) -> None:
    home, _ = await source_of(locked, {"a.csv": (9, "id,value")})
    root = home.settings.home
    async with CoreService(home.settings) as service:
        [parser] = await service.registry.parsers()
        [made] = await service.queue.enqueue(
            [JobRequest(parser.name, parser.version, str(home.data / "a.csv"))]
        )
    claimer = subprocess.Popen(
        [sys.executable, "-c", CLAIMER, str(home.settings.database_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    hung_worker.append(claimer)
    assert claimer.stdout is not None and claimer.stdout.readline().strip() == made.job_id
    short = {"CASPARIAN_HEARTBEAT_SECS": "0.2", "CASPARIAN_STALE_TIMEOUT_SECS": "1"}

    with running_daemon(root, {**wheels_env, **short}) as daemon:
        wait_until("the job is done", lambda: job_counts(root)["COMPLETED"] == 1, daemon)
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=DEADLINE_SECS)

    assert claimer.poll() is None  # its process lives: only the missing heartbeat told
    assert "1 running jobs sent no heartbeat for 1 s: put back in the queue" in err
    async with CoreService(home.settings) as service:
        job = (await service.queue.job(made.job_id)).job
    assert (job.attempts, job.rows_out) == (2, 9)
    assert job.claimed_by is not None and not job.claimed_by.startswith(f"{claimer.pid}-")


async def test_five_failures_pause_the_parser_nothing_more_runs_and_resume_continues(
    locked: Fixture, wheels_env: dict[str, str]
) -> None:
    home, _ = await source_of(locked, {f"bad{n}.csv": (3, "BROKEN") for n in range(8)})
    root = home.settings.home

    with running_daemon(root, wheels_env, "--workers", "1") as daemon:
        # The 5th failure pauses the parser; the job sent ahead to its guest still runs.
        wait_until(
            "the parser is paused, nothing running",
            lambda: status_json(root).get("jobs_done") == 6 and job_counts(root)["RUNNING"] == 0,
            daemon,
        )
        paused = job_counts(root)
        queued = [p for p in home.data.glob("bad*.csv") if _job_status(root, p) == "QUEUED"]
        for path in queued:
            write_unique(home.data, path.name, 4)  # mended while the parser is paused
        resumed = casparian("parser", "resume", "rows", home=root)
        wait_until("the rest is done", lambda: job_counts(root)["COMPLETED"] == 2, daemon)
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=DEADLINE_SECS)

    assert paused == Counter({"FAILED": 6, "QUEUED": 2})
    assert len(queued) == 2
    assert "[CIRCUIT_BREAKER] Parser 'rows' paused after 5 consecutive failures" in err
    assert resumed.returncode == 0, resumed.stderr
    assert daemon.returncode == 0, err
    # The broken files that failed for good were not queued again by the plans that followed.
    assert job_counts(root) == Counter({"FAILED": 6, "COMPLETED": 2})
    log = (home.settings.logs_dir / "daemon.log").read_text()
    assert "[CIRCUIT_BREAKER] Parser 'rows' paused after 5 consecutive failures" in log


def _job_status(root: Path, path: Path) -> str:
    with closing(connect(root / "casparian_flow.sqlite3", migrating=False)) as conn:
        row = conn.execute(
            "SELECT status FROM cf_processing_queue WHERE input_path = ?", (str(path),)
        ).fetchone()
    return str(row[0])


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 600 KB filesystem of its own (tmpfs), unmounted after the test."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem to fill needs root")
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


async def test_a_full_disk_fails_jobs_clearly_writes_nothing_half_and_the_daemon_lives(
    locked: Fixture, wheels_env: dict[str, str], small_disk: Path
) -> None:
    shop = locked.project.folder.parent / "shop"
    shop.mkdir(parents=True)
    rows = 4000
    for n in range(8):  # ~200 KB of incompressible text each: the disk holds two or three
        lines = ["id,value", *(f"f{n}-{os.urandom(20).hex()}" for _ in range(rows - 1))]
        (shop / f"f{n}.csv").write_text("\n".join(lines) + "\n")
    home = await prepare(locked, {})
    root = home.settings.home
    out = small_disk / "out"

    with running_daemon(root, wheels_env, "--workers", "1", "--sink", f"parquet://{out}") as daemon:
        wait_until(
            "every job ended",
            lambda: job_counts(root)["COMPLETED"] + job_counts(root)["FAILED"] == 8,
            daemon,
        )
        alive_after = status_json(root)
        counts = job_counts(root)
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=DEADLINE_SECS)

    assert alive_after["running"] is True and alive_after["jobs_done"] == 8
    assert counts["FAILED"] >= 1 and counts["COMPLETED"] >= 1, counts
    assert daemon.returncode == 0, err
    async with CoreService(home.settings) as service:
        failed = [job for job in await service.queue.jobs() if job.status == JobStatus.FAILED]
    assert {job.error_code for job in failed} == {ErrorCode.SINK_ERROR}
    assert all("the disk is full" in (job.error_message or "") for job in failed)
    # Only whole parts are there: one per completed job, each with all its rows, no litter.
    names = sorted(path.name for path in (out / "rows").iterdir())
    assert all(re.fullmatch(r"(part|bundle)-[0-9a-f]+\.parquet", name) for name in names), names
    parts = part_rows(out / "rows")
    assert len(parts) == counts["COMPLETED"]
    assert set(parts.values()) == {rows}
    on_disk = sum(pq.read_metadata(out / "rows" / name).num_rows for name in names)
    assert on_disk == rows * len(parts)
