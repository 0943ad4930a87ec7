"""Inspect on a 10,000,000-row output: statistics, histograms, and the app while a query runs.

One Parquet part of 10 million rows and 10 columns (integers, a decimal, floats, low- and
high-cardinality text, a timestamp, a date, a boolean, a text column with nulls), written once
into a temporary home. Measured through `service.inspect`, as the screen calls it (the
locked-down connection: one DuckDB thread):
- the statistics of all 10 columns (target < 3 s);
- a histogram of a numeric column and of a timestamp column (target < 1 s each);
- keystrokes in the real app (headless Textual at 120x36) while a query that never ends runs
  in Inspect's SQL editor: each key posted as the terminal driver posts it, timed until the
  editor shows it (target < 100 ms).

- the first page: `service.inspect.query` of the whole table (capped at 100,000 rows) and of a
  sample of 1,000 rows; the cold first query, in a new process (its imports of DuckDB and
  pyarrow included) as `casparian query` and the TUI meet it; and in the app, Ctrl+R on
  `SELECT * FROM big` in the SQL editor until the result table is on screen (target < 300 ms),
  and the result table alone (ArrowTable of 100,000 rows mounted to its first frame);
- `casparian query` against the `duckdb` CLI on the same Parquet file, each a process started
  as a user starts it (the CLI comes with `pip install -e '.[bench]'`, which `make bench` does),
  and `casparian --help`;
- a query over a table of 2,000 small parts (its footers read once, its parts by position);
- the first look at a SQLite and a DuckDB sink after it changed (the catalogue makes a Parquet
  snapshot of the file) and the next look (the snapshot reused).

Run: .venv/bin/python -m tests.bench.bench_inspect [--only PART,...] (parts: PARTS below)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from textual.app import App
from textual.events import Key
from textual.widgets import TextArea

from casparian_core.config import load_settings
from casparian_core.home import prepare_home
from casparian_core.service import CoreService
from casparian_tui.app import CasparianApp
from casparian_tui.screens.inspect import InspectScreen
from casparian_tui.widgets.arrow_table import ArrowTable
from casparian_tui.widgets.inspect_query import QueryPanel
from tests.inspect.sinks_support import record_job

ROWS = 10_000_000
SNAPSHOT_ROWS = {"sqlite": 1_000_000, "duckdb": ROWS}
CLI_QUERIES = {
    "start-up alone": "SELECT 1 AS one",
    "first page": "SELECT * FROM {t} LIMIT 1000",
    "count": "SELECT count(*) FROM {t}",
    "group by": "SELECT category, count(*), avg(amount) FROM {t} GROUP BY 1 ORDER BY 1",
    "filter": "SELECT count(*) FROM {t} WHERE region = 'r7' AND score > 500",
}
KEYS = 30
PARTS = ("first-page", "cold", "parts", "core", "cli", "screen", "table", "keys", "snapshots")
SMALL_PARTS = 2_000  # a table as `process` leaves it after many small inputs: 50 rows a part
# A new process's first query and the next, each timed around `service.inspect.query`.
COLD_PROBE = """
import asyncio, sys, time
from casparian_core.config import load_settings
from casparian_core.service import CoreService

async def main():
    async with CoreService(load_settings(home=sys.argv[1])) as service:
        for _ in range(2):
            start = time.perf_counter()
            await service.inspect.query("SELECT * FROM big")
            print(time.perf_counter() - start)

asyncio.run(main())
"""
ENDLESS = "SELECT count(*) FROM range(100000000000) AS t(n) WHERE n % 7 = 3"
DEADLINE_SECS = 60.0


def write_output(output_dir: Path) -> None:
    folder = output_dir / "big"
    folder.mkdir(parents=True)
    duckdb.connect().execute(
        f"""COPY (SELECT i AS id, (i % 1000) * 1.5 AS amount, (hash(i) % 100000)::BIGINT AS qty,
          'cat' || (i % 37) AS category, md5(i::VARCHAR) AS code,
          TIMESTAMP '2024-01-01' + to_seconds(i * 3) AS ts,
          DATE '2020-01-01' + (i % 2000)::INT AS day, i % 2 = 0 AS flag,
          CASE WHEN i % 10 = 0 THEN NULL ELSE 'r' || (i % 500) END AS region,
          (hash(i * 7) % 1000000) / 1000.0 AS score
        FROM range({ROWS}) t(i)) TO '{folder}/part-0.parquet' (FORMAT parquet)"""
    )


async def timed(call) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    await call
    return time.perf_counter() - start


async def measure_many_parts(service: CoreService) -> None:
    """A query over a table of SMALL_PARTS parts: the first reads every part's footer, the next
    ones only what changed (the catalogue is made again for each query)."""
    folder = service.settings.output_dir / "small"
    folder.mkdir()
    for n in range(SMALL_PARTS):
        ids = range(n * 50, n * 50 + 50)
        names, amounts = [f"n{i}" for i in ids], [i * 1.5 for i in ids]
        part = pa.table({"id": ids, "name": names, "amount": amounts})
        pq.write_table(part, folder / f"part-{n:05d}.parquet")
    sql = "SELECT count(*), sum(amount) FROM small"
    secs = [await timed(service.inspect.query(sql)) for _ in range(3)]
    print(f"a query over {SMALL_PARTS:,} parts of 50 rows: {_runs(secs)}")
    shutil.rmtree(folder)


async def measure_core(service: CoreService) -> None:
    stats_secs = [await timed(service.inspect.column_stats("big")) for _ in range(3)]
    print(f"statistics of 10 columns: {_runs(stats_secs)} (target < 3 s)")
    for column in ("amount", "score", "ts"):
        secs = [await timed(service.inspect.distribution("big", column)) for _ in range(3)]
        print(f"distribution of {column}: {_runs(secs)} (target < 1 s)")


async def measure_first_page(service: CoreService) -> None:
    whole = [await timed(service.inspect.query("SELECT * FROM big")) for _ in range(3)]
    print(f"query of every row, first 100,000 kept: {_runs(whole)} (target < 300 ms)")
    sample = [await timed(service.inspect.sample("big", limit=1000)) for _ in range(3)]
    print(f"sample of 1,000 rows: {_runs(sample)} (target < 300 ms)")


def measure_cold(home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    firsts, seconds = [], []
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", COLD_PROBE, str(home)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        first, second = (float(line) for line in done.stdout.split())
        firsts.append(first)
        seconds.append(second)
    print(
        f"a new process's first query of every row: {_runs(firsts)}; its second: "
        f"{_runs(seconds)} (target < 300 ms)"
    )


async def measure_screen_first_page(service: CoreService) -> None:
    app = CasparianApp(service, watch_sources=False)
    secs = []
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("alt+i")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, InspectScreen)
        await pilot.press("q")
        editor = screen.query_one("#sql-editor", TextArea)
        panel = screen.query_one(QueryPanel)
        cpu = []
        for n in range(5):
            editor.load_text(f"SELECT * FROM big -- {n}")
            old = set(panel.query(ArrowTable))
            start, start_cpu = time.perf_counter(), time.process_time()
            await pilot.press("ctrl+r")
            await _until(lambda old=old: _shown(panel, old))  # type: ignore[misc]
            await pilot.pause()  # the frame with the rows drawn
            secs.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
    print(
        f"Inspect screen, Ctrl+R to the first page on screen: {_runs(secs)} (target < 300 ms); "
        f"CPU of the app's process (the query's thread too): {_runs(cpu)}"
    )


async def measure_table_frame(part: Path) -> None:
    """ArrowTable alone: 100,000 rows of the big table mounted in a bare app until the frame
    that draws them (what the widget costs of the first page, the query aside)."""
    rows = duckdb.connect().sql(f"SELECT * FROM read_parquet('{part}') LIMIT 100000")
    table = rows.to_arrow_table()
    app: App[None] = App()
    secs, cpu = [], []
    async with app.run_test(size=(120, 36)) as pilot:
        for _ in range(5):
            widget = ArrowTable(table)
            start, start_cpu = time.perf_counter(), time.process_time()
            await app.screen.mount(widget)
            await pilot.pause()
            secs.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            await widget.remove()
    print(f"ArrowTable of 100,000 rows mounted to its first frame: {_runs(secs)}; CPU {_runs(cpu)}")


def _shown(panel: QueryPanel, old: set[ArrowTable]) -> bool:
    return any(t not in old and t.is_mounted and t.size.height > 0 for t in panel.query(ArrowTable))


def measure_cli(settings_home: Path, part: Path) -> None:
    duckdb_cli = Path(sys.executable).parent / "duckdb"
    if not duckdb_cli.is_file():
        print("duckdb CLI missing: pip install -e '.[bench]' (make bench does) to compare")
        return
    version = subprocess.run([duckdb_cli, "--version"], capture_output=True, text=True).stdout
    print(f"casparian query against the duckdb CLI {version.split()[0]} (3 runs each, wall time):")
    # As a user's install runs: modules compiled once (this environment may forbid writing
    # bytecode, which costs every start of the CLI 0.6 s of compiling), then one start unmeasured.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["CASPARIAN_HOME"] = str(settings_home)
    subprocess.run([sys.executable, "-m", "casparian_cli", "tables"], env=env, capture_output=True)
    help_secs = _wall([sys.executable, "-m", "casparian_cli", "--help"], env)
    print(f"  casparian --help: {_runs(help_secs)}")
    source = f"read_parquet('{part}')"
    for what, sql in CLI_QUERIES.items():
        ours = _wall(
            [
                sys.executable,
                "-m",
                "casparian_cli",
                "query",
                sql.format(t="big"),
                "--format",
                "csv",
            ],
            env,
        )
        theirs = _wall([str(duckdb_cli), "-csv", "-c", sql.format(t=source)], env)
        single = _wall(
            [str(duckdb_cli), "-csv", "-c", f"SET threads = 1; {sql.format(t=source)}"], env
        )
        print(
            f"  {what}: casparian {_runs(ours)}; duckdb {_runs(theirs)}; "
            f"duckdb one thread {_runs(single)}"
        )


def _wall(command: list[str], env: dict[str, str]) -> list[float]:
    """Wall seconds of each of three runs; the CPU seconds (user + system) of the process are
    printed after them, since on a loaded machine the wall time is mostly waiting for a core."""
    secs, cpu = [], []
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        secs.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            raise RuntimeError(f"{command[:3]} failed: {done.stderr}")
    tool = "casparian" if "casparian_cli" in command else Path(command[0]).name
    print(f"    {tool} CPU {_runs(cpu)}")
    return secs


async def measure_snapshots(service: CoreService, folder: Path, part: Path) -> None:
    for scheme, rows in SNAPSHOT_ROWS.items():
        target = folder / f"shop.{scheme}"
        _write_sink_file(scheme, target, part, rows)
        await record_job(service, {"sales": f"{target} (table sales)"}, minutes=len(scheme))
        first = await timed(service.inspect.table("sales"))
        again = await timed(service.inspect.table("sales"))
        print(
            f"{scheme} sink of {rows:,} rows: first look (snapshot made) {first:.2f} s, "
            f"next look {again:.2f} s"
        )
        shutil.rmtree(service.settings.output_dir / ".snapshots")
        target.unlink()


def _write_sink_file(scheme: str, target: Path, part: Path, rows: int) -> None:
    """The big table's first `rows` rows as a sink's table holds them (with its part column)."""
    select = f"SELECT *, 'p' || (id // 10000) AS _cf_part FROM read_parquet('{part}') LIMIT {rows}"
    if scheme == "duckdb":
        con = duckdb.connect(str(target))
        con.execute(f"CREATE TABLE sales AS {select}")
        con.close()
        return
    table = duckdb.connect().sql(select).to_arrow_table()
    declared, columns = [], []
    for field in table.schema:  # as the SQLite sink declares and stores them
        column = table.column(field.name)
        if pa.types.is_integer(field.type) or pa.types.is_boolean(field.type):
            declared.append(f"{field.name} INTEGER")
            column = column.cast(pa.int64())
        elif pa.types.is_floating(field.type) or pa.types.is_decimal(field.type):
            declared.append(f"{field.name} REAL")
            column = column.cast(pa.float64())
        else:
            declared.append(f"{field.name} TEXT")
            column = column.cast(pa.string())
        columns.append(column.to_pylist())
    with sqlite3.connect(target) as lite:
        lite.execute(f"CREATE TABLE sales ({', '.join(declared)})")
        marks = ", ".join("?" * len(columns))
        lite.executemany(f"INSERT INTO sales VALUES ({marks})", zip(*columns, strict=True))


async def measure_keys(service: CoreService) -> None:
    app = CasparianApp(service, watch_sources=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("alt+i")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, InspectScreen)
        await pilot.press("q")
        editor = screen.query_one("#sql-editor", TextArea)
        editor.load_text(ENDLESS)
        await pilot.press("ctrl+r")
        await _until(lambda: bool(screen._cancellable_work()))
        editor.move_cursor(editor.document.end)
        latencies = []
        for n in range(KEYS):
            before = len(editor.text)
            start = time.perf_counter()
            app.post_message(Key("x", "x"))
            await _until(lambda before=before: len(editor.text) > before)  # type: ignore[misc]
            latencies.append(time.perf_counter() - start)
            await asyncio.sleep(0.05 if n % 2 else 0.02)
        assert screen._cancellable_work(), "the query ended: the measure needs it running"
        await pilot.press("escape")
    ms = sorted(x * 1000 for x in latencies)
    print(
        f"keystrokes while a query runs ({KEYS}): median {statistics.median(ms):.1f} ms, "
        f"p95 {ms[int(len(ms) * 0.95) - 1]:.1f} ms, max {ms[-1]:.1f} ms (target < 100 ms)"
    )


async def _until(condition) -> None:  # type: ignore[no-untyped-def]
    deadline = time.perf_counter() + DEADLINE_SECS
    while not condition():
        if time.perf_counter() > deadline:
            raise RuntimeError("gave up waiting")
        await asyncio.sleep(0.0005)


def _runs(secs: list[float]) -> str:
    return ", ".join(f"{s:.2f} s" for s in secs)


async def main(parts: set[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        home.mkdir()
        settings = load_settings(env={}, home=home)
        prepare_home(settings)
        start = time.perf_counter()
        write_output(settings.output_dir)
        print(f"wrote {ROWS:,} rows in {time.perf_counter() - start:.1f} s")
        part = settings.output_dir / "big" / "part-0.parquet"
        if "cold" in parts:
            measure_cold(settings.home)
        async with CoreService(settings) as service:
            if "first-page" in parts:
                await measure_first_page(service)
            if "parts" in parts:
                await measure_many_parts(service)
            if "core" in parts:
                await measure_core(service)
        if "cli" in parts:
            measure_cli(settings.home, part)
        if "screen" in parts:
            await measure_screen_first_page(CoreService(settings))
        if "table" in parts:
            await measure_table_frame(part)
        if "keys" in parts:
            await measure_keys(CoreService(settings))
        if "snapshots" in parts:
            async with CoreService(settings) as service:
                await measure_snapshots(service, Path(folder), part)


def _parts(text: str) -> set[str]:
    chosen = set(text.split(","))
    if not chosen <= set(PARTS):
        raise argparse.ArgumentTypeError(f"parts are {', '.join(PARTS)}")
    return chosen


if __name__ == "__main__":
    cli = argparse.ArgumentParser(description="Inspect on a 10,000,000-row output.")
    cli.add_argument("--only", type=_parts, default=set(PARTS), metavar="PART,...")
    asyncio.run(main(cli.parse_args().only))
