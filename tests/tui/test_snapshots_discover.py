"""Pictures of Discover's states on a fixed catalogue (fixed files, mtimes and folder paths)."""

from __future__ import annotations

import pytest

from casparian_core.config import Settings
from tests.tui.conftest import TERMINAL, make_app, settle, until_idle
from tests.tui.discover_seed import seed_discover, write_tree


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


def test_discover_files_at_80_columns(snap_compare, seeded: Settings) -> None:
    assert snap_compare(make_app(seeded), terminal_size=(80, 24), run_before=_drive())


def test_discover_after_removing_the_chosen_source(snap_compare, seeded: Settings) -> None:
    async def remove_the_chosen_source(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await pilot.press("alt+d")
        await settle(pilot)
        await pilot.press("1", "down", "enter", "M")
        await settle(pilot)
        await pilot.press("d")
        await until_idle(pilot)  # the question waits for the user: no settle
        await pilot.press("y")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)

    assert snap(snap_compare, seeded, remove_the_chosen_source)


WIDE_CSV = "order_id,order_date,region,customer,sku,quantity,amount\n" + "".join(
    f"{1000 + i},2026-03-0{i + 1},NORTH,Barbara Dijkstra,XYZ-228{i},{i + 3},{3548.85 + i}\n"
    for i in range(5)
)


def test_discover_wide_csv_preview_scrolls_a_column_per_key(
    snap_compare, settings: Settings, request
) -> None:  # type: ignore[no-untyped-def]
    warehouse, _ = seed_discover(settings, request.node.name)
    write_tree(warehouse, {"sales/wide.csv": WIDE_CSV})

    async def scan_and_preview(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await pilot.app.service.scout.scan(warehouse)
        await pilot.press("alt+d")
        await settle(pilot)
        await pilot.press("slash", *"wide", "enter", "p")
        await settle(pilot)
        await pilot.press("right_square_bracket", "right_square_bracket")
        await settle(pilot)

    assert snap_compare(make_app(settings), terminal_size=(80, 24), run_before=scan_and_preview)


def test_discover_sources_manager_at_80_columns(snap_compare, seeded: Settings) -> None:
    run_before = _drive(("M",), dialog=True)
    assert snap_compare(make_app(seeded), terminal_size=(80, 24), run_before=run_before)


def test_discover_no_sources_beside_the_chat(snap_compare, settings: Settings) -> None:
    """The empty state's panel wraps to the pane the open chat leaves instead of being cut."""
    assert snap(snap_compare, settings, _drive(("alt+a",)))


def test_discover_no_sources_at_80_columns(snap_compare, settings: Settings) -> None:
    app = make_app(settings)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_drive())
