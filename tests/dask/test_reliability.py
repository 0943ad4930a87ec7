"""The Dask executor on a real cluster (a scheduler and worker processes on loopback TCP, as a
user starts them) when things die: a worker killed in the middle of a batch, the driver
killed and started again. Every file ends processed exactly once: each line of every input is
in the output once, none missing, none twice. One cluster for the module (its nanny restarts
a killed worker)."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from tests.cli.support import casparian
from tests.dask.cluster_support import (
    DEADLINE_SECS,
    POLL_SECS,
    RealCluster,
    assert_a_new_run_finishes_every_file_once,
    finish,
    hanging_source,
    output_texts,
    queue_rows,
    real_cluster,
    release,
    start_process,
    wait_for,
    worker_of_guest,
)
from tests.jobs.daemon_support import job_counts, logged_guests, running_daemon, source_of
from tests.jobs.daemon_support import wait_until as wait_until_daemon
from tests.jobs.pool_support import wheels_env
from tests.registry.test_envs import Fixture, locked

__all__ = ["locked", "wheels_env"]  # fixtures, used by name


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealCluster]:
    with real_cluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_until(what: str, condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE_SECS
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(POLL_SECS)


async def test_a_worker_killed_mid_batch_loses_no_file_and_repeats_none(
    locked: Fixture, wheels_env: dict[str, str], cluster: RealCluster
) -> None:
    home, lines, hang = await hanging_source(locked)
    driver = start_process(home.settings.home, wheels_env, cluster.address)
    try:
        wait_for("a guest hangs", lambda: logged_guests(home, "hanging in"), driver)
        [guest] = logged_guests(home, "hanging in")
        worker_of_guest(guest).kill()  # SIGKILL, in the middle of the hanging file's batch
        release(hang)
        code, out, err = finish(driver)
    finally:
        driver.kill()

    assert code == 0, err
    summary = json.loads(out)
    assert sum(summary["counts"].values()) == 25, summary
    assert set(summary["counts"]) <= {"COMPLETED", "SKIPPED"}, summary
    assert output_texts(home.settings.home) == Counter(lines)
    jobs = queue_rows(home.settings.home, "input_path, status, attempts, ran_on")
    assert {status for _, status, _, _ in jobs} == {"COMPLETED"}
    attempts = {path: tries for path, _, tries, _ in jobs}
    assert attempts[str(hang)] == 2  # the attempt lost with its worker, then the retry
    assert all(str(worker).startswith("tcp://127.0.0.1:") for *_, worker in jobs)


async def test_the_driver_killed_and_started_again_loses_no_file_and_repeats_none(
    locked: Fixture, wheels_env: dict[str, str], cluster: RealCluster
) -> None:
    home, lines, hang = await hanging_source(locked)
    driver = start_process(home.settings.home, wheels_env, cluster.address)
    try:
        wait_for("a guest hangs", lambda: logged_guests(home, "hanging in"), driver)
        [guest] = logged_guests(home, "hanging in")
        driver.kill()  # SIGKILL: its claimed jobs stay RUNNING under its dead pid
        driver.wait()
    finally:
        driver.kill()
    assert ("RUNNING",) in queue_rows(home.settings.home)
    # The scheduler drops the dead driver's tasks: the worker stops the one still running.
    wait_until("the dead driver's hanging guest is stopped", lambda: gone(guest))
    release(hang)

    assert_a_new_run_finishes_every_file_once(
        home.settings.home, wheels_env, cluster.address, lines
    )


async def test_cancelling_a_running_job_stops_its_guest_on_its_worker(
    locked: Fixture, wheels_env: dict[str, str], cluster: RealCluster
) -> None:
    home, lines, hang = await hanging_source(locked)
    often = {**wheels_env, "CASPARIAN_HEARTBEAT_SECS": "0.1"}  # the driver learns it soon
    driver = start_process(home.settings.home, often, cluster.address)
    try:
        wait_for("a guest hangs", lambda: logged_guests(home, "hanging in"), driver)
        [guest] = logged_guests(home, "hanging in")
        [(job_id,)] = [
            (job,)
            for job, path in queue_rows(home.settings.home, "id, input_path")
            if path == str(hang)
        ]
        cancelled = casparian("jobs", "cancel", str(job_id), home=home.settings.home)
        assert cancelled.returncode == 0, cancelled.stderr
        wait_until("the cancelled job's guest is stopped", lambda: gone(guest))
        code, out, err = finish(driver)
    finally:
        driver.kill()

    assert code == 0, err
    assert json.loads(out)["counts"] == {"COMPLETED": 24}
    statuses = dict(queue_rows(home.settings.home, "input_path, status"))
    assert statuses.pop(str(hang)) == "CANCELLED"
    assert set(statuses.values()) == {"COMPLETED"}
    hang_lines = Path(hang).read_text().splitlines()
    assert output_texts(home.settings.home) == Counter(lines) - Counter(hang_lines)


def cluster_status(home: Path) -> dict[str, object]:
    result = casparian("status", "--json", home=home)
    assert result.returncode == 0, result.stderr
    state: dict[str, object] = json.loads(result.stdout)["cluster"]
    return state


async def test_status_shows_the_cluster_while_a_run_uses_it(
    locked: Fixture, wheels_env: dict[str, str], cluster: RealCluster
) -> None:
    home, _, hang = await hanging_source(locked)
    root = home.settings.home
    driver = start_process(root, wheels_env, cluster.address)
    try:
        wait_for("a guest hangs", lambda: logged_guests(home, "hanging in"), driver)
        wait_for("status sees jobs in flight", lambda: cluster_status(root)["in_flight"], driver)
        state = cluster_status(root)
        text = casparian("status", home=root).stdout
        release(hang)
        [guest] = logged_guests(home, "hanging in")
        psutil.Process(guest).kill()  # a crash: retried, and the retry is not held
        code, _, err = finish(driver)
    finally:
        driver.kill()

    assert code == 0, err
    assert (state["scheduler"], state["workers"], state["pid"]) == (
        cluster.address,
        2,
        driver.pid,
    )
    assert f"Cluster  Dask cluster at {cluster.address}: 2 workers (2 threads), " in text
    assert cluster_status(root) == {"running": False}
    assert "Cluster" not in casparian("status", home=root).stdout


async def test_start_runs_on_the_cluster_that_config_toml_names(
    locked: Fixture, wheels_env: dict[str, str], cluster: RealCluster
) -> None:
    home, lines = await source_of(locked, {f"f{n:02}.csv": (3, "id,value") for n in range(8)})
    root = home.settings.home
    (root / "config.toml").write_text(f'executor = "dask"\ndask_scheduler = "{cluster.address}"\n')

    with running_daemon(root, wheels_env) as daemon:
        wait_until_daemon("the backlog is done", lambda: job_counts(root)["COMPLETED"] == 8, daemon)
        stopped = casparian("stop", home=root, timeout=DEADLINE_SECS)
        _, err = daemon.communicate(timeout=DEADLINE_SECS)

    assert stopped.returncode == 0, stopped.stderr
    assert daemon.returncode == 0, err
    assert output_texts(root) == Counter(lines)
    workers = {worker for (worker,) in queue_rows(root, "ran_on")}
    assert workers and all(str(w).startswith("tcp://127.0.0.1:") for w in workers)
