"""The next input's job starts while the current one commits, and commits finish in the sink's
background: results, skips and failures stay exactly what they would be one input at a time."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow.parquet as pq

from casparian_core.config import Settings
from casparian_core.engine.inputs import part_key
from casparian_core.engine.results import RunOptions, RunStatus
from casparian_core.engine.run import run_parser
from casparian_core.errors import ErrorCode
from tests.bridge.conftest import WriteParser
from tests.engine.helpers import write_inputs
from tests.engine.test_run_parser import SALES_PARSER
from tests.output_parts import staging_leftovers

WAIT_SECS = 20

# Crashes the guest on any input whose first line is "crash".
CRASH_ON_MARK = SALES_PARSER.replace(
    "return csv.read_csv(path)",
    "if open(path).readline().strip() == 'crash':\n"
    "            import os; os._exit(9)\n"
    "        return csv.read_csv(path)",
)


def test_the_same_input_twice_runs_once_then_skips(
    fast_settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    # The second input's part is the first one's: whether to skip it depends on that commit.
    first, second = write_inputs(tmp_path, ["id,amount\n1,2.5\n", "id,amount\n2,3.5\n"])
    inputs = [first, first, second]
    sink = f"parquet://{tmp_path / 'out'}"
    results = run_parser(write_parser(SALES_PARSER), inputs, fast_settings, RunOptions(sink))
    assert [r.status for r in results] == [
        RunStatus.COMPLETED,
        RunStatus.SKIPPED,
        RunStatus.COMPLETED,
    ]
    assert sorted(pq.read_table(tmp_path / "out" / "sales").column("id").to_pylist()) == [1, 2]


def test_a_crash_on_the_next_input_leaves_the_committed_one_whole(
    settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    # The crash may come before or after the host sends the next job (which then finds no
    # guest: tests/bridge/test_dead_guest.py). Default settings: under CPU load the fast ones'
    # 1.5 s heartbeat timeout could end a starved guest with TIMEOUT instead.
    inputs = write_inputs(tmp_path, ["id,amount\n1,2.5\n", "crash\n", "id,amount\n3,1.0\n"])
    sink = f"parquet://{tmp_path / 'out'}"
    results = run_parser(write_parser(CRASH_ON_MARK), inputs, settings, RunOptions(sink))
    assert [(r.status, r.error_code) for r in results] == [
        (RunStatus.COMPLETED, None),
        (RunStatus.FAILED, ErrorCode.CRASHED),
        (RunStatus.COMPLETED, None),
    ]
    assert sorted(pq.read_table(tmp_path / "out" / "sales").column("id").to_pylist()) == [1, 3]


def test_cancelling_while_an_input_parses_keeps_the_finished_ones_and_nothing_of_it(
    fast_settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    # The inputs before the blocked one are finished, their commits possibly still pending in
    # the sink's background thread: they stay; the blocked input and the rest leave nothing.
    parser = write_parser(
        SALES_PARSER.replace(
            "return csv.read_csv(path)",
            "if open(path).readline().strip() == 'block':\n"
            "            import time; print('blocked', flush=True)\n"
            "            time.sleep(60)\n"
            "        return csv.read_csv(path)",
        )
    )
    texts = ["id,amount\n0,1.0\n", "id,amount\n1,1.0\n", "block\n", "id,amount\n3,1.0\n"]
    inputs = write_inputs(tmp_path, texts)
    cancel = threading.Event()

    def cancel_once_blocked(job_id: str | None, level: int, text: str) -> None:
        if text == "blocked":  # the guest's stdout: it may write no file to say so
            cancel.set()

    sink = f"parquet://{tmp_path / 'out'}"
    results = run_parser(
        parser, inputs, fast_settings, RunOptions(sink), on_log=cancel_once_blocked, cancel=cancel
    )
    statuses = [r.status for r in results]
    # The blocked input's job is sent ahead: it may start while the host still validates and
    # writes the input before it, which the cancel then stops too. Every input is either
    # finished and kept, or cancelled and leaves nothing.
    finished = statuses.count(RunStatus.COMPLETED)
    assert finished in (1, 2)
    assert statuses == [RunStatus.COMPLETED] * finished + [RunStatus.CANCELLED] * (
        len(statuses) - finished
    )
    ids = pq.read_table(tmp_path / "out" / "sales").column("id").to_pylist()
    assert sorted(ids) == list(range(finished))
    assert not staging_leftovers(tmp_path / "out")


def test_an_input_whose_commit_fails_loses_only_its_own_output(
    fast_settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    # The second input's part cannot be renamed into place (a folder holds its name); its
    # neighbours, committed in the same background passes, are published all the same.
    inputs = write_inputs(tmp_path, [f"id,amount\n{n},1.0\n" for n in range(3)])
    parser = write_parser(SALES_PARSER)
    blocked = tmp_path / "out" / "sales" / f"part-{part_key(inputs[1].name)}.parquet"
    (blocked / "taken").mkdir(parents=True)
    sink = f"parquet://{tmp_path / 'out'}"
    results = run_parser(parser, inputs, fast_settings, RunOptions(sink))
    assert [(r.status, r.error_code) for r in results] == [
        (RunStatus.COMPLETED, None),
        (RunStatus.FAILED, ErrorCode.SINK_ERROR),
        (RunStatus.COMPLETED, None),
    ]
    assert "could not write" in (results[1].error_message or "")
    parts = sorted((tmp_path / "out" / "sales").glob("*.parquet"))
    ids = [n for part in parts if part.is_file() for n in pq.read_table(part).column("id")]
    assert sorted(n.as_py() for n in ids) == [0, 2]
    assert not staging_leftovers(tmp_path / "out")
