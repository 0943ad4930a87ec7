"""The next input's job starts while the current one commits: results, skips and failures
stay exactly what they would be one input at a time."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow.parquet as pq

from casparian_core.bridge.protocol import ErrorCode
from casparian_core.config import Settings
from casparian_core.engine.results import RunOptions, RunResult, RunStatus
from casparian_core.engine.run import run_parser
from tests.bridge.conftest import WriteParser
from tests.engine.test_run_parser import SALES_PARSER

# Crashes the guest on any input whose first line is "crash".
CRASH_ON_MARK = SALES_PARSER.replace(
    "return csv.read_csv(path)",
    "if open(path).readline().strip() == 'crash':\n"
    "            import os; os._exit(9)\n"
    "        return csv.read_csv(path)",
)


def write_inputs(folder: Path, texts: list[str]) -> list[Path]:
    paths = []
    for number, text in enumerate(texts):
        paths.append(folder / f"in{number}.csv")
        paths[-1].write_text(text)
    return paths


def test_the_same_content_twice_runs_once_then_skips(
    fast_settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    # The second input's part is the first one's: whether to skip it depends on that commit.
    inputs = write_inputs(tmp_path, ["id,amount\n1,2.5\n"] * 2 + ["id,amount\n2,3.5\n"])
    sink = f"parquet://{tmp_path / 'out'}"
    results = run_parser(write_parser(SALES_PARSER), inputs, fast_settings, RunOptions(sink))
    assert [r.status for r in results] == [
        RunStatus.COMPLETED,
        RunStatus.SKIPPED,
        RunStatus.COMPLETED,
    ]
    assert sorted(pq.read_table(tmp_path / "out" / "sales").column("id").to_pylist()) == [1, 2]


def test_a_crash_on_the_next_input_leaves_the_committed_one_whole(
    fast_settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    inputs = write_inputs(tmp_path, ["id,amount\n1,2.5\n", "crash\n", "id,amount\n3,1.0\n"])
    sink = f"parquet://{tmp_path / 'out'}"
    results = run_parser(write_parser(CRASH_ON_MARK), inputs, fast_settings, RunOptions(sink))
    assert [(r.status, r.error_code) for r in results] == [
        (RunStatus.COMPLETED, None),
        (RunStatus.FAILED, ErrorCode.CRASHED),
        (RunStatus.COMPLETED, None),
    ]
    assert sorted(pq.read_table(tmp_path / "out" / "sales").column("id").to_pylist()) == [1, 3]


def test_cancelling_after_an_input_stops_the_run_and_its_early_job(
    fast_settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    inputs = write_inputs(tmp_path, [f"id,amount\n{n},1.0\n" for n in range(3)])
    cancel = threading.Event()

    def cancel_after_first(result: RunResult) -> None:
        cancel.set()  # by now the second input's job is already with the guest

    sink = f"parquet://{tmp_path / 'out'}"
    results = run_parser(
        write_parser(SALES_PARSER),
        inputs,
        fast_settings,
        RunOptions(sink),
        on_result=cancel_after_first,
        cancel=cancel,
    )
    assert [r.status for r in results] == [RunStatus.COMPLETED]
    assert pq.read_table(tmp_path / "out" / "sales").column("id").to_pylist() == [0]
