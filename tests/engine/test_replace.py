"""One input's rows are replaced, never added to, in every sink: after any sequence of runs each
input contributes exactly the rows of its latest successful run (DESIGN §8)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from casparian_core.config import Settings
from casparian_core.engine.results import RunOptions, RunResult, RunStatus
from casparian_core.engine.run import run_parser
from casparian_core.errors import ErrorCode
from tests.bridge.conftest import WriteParser
from tests.sinks.conftest import SINK_KINDS, make_case

ROWS = 20_000

NUMBERS_PARSER = """
    name = "numbers"
    version = "VERSION"
    outputs = {"numbers": {"n": {"type": "TYPE", "nullable": False}}}
    def parse(path):
        import pyarrow as pa
        values = [int(line) for line in open(path)]
        yield pa.table({"n": pa.array(values[: len(values) // 2], pa.int64())})
        yield pa.table({"n": pa.array(values[len(values) // 2 :], pa.int64())})
"""


def numbers_parser(write_parser: WriteParser, version: str = "1", kind: str = "int64") -> Path:
    return write_parser(NUMBERS_PARSER.replace("VERSION", version).replace("TYPE", kind))


def write_numbers(path: Path, stop: int, start: int = 0) -> Path:
    path.write_text("".join(f"{n}\n" for n in range(start, stop)))
    return path


def two_inputs(tmp_path: Path) -> tuple[Path, Path]:
    """a.csv holds 0..9, b.csv 10..19."""
    (tmp_path / "data").mkdir()
    return (
        write_numbers(tmp_path / "data" / "a.csv", 10),
        write_numbers(tmp_path / "data" / "b.csv", 20, start=10),
    )


def run(
    parser: Path, inputs: list[Path], settings: Settings, uri: str, **options: object
) -> list[RunResult]:
    return run_parser(parser, inputs, settings, RunOptions(uri, **options))  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", SINK_KINDS)
def test_a_changed_input_a_new_version_and_force_replace_its_rows(
    kind: str, fast_settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    case = make_case(kind, tmp_path)
    (tmp_path / "data").mkdir()
    data = write_numbers(tmp_path / "data" / "ids.csv", ROWS)
    parser = numbers_parser(write_parser)

    def numbers() -> list[int]:
        return [row["n"] for row in case.read("numbers")]  # type: ignore[misc]

    [first] = run(parser, [data], fast_settings, case.uri)
    assert first.status == RunStatus.COMPLETED and len(numbers()) == ROWS

    [unchanged] = run(parser, [data], fast_settings, case.uri)
    assert unchanged.status == RunStatus.SKIPPED

    with data.open("a") as appending:
        appending.write(f"{ROWS}\n")  # one line appended: the same input, changed
    [changed] = run(parser, [data], fast_settings, case.uri)
    assert changed.status == RunStatus.COMPLETED
    assert len(numbers()) == len(set(numbers())) == ROWS + 1

    [new_version] = run(numbers_parser(write_parser, version="2"), [data], fast_settings, case.uri)
    assert new_version.status == RunStatus.COMPLETED
    [forced] = run(
        numbers_parser(write_parser, version="2"), [data], fast_settings, case.uri, force=True
    )
    assert forced.status == RunStatus.COMPLETED
    assert sorted(numbers()) == list(range(ROWS + 1))
    versions = {row["_cf_parser_version"] for row in case.read("numbers")}
    assert versions == {"2"}


@pytest.mark.parametrize("kind", SINK_KINDS)
def test_each_input_keeps_its_own_rows_when_another_is_rerun(
    kind: str, fast_settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    case = make_case(kind, tmp_path)
    first, second = two_inputs(tmp_path)
    parser = numbers_parser(write_parser)
    assert all(r.ok for r in run(parser, [first, second], fast_settings, case.uri))

    write_numbers(first, 5)  # a shrank: its rows become 0..4; b's stay 10..19
    assert all(r.ok for r in run(parser, [first, second], fast_settings, case.uri))
    assert sorted(row["n"] for row in case.read("numbers")) == [*range(5), *range(10, 20)]  # type: ignore[type-var]


@pytest.mark.parametrize("kind", SINK_KINDS)
def test_a_new_schema_beside_other_inputs_rows_is_refused_and_changes_nothing(
    kind: str, fast_settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    case = make_case(kind, tmp_path)
    first, second = two_inputs(tmp_path)
    assert all(
        r.ok for r in run(numbers_parser(write_parser), [first, second], fast_settings, case.uri)
    )
    before = case.read("numbers")

    wider = numbers_parser(write_parser, version="2", kind="string")
    [refused] = run(wider, [first], fast_settings, case.uri)
    assert (refused.status, refused.error_code) == (
        RunStatus.FAILED,
        ErrorCode.OUTPUT_SCHEMA_CHANGED,
    )
    assert "backfill" in (refused.error_message or "")
    assert not refused.transient
    assert case.read("numbers") == before


CRASHING_HOST = """
import os, signal, sys
from pathlib import Path
from casparian_core.config import load_settings
from casparian_core.engine.results import RunOptions
from casparian_core.engine.run import run_parser

parser, data, uri, home = sys.argv[1:5]

def on_log(job_id, level, text):
    # The host dies while the guest streams the changed input's rows: some are written to
    # the sink's staging, none may be seen.
    if "halfway" in text:
        os.kill(int(text.split()[-1]), signal.SIGKILL)
        os._exit(9)

run_parser(Path(parser), [Path(data)], load_settings(env={}, home=Path(home)),
           RunOptions(uri), on_log=on_log)
"""


@pytest.mark.parametrize("kind", SINK_KINDS)
def test_a_host_killed_while_replacing_leaves_the_old_rows_whole(
    kind: str, fast_settings: Settings, write_parser: WriteParser, tmp_path: Path, home: Path
) -> None:
    case = make_case(kind, tmp_path)
    (tmp_path / "data").mkdir()
    data = write_numbers(tmp_path / "data" / "ids.csv", ROWS)
    assert run(numbers_parser(write_parser), [data], fast_settings, case.uri)[0].ok
    write_numbers(data, ROWS + 1)
    slow = write_parser(
        NUMBERS_PARSER.replace("VERSION", "1")
        .replace("TYPE", "int64")
        .replace(
            '        yield pa.table({"n": pa.array(values[len(values) // 2 :], pa.int64())})',
            "        import logging, os, time\n"
            "        logging.getLogger('p').warning('halfway %d', os.getpid())\n"
            "        time.sleep(60)",
        )
    )
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(CRASHING_HOST),
            str(slow),
            str(data),
            case.uri,
            str(home),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 9, child.stderr
    reopened = make_case(kind, tmp_path)
    assert sorted(row["n"] for row in reopened.read("numbers")) == list(range(ROWS))  # type: ignore[type-var]
    assert reopened.leftovers() == []
