"""The CLI's start-up path stays light: `casparian run` launches its guest only after the CLI is
imported, so every module imported before that delays the whole run."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from casparian_cli import COMMANDS, build_parser
from tests.cli.support import make_home


def test_importing_the_cli_loads_no_service_pyarrow_or_pandas() -> None:
    probe = (
        "import sys, casparian_cli;"
        "print(' '.join(name for name in sys.argv[1:] if name in sys.modules))"
    )
    names = ["pyarrow", "pandas", "mcp", "casparian_core.service", "casparian_core.scout.scanner"]
    completed = subprocess.run(
        [sys.executable, "-c", probe, *names], capture_output=True, text=True, check=True
    )
    assert completed.stdout.split() == []


def test_starting_the_service_loads_no_scanner() -> None:
    """The TUI starts the service before its first paint; the scanner loads with the first scan."""
    probe = (
        "import sys, casparian_core.service;print('casparian_core.scout.scanner' in sys.modules)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "False"


def test_starting_the_service_loads_no_pyarrow() -> None:
    """`casparian process` opens the service, plans and claims before it launches its guest:
    pyarrow (~0.1 s) loads after, while the guest starts and parses."""
    probe = "import sys, casparian_core.service;print('pyarrow' in sys.modules)"
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "False"


def _loaded_after(code: str, names: list[str]) -> list[str]:
    """Which of `names` are imported once `code` has run in a fresh interpreter."""
    probe = f"import sys;{code};print(' '.join(n for n in sys.argv[1:] if n in sys.modules))"
    completed = subprocess.run(
        [sys.executable, "-c", probe, *names], capture_output=True, text=True, check=True
    )
    return completed.stdout.splitlines()[-1].split()  # the last line: what ran may print


def test_a_command_loads_its_own_module_alone() -> None:
    """`casparian query` must not pay for the daemon's, the assistant's or the pool's imports."""
    others = [f"casparian_cli.{m}" for m in set(COMMANDS.values()) if m != "query"]
    code = "from casparian_cli import build_parser;build_parser(['--home', '/x', 'query', 'x'])"
    assert _loaded_after(code, ["casparian_cli.query", *others]) == ["casparian_cli.query"]


@pytest.mark.parametrize(
    ("argv", "registered"),
    [
        (["--home", "/x", "tag", "-h"], ["tag", "untag"]),
        (["--home=/x", "untag", "a"], ["tag", "untag"]),
        (["--ho", "/x", "start"], ["start", "stop"]),
        (["query", "--home", "/x"], ["query"]),
    ],
)
def test_the_command_is_found_past_the_global_options(
    argv: list[str], registered: list[str]
) -> None:
    assert _commands(build_parser(argv)) == registered


@pytest.mark.parametrize("argv", [[], ["--help"], ["nosuch"], ["--home"], ["-h", "query"]])
def test_help_and_errors_know_every_command_in_order(argv: list[str]) -> None:
    """Every command module registers exactly the commands the table names, in its order."""
    assert _commands(build_parser(argv)) == list(COMMANDS)


def _commands(parser: argparse.ArgumentParser) -> list[str]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(action.choices)


def test_starting_the_service_loads_no_job_pool() -> None:
    """Backfill planning and running load the job pool and the engine when first used."""
    names = [f"casparian_core.{m}" for m in ("jobs.pool", "jobs.plan", "engine.session")]
    assert _loaded_after("import casparian_core.service", names) == []


def test_a_query_over_parquet_parts_loads_no_arrow_dataset(tmp_path: Path) -> None:
    """pyarrow.dataset (~0.15 s: it loads pandas when installed) scans Arrow IPC parts only."""
    home = make_home(tmp_path / "home")
    (home / "output" / "sales").mkdir()
    pq.write_table(pa.table({"n": [1, 2, 3]}), home / "output" / "sales" / "part-0.parquet")
    code = (
        "from casparian_cli import main;"
        f"assert main(['--home', {str(home)!r}, 'query', 'SELECT sum(n) FROM sales']) == 0"
    )
    assert _loaded_after(code, ["pyarrow", "pyarrow.dataset", "pandas"]) == ["pyarrow"]
