"""The Home Hub's Inspect card counts the tables, rows and quarantined rows of every sink the
home knows of: the home's Parquet folder, an Arrow IPC folder, a SQLite and a DuckDB sink file
that jobs wrote to (issue 17 §4)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from casparian_core.config import Settings
from casparian_core.service import CoreService
from tests.conftest import fixed_clock
from tests.inspect.sinks_support import record_job, rejected, sales, write_parts
from tests.tui.conftest import TERMINAL, card_text, make_app, settle

JOB = "c3" * 16


@pytest.fixture
def every_sink(seeded_settings: Settings, tmp_path: Path) -> Settings:
    """The seeded home (3 Parquet tables, 12,400 rows) and a job per other sink: SQLite (30
    rows, 4 quarantined), DuckDB (20 rows, 2 quarantined), Arrow IPC (7 rows)."""
    sinks = tmp_path / "sinks"
    lite = write_parts(
        f"sqlite:///{sinks}/shop.sqlite3",
        {"sales": sales(30, JOB), "sales_quarantine": rejected(4, JOB)},
    )
    duck = write_parts(
        f"duckdb:///{sinks}/warehouse.duckdb",
        {"sales": sales(20, JOB), "sales_quarantine": rejected(2, JOB)},
    )
    arrow = write_parts(f"arrow://{sinks}/feed", {"orders": sales(7, JOB)})

    async def record() -> None:
        async with CoreService(seeded_settings, clock=fixed_clock) as service:
            for minutes, places in enumerate((lite, duck, arrow)):
                await record_job(service, places, minutes)

    asyncio.run(record())
    return seeded_settings


async def test_stats_count_every_sink(every_sink: Settings) -> None:
    async with CoreService(every_sink, clock=fixed_clock) as service:
        stats = await service.stats()

    assert (stats.tables, stats.rows, stats.quarantined_rows) == (6, 12_457, 6)


async def test_the_inspect_card_shows_every_sinks_counts(every_sink: Settings) -> None:
    app = make_app(every_sink)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        text = card_text(app, "inspect")

    assert "6 tables, 12K rows, 6 quarantined" in text


def test_home_with_every_sink(snap_compare, every_sink: Settings) -> None:
    assert snap_compare(make_app(every_sink), terminal_size=TERMINAL, run_before=settle)
