"""Lineage columns on valid rows and context columns on quarantined rows."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from casparian_core.contracts import lineage as lineage_module
from casparian_core.contracts.lineage import lineage, quarantine_context
from casparian_core.contracts.validate import QUARANTINE_SCHEMA


def test_lineage_columns_trace_every_row_and_survive_parquet(tmp_path: Path) -> None:
    columns = lineage(
        source_hash="ab" * 32, job_id="job-1", parser="sales_csv", parser_version="1.2.0"
    )
    table = columns.append_to(pa.table({"n": [1, 2, 3]}))
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

    context = quarantine_context(
        source_path="/data/a.csv", job_id="j", parser="p", parser_version="1"
    )
    table = context.append_to(quarantined)

    assert table.column_names[-4:] == ["source_path", "parser", "parser_version", "job_id"]
    assert table.to_pylist()[0]["source_path"] == "/data/a.csv"


def test_lineage_on_an_empty_table_keeps_the_schema() -> None:
    columns = lineage(source_hash="h", job_id="j", parser="p", parser_version="1")
    table = columns.append_to(pa.table({"n": pa.array([], pa.int64())}))

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
    values = {"job_id": "j", "parser": "p", "parser_version": "1"}
    columns = lineage(source_hash="h", **values)
    context = quarantine_context(source_path="/f", **values)
    assert columns.schema_for(base) == columns.append_to(base.empty_table()).schema
    quarantined = context.append_to(QUARANTINE_SCHEMA.empty_table())
    assert context.schema_for(QUARANTINE_SCHEMA) == quarantined.schema


def test_columns_built_once_serve_batches_of_different_schemas() -> None:
    # The appended schema is remembered between batches; a batch of another schema gets its own.
    columns = lineage(source_hash="h", job_id="j", parser="p", parser_version="1")
    first = columns.append_to(pa.table({"n": [1]}))
    other = columns.append_to(pa.table({"s": ["x", "y"]}))
    again = columns.append_to(pa.table({"n": [2, 3]}))
    assert first.column_names[0] == "n" and other.column_names[0] == "s"
    assert other.column("_cf_job_id").to_pylist() == ["j", "j"]
    assert again.schema == first.schema and again.column("n").to_pylist() == [2, 3]


def test_schemas_differing_only_in_metadata_keep_their_own_metadata() -> None:
    columns = lineage(source_hash="h", job_id="j", parser="p", parser_version="1")
    plain = pa.schema([pa.field("n", pa.int64())])
    tagged = plain.with_metadata({"origin": "test"})
    assert columns.schema_for(plain).metadata is None
    assert columns.schema_for(tagged).metadata == {b"origin": b"test"}


def test_batches_shorter_and_longer_than_the_shared_indices_carry_every_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Short batches share one array of indices; a longer one gets its own, never a cut one.
    monkeypatch.setattr(lineage_module, "SHARED_INDICES", 4)
    columns = lineage(source_hash="h", job_id="j", parser="p", parser_version="1")
    short = columns.append_to(pa.table({"n": [1, 2, 3]}))
    long = columns.append_to(pa.table({"n": list(range(10))}))
    pq.write_table(pa.concat_tables([short, long]), tmp_path / "part.parquet")

    written = pq.read_table(tmp_path / "part.parquet")
    assert written.column("_cf_job_id").to_pylist() == ["j"] * 13
    assert written.column("_cf_source_hash").to_pylist() == ["h"] * 13


def test_values_of_any_utf8_length_come_back_exactly() -> None:
    # The columns are built from a buffer of UTF-8 and its offsets: multi-byte characters and
    # an empty value must not shift the values after them.
    context = quarantine_context(
        source_path="/données/ß/€uro.csv", job_id="", parser="p🙂", parser_version="1"
    )
    quarantined = pa.Table.from_batches([], schema=QUARANTINE_SCHEMA)
    row = pa.Table.from_pylist(
        [{"row_index": 0, "column": "c", "rule": "min", "reason": "r", "row_json": "{}"}],
        schema=QUARANTINE_SCHEMA,
    )
    table = context.append_to(pa.concat_tables([quarantined, row]))
    table.validate(full=True)
    assert table.to_pylist()[0] == {
        "row_index": 0,
        "column": "c",
        "rule": "min",
        "reason": "r",
        "row_json": "{}",
        "source_path": "/données/ß/€uro.csv",
        "parser": "p🙂",
        "parser_version": "1",
        "job_id": "",
    }
