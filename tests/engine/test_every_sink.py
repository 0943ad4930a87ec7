"""The engine end to end through every sink (Parquet, Arrow IPC, SQLite, DuckDB): valid rows with
lineage, quarantined rows, all-or-nothing per input, several outputs committed together."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from casparian_core.config import Settings
from casparian_core.engine.results import RunOptions, RunResult, RunStatus
from casparian_core.engine.run import run_parser
from casparian_core.errors import ErrorCode
from tests.bridge.conftest import WriteParser
from tests.engine.test_run_parser import SALES_PARSER
from tests.sinks.conftest import SINK_KINDS

Rows = list[dict[str, object]]


def sink_uri(kind: str, tmp_path: Path) -> str:
    if kind in ("parquet", "arrow"):
        return f"{kind}://{tmp_path / 'out'}"
    return f"{kind}:///{tmp_path / f'out.{kind}'}"


def read_output(kind: str, tmp_path: Path, output: str) -> Rows:
    """Every row of an output, read with the format's own library."""
    if kind in ("parquet", "arrow"):
        parts = sorted((tmp_path / "out" / output).glob(f"*.{kind}"))
        if kind == "parquet":
            tables = [pq.read_table(part) for part in parts]
        else:
            tables = [ipc.open_file(pa.memory_map(str(part))).read_all() for part in parts]
        return [row for table in tables for row in table.to_pylist()]
    path = tmp_path / f"out.{kind}"
    if kind == "sqlite":
        with sqlite3.connect(path) as connection:
            connection.row_factory = sqlite3.Row
            return [dict(row) for row in connection.execute(f'SELECT * FROM "{output}"')]
    connection = duckdb.connect(str(path), read_only=True)
    try:
        return connection.sql(f'SELECT * FROM "{output}"').to_arrow_table().to_pylist()
    finally:
        connection.close()


def run(parser: Path, paths: list[Path], settings: Settings, uri: str) -> list[RunResult]:
    return run_parser(parser, paths, settings, RunOptions(uri, force=True))


@pytest.fixture
def sales(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "sales.csv"
    path.parent.mkdir()
    path.write_text("id,amount\n1,2.5\n2,-1\n3,abc\n4,10\n")
    return path


@pytest.mark.parametrize("kind", SINK_KINDS)
def test_valid_rows_with_lineage_and_quarantined_rows(
    kind: str, fast_settings: Settings, write_parser: WriteParser, sales: Path, tmp_path: Path
) -> None:
    uri = sink_uri(kind, tmp_path)
    [result] = run(write_parser(SALES_PARSER), [sales], fast_settings, uri)
    assert result.status == RunStatus.COMPLETED_WITH_WARNINGS
    rows = read_output(kind, tmp_path, "sales")
    assert sorted((row["id"], row["amount"]) for row in rows) == [(1, 2.5), (4, 10.0)]
    assert {(row["_cf_job_id"], row["_cf_parser_version"]) for row in rows} == {
        (result.job_id, "1.0.0")
    }
    quarantined = read_output(kind, tmp_path, "sales_quarantine")
    assert sorted(row["rule"] for row in quarantined) == ["min", "type"]
    assert {row["job_id"] for row in quarantined} == {result.job_id}


@pytest.mark.parametrize("kind", SINK_KINDS)
def test_a_failing_rerun_keeps_the_previous_rows_and_adds_none(
    kind: str, fast_settings: Settings, write_parser: WriteParser, sales: Path, tmp_path: Path
) -> None:
    uri = sink_uri(kind, tmp_path)
    assert run(write_parser(SALES_PARSER), [sales], fast_settings, uri)[0].ok
    before = read_output(kind, tmp_path, "sales")
    failing = SALES_PARSER.replace(
        "return csv.read_csv(path)",
        "yield csv.read_csv(path)\n        raise ValueError('the second chunk is garbage')",
    )
    [result] = run(write_parser(failing), [sales], fast_settings, uri)
    assert (result.status, result.error_code) == (RunStatus.FAILED, ErrorCode.INVALID_DATA)
    assert result.rows == 0 and result.outputs[0].rows_rolled_back == 2
    assert read_output(kind, tmp_path, "sales") == before


LEVEL_2 = """
    class Two:
        name = "two"
        outputs = {"left": {"x": "int64"}, "right": {"y": "string"}}
        def parse(self, ctx):
            count = len(open(ctx.path).read().split())
            yield "left", [{"x": n} for n in range(count)]
            if count > 1:
                yield "right", [{"y": "many"}]
"""


@pytest.mark.parametrize("kind", SINK_KINDS)
def test_an_inputs_outputs_are_replaced_together(
    kind: str, fast_settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    uri = sink_uri(kind, tmp_path)
    parser = write_parser(LEVEL_2)
    data = tmp_path / "words.txt"
    data.write_text("a b c")
    [first] = run(parser, [data], fast_settings, uri)
    assert {output.name: output.rows for output in first.outputs} == {"left": 3, "right": 1}

    data.write_text("a")  # the rerun yields nothing for "right": its old row goes
    [second] = run(parser, [data], fast_settings, uri)
    assert second.status == RunStatus.COMPLETED
    assert [row["x"] for row in read_output(kind, tmp_path, "left")] == [0]
    assert read_output(kind, tmp_path, "right") == []
