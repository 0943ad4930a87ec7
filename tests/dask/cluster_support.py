"""A real Dask cluster for the tests, started as a user starts one: `dask scheduler` and
`dask worker` processes on loopback TCP (ports chosen by the system), the scheduler with
allowed-failures 0 as the README says. A worker may be started in a mount namespace of its own
where a folder is hidden (an empty tmpfs over it): a machine that does not see that storage.
And `casparian process --executor dask` run against it, as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pyarrow.parquet as pq
from distributed import Client

from casparian_core.db.connection import connect
from tests.jobs.daemon_support import source_of
from tests.jobs.pool_support import Home
from tests.registry.test_envs import Fixture

DEADLINE_SECS = 120  # an upper bound for a loaded machine, not a timing check
POLL_SECS = 0.05
DASK_ENV = {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}


@dataclass
class RealCluster:
    folder: Path
    scheduler: subprocess.Popen[bytes]
    address: str
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def add_worker(self, hide: Path | None = None) -> subprocess.Popen[bytes]:
        """A worker (under its nanny, which restarts it if it dies) of one thread."""
        local = self.folder / f"worker-{len(self.workers)}"
        command = [
            *_dask("worker"),
            self.address,
            "--nthreads", "1",
            "--nworkers", "1",
            "--host", "127.0.0.1",
            "--no-dashboard",
            "--local-directory", str(local),
        ]  # fmt: skip
        if hide is not None:
            shell = f'mount -t tmpfs none "{hide}" && exec "$@"'
            command = ["unshare", "--mount", "sh", "-c", shell, "sh", *command]
        worker = _start(command, self.folder / f"worker-{len(self.workers)}.log")
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, count: int) -> list[str]:
        with Client(self.address, timeout=DEADLINE_SECS) as client:
            client.wait_for_workers(count, timeout=DEADLINE_SECS)
            return sorted(client.scheduler_info(n_workers=-1)["workers"])

    def stop(self) -> None:
        for process in [*self.workers, self.scheduler]:
            _kill_group(process)


def start_cluster(folder: Path, workers: int = 2, hide: Path | None = None) -> RealCluster:
    """A scheduler and `workers` workers, the last in a namespace hiding `hide` if given."""
    folder.mkdir(parents=True, exist_ok=True)
    address_file = folder / "scheduler.json"
    address_file.unlink(missing_ok=True)
    scheduler = _start(
        [
            *_dask("scheduler"),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--dashboard-address",
            ":0",
            "--scheduler-file",
            str(address_file),
        ],
        folder / "scheduler.log",
    )
    wait_for("the scheduler's address file", address_file.exists, scheduler)
    cluster = RealCluster(folder, scheduler, json.loads(address_file.read_text())["address"])
    try:
        for n in range(workers):
            cluster.add_worker(hide if n == workers - 1 else None)
        cluster.wait_for_workers(workers)
    except BaseException:
        cluster.stop()
        raise
    return cluster


@contextmanager
def real_cluster(folder: Path, workers: int = 2, hide: Path | None = None) -> Iterator[RealCluster]:
    cluster = start_cluster(folder, workers, hide)
    try:
        yield cluster
    finally:
        cluster.stop()


def start_process(
    home: Path, env: dict[str, str], scheduler: str, *args: str
) -> subprocess.Popen[str]:
    """`casparian process --executor dask` against the scheduler, as a user runs it."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "casparian_cli",
            "process",
            "--offline",
            "--json",
            "--executor",
            "dask",
            "--scheduler",
            scheduler,
            *args,
        ],
        env={**os.environ, "CASPARIAN_HOME": str(home), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=DEADLINE_SECS * 2)
    return process.returncode, out, err


def worker_of_guest(guest_pid: int) -> psutil.Process:
    """The Dask worker process that started this guest."""
    parent = psutil.Process(guest_pid).parent()
    assert parent is not None, f"guest {guest_pid} has no parent"
    return parent


def output_texts(home: Path) -> Counter[str]:
    table = pq.read_table(home / "output" / "rows")
    return Counter(table.column("text").to_pylist())


def queue_rows(home: Path, columns: str = "status") -> list[tuple[object, ...]]:
    with closing(connect(home / "casparian_flow.sqlite3", migrating=False)) as conn:
        return list(conn.execute(f"SELECT {columns} FROM cf_processing_queue ORDER BY input_path"))


def _dask(role: str) -> list[str]:
    return [sys.executable, "-m", f"distributed.cli.dask_{role}"]


def _start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            command,
            env={**os.environ, **DASK_ENV},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # one signal to its group ends the nanny and its worker
        )


def wait_for(what: str, condition: Callable[[], object], process: subprocess.Popen[Any]) -> None:
    """Poll `condition` until it holds; fail if `process` ended first."""
    deadline = time.monotonic() + DEADLINE_SECS
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"it ended ({process.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(POLL_SECS)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=DEADLINE_SECS)


async def hanging_source(locked: Fixture) -> tuple[Home, list[str], Path]:
    """24 files and, among them, one whose parse hangs until `<file>.release` exists."""
    files = {f"f{n:02}.csv": (4 + n % 3, "id,value") for n in range(24)}
    files["f11-hang.csv"] = (5, "HANG")
    home, lines = await source_of(locked, files)
    return home, lines, home.data / "f11-hang.csv"


def release(hang: Path) -> None:
    Path(f"{hang}.release").touch()


def assert_a_new_run_finishes_every_file_once(
    home: Path, env: dict[str, str], scheduler: str, lines: list[str]
) -> None:
    """`process` run again on the scheduler completes every job, each file's rows once."""
    code, out, err = finish(start_process(home, env, scheduler))
    assert code == 0, err
    assert json.loads(out)["failed"] == []
    assert set(queue_rows(home)) == {("COMPLETED",)}
    assert output_texts(home) == Counter(lines)
