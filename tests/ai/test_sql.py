"""Read-only SQL over the outputs (inspect/sql.py): rows capped, and nothing but a SELECT over
the output folder runs, whatever the SQL tries."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from casparian_core.inspect.errors import QueryFailedError, QueryRefusedError
from casparian_core.inspect.sql import run_query, table_schemas


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    folder = tmp_path / "output"
    (folder / "sales").mkdir(parents=True)
    (folder / "sales_quarantine").mkdir()
    pq.write_table(
        pa.table({"id": range(250), "amount": [1.5] * 250}), folder / "sales" / "p1.parquet"
    )
    pq.write_table(
        pa.table({"reason": ["amount: min"]}), folder / "sales_quarantine" / "p1.parquet"
    )
    return folder


def test_a_select_over_a_view_per_table_with_rows_capped(outputs: Path) -> None:
    result = run_query(outputs, "SELECT id, amount FROM sales ORDER BY id", max_rows=100)
    assert result.columns == ["id", "amount"] and result.types == ["BIGINT", "DOUBLE"]
    assert len(result.rows) == 100 and result.rows[0] == (0, 1.5) and result.truncated
    counted = run_query(outputs, "SELECT count(*) FROM sales_quarantine", max_rows=10)
    assert counted.rows == [(1,)] and not counted.truncated


def test_the_schemas_of_the_tables(outputs: Path) -> None:
    schemas = {s.name: s for s in table_schemas(outputs)}
    assert schemas["sales"].rows == 250
    assert schemas["sales"].columns == [("id", "BIGINT"), ("amount", "DOUBLE")]
    assert set(schemas) == {"sales", "sales_quarantine"}


@pytest.mark.parametrize(
    "sql",
    [
        "DROP VIEW sales",
        "COPY (SELECT * FROM sales) TO '{out}/stolen.csv'",
        "ATTACH '{out}/other.duckdb'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "CREATE TABLE t AS SELECT 1",
        "PRAGMA version",
        "SELECT 1; DROP VIEW sales",
    ],
)
def test_anything_but_one_select_is_refused_before_it_runs(outputs: Path, sql: str) -> None:
    with pytest.raises(QueryRefusedError):
        run_query(outputs, sql.format(out=outputs), max_rows=10)
    assert sorted(p.name for p in outputs.iterdir()) == ["sales", "sales_quarantine"]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM read_parquet('{out}/../elsewhere.parquet')",
        "SELECT getenv('HOME')",
        "SELECT * FROM 'https://example.com/data.parquet'",
    ],
)
def test_files_outside_the_outputs_and_the_environment_are_out_of_reach(
    outputs: Path, sql: str
) -> None:
    pq.write_table(pa.table({"secret": [1]}), outputs.parent / "elsewhere.parquet")
    with pytest.raises(QueryFailedError):
        run_query(outputs, sql.format(out=outputs), max_rows=10)


def test_a_bad_query_says_why(outputs: Path) -> None:
    with pytest.raises(QueryFailedError, match="nope"):
        run_query(outputs, "SELECT nope FROM sales", max_rows=10)
