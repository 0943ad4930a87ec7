"""The CLI's start-up path stays light: `casparian run` launches its guest only after the CLI is
imported, so every module imported before that delays the whole run."""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from casparian_cli import COMMANDS, build_parser
from casparian_core.children import PARENT_PID_VARIABLE
from casparian_core.config import load_settings
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


@pytest.fixture(scope="module")
def pandas_installed() -> None:
    """pandas (and numpy) are dev dependencies: without them there is nothing to hide."""
    if importlib.util.find_spec("pandas") is None:
        pytest.skip("pandas is not installed")


HIDE = "from casparian_core.jobs.unused_libraries import hide_unused_libraries"


def test_hidden_pandas_and_numpy_are_never_loaded_by_pyarrow(pandas_installed: None) -> None:
    """pyarrow converts Python values without them (and loads both, unhidden: the check
    bites)."""
    convert = "import pyarrow as pa;assert pa.array([1, None]).null_count == 1;pa.scalar(0)"
    hide = f"{HIDE};assert hide_unused_libraries() == ['pandas', 'numpy']"
    assert _loaded_after(f"{hide};{convert}", ["pandas", "numpy"]) == []
    assert _loaded_after(convert, ["pandas", "numpy"]) == ["pandas", "numpy"]


def test_pandas_stays_usable_when_it_was_loaded_before_the_hiding(pandas_installed: None) -> None:
    code = (
        f"import pandas;{HIDE};assert hide_unused_libraries() == [];import pandas.api.types;"
        "import pyarrow as pa;"
        "assert pa.Table.from_pandas(pandas.DataFrame({'a': [1]})).num_rows == 1"
    )
    assert _loaded_after(code, ["pandas"]) == ["pandas"]


def _run_as(call: str, home: Path, tmp_path: Path) -> list[str]:
    """Whether `casparian run` on a small CSV, invoked by `call`, left pandas loaded."""
    tmp_path.mkdir()
    parser = tmp_path / "rows.py"
    parser.write_text(
        "import pyarrow.csv\n"
        "name = 'rows'\n"
        # A bound: validation converts it from a Python value (rows in their contract's types
        # and lineage need no conversion at all, contracts/lineage.py).
        "outputs = {'rows': {'id': {'type': 'int64', 'min': 0}}}\n"
        "def parse(path):\n"
        "    return pyarrow.csv.read_csv(path)\n"
    )
    data = tmp_path / "data.csv"
    data.write_text("id\n1\n2\n")
    argv = ["--home", str(home), "run", str(parser), str(data), "--json"]
    argv += ["--sink", f"parquet://{tmp_path / 'out'}"]
    code = (  # sys.argv is the command line of main() alone, then again the probe's
        f"names = sys.argv;sys.argv = ['casparian', *{argv!r}];from casparian_cli import main;"
        f"{call};sys.argv = names"
    )
    return _loaded_after(code, ["pandas"])


def test_casparian_run_as_the_program_never_loads_pandas(
    pandas_installed: None, tmp_path: Path
) -> None:
    """The program hides it (its first row validated needs a Python value converted); a caller
    passing argv (a test, sharing its process) keeps it."""
    home = make_home(tmp_path / "home")
    assert _run_as("assert main() == 0", home, tmp_path / "a") == []
    assert _run_as("assert main(sys.argv[1:]) == 0", home, tmp_path / "b") == ["pandas"]


def test_a_worker_process_hides_pandas(pandas_installed: None, tmp_path: Path) -> None:
    """A pool's worker process (here with nothing to claim) runs jobs only: pyarrow's
    conversions after it served load no pandas."""
    home = make_home(tmp_path / "home")
    config = {
        "settings": load_settings(env={}, home=home).model_dump(mode="json"),
        "sink_uri": f"parquet://{tmp_path / 'out'}",
        "offline": True,
        "group": None,
        "name": "test-2",
        "cpus": None,
    }
    code = (
        f"import io, os;os.environ[{PARENT_PID_VARIABLE!r}] = str(os.getppid());"
        f"sys.stdin = io.StringIO({json.dumps(config)!r} + '\\n');"
        "from casparian_core.jobs import worker_process;assert worker_process.main() == 0;"
        "import pyarrow as pa;pa.scalar(0)"
    )
    assert _loaded_after(code, ["pandas"]) == []


def test_process_without_a_terminal_loads_no_progress_bar(tmp_path: Path) -> None:
    """rich's progress bar (~15 ms of imports) only where it shows: on a terminal, not --json."""
    home = make_home(tmp_path / "home")
    code = f"from casparian_cli import main;assert main(['--home', {str(home)!r}, 'process']) == 0"
    assert _loaded_after(code, ["rich", "casparian_cli.run_progress"]) == []


def test_process_leaves_its_objects_to_the_operating_system_at_exit(tmp_path: Path) -> None:
    """Frozen, Python's shutdown does not garbage-collect them (jobs/long_lived.py)."""
    home = make_home(tmp_path / "home")
    code = (
        "import gc;from casparian_cli import main;"
        f"assert main(['--home', {str(home)!r}, 'process', '--json']) == 0;"
        "print(gc.get_freeze_count())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(done.stdout.splitlines()[-1]) > 0  # the last line: `process` prints its summary
