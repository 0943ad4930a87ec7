"""The tools over the outputs of a real prod run, through service.inspect: the tables, capped
read-only SQL, quarantined rows with their reasons (paged) and one row's values, column
statistics and a histogram as numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from casparian_core.ai.actions import ActionStore
from casparian_core.ai.tools.all import toolbox
from casparian_core.ai.tools.base import DEFAULT_CAP_BYTES, ToolEnv, ToolInputError
from casparian_core.service import CoreService
from tests.ai.prod_home import ProdHome
from tests.ai.test_bounds import call
from tests.ai.test_job_tools import ask


async def test_the_tables_with_their_columns_producers_and_quarantine(
    prod_service: CoreService, tmp_path: Path
) -> None:
    listed = await ask(prod_service, tmp_path, "list_output_tables")
    tables = {t["name"]: t for t in listed["tables"]}
    assert set(tables) == {"orders", "orders_quarantine"}
    orders = tables["orders"]
    assert (orders["rows"], orders["quarantined_rows"]) == (7, 2)
    assert orders["quarantine_table"] == "orders_quarantine"
    assert orders["producers"] == ["orders@1.0.0"] and orders["sink"] == "parquet"
    assert {"id BIGINT", "amount DOUBLE"} <= set(orders["columns"])


async def test_a_query_answers_with_capped_rows(prod_service: CoreService, tmp_path: Path) -> None:
    found = await ask(
        prod_service, tmp_path, "query_output", sql="SELECT id, amount FROM orders ORDER BY id"
    )
    assert found["columns"] == ["id int64", "amount double"]
    assert found["rows"][:2] == [[1, 10.5], [2, 7.25]] and len(found["rows"]) == 7
    capped = await ask(prod_service, tmp_path, "query_output", sql="SELECT * FROM orders", limit=3)
    assert len(capped["rows"]) == 3 and "more matched" in capped["note"]


async def test_wide_rows_are_cut_to_whole_rows_that_fit(
    prod_service: CoreService, tmp_path: Path
) -> None:
    sql = "SELECT repeat('x', 1000) AS wide, range AS n FROM range(200)"
    output = await call(prod_service, tmp_path, "query_output", sql=sql, limit=200)
    assert len(output.content.encode()) <= DEFAULT_CAP_BYTES
    found = await ask(prod_service, tmp_path, "query_output", sql=sql, limit=200)
    assert 0 < len(found["rows"]) < 200 and "fit" in found["note"]
    assert [row[1] for row in found["rows"]] == list(range(len(found["rows"])))


@pytest.mark.parametrize(
    ("name", "arguments", "says"),
    [
        ("query_output", {"sql": "DROP VIEW orders"}, "Only SELECT"),
        ("query_output", {"sql": "SELECT nope FROM orders"}, "nope"),
        ("query_output", {"sql": "SELECT 1", "limit": 0}, "limit"),
        ("column_stats", {"table": "nope"}, "No output table"),
        ("column_histogram", {"table": "orders", "column": "nope"}, "no column"),
        ("column_histogram", {"table": "orders", "column": "id", "bins": 500}, "bins"),
        ("quarantine_row", {"id": "orders:nope:1"}, "No quarantined row"),
        ("list_quarantine", {"limit": 1000}, "limit"),
    ],
)
async def test_bad_arguments_are_told_to_the_model(
    prod_service: CoreService, tmp_path: Path, name: str, arguments: dict[str, Any], says: str
) -> None:
    env = ToolEnv(prod_service, ActionStore(prod_service.db, prod_service.clock), tmp_path)
    with pytest.raises(ToolInputError, match=says):
        await toolbox().call(env, name, arguments)


async def test_quarantined_rows_with_their_reasons_paged_and_one_rows_values(
    prod_service: CoreService, prod: ProdHome, tmp_path: Path
) -> None:
    found = await ask(prod_service, tmp_path, "list_quarantine", output="orders")
    rows = [dict(zip(found["columns"], row, strict=True)) for row in found["rows"]]
    assert found["total"] == 2 and "next_offset" not in found
    assert [(r["column"], r["rule"], r["reason"]) for r in rows] == [
        ("amount", "min", "value -1.5 is below min 0"),
        ("amount", "min", "value -2 is below min 0"),
    ]
    assert {Path(r["source_file"]).name for r in rows} == {"mar.csv"}
    assert {r["job_id"] for r in rows} == {prod.jobs["mar.csv"]}
    assert found["on_this_page_by_rule"] == {"orders.amount: min": 2}

    first = await ask(prod_service, tmp_path, "list_quarantine", limit=1)
    second = await ask(prod_service, tmp_path, "list_quarantine", offset=1, limit=1)
    assert first["next_offset"] == 1 and "next_offset" not in second
    assert [first["rows"][0][0], second["rows"][0][0]] == [r["id"] for r in rows]
    by_job = await ask(prod_service, tmp_path, "list_quarantine", job_id=prod.jobs["jan.csv"])
    assert by_job["total"] == 0 and by_job["rows"] == []

    row = await ask(prod_service, tmp_path, "quarantine_row", id=rows[1]["id"])
    assert row["values"] == {"id": "9", "amount": "-2.0"} and row["parser"] == "orders@1.0.0"


async def test_column_statistics_and_a_histogram_as_numbers(
    prod_service: CoreService, tmp_path: Path
) -> None:
    found = await ask(prod_service, tmp_path, "column_stats", table="orders")
    columns = {c["column"]: c for c in found["columns"]}
    assert found["rows"] == 7
    assert (columns["id"]["min"], columns["id"]["max"], columns["id"]["null_pct"]) == (
        "1",
        "8",
        0.0,
    )
    assert columns["amount"]["max"] == "10.5"

    histogram = await ask(
        prod_service, tmp_path, "column_histogram", table="orders", column="amount", bins=5
    )
    assert histogram["kind"] == "numeric" and histogram["nulls"] == 0
    assert sum(count for _, count in histogram["bins"]) == 7 and len(histogram["bins"]) <= 6


async def test_statistics_of_a_very_wide_table_stay_under_the_cap(
    prod_service: CoreService, prod: ProdHome, tmp_path: Path
) -> None:
    folder = prod.settings.output_dir / "wide"
    folder.mkdir()
    columns = {f"column_with_a_rather_long_name_{n:03d}": [f"v{n}"] * 3 for n in range(400)}
    pq.write_table(pa.table(columns), folder / "part-0.parquet")
    found = await ask(prod_service, tmp_path, "column_stats", table="wide")
    assert 0 < len(found["columns"]) < 400 and "of 400 columns" in found["note"]
