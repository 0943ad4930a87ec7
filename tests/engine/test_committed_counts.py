"""Reports count only what was committed: a failed input reports 0 rows written (and what was
rolled back under its own name); the run's totals agree with the rows on disk."""

from __future__ import annotations

import json
from pathlib import Path

from casparian_core.config import Settings
from casparian_core.engine.results import RunOptions, RunStatus
from casparian_core.engine.run import run_parser
from casparian_core.errors import ErrorCode
from tests.bridge.conftest import WriteParser
from tests.engine.helpers import run_with_file_size_limit, write_inputs
from tests.output_parts import part_rows

# Yields 1,000 rows (and 10 it flags as bad), then raises, on an input that says "fail";
# 10 rows otherwise; 200,000 random ones (a few MB even compressed) on one that says "big".
PARSER = """
    import os
    import pyarrow as pa
    def parse(path):
        kind = open(path).read().strip()
        if kind == "big":
            yield pa.table({"text": [os.urandom(50).hex() for _ in range(200_000)]})
            return
        yield pa.table({"text": [f"{kind} {n}" for n in range(10 if kind != "fail" else 1000)]})
        if kind == "fail":
            raise ValueError("line 1001 is garbage")
"""


def inputs(folder: Path, kinds: list[str]) -> list[Path]:
    folder.mkdir()
    return write_inputs(folder, kinds)


def rows_on_disk(out: Path) -> int:
    return sum(sum(part_rows(folder).values()) for folder in out.iterdir() if folder.is_dir())


def test_a_parser_failing_after_1000_rows_reports_none_written(
    fast_settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    paths = inputs(tmp_path / "in", ["ok", "fail"])
    ok, failed = run_parser(
        write_parser(PARSER), paths, fast_settings, RunOptions(f"parquet://{out}")
    )
    assert (ok.status, ok.rows) == (RunStatus.COMPLETED, 10)
    assert (failed.status, failed.error_code) == (RunStatus.FAILED, ErrorCode.INVALID_DATA)
    [output] = failed.outputs
    assert (output.rows, output.rows_rolled_back) == (0, 1000)
    assert failed.rows == 0
    assert rows_on_disk(out) == ok.rows + failed.rows == 10


def test_under_a_file_size_limit_the_summary_counts_only_the_rows_on_disk(
    write_parser: WriteParser, home: Path, tmp_path: Path
) -> None:
    # The big input's part cannot be written: it fails at its commit, after its rows were
    # counted as they streamed.
    parser = write_parser(PARSER)
    inputs(tmp_path / "in", ["a", "b", "big", "c"])
    out = tmp_path / "out"

    completed = run_with_file_size_limit(home, parser, tmp_path / "in", f"parquet://{out}", 1 << 20)
    assert completed.returncode == 1, completed.stderr
    document = json.loads(completed.stdout)
    statuses = [entry["status"] for entry in document["inputs"]]
    assert statuses == ["COMPLETED", "COMPLETED", "FAILED", "COMPLETED"]
    assert document["inputs"][2]["error_code"] == ErrorCode.SINK_ERROR
    [output] = document["outputs"]
    assert output["rows"] == rows_on_disk(out) == 30
