"""Pictures of Discover's states on a fixed catalogue (fixed files, mtimes and folder paths)."""

from __future__ import annotations

import pytest

from casparian_core.config import Settings
from tests.tui.conftest import TERMINAL, make_app, settle, until_idle
from tests.tui.discover_seed import seed_discover


def _drive(*steps: tuple[str, ...], dialog: bool = False):  # type: ignore[no-untyped-def]
    """Open Discover, then press each group of keys; a dialog waits for the user, so the
    last step only lets the screen repaint instead of waiting for every worker."""

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await pilot.press("alt+d")
        await settle(pilot)
        for keys in steps:
            await pilot.press(*keys)
            await (until_idle(pilot) if dialog else settle(pilot))
        await until_idle(pilot)

    return run_before


@pytest.fixture
def seeded(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    seed_discover(settings, request.node.name)
    return settings


def snap(snap_compare, settings: Settings, run_before) -> bool:  # type: ignore[no-untyped-def]
    return snap_compare(make_app(settings), terminal_size=TERMINAL, run_before=run_before)


def test_discover_no_sources(snap_compare, settings: Settings) -> None:
    assert snap(snap_compare, settings, _drive())


def test_discover_files(snap_compare, seeded: Settings) -> None:
    assert snap(snap_compare, seeded, _drive())


def test_discover_sources_dropdown_filtered(snap_compare, seeded: Settings) -> None:
    assert snap(snap_compare, seeded, _drive(("1", "w")))


def test_discover_tags_dropdown(snap_compare, seeded: Settings) -> None:
    assert snap(snap_compare, seeded, _drive(("2",)))


def test_discover_filter(snap_compare, seeded: Settings) -> None:
    assert snap(snap_compare, seeded, _drive(("slash", *"*.csv", "enter")))


def test_discover_preview_csv(snap_compare, seeded: Settings) -> None:
    assert snap(snap_compare, seeded, _drive(("down", "down", "p")))


def test_discover_preview_hex(snap_compare, seeded: Settings) -> None:
    assert snap(snap_compare, seeded, _drive(("down", "p")))


def test_discover_tag_prompt(snap_compare, seeded: Settings) -> None:
    assert snap(snap_compare, seeded, _drive(("t",), dialog=True))


def test_discover_bulk_tag_confirm(snap_compare, seeded: Settings) -> None:
    steps = (("slash", *"2026-11", "enter"), ("T",), (*"november", "enter"))
    assert snap(snap_compare, seeded, _drive(*steps, dialog=True))


def test_discover_rules_manager(snap_compare, seeded: Settings) -> None:
    assert snap(snap_compare, seeded, _drive(("R",), dialog=True))


def test_discover_rule_editor(snap_compare, seeded: Settings) -> None:
    assert snap(snap_compare, seeded, _drive(("down", "R"), ("n",), dialog=True))


def test_discover_sources_manager(snap_compare, seeded: Settings) -> None:
    assert snap(snap_compare, seeded, _drive(("M",), dialog=True))


def test_discover_scan_dialog_error(snap_compare, seeded: Settings) -> None:
    steps = (("s",), (*"/no/such/folder", "enter"))
    assert snap(snap_compare, seeded, _drive(*steps, dialog=True))
