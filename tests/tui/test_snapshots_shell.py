"""Pictures of the app shell: Home Hub, help overlay, each mode's empty state, a small terminal."""

from casparian_core.config import Settings
from tests.tui.conftest import TERMINAL, make_app, settle


def test_home_empty(snap_compare, settings: Settings) -> None:
    assert snap_compare(make_app(settings), terminal_size=TERMINAL, run_before=settle)


def test_home_with_data(snap_compare, seeded_settings: Settings) -> None:
    assert snap_compare(make_app(seeded_settings), terminal_size=TERMINAL, run_before=settle)


def test_home_narrow_terminal_stacks_cards(snap_compare, seeded_settings: Settings) -> None:
    assert snap_compare(make_app(seeded_settings), terminal_size=(60, 30), run_before=settle)


def test_help_overlay(snap_compare, settings: Settings) -> None:
    async def open_help(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(make_app(settings), terminal_size=TERMINAL, run_before=open_help)


def _open(key: str):  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await pilot.press(key)
        await settle(pilot)

    return run_before


def test_jobs_empty(snap_compare, settings: Settings) -> None:
    assert snap_compare(make_app(settings), terminal_size=TERMINAL, run_before=_open("alt+j"))


def test_home_at_80_columns_cuts_subtitles_with_an_ellipsis(
    snap_compare, seeded_settings: Settings
) -> None:
    assert snap_compare(make_app(seeded_settings), terminal_size=(80, 24), run_before=settle)
