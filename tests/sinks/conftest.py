"""One fixture per sink kind, each on real files in the test's tmp_path, with a reader that
reads the output back with the format's own library."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from casparian_core.sinks import PartInfo, Sink, open_sink
from tests.output_parts import staging_leftovers

INFO = PartInfo("in1.csv", "hash", "1")  # what the parts of these tests are of


@dataclass
class SinkCase:
    kind: str
    uri: str
    sink: Sink
    read: Callable[[str], list[dict[str, object]]]  # output name -> rows, ordered by "n"
    leftovers: Callable[[], list[str]]  # staging traces a reader could stumble on
    root: Path  # the folder the case was made in (make_case(kind, root) opens it again)


def _read_folder(root: Path, suffix: str) -> Callable[[str], list[dict[str, object]]]:
    def read(output: str) -> list[dict[str, object]]:
        parts = sorted((root / output).glob(f"*{suffix}"))
        if suffix == ".parquet":
            tables = [pq.read_table(part) for part in parts]
        else:
            tables = [ipc.open_file(part).read_all() for part in parts]
        rows = [row for table in tables for row in table.to_pylist()]
        return sorted(rows, key=lambda row: (row["n"], str(row)))

    return read


def _read_sqlite(path: Path) -> Callable[[str], list[dict[str, object]]]:
    def read(output: str) -> list[dict[str, object]]:
        if not path.exists():
            return []
        with sqlite3.connect(path) as connection:
            connection.row_factory = sqlite3.Row
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
            if output not in tables:
                return []
            rows = connection.execute(f'SELECT * FROM "{output}" ORDER BY n, _cf_part')
            return [dict(row) for row in rows]

    return read


def _read_duckdb(path: Path) -> Callable[[str], list[dict[str, object]]]:
    def read(output: str) -> list[dict[str, object]]:
        if not path.exists():
            return []
        connection = duckdb.connect(str(path))
        try:
            found = connection.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [output]
            ).fetchall()
            if not found[0][0]:
                return []
            query = f'SELECT * FROM "{output}" ORDER BY n, _cf_part'
            return connection.sql(query).to_arrow_table().to_pylist()
        finally:
            connection.close()

    return read


def _folder_leftovers(root: Path) -> Callable[[], list[str]]:
    def leftovers() -> list[str]:
        return [str(path) for path in staging_leftovers(root)]

    return leftovers


def make_case(kind: str, tmp_path: Path) -> SinkCase:
    if kind in ("parquet", "arrow"):
        root = tmp_path / "out"
        uri = f"{kind}://{root}"
        suffix = ".parquet" if kind == "parquet" else ".arrow"
        return SinkCase(
            kind, uri, open_sink(uri), _read_folder(root, suffix), _folder_leftovers(root), tmp_path
        )
    path = tmp_path / f"out.{kind}"
    uri = f"{kind}:///{path}"
    reader = _read_sqlite(path) if kind == "sqlite" else _read_duckdb(path)
    return SinkCase(kind, uri, open_sink(uri), reader, list, tmp_path)


SINK_KINDS = ("parquet", "arrow", "sqlite", "duckdb")


@pytest.fixture(params=SINK_KINDS)
def case(request: pytest.FixtureRequest, tmp_path: Path) -> SinkCase:
    return make_case(request.param, tmp_path)


@pytest.fixture(params=("sqlite", "duckdb"))
def table_case(request: pytest.FixtureRequest, tmp_path: Path) -> SinkCase:
    return make_case(request.param, tmp_path)


def numbers(start: int, stop: int, tag: str = "a") -> pa.Table:
    return pa.table(
        {
            "n": pa.array(range(start, stop), pa.int64()),
            "tag": pa.array([tag] * (stop - start), pa.string()),
        }
    )
