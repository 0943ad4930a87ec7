"""Sinks under the prod loop's concurrency, with real processes: several workers writing one
database sink, and a reader polling an output while jobs write it."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.cli.test_process import process
from tests.jobs.daemon_support import source_of
from tests.jobs.pool_support import wheels_env
from tests.registry.test_envs import Fixture, locked

__all__ = ["locked", "wheels_env"]  # fixtures, used by name


def table_texts(scheme: str, path: Path) -> Counter[str]:
    connect: Callable[[], duckdb.DuckDBPyConnection | sqlite3.Connection] = (
        (lambda: duckdb.connect(str(path), read_only=True))
        if scheme == "duckdb"
        else (lambda: sqlite3.connect(path))
    )
    with closing(connect()) as conn:
        return Counter(text for (text,) in conn.execute("SELECT text FROM rows").fetchall())


@pytest.mark.parametrize("scheme", ["sqlite", "duckdb"])
async def test_four_workers_writing_one_database_sink_lose_and_repeat_no_row(
    locked: Fixture, wheels_env: dict[str, str], scheme: str
) -> None:
    home, lines = await source_of(
        locked, {f"f{n:02}.csv": (20 + n % 7, "id,value") for n in range(40)}
    )
    target = home.settings.home / f"out.{scheme}"

    result = process(
        home.settings.home, wheels_env, "--workers", "4", "--sink", f"{scheme}:///{target}"
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert table_texts(scheme, target) == Counter(lines)


ROWS = 60_000  # enough that writing a part takes a while, so the reader looks mid-write


class PollingReader:
    """Reads an output again and again while jobs write it; records each part's row count
    every time it saw the part."""

    def __init__(self, read: Callable[[], dict[str, int]]) -> None:
        self._read = read
        self.seen: dict[str, set[int]] = {}
        self.reads = 0
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._poll)

    def __enter__(self) -> PollingReader:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.done.set()
        self._thread.join()

    def _poll(self) -> None:
        while not self.done.is_set():
            for part, rows in self._read().items():
                self.seen.setdefault(part, set()).add(rows)
            self.reads += 1


def parquet_parts(folder: Path) -> dict[str, int]:
    counts = {}
    for part in folder.glob("*.parquet"):
        try:
            counts[part.name] = pq.read_table(part).num_rows
        except FileNotFoundError:
            continue  # replaced between the listing and the read
    return counts


def sqlite_parts(path: Path) -> dict[str, int]:
    if not path.exists():
        return {}
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        try:
            rows = conn.execute("SELECT _cf_part, count(*) FROM rows GROUP BY _cf_part")
            return {part: count for part, count in rows}
        except sqlite3.OperationalError:
            return {}  # no table yet (or busy): nothing to see


@pytest.mark.parametrize("scheme", ["parquet", "sqlite"])
async def test_a_reader_never_sees_an_output_half_written(
    locked: Fixture, wheels_env: dict[str, str], scheme: str
) -> None:
    files = {f"big{n}.csv": (ROWS + n, "id,value") for n in range(3)}
    home, _ = await source_of(locked, files)
    target = home.settings.home / "out.sqlite"
    sink = () if scheme == "parquet" else ("--sink", f"sqlite:///{target}")
    read: Callable[[], dict[str, int]] = (
        (lambda: parquet_parts(home.settings.output_dir / "rows"))
        if scheme == "parquet"
        else (lambda: sqlite_parts(target))
    )

    with PollingReader(read) as reader:
        result = process(home.settings.home, wheels_env, "--workers", "2", *sink)

    assert result.returncode == 0, result.stdout + result.stderr
    final = read()
    assert sorted(final.values()) == [ROWS, ROWS + 1, ROWS + 2]
    assert reader.reads > 1
    # Every time the reader saw a part, it saw all of its rows.
    assert {part: counts for part, counts in reader.seen.items()} == {
        part: {rows} for part, rows in final.items() if part in reader.seen
    }
