"""`casparian run` as a user runs it: a real process, its exit code, stdout and output files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.bridge.conftest import WriteParser

REPO = Path(__file__).resolve().parents[2]
WAIT_SECS = 60  # generous bound for a slow shared machine; never a timing assertion


def casparian(
    home: Path, *args: str, env: dict[str, str] | None = None, **popen: object
) -> subprocess.Popen[str]:
    environment = {"PATH": os.environ["PATH"], "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "casparian_cli", "--home", str(home), "run", *args],
        env=environment,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **popen,  # type: ignore[arg-type]
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    stdout, stderr = process.communicate(timeout=WAIT_SECS)
    return process.returncode, stdout, stderr


def test_json_output_has_exactly_the_documented_shape(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, _ = finish(
        casparian(
            home,
            str(REPO / "parsers/sales_csv.py"),
            str(REPO / "examples/sales/sales_2026_q1.csv"),
            "--sink",
            f"parquet://{out}",
            "--json",
        )
    )
    assert code == 0
    document = json.loads(stdout)
    assert set(document) == {"status", "error_code", "duration_s", "outputs"}
    assert document["status"] == "COMPLETED_WITH_WARNINGS"
    assert document["error_code"] is None and document["duration_s"] > 0
    [output] = document["outputs"]
    assert set(output) == {"name", "rows", "quarantined", "path"}
    assert output["rows"] > 0 and output["quarantined"] > 0
    assert output["path"] == str(out / output["name"])


def test_several_inputs_aggregate_and_list_each(home: Path, tmp_path: Path) -> None:
    code, stdout, _ = finish(
        casparian(
            home,
            str(REPO / "parsers/sales_csv.py"),
            str(REPO / "examples/sales"),
            "--sink",
            f"parquet://{tmp_path / 'o'}",
            "--json",
        )
    )
    document = json.loads(stdout)
    assert code == 0 and len(document["inputs"]) == 3
    assert document["outputs"][0]["rows"] == 78 + 116 + 59


def test_human_report_and_failure_exit_code(
    home: Path, tmp_path: Path, write_parser: WriteParser
) -> None:
    data = tmp_path / "in.txt"
    data.write_text("x")
    ok = write_parser("def parse(path):\n    print('from the parser')\n    return [{'n': 1}]\n")
    code, stdout, _ = finish(
        casparian(home, str(ok), str(data), "--sink", f"parquet://{tmp_path / 'o'}")
    )
    assert code == 0
    assert "COMPLETED" in stdout and "1 row written" in stdout and "from the parser" in stdout
    bad = write_parser("def parse(path):\n    raise KeyError('amt')\n")
    code, stdout, _ = finish(
        casparian(home, str(bad), str(data), "--sink", f"parquet://{tmp_path / 'o'}")
    )
    assert code == 1
    assert "FAILED (SCHEMA_MISMATCH)" in stdout and "hint:" in stdout


def test_user_errors_exit_2_with_a_message(home: Path, tmp_path: Path) -> None:
    code, _, stderr = finish(casparian(home, str(tmp_path / "nope.py"), str(tmp_path)))
    assert code == 2 and "no such parser file" in stderr
    code, _, stderr = finish(
        casparian(home, str(REPO / "parsers/sales_csv.py"), str(tmp_path / "x*.csv"))
    )
    assert code == 2 and "no file matches" in stderr


def test_whatif_runs_nothing(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, _ = finish(
        casparian(
            home,
            str(REPO / "parsers/sales_csv.py"),
            str(REPO / "examples/sales"),
            "--sink",
            f"parquet://{out}",
            "--whatif",
            "--json",
        )
    )
    assert code == 0
    plan = json.loads(stdout)
    assert plan["parser"]["name"] == "sales_csv" and not plan["inferred"]
    assert len(plan["inputs"]) == 3 and not any(i["would_skip"] for i in plan["inputs"])
    assert list(plan["outputs"]) == list(plan["targets"])
    assert not any(out.rglob("*.parquet"))
    code, stdout, _ = finish(
        casparian(
            home, str(REPO / "parsers/sales_csv.py"), str(REPO / "examples/sales"), "--whatif"
        )
    )
    assert code == 0 and "Nothing was run" in stdout


def test_ctrl_c_exits_130_kills_the_guest_and_commits_nothing(
    home: Path, tmp_path: Path, write_parser: WriteParser
) -> None:
    out = tmp_path / "out"
    # The guest shares our stdout (it may write nowhere else): it says when it streams.
    parser = write_parser(
        """
        import os, time
        def parse(path):
            yield [{"n": 1}]
            print("streaming", os.getpid(), flush=True)
            time.sleep(60)
            yield [{"n": 2}]
        """
    )
    data = tmp_path / "in.txt"
    data.write_text("x")
    process = casparian(home, str(parser), str(data), "--sink", f"parquet://{out}")
    assert process.stdout is not None
    word, guest_pid = process.stdout.readline().split()
    assert word == "streaming"
    process.send_signal(signal.SIGINT)
    code, _, stderr = finish(process)
    assert code == 130, stderr
    assert not [path for path in out.rglob("*") if path.is_file()]  # not even in staging
    with pytest.raises(ProcessLookupError):
        os.kill(int(guest_pid), 0)


def test_breakpoint_waits_in_pdb_beyond_the_heartbeat_timeout(
    home: Path, tmp_path: Path, write_parser: WriteParser
) -> None:
    # Dev mode inherits stdio: pdb reads our "c" from stdin. The heartbeat thread keeps the
    # guest alive while pdb waits longer than guest_timeout_secs.
    parser = write_parser(
        "def parse(path):\n"
        "    print('reached', flush=True)\n"
        "    breakpoint()\n"
        "    return [{'n': 1}]\n"
    )
    data = tmp_path / "in.txt"
    data.write_text("x")
    process = casparian(
        home,
        str(parser),
        str(data),
        "--sink",
        f"parquet://{tmp_path / 'o'}",
        env={"CASPARIAN_GUEST_TIMEOUT_SECS": "2", "CASPARIAN_GUEST_HEARTBEAT_SECS": "0.2"},
        stdin=subprocess.PIPE,
    )
    assert process.stdout is not None
    # The guest's start (slow on a loaded machine) is not part of the wait.
    assert process.stdout.readline() == "reached\n"
    # pdb shows where it stopped, then waits at its prompt.
    assert process.stdout.readline().startswith("> ")
    assert process.stdout.readline().startswith("-> return")
    time.sleep(3)  # longer than the timeout: only heartbeats keep the guest alive
    assert process.stdin is not None
    process.stdin.write("c\n")
    process.stdin.flush()
    code, stdout, stderr = finish(process)
    assert code == 0, stderr
    assert "COMPLETED" in stdout
