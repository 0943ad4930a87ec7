"""A backfill under faults, with real processes: `casparian backfill --execute` killed with
SIGKILL while its jobs run and again during the swap (held there by the PAUSE_AT_SWAP test
hook, never by a sleep): each output is entirely old or entirely new, and `--resume` finishes
it; a second backfill of the parser is refused while the first runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from casparian_core.backfill.run import PAUSE_AT_SWAP
from casparian_core.db.connection import connect
from tests.backfill.support import WIDER, cli, cli_json, processed_home, version
from tests.inspect.replay_support import Home, register
from tests.jobs.daemon_support import DEADLINE_SECS, wait_until
from tests.registry.test_envs import Fixture, locked

__all__ = ["locked"]  # the fixture, used by name

PAUSING = version("2.0.0", wide=True, pause=True)


@contextmanager
def backfilling(
    home: Home, *args: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[str]]:
    """`casparian backfill prices --execute` in the background, killed if the test leaves it."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "casparian_cli",
            "backfill",
            "prices",
            "--execute",
            "--offline",
            "--workers",
            "1",
            "--json",
            *args,
        ],
        env={**os.environ, "CASPARIAN_HOME": str(home.settings.home), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.communicate(timeout=DEADLINE_SECS)


def backfill_id(home: Home) -> str:
    with closing(connect(home.settings.database_path, migrating=False)) as conn:
        found = conn.execute("SELECT id FROM cf_backfills").fetchone()
    return "" if found is None else str(found[0])


def status(home: Home) -> str:
    with closing(connect(home.settings.database_path, migrating=False)) as conn:
        return str(conn.execute("SELECT status FROM cf_backfills").fetchone()[0])


def folder_versions(home: Home, output: str) -> set[str]:
    """The versions of an output's rows as a plain DuckDB glob over its folder reads them (it
    fails on a folder whose parts have two schemas)."""
    glob = str(home.settings.output_dir / output / "*.parquet")
    with duckdb.connect() as conn:
        rows = conn.execute(f"SELECT DISTINCT _cf_parser_version FROM read_parquet('{glob}')")
        return {version for (version,) in rows.fetchall()}


def folder_schemas(home: Home, output: str) -> int:
    parts = sorted((home.settings.output_dir / output).glob("*.parquet"))
    return len({pq.read_schema(part).remove_metadata().to_string() for part in parts})


def waiting_guests(home: Home) -> int:
    """How many parses are held by the pause (each logs "waiting for <file>.release")."""
    logs = home.settings.logs_dir.glob("*/*.log")
    return sum(log.read_text().count("waiting for") for log in logs)


async def test_killed_while_its_jobs_run_the_output_stays_old_and_resume_finishes(
    locked: Fixture,
) -> None:
    home = await processed_home(locked)
    await register(home, PAUSING)

    with backfilling(home) as first:
        wait_until("a parse is held", lambda: waiting_guests(home) >= 1, first)
        first.send_signal(signal.SIGKILL)
        first.wait(DEADLINE_SECS)
    identity = backfill_id(home)
    at_kill = (folder_versions(home, "prices"), folder_versions(home, "totals"))
    state = status(home)
    for name in ("a.csv", "b.csv", "c.csv"):
        (home.data / f"{name}.release").touch()
    resumed = cli_json(home, "--resume", identity, "--offline")

    assert at_kill == ({"1.0.0"}, {"1.0.0"})  # the output untouched
    assert state == "STAGING"
    assert resumed["status"] == "DONE", resumed
    assert resumed["jobs"] == 3 and resumed["failed"] == []
    assert folder_versions(home, "prices") == {"2.0.0"} == folder_versions(home, "totals")
    assert folder_schemas(home, "prices") == 1
    assert len(pq.read_table(home.settings.output_dir / "prices")) == 5
    assert not (home.settings.output_dir / ".staging" / f"backfill-{identity}").exists()


@pytest.mark.parametrize("kill_before", ["prices", "totals"])
async def test_killed_during_the_swap_each_output_is_old_or_new_and_resume_rolls_forward(
    locked: Fixture, kill_before: str, tmp_path: Path
) -> None:
    home = await processed_home(locked)
    await register(home, WIDER)
    hook = tmp_path / "swap-pause"
    (tmp_path / "swap-pause.go.prices").touch() if kill_before == "totals" else None

    with backfilling(home, env={PAUSE_AT_SWAP: str(hook)}) as first:
        wait_until(
            f"the swap reaches {kill_before}",
            lambda: hook.exists() and kill_before in hook.read_text().split(),
            first,
        )
        first.send_signal(signal.SIGKILL)
        first.wait(DEADLINE_SECS)
    swapping = status(home)
    at_kill = {o: folder_versions(home, o) for o in ("prices", "totals")}
    schemas = {o: folder_schemas(home, o) for o in ("prices", "totals")}
    resumed = cli_json(home, "--resume", backfill_id(home), "--offline")

    assert swapping == "SWAPPING"
    new = {"2.0.0"} if kill_before == "totals" else {"1.0.0"}
    assert at_kill == {"prices": new, "totals": {"1.0.0"}}  # each whole, old or new
    assert schemas == {"prices": 1, "totals": 1}
    assert resumed["status"] == "DONE", resumed
    assert {o: folder_versions(home, o) for o in ("prices", "totals")} == {
        "prices": {"2.0.0"},
        "totals": {"2.0.0"},
    }
    assert len(pq.read_table(home.settings.output_dir / "prices")) == 5
    assert not list(home.settings.output_dir.glob("*/.casparian-backfill"))
    assert not (home.settings.output_dir / ".staging" / f"backfill-{backfill_id(home)}").exists()


async def test_a_database_killed_at_its_swap_is_old_then_resumed_new(
    locked: Fixture, tmp_path: Path
) -> None:
    database = tmp_path / "out.sqlite"
    uri = f"sqlite:///{database}"
    home = await processed_home(locked, sink_uri=uri)
    await register(home, WIDER)
    hook = tmp_path / "swap-pause"

    with backfilling(home, "--sink", uri, env={PAUSE_AT_SWAP: str(hook)}) as first:
        wait_until("the swap begins", lambda: hook.exists() and "tables" in hook.read_text(), first)
        first.send_signal(signal.SIGKILL)
        first.wait(DEADLINE_SECS)

    def table_versions() -> set[str]:
        import sqlite3

        with closing(sqlite3.connect(database)) as conn:
            return {v for (v,) in conn.execute('SELECT DISTINCT _cf_parser_version FROM "prices"')}

    at_kill = table_versions()
    resumed = cli_json(home, "--resume", backfill_id(home), "--offline", "--sink", uri)

    assert at_kill == {"1.0.0"}
    assert resumed["status"] == "DONE", resumed
    assert table_versions() == {"2.0.0"}


async def test_a_second_backfill_is_refused_while_the_first_runs(locked: Fixture) -> None:
    home = await processed_home(locked)
    await register(home, PAUSING)

    with backfilling(home) as first:
        wait_until("a parse is held", lambda: waiting_guests(home) >= 1, first)
        second = cli(home, "prices", "--execute", "--offline")
        taken = cli(home, "--resume", backfill_id(home), "--offline")
        for name in ("a.csv", "b.csv", "c.csv"):
            (home.data / f"{name}.release").touch()
        out, err = first.communicate(timeout=DEADLINE_SECS)

    assert second.returncode == 2 and backfill_id(home) in second.stderr
    assert taken.returncode == 2 and f"process {first.pid}" in taken.stderr
    assert first.returncode == 0, err
    assert json.loads(out)["status"] == "DONE"
