"""Helpers for driving the real app on a temporary home."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from textual.worker import WorkerCancelled

from casparian_core.config import Settings
from casparian_core.home import prepare_home
from casparian_core.service import CoreService
from casparian_tui.app import CasparianApp
from tests.conftest import fixed_clock
from tests.tui.discover_seed import release_fixed_folders

TERMINAL = (120, 36)
DEADLINE_SECS = 60.0  # an upper bound for a loaded machine, not a timing check


def make_app(settings: Settings) -> CasparianApp:
    app = CasparianApp(CoreService(settings, clock=fixed_clock), watch_sources=False)
    app.cursor_blink = False  # type: ignore[attr-defined]
    return app


async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
    """Wait until the app's workers are done and the screen has repainted."""
    while True:
        try:
            await pilot.app.workers.wait_for_complete()
            break
        except WorkerCancelled:
            continue  # an exclusive worker replaced an older one: wait for the new one
    await pilot.pause()


async def until_idle(pilot) -> None:  # type: ignore[no-untyped-def]
    """Let the screen repaint while a dialog is open: its worker waits for the user, so
    waiting for all workers (settle) would wait forever."""
    for _ in range(3):
        await pilot.pause()


async def until(pilot, condition: Callable[[], bool], what: str) -> None:  # type: ignore[no-untyped-def]
    """Poll `condition` while the app runs, failing after DEADLINE_SECS."""
    deadline = time.monotonic() + DEADLINE_SECS
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await pilot.pause(0.05)


@pytest.fixture
def seeded_settings(settings: Settings) -> Settings:
    """A home with sources, files, parsers, tests and output tables (no jobs: no queue yet)."""
    prepare_home(settings)
    conn = sqlite3.connect(settings.database_path)
    conn.execute("INSERT INTO scout_sources (id, name, path, created_at) VALUES (1,'a','/a','t')")
    conn.execute("INSERT INTO scout_sources (id, name, path, created_at) VALUES (2,'b','/b','t')")
    conn.executemany(
        "INSERT INTO scout_files (source_id, path, rel_path, size, mtime_ns, status, tag,"
        " first_seen, last_seen) VALUES (?, ?, ?, 10, 1, 'new', ?, 't', 't')",
        [(1 + i % 2, f"/x/{i}", str(i), "sales" if i % 3 else None) for i in range(142)],
    )
    conn.executemany(
        "INSERT INTO cf_parser_tests (parser_name, parser_path, input_path, status, tested_at)"
        " VALUES ('sales', '/p', '/x/1', ?, '2026-11-27T10:00:00.000000Z')",
        [("COMPLETED",), ("FAILED",)],
    )
    conn.commit()
    conn.close()
    for name in ("sales", "auth_log", "fixed_width"):
        (settings.parsers_dir / f"{name}.py").write_text("def parse(path):\n    return []\n")
    for table, rows in (("sales", 9000), ("auth_events", 3000), ("widths", 400)):
        folder = settings.output_dir / table
        folder.mkdir()
        pq.write_table(pa.table({"n": list(range(rows))}), folder / "part-0.parquet")
    return settings


def card_text(app: CasparianApp, mode: str) -> str:
    return str(app.screen.query_one(f"#card-{mode}").render())


@pytest.fixture(autouse=True)
def _release_fixed_folders() -> Iterator[None]:
    """The fixed folders a test used stay locked until it ends (see discover_seed)."""
    yield
    release_fixed_folders()
