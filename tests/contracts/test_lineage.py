"""Lineage columns on valid rows and context columns on quarantined rows."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from casparian_core.contracts.lineage import (
    add_lineage,
    lineage_schema,
    quarantine_schema,
    quarantine_table,
)
from casparian_core.contracts.validate import QUARANTINE_SCHEMA


def test_lineage_columns_trace_every_row_and_survive_parquet(tmp_path: Path) -> None:
    table = add_lineage(
        pa.table({"n": [1, 2, 3]}),
        source_hash="ab" * 32,
        job_id="job-1",
        parser="sales_csv",
        parser_version="1.2.0",
    )
    pq.write_table(table, tmp_path / "part.parquet")

    rows = pq.read_table(tmp_path / "part.parquet").to_pylist()
    assert rows[2] == {
        "n": 3,
        "_cf_source_hash": "ab" * 32,
        "_cf_job_id": "job-1",
        "_cf_parser": "sales_csv",
        "_cf_parser_version": "1.2.0",
    }


def test_quarantine_table_adds_where_the_rows_came_from() -> None:
    quarantined = pa.Table.from_pylist(
        [{"row_index": 4, "column": "id", "rule": "min", "reason": "r", "row_json": "{}"}],
        schema=QUARANTINE_SCHEMA,
    )

    table = quarantine_table(
        quarantined, source_path="/data/a.csv", job_id="j", parser="p", parser_version="1"
    )

    assert table.column_names[-4:] == ["source_path", "parser", "parser_version", "job_id"]
    assert table.to_pylist()[0]["source_path"] == "/data/a.csv"


def test_lineage_on_an_empty_table_keeps_the_schema() -> None:
    table = add_lineage(
        pa.table({"n": pa.array([], pa.int64())}),
        source_hash="h",
        job_id="j",
        parser="p",
        parser_version="1",
    )

    assert table.num_rows == 0
    assert table.column_names == [
        "n",
        "_cf_source_hash",
        "_cf_job_id",
        "_cf_parser",
        "_cf_parser_version",
    ]


def test_schemas_without_a_table_match_the_tables_written() -> None:
    # Sinks open a part with the schema before any row arrives; the rows must then fit it.
    base = pa.schema([pa.field("n", pa.int64(), nullable=False)])
    context = {"job_id": "j", "parser": "p", "parser_version": "1"}
    lined = add_lineage(base.empty_table(), source_hash="h", **context)
    quarantined = quarantine_table(QUARANTINE_SCHEMA.empty_table(), source_path="/f", **context)
    assert lineage_schema(base) == lined.schema
    assert quarantine_schema(QUARANTINE_SCHEMA) == quarantined.schema
