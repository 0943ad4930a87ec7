"""list<…> and struct<…> columns through `casparian run` into every sink, read back from the
real files: natively in Parquet, Arrow IPC and DuckDB, as JSON text in SQLite."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from casparian_cli import main

PARSER = """
from datetime import datetime

outputs = {
    "people": {
        "id": {"type": "int64", "nullable": False},
        "tags": "list<string>",
        "who": {"type": "struct<name: string, age: int32>", "nullable": False},
        "visits": "list<struct<at: timestamp[ms], score: float32>>",
    }
}


def parse(path):
    return [
        {
            "id": 1,
            "tags": ["a", "b"],
            "who": {"age": 30, "name": "Ada"},
            "visits": [{"at": datetime(2026, 11, 27, 10, 15), "score": 0.5}],
        },
        {"id": 2, "tags": [], "who": {"age": 2**40, "name": "Too old"}, "visits": None},
        {"id": 3, "tags": None, "who": {"age": 7, "name": "Bo"}, "visits": []},
    ]
"""
KEPT = [
    {
        "id": 1,
        "tags": ["a", "b"],
        "who": {"name": "Ada", "age": 30},
        "visits": [{"at": datetime(2026, 11, 27, 10, 15), "score": 0.5}],
    },
    {"id": 3, "tags": None, "who": {"name": "Bo", "age": 7}, "visits": []},
]


def run(home: Path, tmp_path: Path, sink: str) -> None:
    parser = tmp_path / "people.py"
    parser.write_text(PARSER)
    data = tmp_path / "people.txt"
    data.write_text("x")
    assert main(["--home", str(home), "run", str(parser), str(data), "--sink", sink]) == 0


def visible(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    return sorted(
        ({key: value for key, value in row.items() if not key.startswith("_cf_")} for row in rows),
        key=lambda row: row["id"],  # type: ignore[arg-type,return-value]
    )


@pytest.mark.parametrize(("scheme", "file_format"), [("parquet", "parquet"), ("arrow", "arrow")])
def test_folder_sinks_hold_nested_columns_natively(
    home: Path, tmp_path: Path, scheme: str, file_format: str
) -> None:
    out = tmp_path / "out"
    run(home, tmp_path, f"{scheme}://{out}")

    table = ds.dataset(out / "people", format=file_format).to_table()
    assert table.schema.field("who").type == pa.struct([("name", pa.string()), ("age", pa.int32())])
    assert visible(table.to_pylist()) == KEPT
    quarantine = ds.dataset(out / "people_quarantine", format=file_format).to_table()
    [row] = quarantine.to_pylist()
    assert (row["column"], row["rule"]) == ("who", "type")
    assert json.loads(row["row_json"])["who"] == {"age": 2**40, "name": "Too old"}


def test_duckdb_holds_nested_columns_natively(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "out.duckdb"
    run(home, tmp_path, f"duckdb:///{path}")

    with duckdb.connect(str(path), read_only=True) as connection:
        types = dict(
            connection.execute("SELECT column_name, column_type FROM (DESCRIBE people)").fetchall()
        )
        rows = connection.sql("SELECT * FROM people").to_arrow_table().to_pylist()
        ages = connection.execute("SELECT who.age FROM people ORDER BY id").fetchall()
    assert types["tags"] == "VARCHAR[]"
    assert types["who"] == 'STRUCT("name" VARCHAR, age INTEGER)'
    assert visible(rows) == KEPT
    assert ages == [(30,), (7,)]


def test_sqlite_stores_nested_columns_as_json_text(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "out.db"
    run(home, tmp_path, f"sqlite:///{path}")

    with sqlite3.connect(path) as connection:
        declared = {row[1]: row[2] for row in connection.execute("PRAGMA table_info(people)")}
        rows = connection.execute(
            "SELECT id, tags, who, visits, json_extract(who, '$.age') FROM people ORDER BY id"
        ).fetchall()
    assert declared["tags"] == declared["who"] == declared["visits"] == "TEXT"
    assert rows == [
        (
            1,
            '["a", "b"]',
            '{"name": "Ada", "age": 30}',
            '[{"at": "2026-11-27 10:15:00.000", "score": 0.5}]',
            30,
        ),
        (3, None, '{"name": "Bo", "age": 7}', "[]", 7),
    ]
