"""The catalogue's parts as each query sees them: footers read once per process and again when
a part changes, parts of other columns or another column order matched by name, and a part
linked from outside the outputs still out of reach."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from casparian_core.config import Settings
from casparian_core.inspect import footers
from casparian_core.inspect.errors import QueryFailedError
from casparian_core.service import CoreService
from casparian_core.sinks import PartInfo, parquet_bundle
from casparian_core.sinks.parquet_bundle import PartRows
from tests.conftest import fixed_clock
from tests.tui.inspect_support import ORDERS, orders, seed_inspect


@pytest.fixture
def service(settings: Settings) -> CoreService:
    return CoreService(seed_inspect(settings), clock=fixed_clock)


def _orders_folder(service: CoreService) -> Path:
    return service.settings.output_dir / "orders"


async def test_parts_of_other_columns_or_order_are_matched_by_name(service: CoreService) -> None:
    """A parser version that added a column, or wrote them in another order: the values stay
    in their columns (by position they would land in the wrong ones)."""
    later = (
        orders()
        .slice(0, 2)
        .select(["region", "order_id"])
        .append_column("note", pa.array(["x", "y"]))
    )
    pq.write_table(later, _orders_folder(service) / "part-1.parquet")
    result = await service.inspect.query(
        "SELECT count(*) AS n, count(note) AS noted, min(order_id) AS first, "
        "count(DISTINCT region) AS regions FROM orders"
    )
    assert result.table.to_pylist() == [{"n": ORDERS + 2, "noted": 2, "first": 1000, "regions": 4}]


async def test_a_part_replaced_in_place_is_read_again(service: CoreService) -> None:
    part = _orders_folder(service) / "part-1.parquet"
    pq.write_table(orders().slice(0, 10), part)
    assert (await service.inspect.table("orders")).rows == ORDERS + 10
    pq.write_table(orders().slice(0, 30), part)
    os.utime(part, ns=(1, 1))  # even an older time: another size or time is another part
    assert (await service.inspect.table("orders")).rows == ORDERS + 30


async def test_unchanged_parts_are_read_once(service: CoreService) -> None:
    await service.inspect.tables()
    read = footers._footer.cache_info().misses
    await service.inspect.tables()
    await service.inspect.query("SELECT count(*) FROM orders")
    assert footers._footer.cache_info().misses == read


async def test_a_part_linked_from_outside_the_outputs_is_out_of_reach(
    service: CoreService,
) -> None:
    elsewhere = service.settings.output_dir.parent / "elsewhere"
    elsewhere.mkdir()
    pq.write_table(orders().slice(0, 1), elsewhere / "secret.parquet")
    (_orders_folder(service) / "part-1.parquet").symlink_to(elsewhere / "secret.parquet")
    with pytest.raises(QueryFailedError, match="Permission Error"):
        await service.inspect.query("SELECT count(*) FROM orders")


async def test_a_bundle_counts_each_input_part_it_holds(service: CoreService) -> None:
    """A bundle (sinks/parquet_bundle.py) is one file of several inputs' parts: the table
    counts its parts and its rows, and a query reads each row once."""
    before = await service.inspect.table("orders")
    rows = orders().slice(0, 9)
    bundled = [
        PartRows(f"k{n}", PartInfo(f"in{n}", "hash", "1"), rows.slice(3 * n, 3)) for n in range(3)
    ]
    bundle = _orders_folder(service) / parquet_bundle.new_name()
    bundle.write_bytes(parquet_bundle.encode(bundled).to_pybytes())

    after = await service.inspect.table("orders")
    result = await service.inspect.query("SELECT count(*) AS n FROM orders")

    assert (after.rows, after.parts) == (before.rows + 9, before.parts + 3)
    assert result.table.to_pylist() == [{"n": ORDERS + 9}]
