"""Parser Bench and the registry: registered versions, contract status, registering after the
approval screen. Registration runs for real on the test's home."""

from __future__ import annotations

import asyncio

from casparian_core.config import Settings
from casparian_core.service import CoreService
from casparian_tui.screens.register_approval import ApprovalScreen
from casparian_tui.widgets.bench_registry import RegistryStatus
from tests.conftest import fixed_clock
from tests.registry.support import write_package
from tests.tui.bench_support import bench_settings, finish, open_bench
from tests.tui.conftest import TERMINAL, make_app, until, until_idle

__all__ = ["bench_settings"]  # the fixture, used by name


def registrable(settings: Settings) -> None:
    """events.py in the parsers folder, with the pyproject.toml and uv.lock it needs."""
    write_package(settings.parsers_dir)
    (settings.parsers_dir / "helpers.py").unlink()  # a helper would be listed as a parser
    (settings.parsers_dir / "sales_csv.py").unlink()


def register_now(settings: Settings) -> None:
    async def run() -> None:
        async with CoreService(settings, clock=fixed_clock) as service:
            plan = await service.registry.prepare(settings.parsers_dir / "events.py")
            await service.registry.register(plan, approver="alice")

    asyncio.run(run())


def status_text(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one(RegistryStatus).content)


def test_a_registered_working_copy_shows_its_versions_and_approved_contract(
    snap_compare, bench_settings: Settings
) -> None:
    registrable(bench_settings)
    register_now(bench_settings)
    assert snap_compare(make_app(bench_settings), terminal_size=TERMINAL, run_before=open_bench)


def test_registering_shows_the_contracts_for_approval(
    snap_compare, bench_settings: Settings
) -> None:
    registrable(bench_settings)

    async def press_g(pilot) -> None:  # type: ignore[no-untyped-def]
        await open_bench(pilot)
        await pilot.press("g")
        await until(pilot, lambda: isinstance(pilot.app.screen, ApprovalScreen), "approval")
        await until_idle(pilot)

    assert snap_compare(make_app(bench_settings), terminal_size=TERMINAL, run_before=press_g)


async def test_approving_registers_declining_does_not_and_a_change_is_a_draft(
    bench_settings: Settings,
) -> None:
    registrable(bench_settings)
    app = make_app(bench_settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_bench(pilot)
        assert "draft: version 1.0.0 is not registered yet" in status_text(app)

        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, ApprovalScreen), "approval")
        await pilot.press("n")
        await finish(pilot)
        assert await app.service.registry.parsers() == []

        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, ApprovalScreen), "approval")
        await pilot.press("y")
        await finish(pilot)
        [registered] = await app.service.registry.parsers()
        assert (registered.name, registered.version) == ("events", "1.0.0")
        assert "approved: the working copy is registered version 1.0.0" in status_text(app)

        events = bench_settings.parsers_dir / "events.py"
        events.write_text(events.read_text().replace('"int64"', '"float64"'))
        app.screen.load_parsers()  # as the parsers folder's watcher does on a save
        await finish(pilot)
        assert "draft: differs from its registered version" in status_text(app)
        assert "registered: 1.0.0" in status_text(app)
