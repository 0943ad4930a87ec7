"""`service.inspect` on a home with real Parquet outputs: the catalogue, queries (capped,
refused, cancelled), samples with a filter, export, and quarantined rows."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from casparian_core.config import Settings
from casparian_core.inspect.errors import (
    ExportFailedError,
    QueryFailedError,
    QueryRefusedError,
    TableNotFoundError,
)
from casparian_core.inspect.export import ExportFormat
from casparian_core.inspect.quarantine import QuarantineEntryNotFoundError
from casparian_core.service import CoreService
from tests.conftest import fixed_clock
from tests.tui.inspect_support import JOB_A, JOB_B, LONG_QUERY, ORDERS, orders, seed_inspect


@pytest.fixture
def inspect_service(settings: Settings) -> CoreService:
    return CoreService(seed_inspect(settings), clock=fixed_clock)


async def test_the_catalogue_knows_each_table(inspect_service: CoreService) -> None:
    tables = {t.name: t for t in await inspect_service.inspect.tables()}
    assert list(tables) == ["events", "orders", "orders_quarantine"]
    table = tables["orders"]
    assert (table.rows, table.parts, table.sink) == (ORDERS, 1, "parquet")
    assert [c.name for c in table.columns][:3] == ["order_id", "amount", "region"]
    assert table.columns[1].type == "DOUBLE"
    assert table.producers == ["orders_csv@1.2.0"] and table.last_job_id == JOB_A
    assert (table.quarantine_table, table.quarantined_rows) == ("orders_quarantine", 3)
    companion = tables["orders_quarantine"]
    assert companion.is_quarantine and companion.quarantine_table is None
    assert companion.last_job_id == JOB_B  # from the quarantine's own job column
    assert tables["events"].producers == [] and tables["events"].last_job_id is None
    with pytest.raises(TableNotFoundError, match="'nope'"):
        await inspect_service.inspect.table("nope")


async def test_a_corrupt_part_is_left_out_and_named(inspect_service: CoreService) -> None:
    folder = inspect_service.settings.output_dir / "orders"
    pq.write_table(orders().slice(0, 10), folder / "part-1.parquet")
    (folder / "part-2.parquet").write_bytes(b"PAR1 truncated")
    table = await inspect_service.inspect.table("orders")
    assert (table.rows, table.parts) == (ORDERS + 10, 2)
    assert [Path(b.path).name for b in table.broken_parts] == ["part-2.parquet"]
    assert "not readable as Parquet" in table.broken_parts[0].reason
    result = await inspect_service.inspect.query("SELECT count(*) AS n FROM orders")
    assert result.table.column("n").to_pylist() == [ORDERS + 10]


async def test_queries_are_capped_and_read_only(inspect_service: CoreService) -> None:
    capped = await inspect_service.inspect.query("SELECT * FROM orders", max_rows=50)
    assert capped.table.num_rows == 50 and capped.truncated
    assert capped.columns[0] == "order_id" and capped.types[0] == "int64"
    whole = await inspect_service.inspect.query("SELECT * FROM events")
    assert whole.table.num_rows == 20 and not whole.truncated and whole.elapsed_ms > 0
    for refused in ("DROP VIEW orders", "SELECT 1; SELECT 2", "COPY orders TO 'x.csv'"):
        with pytest.raises(QueryRefusedError):
            await inspect_service.inspect.query(refused)
    with pytest.raises(QueryFailedError, match=r"read_csv|access|disabled|Permission"):
        await inspect_service.inspect.query("SELECT * FROM read_csv('/etc/passwd')")


async def test_cancelling_interrupts_a_query_that_never_ends(inspect_service: CoreService) -> None:
    task = asyncio.ensure_future(inspect_service.inspect.query(LONG_QUERY))
    await asyncio.sleep(0.5)  # let it start; the test holds whenever the cancel lands
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The thread let go of its connection: the next query runs.
    again = await inspect_service.inspect.query("SELECT 1 AS one")
    assert again.table.column("one").to_pylist() == [1]


async def test_a_time_limit_says_so(inspect_service: CoreService) -> None:
    with pytest.raises(QueryFailedError, match="limit"):
        await inspect_service.inspect.query(LONG_QUERY, timeout_secs=0.2)


async def test_samples_with_a_filter(inspect_service: CoreService) -> None:
    first = await inspect_service.inspect.sample("orders", limit=10)
    assert first.table.num_rows == 10 and first.truncated
    west = await inspect_service.inspect.sample("orders", where="region = 'west'")
    assert set(west.table.column("region").to_pylist()) == {"west"}
    assert west.table.num_rows == 57 and not west.truncated
    # A filter that tries to end the statement and start another never runs.
    with pytest.raises((QueryRefusedError, QueryFailedError)):
        await inspect_service.inspect.sample("orders", where="true); DROP VIEW orders; (true")
    assert (await inspect_service.inspect.sample("orders", limit=1)).table.num_rows == 1
    with pytest.raises(QueryFailedError, match="nope"):
        await inspect_service.inspect.sample("orders", where="nope = 1")


async def test_export_to_parquet_and_csv_with_progress(
    inspect_service: CoreService, tmp_path: Path
) -> None:
    tmp_path = tmp_path / "exports"
    tmp_path.mkdir()
    seen: list[int] = []
    result = await inspect_service.inspect.export(
        "orders", tmp_path / "orders.parquet", ExportFormat.PARQUET, progress=seen.append
    )
    assert result.rows == ORDERS and seen[-1] == ORDERS
    assert result.bytes == (tmp_path / "orders.parquet").stat().st_size
    assert pq.read_table(tmp_path / "orders.parquet").num_rows == ORDERS
    query = "SELECT kind, count(*) AS n FROM events GROUP BY kind ORDER BY kind"
    await inspect_service.inspect.export(query, tmp_path / "kinds.csv", ExportFormat.CSV)
    kinds = pa_csv.read_csv(tmp_path / "kinds.csv")
    assert kinds.column("kind").to_pylist() == ["error", "login", "logout"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kinds.csv", "orders.parquet"]


async def test_an_export_that_cannot_be_written_leaves_nothing(
    inspect_service: CoreService, tmp_path: Path
) -> None:
    # A file where the folder should be (tests run as root here: permissions would not stop
    # the write), and a folder that does not exist.
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a folder")
    for target in (blocked / "orders.parquet", tmp_path / "missing" / "orders.csv"):
        with pytest.raises(ExportFailedError, match="choose a folder you can write to"):
            await inspect_service.inspect.export("orders", target, ExportFormat.PARQUET)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocked", "home"]
    with pytest.raises(QueryRefusedError):
        await inspect_service.inspect.export(
            "DROP VIEW orders", tmp_path / "x.csv", ExportFormat.CSV
        )


async def test_quarantined_rows_with_filters_and_each_row_whole(
    inspect_service: CoreService,
) -> None:
    page = await inspect_service.inspect.quarantine(output="orders")
    assert (page.total, page.truncated) == (3, False)
    entry = page.entries[0]
    assert (entry.column, entry.rule, entry.reason) == (
        "amount",
        "min",
        "value -12.5 is below min 0",
    )
    assert (entry.source_file, entry.row_number) == ("/data/in/orders-2026-01.csv", 3)
    assert (entry.job_id, entry.parser, entry.resolved_by) == (JOB_B, "orders_csv@1.2.0", None)
    assert (await inspect_service.inspect.quarantine(job_id=JOB_A)).total == 0
    assert (await inspect_service.inspect.quarantine(parser="orders_csv@1.2.0")).total == 3
    limited = await inspect_service.inspect.quarantine(limit=2)
    assert len(limited.entries) == 2 and limited.total == 3 and limited.truncated
    row = await inspect_service.inspect.quarantine_row(entry.id)
    assert row.entry == entry and row.values == {"amount": "-12.5"}
    with pytest.raises(QuarantineEntryNotFoundError):
        await inspect_service.inspect.quarantine_row("orders:nojob:99")
