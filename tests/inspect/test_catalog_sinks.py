"""The catalogue beyond the home's Parquet folder (issue 17 §1): Arrow IPC parts, and the SQLite
and DuckDB sink files jobs of the queue wrote to, each a table with its parser@version, job and
quarantine companion, queryable like the Parquet ones; a sink that cannot be read is a per-table
error while the rest answers."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from casparian_core.config import DATABASE_NAME, Settings
from casparian_core.inspect import snapshot as snapshot_module
from casparian_core.inspect.catalog import open_catalog
from casparian_core.inspect.errors import QueryFailedError, QueryRefusedError
from casparian_core.inspect.export import ExportFormat
from casparian_core.service import CoreService
from tests.conftest import fixed_clock
from tests.inspect.sinks_support import record_job, rejected, sales, write_parts
from tests.tui.inspect_support import JOB_A, LONG_QUERY, ORDERS, seed_inspect

JOB = "c3" * 16
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def service(settings: Settings) -> AsyncIterator[CoreService]:
    async with CoreService(seed_inspect(settings), clock=fixed_clock) as started:
        yield started


async def test_sqlite_duckdb_and_arrow_sinks_are_tables_beside_parquet(
    service: CoreService, tmp_path: Path
) -> None:
    lite = write_parts(
        f"sqlite:///{tmp_path}/shop.sqlite3",
        {"sales": sales(30, JOB), "sales_quarantine": rejected(4, JOB)},
    )
    duck = write_parts(f"duckdb:///{tmp_path}/warehouse.duckdb", {"sales": sales(20, JOB)})
    arrow = write_parts(f"arrow://{tmp_path}/feed", {"orders": sales(7, JOB)})
    lite_job = await record_job(service, lite, minutes=1)
    await record_job(service, {**duck, **arrow}, minutes=2)

    tables = {t.name: t for t in await service.inspect.tables()}

    assert sorted(tables) == [
        "events",
        "feed_orders",  # the home's `orders` came first: the Arrow folder's name tells them apart
        "orders",
        "orders_quarantine",
        "sales",
        "sales_quarantine",
        "warehouse_sales",
    ]
    sold = tables["sales"]
    assert (sold.sink, sold.location) == ("sqlite", str(tmp_path / "shop.sqlite3"))
    assert (sold.rows, sold.parts, sold.producers) == (30, 1, ["sales_csv@2.0.0"])
    assert sold.last_job_id == lite_job and not sold.broken_parts
    assert (sold.quarantine_table, sold.quarantined_rows) == ("sales_quarantine", 4)
    assert tables["sales_quarantine"].is_quarantine
    assert "_cf_part" not in {c.name for c in sold.columns}  # the sink's own bookkeeping
    assert {c.name: c.type for c in sold.columns}["amount"] == "DOUBLE"
    duck_sales = tables["warehouse_sales"]
    assert (duck_sales.sink, duck_sales.rows, duck_sales.quarantine_table) == ("duckdb", 20, None)
    fed = tables["feed_orders"]
    assert (fed.sink, fed.rows, fed.parts, fed.last_job_id) == ("arrow", 7, 1, JOB)
    assert tables["orders"].sink == "parquet" and tables["orders"].rows == ORDERS

    result = await service.inspect.query(
        "SELECT (SELECT count(*) FROM sales) AS lite, (SELECT sum(sale_id) FROM warehouse_sales)"
        " AS duck, (SELECT count(*) FROM feed_orders) AS arrow, (SELECT count(*) FROM orders)"
        " AS parquet"
    )
    assert result.table.to_pylist() == [{"lite": 30, "duck": 190, "arrow": 7, "parquet": ORDERS}]


async def test_stats_samples_quarantine_and_export_work_on_a_database_sink(
    service: CoreService, tmp_path: Path
) -> None:
    parts = {"sales": sales(30, JOB), "sales_quarantine": rejected(4, JOB)}
    await record_job(service, write_parts(f"sqlite:///{tmp_path}/shop.sqlite3", parts))

    stats = {s.name: s for s in await service.inspect.column_stats("sales")}
    assert (stats["sale_id"].min, stats["sale_id"].max, stats["region"].distinct) == ("0", "29", 2)
    sample = await service.inspect.sample("sales", where="region = 'north'", limit=100)
    assert sample.table.num_rows == 15
    page = await service.inspect.quarantine(output="sales")
    assert page.total == 4 and {e.reason for e in page.entries} == {"value -1 is below min 0"}
    exported = await service.inspect.export(
        "sales", tmp_path / "sales.parquet", ExportFormat.PARQUET
    )
    assert exported.rows == 30 and pq.read_table(exported.path).num_rows == 30


async def test_arrow_parts_in_the_home_output_folder_are_a_table(service: CoreService) -> None:
    home_out = service.settings.output_dir
    write_parts(f"arrow://{home_out}", {"ticks": sales(5, JOB)}, key="a.csv")
    write_parts(f"arrow://{home_out}", {"ticks": sales(3, JOB_A, start=5)}, key="b.csv")

    table = await service.inspect.table("ticks")

    assert (table.sink, table.rows, table.parts, table.last_job_id) == ("arrow", 8, 2, JOB_A)
    got = await service.inspect.query("SELECT count(DISTINCT sale_id) AS n FROM ticks")
    assert got.table.column("n").to_pylist() == [8]


async def test_a_corrupt_arrow_part_is_left_out_and_named(service: CoreService) -> None:
    home_out = service.settings.output_dir
    write_parts(f"arrow://{home_out}", {"ticks": sales(5, JOB)}, key="a.csv")
    (home_out / "ticks" / "part-b.csv.arrow").write_bytes(b"ARROW1\x00\x00 cut short")

    table = await service.inspect.table("ticks")

    assert (table.rows, table.parts) == (5, 1)
    assert [Path(b.path).name for b in table.broken_parts] == ["part-b.csv.arrow"]
    assert "not readable as Arrow IPC" in table.broken_parts[0].reason
    got = await service.inspect.query("SELECT count(*) AS n FROM ticks")
    assert got.table.column("n").to_pylist() == [5]


@pytest.mark.parametrize("scheme", ["sqlite", "duckdb"])
async def test_a_corrupt_database_sink_is_an_error_on_its_tables_while_the_rest_works(
    service: CoreService, tmp_path: Path, scheme: str
) -> None:
    target = tmp_path / f"shop.{scheme}"
    await record_job(service, write_parts(f"{scheme}:///{target}", {"sales": sales(30, JOB)}))
    # Keep the file's first bytes (what kind of database it is) and ruin the rest.
    target.write_bytes(target.read_bytes()[:16] + b"\xff" * 20_000)

    tables = {t.name: t for t in await service.inspect.tables()}

    broken = tables["sales"]
    assert (broken.sink, broken.rows, broken.parts) == (scheme, 0, 0)
    assert [b.path for b in broken.broken_parts] == [str(target)]
    assert "could not be read" in broken.broken_parts[0].reason
    assert tables["orders"].rows == ORDERS and not tables["orders"].broken_parts
    got = await service.inspect.query("SELECT count(*) AS n FROM orders")
    assert got.table.column("n").to_pylist() == [ORDERS]
    empty = await service.inspect.query("SELECT count(*) AS n FROM sales")
    assert empty.table.column("n").to_pylist() == [0]


async def test_a_missing_database_sink_says_so(service: CoreService, tmp_path: Path) -> None:
    target = tmp_path / "gone.sqlite3"
    await record_job(service, write_parts(f"sqlite:///{target}", {"sales": sales(3, JOB)}))
    target.unlink()

    table = await service.inspect.table("sales")

    assert table.rows == 0 and "is missing" in table.broken_parts[0].reason


@pytest.mark.parametrize("scheme", ["sqlite", "duckdb"])
async def test_new_rows_in_a_database_sink_show_on_the_next_call(
    service: CoreService, tmp_path: Path, scheme: str
) -> None:
    uri = f"{scheme}:///{tmp_path}/shop.{scheme}"
    await record_job(service, write_parts(uri, {"sales": sales(10, JOB)}, key="a.csv"))
    assert (await service.inspect.table("sales")).rows == 10
    snapshots = service.settings.output_dir / ".snapshots"
    first = {p.name for p in snapshots.iterdir()}
    assert (await service.inspect.table("sales")).rows == 10
    assert {p.name for p in snapshots.iterdir()} == first  # unchanged file: the same snapshot

    write_parts(uri, {"sales": sales(5, JOB, start=10)}, key="b.csv")
    table = await service.inspect.table("sales")

    assert (table.rows, table.parts) == (15, 2)


async def test_sink_names_that_clash_get_their_file_name_in_front(
    service: CoreService, tmp_path: Path
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write_parts(f"duckdb:///{tmp_path}/a/events.duckdb", {"events": sales(1, JOB)})
    second = write_parts(f"duckdb:///{tmp_path}/b/events.duckdb", {"events": sales(2, JOB)})
    await record_job(service, {**first, "x": second["events"]})

    names = {t.name: t.rows for t in await service.inspect.tables()}

    assert (names["events"], names["events_events"], names["events2_events"]) == (20, 1, 2)


async def test_a_table_no_job_of_the_queue_wrote_is_found_by_its_folder(
    service: CoreService,
) -> None:
    pq.write_table(pa.table({"x": [1, 2]}), service.settings.output_dir / "orders" / "p.parquet")
    assert (await service.inspect.table("orders")).rows == ORDERS + 2


class Writer:
    """A real writer process holding a sink open (tests/inspect/sink_writer.py)."""

    def __init__(self, uri: str, rows: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.inspect.sink_writer", uri, str(rows)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )

    async def commit(self, number: int) -> None:
        """Ask for one more part and wait until the writer says it is committed."""
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write("next\n")
        self.process.stdin.flush()
        line = await asyncio.to_thread(self.process.stdout.readline)
        assert line == f"committed {number}\n", line + self._stderr()

    def finish(self) -> None:
        assert self.process.stdin
        self.process.stdin.close()
        assert self.process.wait(timeout=60) == 0, self._stderr()

    def _stderr(self) -> str:
        assert self.process.stderr
        if self.process.poll() is None:
            return ""
        return self.process.stderr.read()


@pytest.mark.parametrize("scheme", ["sqlite", "duckdb"])
async def test_a_writer_holding_the_sink_open_neither_blocks_nor_is_blocked(
    service: CoreService, tmp_path: Path, scheme: str
) -> None:
    """Another process keeps the sink file open (DuckDB: its lock held) and commits parts
    between and during Inspect's reads: every read sees whole parts, and every commit of the
    writer goes through, also while a long Inspect query over the table runs."""
    rows, target = 500, tmp_path / f"shop.{scheme}"
    uri = f"{scheme}:///{target}"
    writer = Writer(uri, rows)
    try:
        await writer.commit(1)
        await record_job(service, {"sales": f"{target} (table sales)"})
        for number in range(2, 5):
            table = await service.inspect.table("sales")
            counted = await service.inspect.query("SELECT count(*) AS n FROM sales")
            assert table.rows == counted.table.column("n")[0].as_py() == (number - 1) * rows
            long = asyncio.ensure_future(
                service.inspect.query(f"{LONG_QUERY} AND n > (SELECT count(*) FROM sales)")
            )
            await writer.commit(number)  # goes through while the query runs
            assert not long.done()
            long.cancel()
            with pytest.raises(asyncio.CancelledError):
                await long
    finally:
        writer.finish()
    assert (await service.inspect.table("sales")).rows == 4 * rows


@pytest.fixture
async def sinks(service: CoreService, tmp_path: Path) -> Path:
    """A SQLite, a DuckDB and an Arrow sink outside the home, with a file beside each."""
    folder = tmp_path / "sinks"
    folder.mkdir()
    duck = write_parts(f"duckdb:///{folder}/wh.duckdb", {"sales": sales(3, JOB)})
    await record_job(
        service,
        {
            **write_parts(f"sqlite:///{folder}/shop.sqlite3", {"sales": sales(3, JOB)}),
            "w": duck["sales"],
            **write_parts(f"arrow://{folder}/feed", {"ticks": sales(3, JOB)}),
        },
    )
    pq.write_table(pa.table({"secret": [42]}), folder / "feed" / "secret.parquet")
    (folder / "feed" / "ticks" / "notes.csv").write_text("a\n1\n")
    return folder


# DuckDB's lock-down stops these by itself (dropping a view of the in-memory catalogue, or a
# COPY into a table folder the catalogue reads, only the one-SELECT check stops).
SINK_CHANGES = [
    "ATTACH '{sinks}/shop.sqlite3' AS s (TYPE sqlite)",
    "ATTACH '{sinks}/wh.duckdb' AS w",
    "COPY sales TO '{sinks}/shop.sqlite3'",
    "COPY sales TO '{sinks}/feed/secret.parquet' (FORMAT parquet)",
    "DELETE FROM wh_sales",
    "INSERT INTO sales (sale_id) VALUES (1)",
    "UPDATE ticks SET amount = 0",
    "SET allowed_directories = ['/']",
]
CHECKED_ONLY = [
    "COPY sales TO '{sinks}/feed/ticks/part-x.arrow' (FORMAT parquet)",
    "DROP VIEW ticks",
]
SINKS_OUT_OF_REACH = [
    "SELECT * FROM read_csv('{sinks}/shop.sqlite3')",
    "SELECT * FROM read_blob('{sinks}/wh.duckdb')",
    "SELECT * FROM read_parquet('{sinks}/feed/secret.parquet')",
    "SELECT * FROM read_csv('/etc/passwd')",
]


def _state(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("sql", SINK_CHANGES + CHECKED_ONLY + SINKS_OUT_OF_REACH)
async def test_nothing_is_written_or_read_past_the_tables_through_the_sinks(
    service: CoreService, sinks: Path, sql: str
) -> None:
    before = _state(sinks)
    with pytest.raises((QueryRefusedError, QueryFailedError)):
        await service.inspect.query(sql.format(sinks=sinks))
    assert _state(sinks) == before


@pytest.mark.parametrize("sql", SINK_CHANGES + SINKS_OUT_OF_REACH)
async def test_the_catalogue_connection_over_the_sinks_refuses_them_by_itself(
    service: CoreService, sinks: Path, sql: str
) -> None:
    """Past the one-SELECT check: DuckDB's lock-down alone, with the sinks' tables in it."""
    known = await service.inspect._known()
    before = _state(sinks)
    con = await asyncio.to_thread(open_catalog, service.settings, known)
    try:
        assert {"sales", "wh_sales", "ticks"} <= {r[0] for r in con.sql("SHOW TABLES").fetchall()}
        with pytest.raises(duckdb.Error):
            con.execute(sql.format(sinks=sinks)).fetchall()
    finally:
        con.close()
    assert _state(sinks) == before


async def test_a_copied_home_does_not_list_the_outputs_of_the_home_it_came_from(
    service: CoreService, tmp_path: Path
) -> None:
    """Its jobs' locations still name the first home's folders and files: those are that
    home's outputs, not this one's."""
    first = tmp_path / "first-home"
    (first / "output").mkdir(parents=True)
    (first / DATABASE_NAME).write_bytes(b"")
    await record_job(
        service,
        {
            **write_parts(f"parquet://{first / 'output'}", {"orders": sales(2, JOB)}),
            "x": write_parts(f"duckdb:///{first}/wh.duckdb", {"sales": sales(2, JOB)})["sales"],
        },
    )
    names = [t.name for t in await service.inspect.tables()]
    assert names == ["events", "orders", "orders_quarantine"]


async def test_cancelling_while_a_sink_snapshot_is_made_returns_at_once_and_keeps_it(
    service: CoreService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The snapshot of a big sink file can take a while: Esc then ends the call without waiting
    for it (no query was running yet), and the snapshot finishes for the next call."""
    await record_job(
        service, write_parts(f"sqlite:///{tmp_path}/shop.sqlite3", {"sales": sales(10, JOB)})
    )
    entered, release = threading.Event(), threading.Event()
    real = snapshot_module._from_sqlite

    def held(*args: object) -> dict[str, object]:
        entered.set()
        assert release.wait(60), "the test never let the snapshot go on"
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(snapshot_module, "_from_sqlite", held)
    call = asyncio.ensure_future(service.inspect.query("SELECT count(*) AS n FROM sales"))
    assert await asyncio.to_thread(entered.wait, 60)

    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call  # while the snapshot is still held

    release.set()
    monkeypatch.setattr(snapshot_module, "_from_sqlite", real)
    assert (await service.inspect.table("sales")).rows == 10
