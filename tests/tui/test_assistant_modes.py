"""What each mode tells the assistant: Parser Bench's `a` after a failed test (the error, the
traceback, the input's first lines), Discover's `a` for the files in view. Tests run for real."""

from pathlib import Path

import pytest

from casparian_core.config import Settings
from casparian_tui.widgets.assistant import AssistantSidebar
from casparian_tui.widgets.assistant_input import ChatInput
from casparian_tui.widgets.mode_card import ModeCard
from tests.tui.bench_support import (
    KEY_ERROR_PARSER,
    bench_settings,
    open_bench,
    run_test_on,
    write_parser,
)
from tests.tui.conftest import TERMINAL, make_app, settle, until

__all__ = ["bench_settings"]  # the fixture, used by name


@pytest.fixture(autouse=True)
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-not-used")


async def test_a_after_a_failed_test_asks_why_with_the_failure_as_context(
    bench_settings: Settings,
) -> None:
    parser = write_parser(bench_settings, "orders", KEY_ERROR_PARSER)
    app = make_app(bench_settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_bench(pilot)  # "orders" comes first in the list
        await run_test_on(pilot, "clean")
        await pilot.press("a")
        chat = app.screen.query_one(AssistantSidebar)
        assert chat.display and isinstance(app.focused, ChatInput)
        assert chat.input.text == "Why did this test fail?"

        context = chat.context()
        assert context.mode == "parser_bench"
        assert context.selection["parser"] == "orders"
        assert context.selection["parser_path"] == str(parser)
        assert context.selection["file"].endswith("sales_clean.csv")
        assert context.selection["test_status"] == "FAILED"
        detail = context.detail or ""
        assert f"Parser test of {parser}" in detail
        assert "KeyError: 'amt'" in detail  # the traceback
        assert "Hint: the parser looked up a key that is not there" in detail
        assert "order_id,order_date,region" in detail  # the input's first lines


async def test_a_after_a_quarantine_heavy_test_carries_the_reasons(
    bench_settings: Settings,
) -> None:
    data = bench_settings.home / "data"
    lines = (data / "sales_q1.csv").read_text().splitlines(keepends=True)
    # The example's two rows that break the contract, and 18 good ones: 10% quarantined, as
    # much as the contract allows (the test passes, with warnings).
    bad = [line for line in lines[1:] if ",-" in line or ",CENTRAL," in line]
    good = [line for line in lines[1:] if line not in bad][:18]
    (data / "sales_bad.csv").write_text("".join([lines[0], *bad, *good]))
    app = make_app(bench_settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_bench(pilot)
        await run_test_on(pilot, "bad")
        await pilot.press("a")
        chat = app.screen.query_one(AssistantSidebar)
        assert chat.input.text == "Why did this test fail?"
        context = chat.context()
        assert context.selection["test_status"] == "COMPLETED_WITH_WARNINGS"
        assert (
            "Output sales: 18 rows written, 2 quarantined."
            " Quarantine reasons: amount: min (1), region: allowed (1)."
        ) in (context.detail or "")


async def test_a_after_a_clean_test_opens_an_empty_question(bench_settings: Settings) -> None:
    app = make_app(bench_settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_bench(pilot)
        await run_test_on(pilot, "clean")
        await pilot.press("a")
        chat = app.screen.query_one(AssistantSidebar)
        assert chat.display and chat.input.text == ""
        assert chat.context().selection["test_status"] == "COMPLETED"


async def test_bench_context_names_the_highlighted_parser_before_any_test(
    bench_settings: Settings,
) -> None:
    app = make_app(bench_settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_bench(pilot)
        await pilot.press("alt+a")
        context = app.screen.query_one(AssistantSidebar).context()
        assert context.selection == {
            "parser": "sales_csv",
            "parser_path": str(bench_settings.parsers_dir / "sales_csv.py"),
        }
        assert context.detail is None


async def test_discover_a_asks_for_a_parser_for_the_files_in_view(
    bench_settings: Settings,
) -> None:
    app = make_app(bench_settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_bench(pilot)  # catalogues <home>/data tagged "sales"
        await pilot.press("alt+d")
        await settle(pilot)
        await pilot.press("2", "down", "enter")  # the tag "sales"
        await settle(pilot)
        await pilot.press("a")
        chat = app.screen.query_one(AssistantSidebar)
        assert chat.display and chat.input.text == "Write a parser for these files"
        context = chat.context()
        assert context.mode == "discover"
        assert context.selection["tag"] == "sales"
        assert Path(context.selection["file"]).parent == bench_settings.home / "data"
        assert context.detail == "The file list shows: Files 1–2 of 2."


async def test_discover_a_with_no_files_says_what_to_do(settings: Settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.press("alt+d")
        await settle(pilot)
        await pilot.press("a")
        assert not app.assistant_open


async def test_home_tells_the_numbers_it_shows_and_the_card_last_chosen(
    bench_settings: Settings,
) -> None:
    app = make_app(bench_settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await until(pilot, lambda: all(c.summary != "…" for c in app.query(ModeCard)), "numbers")
        await pilot.press("right")  # the Parser Bench card
        await pilot.press("alt+a")  # the chat takes the focus; the card stays chosen
        await settle(pilot)
        assert isinstance(app.focused, ChatInput)

        context = app.screen.query_one(AssistantSidebar).context()

    assert context.mode == "home" and context.selection == {"card": "parser_bench"}
    detail = context.detail or ""
    assert detail.startswith("The Home Hub shows:")
    assert "- Discover: " in detail and "- Parser Bench: " in detail and "- Jobs: " in detail
    assert "…" not in detail  # the live numbers, not the placeholder
