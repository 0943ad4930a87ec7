"""Small inputs committed in groups (one fsync pass for many), with real processes: each input
stays all-or-nothing, and a `process` killed mid-group leaves nothing a rerun repeats."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from contextlib import closing
from pathlib import Path

import psutil
import pyarrow.parquet as pq

from casparian_core.db.connection import connect
from tests.cli.test_process import process
from tests.jobs.daemon_support import (
    DEADLINE_SECS,
    job_counts,
    logged_guests,
    source_of,
    wait_until,
    write_unique,
)
from tests.jobs.pool_support import wheels_env
from tests.output_parts import staging_leftovers
from tests.registry.test_envs import Fixture, locked

__all__ = ["locked", "wheels_env"]  # fixtures, used by name


def output_rows(output: Path) -> list[dict[str, object]]:
    """Every part's rows, each part read whole (a half-written one would not read)."""
    return [
        row for part in sorted(output.glob("*.parquet")) for row in pq.read_table(part).to_pylist()
    ]


async def test_an_input_failing_among_many_is_in_no_part_and_the_others_are_committed(
    locked: Fixture, wheels_env: dict[str, str]
) -> None:
    broken = write_unique(locked.project.folder.parent / "shop", "f10.csv", 4, "BROKEN")
    files = {f"f{n:02}.csv": (3 + n % 4, "id,value") for n in range(20) if n != 10}
    home, lines = await source_of(locked, files)

    result = process(home.settings.home, wheels_env, "--workers", "1")

    summary = json.loads(result.stdout)
    assert summary["counts"] == {"COMPLETED": 19, "FAILED": 1}
    assert [failure["input"].endswith("f10.csv") for failure in summary["failed"]] == [True]
    texts = Counter(row["text"] for row in output_rows(home.settings.output_dir / "rows"))
    assert texts == Counter(line for line in lines if line not in broken)


async def test_process_killed_mid_group_then_run_again_outputs_every_file_exactly_once(
    locked: Fixture, wheels_env: dict[str, str]
) -> None:
    files = {f"f{n:03}.csv": (2 + n % 5, "id,value") for n in range(150)}
    files |= {"f070h.csv": (3, "HANG")}  # holds a worker mid-batch
    home, lines = await source_of(locked, files)
    root, output = home.settings.home, home.settings.output_dir / "rows"
    first = subprocess.Popen(
        [sys.executable, "-m", "casparian_cli", "process", "--offline", "--workers", "2"],
        env={**os.environ, "CASPARIAN_HOME": str(root), **wheels_env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until("a worker hangs", lambda: bool(logged_guests(home, "hanging in")), first)
        wait_until("some parts are committed", lambda: any(output.glob("*.parquet")), first)
        workers = psutil.Process(first.pid).children(recursive=True)
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=DEADLINE_SECS)
        # Its worker process dies with it, an instant later: until then its staging files are
        # a live process's, which the next run leaves alone.
        _, alive = psutil.wait_procs(workers, timeout=DEADLINE_SECS)
        assert not alive
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()

    # Whatever is visible is whole, and from a job the queue still holds (running, its
    # completion not yet recorded) or recorded complete: never one it failed or requeued.
    written = {str(row["_cf_job_id"]) for row in output_rows(output)}
    with closing(connect(root / "casparian_flow.sqlite3", migrating=False)) as conn:
        statuses = dict(conn.execute("SELECT id, status FROM cf_processing_queue").fetchall())
    assert {statuses[job] for job in written} <= {"RUNNING", "COMPLETED"}
    assert job_counts(root)["COMPLETED"] < len(files)

    (home.data / "f070h.csv.release").touch()
    second = process(root, wheels_env, "--workers", "2")

    assert second.returncode == 0, second.stderr
    assert Counter(row["text"] for row in output_rows(output)) == Counter(lines)
    assert job_counts(root) == Counter({"COMPLETED": len(files)})
    assert not staging_leftovers(output.parent)
