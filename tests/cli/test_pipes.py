"""`casparian ... | head`: a reader that goes away ends the command quietly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.support import casparian, write_files

REPO = Path(__file__).resolve().parents[2]


def run_into_closed_pipe(*args: str, home: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command's stdout is a pipe whose reader closed before it started: its first write
    fails, as it would once `head` has read its lines."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "casparian_cli", *args],
            env={**os.environ, "CASPARIAN_HOME": str(home)},
            cwd=cwd,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "command",
    [
        ("files",),
        ("status", "--json"),
        ("run", str(REPO / "parsers" / "sales_csv.py"), str(REPO / "examples" / "sales")),
    ],
    ids=lambda command: command[0],
)
def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path, command: tuple[str, ...]) -> None:
    home = tmp_path / "home"
    assert casparian("scan", str(write_files(tmp_path / "data", 5)), home=home).returncode == 0
    result = run_into_closed_pipe(*command, home=home, cwd=tmp_path)
    assert result.returncode == 141, result.stderr
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr
