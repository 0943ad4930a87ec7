"""What `casparian run` prints: one summary for many inputs (a progress bar on a terminal),
each input's detail for one input or with --verbose, and wording that reads right."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from rich.console import Console

from casparian_cli.run_report import print_result
from casparian_core.engine.results import RunResult, RunStatus
from casparian_core.units import format_duration
from tests.cli.support import casparian

WAIT_SECS = 120

AMOUNTS_PARSER = """
import pyarrow.csv as pacsv

class Amounts:
    name = "amounts"
    version = "1"
    outputs = {"amounts": {"a": {"type": "int64", "min": 5}, "b": "int64"}}

    def parse(self, ctx):
        table = pacsv.read_csv(ctx.path)
        if table.column("a").type != "int64":
            raise ValueError(f"column a is not a number in {ctx.path}")
        yield "amounts", table
"""


def many_inputs(folder: Path) -> Path:
    """30 inputs: 2 unparseable, 2 with the same content as an earlier one, the rest with
    rows where a < 5 (quarantined)."""
    folder.mkdir()
    for index in range(30):
        if index in (7, 21):
            text = "a,b\nx,y\n"
        elif index in (12, 25):
            text = "a,b\n3,1\n13,2\n"  # the same content as input 3
        else:
            text = f"a,b\n{index},1\n{index + 10},2\n"
        (folder / f"in{index:02}.csv").write_text(text)
    return folder


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    parser = tmp_path / "amounts.py"
    parser.write_text(textwrap.dedent(AMOUNTS_PARSER))
    return casparian(
        "run", str(parser), *args, home=tmp_path / "no-home", cwd=tmp_path, timeout=WAIT_SECS
    )


def test_many_inputs_print_one_summary(tmp_path: Path) -> None:
    many_inputs(tmp_path / "data")
    result = run(tmp_path, "data")
    assert result.returncode == 1  # two inputs failed
    assert result.stderr == ""  # no progress bar when stderr is not a terminal
    lines = result.stdout.splitlines()
    assert lines[0].startswith("amounts 1 on 30 inputs in ")
    # Inputs with the same content are still two inputs: each has its rows (docs/outputs.md).
    assert lines[0].endswith(": 21 completed, 7 completed with warnings, 2 failed"), lines[0]
    assert f"  amounts: 49 rows written to {tmp_path / 'output' / 'amounts'}" in lines
    assert "    7 rows quarantined (in amounts_quarantine): a: min (7)" in lines
    assert (
        "    data/in07.csv: FAILED (INVALID_DATA): ValueError: column a is not a number in "
        "data/in07.csv"
    ) in lines
    assert sum(line.startswith("  hint (INVALID_DATA): ") for line in lines) == 1
    assert "schema" not in result.stdout and len(lines) < 20


def test_verbose_prints_each_input_then_the_summary(tmp_path: Path) -> None:
    many_inputs(tmp_path / "data")
    result = run(tmp_path, "data", "--verbose")
    heads = [line for line in result.stdout.splitlines() if line.startswith("amounts 1 on data/")]
    assert len(heads) == 30
    assert "amounts 1 on data/in25.csv: COMPLETED_WITH_WARNINGS" in result.stdout
    assert "amounts 1 on 30 inputs in " in result.stdout


def test_a_terminal_gets_a_progress_bar_on_stderr(tmp_path: Path) -> None:
    many_inputs(tmp_path / "data")
    parser = tmp_path / "amounts.py"
    parser.write_text(textwrap.dedent(AMOUNTS_PARSER))
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "casparian_cli", "run", str(parser), "data"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
    )
    os.close(follower)
    terminal = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        terminal += chunk
    stdout, _ = process.communicate(timeout=WAIT_SECS)
    os.close(leader)
    assert b"amounts on 30 inputs" in terminal and b"30/30" in terminal
    assert stdout.startswith("amounts 1 on 30 inputs in ")


def test_one_tiny_input_reads_right(tmp_path: Path) -> None:
    (tmp_path / "one.csv").write_text("a,b\n7,1\n")
    result = run(tmp_path, "one.csv")
    assert result.returncode == 0, result.stderr
    head = result.stdout.splitlines()[0]
    # Under a second in ms (a loaded machine may take longer: then in s), never "0.00 s".
    assert re.fullmatch(r"amounts 1 on one\.csv: COMPLETED in (\d+ ms|\d+\.\d\d s)", head), head
    assert "MB/s" not in result.stdout and "0.00 s" not in result.stdout
    assert "  amounts: 1 row written to " in result.stdout
    assert "first 1 row\n" in result.stdout and "1 rows" not in result.stdout


def test_a_contract_mismatch_says_what_to_do_once(tmp_path: Path) -> None:
    (tmp_path / "one.csv").write_text("a,c\n7,1\n")
    result = run(tmp_path, "one.csv")
    assert result.returncode == 1
    assert "column 'b' (int64) not found" in result.stdout
    advice = [line for line in result.stdout.splitlines() if "`outputs` contract" in line]
    assert advice == [
        "  hint: rename the parser's columns or change its `outputs` contract to match"
    ]


def test_a_near_miss_column_is_named_once(tmp_path: Path) -> None:
    (tmp_path / "one.csv").write_text("a,bb\n7,1\n")
    result = run(tmp_path, "one.csv")
    assert result.stdout.count("did you mean 'bb'") == 1, result.stdout
    assert "hint:" not in result.stdout


def test_a_cancelled_input_says_cancelled_once() -> None:
    result = RunResult(
        "amounts",
        "1",
        Path("in.csv"),
        RunStatus.CANCELLED,
        error_code="CANCELLED",
        error_message="cancelled",
        duration_s=0.0004,
    )
    out = io.StringIO()
    print_result(Console(file=out, width=200), result)
    assert out.getvalue().splitlines()[0] == "amounts 1 on in.csv: CANCELLED after 1 ms"


def test_durations_never_read_zero() -> None:
    assert [format_duration(s) for s in (0.0, 0.0123, 0.999, 1.5, 75.4)] == [
        "1 ms",
        "12 ms",
        "999 ms",
        "1.50 s",
        "1 min 15 s",
    ]
