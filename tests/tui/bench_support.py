"""Parser Bench test helpers: a home with real parsers and data, and ways to drive the screen.

Tests really run the guest subprocess through the engine; nothing here fakes a run.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import textwrap
from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import Input, Static
from textual.worker import WorkerCancelled

from casparian_core.api import NULL_CELL
from casparian_core.config import Settings
from casparian_core.home import prepare_home
from casparian_tui.app import CasparianApp
from casparian_tui.screens.bench_path_picker import PathPickerScreen
from casparian_tui.widgets.arrow_table import ArrowTable
from casparian_tui.widgets.bench_result import BenchResult
from tests.conftest import REPO_ROOT
from tests.tui.conftest import settle, until

SALES_Q1 = REPO_ROOT / "examples" / "sales" / "sales_2026_q1.csv"  # 2 rows break the contract
CLEAN_ROWS = 10  # the first 10 orders of SALES_Q1 are all valid

# Blocks until a file named "gate" appears beside its input: a test that stays running.
GATE_PARSER = """
    import pathlib
    import time

    def parse(path):
        print("waiting for the gate", flush=True)
        gate = pathlib.Path(path).with_name("gate")
        while not gate.exists():
            time.sleep(0.02)
        return [{"n": 1}]
"""

# Reads a column the input does not have: the guest raises KeyError (SCHEMA_MISMATCH).
KEY_ERROR_PARSER = """
    import csv

    name = "orders"
    version = "0.3.0"

    def parse(path):
        with open(path) as handle:
            rows = list(csv.DictReader(handle))
        return [{"order": row["order_id"], "amount": row["amt"]} for row in rows]
"""

# Its contract names a column the data spells differently: the host suggests the near miss.
CONTRACT_MISMATCH_PARSER = """
    import pyarrow.csv

    name = "orders"
    version = "0.3.0"
    outputs = {"orders": {
        "order_id": {"type": "int64", "nullable": False},
        "amt": {"type": "float64"},
    }}

    def parse(path):
        return pyarrow.csv.read_csv(path).select(["order_id", "amount"])
"""

# Values a preview must show whole: a zoned timestamp, floats past six digits, a wide decimal,
# more columns than an 80-column pane holds.
READINGS_PARSER = """
    import datetime

    name = "readings"
    version = "1.0.0"
    outputs = {"readings": {
        "at": {"type": "timestamp[ms, UTC]", "nullable": False},
        "sensor": "string",
        "region": "string",
        "value": "float64",
        "total": "decimal(18,4)",
        "tags": "list<string>",
    }}

    def parse(path):
        start = datetime.datetime(2026, 11, 27, 10, 0, tzinfo=datetime.timezone.utc)
        return [
            {
                "at": start + datetime.timedelta(milliseconds=1234 * i),
                "sensor": f"sensor-{i:03d}",
                "region": "NORTH-EAST",
                "value": [1234567.891, 2469135.782, 0.1, 1e20, -3.5][i],
                "total": "12345678901234.5678",
                "tags": ["calibrated", "outdoor"][: i % 3],
            }
            for i in range(5)
        ]
"""


@pytest.fixture
def bench_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    """A home with the example sales parser and sales data in `<home>/data`.

    HOME is the test's tmp folder, so the screen writes every path as `~/home/...`: the same
    in every run, which keeps snapshots stable.
    """
    monkeypatch.setenv("HOME", str(tmp_path))
    prepare_home(settings)
    shutil.copy(REPO_ROOT / "parsers" / "sales_csv.py", settings.parsers_dir / "sales_csv.py")
    data = data_dir(settings)
    data.mkdir()
    shutil.copy(SALES_Q1, data / "sales_q1.csv")
    lines = SALES_Q1.read_text().splitlines(keepends=True)
    (data / "sales_clean.csv").write_text("".join(lines[: CLEAN_ROWS + 1]))
    return settings


def data_dir(settings: Settings) -> Path:
    return settings.home / "data"


def write_parser(settings: Settings, name: str, source: str) -> Path:
    path = settings.parsers_dir / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return path


def fix_durations(app: CasparianApp, seconds: float = 0.12) -> CasparianApp:
    """Snapshot tests only: every test result reports `seconds`, so the time and throughput
    on screen are the same in every run. The test itself still runs for real."""
    bench = app.service.bench
    real_test_parser = bench.test_parser

    async def with_fixed_duration(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = await real_test_parser(*args, **kwargs)
        result.duration_s = seconds
        return result

    bench.test_parser = with_fixed_duration  # type: ignore[method-assign]
    return app


async def open_bench(pilot) -> None:  # type: ignore[no-untyped-def]
    """Catalogue `<home>/data` tagged `sales`, then go to Parser Bench as a terminal would."""
    app = pilot.app
    await settle(pilot)
    await app.service.scout.scan(data_dir(app.service.settings), tag="sales")
    await pilot.press("alt+p")
    await finish(pilot)


async def open_picker(pilot, key: str = "t") -> PathPickerScreen:  # type: ignore[no-untyped-def]
    await pilot.press(key)
    await until(pilot, lambda: isinstance(pilot.app.screen, PathPickerScreen), "the picker")
    await pilot.pause()
    assert isinstance(pilot.app.screen, PathPickerScreen)
    return pilot.app.screen


async def pick(pilot, typed: str = "") -> None:  # type: ignore[no-untyped-def]
    """In the open picker: type `typed` (a filter or a path), press Enter. A path is pasted
    rather than typed key by key: each simulated key press costs a repaint."""
    picker = pilot.app.screen
    if "/" in typed:
        picker.query_one(Input).value = typed
    else:
        await pilot.press(*typed)
    await pilot.press("enter")
    await until(pilot, lambda: pilot.app.screen is not picker, "the picker to close")


async def run_test_on(pilot, typed: str = "") -> None:  # type: ignore[no-untyped-def]
    """`t`, pick a file, and wait for the test to finish."""
    await open_picker(pilot)
    await pick(pilot, typed)
    await finish(pilot)


async def finish(pilot) -> None:  # type: ignore[no-untyped-def]
    """Wait for every worker except the endless watcher, including workers started meanwhile."""
    while busy := [w for w in pilot.app.workers if w.is_running and w.group != "bench-watch"]:
        # An exclusive worker may be replaced (a save re-runs the test): that one ends
        # cancelled, and the loop goes on to wait for its successor.
        with contextlib.suppress(WorkerCancelled):
            await pilot.app.workers.wait_for_complete(busy)
        await pilot.pause()
    await pilot.pause()


def result_text(app: CasparianApp) -> str:
    """What the result pane shows, as plain text; a preview table as its labels and cells,
    one row per line, cells joined with " | "."""
    view = app.screen.query_one(BenchResult)
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(view.body.content)
    for widget in view.outputs.children:
        if isinstance(widget, ArrowTable):
            console.print(preview_text(widget), markup=False)
        else:
            assert isinstance(widget, Static)
            console.print(widget.content)
    console.print(view.query_one("#bench-result-log", Static).content)
    return console.export_text()


def preview_text(table: ArrowTable) -> str:
    assert table.backend is not None
    rows = [table.backend.columns, *(table.get_row_at(i) for i in range(table.row_count))]
    return "\n".join(" | ".join(NULL_CELL if v is None else str(v) for v in row) for row in rows)


def watch_header(app: CasparianApp) -> str:
    return str(app.screen.query_one("#bench-watching").content)
