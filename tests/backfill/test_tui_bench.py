"""Parser Bench offers a backfill: for a parser with a newer registered version, its registry
lines count the files an older version processed last, and `b` shows the plan for approval, then
runs it (real guests, the real queue and Parquet)."""

from __future__ import annotations

import asyncio
import shutil

from casparian_core.backfill.store import BackfillStatus
from casparian_tui.screens.register_approval import ApprovalScreen
from casparian_tui.widgets.bench_registry import RegistryStatus
from tests.backfill.support import WIDER, processed_home
from tests.backfill.test_reliability import folder_versions
from tests.inspect.replay_support import Home, register
from tests.registry.test_envs import Fixture, locked
from tests.tui.bench_support import finish
from tests.tui.conftest import TERMINAL, make_app, settle, until, until_idle

__all__ = ["locked"]  # the fixture, used by name


def working_copy(home: Home) -> None:
    """The registered project's files in the home's parsers folder: Parser Bench lists it."""
    home.settings.parsers_dir.mkdir(parents=True, exist_ok=True)
    for name in ("prices.py", "pyproject.toml", "uv.lock"):
        shutil.copy(home.project / name, home.settings.parsers_dir / name)


async def test_the_bench_offers_the_backfill_and_runs_it_once_approved(locked: Fixture) -> None:
    home = await processed_home(locked)
    await register(home, WIDER)
    working_copy(home)
    app = make_app(home.settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.press("alt+p")
        await finish(pilot)
        offered = str(app.screen.query_one(RegistryStatus).content)

        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, ApprovalScreen), "the plan")
        await until_idle(pilot)
        plan_lines = "\n".join(app.screen.lines)  # type: ignore[attr-defined]
        await pilot.press("y")
        await finish(pilot)
        [record] = await app.service.backfill.backfills()
        after = str(app.screen.query_one(RegistryStatus).content)

    assert "registered: 1.0.0, 2.0.0" in offered
    assert "3 files last run by 1.0.0: press b to backfill them with 2.0.0" in offered
    assert "from 1.0.0: 3 files" in plan_lines
    assert "expected 'amount' float64, got 'amount' int64" in plan_lines
    assert record.status == BackfillStatus.DONE
    assert folder_versions(home, "prices") == {"2.0.0"}
    assert "press b" not in after  # nothing left to backfill


def test_snapshot_the_offer(snap_compare, locked: Fixture) -> None:
    async def prepare() -> Home:
        home = await processed_home(locked)
        await register(home, WIDER)
        return home

    home = asyncio.run(prepare())
    working_copy(home)

    async def open_bench(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await pilot.press("alt+p")
        await finish(pilot)

    assert snap_compare(make_app(home.settings), terminal_size=TERMINAL, run_before=open_bench)
