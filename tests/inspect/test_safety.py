"""Inspect's SQL cannot change or reach past the outputs (issue 17 §5), in two layers:
`service.inspect.query` refuses anything but one SELECT before it runs (DuckDB's own parser
says which kind a statement is), and the catalogue connection itself is locked down by
DuckDB's settings, so the same statements fail on it even with that check out of the way.
A part still being written (the sinks' `.staging` folder) is never part of a table."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from casparian_core.config import Settings
from casparian_core.inspect.catalog import open_catalog
from casparian_core.inspect.errors import QueryFailedError, QueryRefusedError
from casparian_core.service import CoreService
from tests.conftest import fixed_clock
from tests.tui.inspect_support import ORDERS, orders, seed_inspect

CHANGES = [
    "DROP VIEW orders",
    "DELETE FROM orders",
    "INSERT INTO orders (order_id) VALUES (1)",
    "UPDATE orders SET amount = 0",
    "CREATE TABLE t AS SELECT 1",
    "CREATE OR REPLACE VIEW orders AS SELECT 1 AS x",
    "COPY orders TO '{out}/orders/part-9.parquet' (FORMAT parquet)",
    "COPY orders TO '{elsewhere}/stolen.csv'",
    "ATTACH '{elsewhere}/other.duckdb'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "SET lock_configuration = false",
    "RESET allowed_directories",
    "PRAGMA enable_profiling",
    "SELECT 1; DROP VIEW orders",
]

OUT_OF_REACH = [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/hostname')",
    "SELECT * FROM read_parquet('{elsewhere}/secret.parquet')",
    "SELECT * FROM read_parquet('{out}/../elsewhere/secret.parquet')",
    "SELECT getenv('HOME')",
    "SELECT * FROM 'https://example.com/data.parquet'",
]


@pytest.fixture
def service(settings: Settings) -> CoreService:
    return CoreService(seed_inspect(settings), clock=fixed_clock)


@pytest.fixture
def elsewhere(service: CoreService) -> Path:
    """A folder beside the outputs holding a file no query may read."""
    folder = service.settings.output_dir.parent / "elsewhere"
    folder.mkdir()
    pq.write_table(pa.table({"secret": [42]}), folder / "secret.parquet")
    return folder


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _fill(sql: str, service: CoreService, elsewhere: Path) -> str:
    return sql.format(out=service.settings.output_dir.resolve(), elsewhere=elsewhere.resolve())


@pytest.mark.parametrize("sql", CHANGES)
async def test_anything_but_one_select_is_refused_and_changes_nothing(
    service: CoreService, elsewhere: Path, sql: str
) -> None:
    home = service.settings.output_dir.parent
    before = _files(home)
    with pytest.raises(QueryRefusedError, match="SELECT"):
        await service.inspect.query(_fill(sql, service, elsewhere))
    assert _files(home) == before
    count = await service.inspect.query("SELECT count(*) AS n FROM orders")
    assert count.table.column("n").to_pylist() == [ORDERS]


@pytest.mark.parametrize("sql", OUT_OF_REACH)
async def test_files_outside_the_outputs_and_the_environment_are_out_of_reach(
    service: CoreService, elsewhere: Path, sql: str
) -> None:
    with pytest.raises(QueryFailedError):
        await service.inspect.query(_fill(sql, service, elsewhere))


@pytest.mark.parametrize(
    "sql",
    [
        "COPY orders TO '{elsewhere}/stolen.csv'",
        "ATTACH '{elsewhere}/other.duckdb'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "SET allowed_directories = ['/']",
        "SET lock_configuration = false",
        "RESET enable_external_access",
        "INSERT INTO orders (order_id) VALUES (1)",
        "DELETE FROM orders",
        *OUT_OF_REACH,
    ],
)
def test_the_catalogue_connection_refuses_them_without_the_statement_check(
    service: CoreService, elsewhere: Path, sql: str
) -> None:
    """Defence in depth: DuckDB's own lock-down, not our statement check, stops these."""
    home = service.settings.output_dir.parent
    before = _files(home)
    con = open_catalog(service.settings)
    try:
        with pytest.raises(duckdb.Error):
            con.execute(_fill(sql, service, elsewhere)).fetchall()
        # The settings that hold it all are still in force afterwards.
        assert con.execute("SELECT current_setting('enable_external_access')").fetchone() == (
            False,
        )
    finally:
        con.close()
    assert _files(home) == before


async def test_a_part_being_written_is_invisible(service: CoreService) -> None:
    staging = service.settings.output_dir / "orders" / ".staging"
    staging.mkdir()
    pq.write_table(orders().slice(0, 5), staging / "123-abc.parquet")
    (staging / "124-def.parquet").write_bytes(b"PAR1 half written")
    table = await service.inspect.table("orders")
    assert (table.rows, table.parts, table.broken_parts) == (ORDERS, 1, [])
    count = await service.inspect.query("SELECT count(*) AS n FROM orders")
    assert count.table.column("n").to_pylist() == [ORDERS]
