"""Parser Bench driven through the real app: real parsers run in real guest subprocesses."""

from __future__ import annotations

import os
import sqlite3
import textwrap
from pathlib import Path

from textual.widgets import Input

from casparian_core.config import Settings
from casparian_core.service import CoreService
from casparian_tui.app import CasparianApp
from casparian_tui.screens.bench_path_picker import PathPickerScreen
from casparian_tui.screens.help import HelpScreen
from casparian_tui.screens.parser_bench import ParserBenchScreen
from casparian_tui.screens.prompt import ConfirmPrompt
from casparian_tui.widgets.arrow_table import ArrowTable
from casparian_tui.widgets.bench_parser_list import ParserDetail, ParserList
from tests.conftest import fixed_clock
from tests.tui.bench_support import (
    CONTRACT_MISMATCH_PARSER,
    GATE_PARSER,
    KEY_ERROR_PARSER,
    READINGS_PARSER,
    bench_settings,
    data_dir,
    finish,
    open_bench,
    open_picker,
    pick,
    preview_text,
    result_text,
    run_test_on,
    until,
    watch_header,
    write_parser,
)
from tests.tui.conftest import TERMINAL, make_app, settle

__all__ = ["bench_settings"]  # the fixture, used by name


def recorded_tests(settings: Settings) -> list[tuple[str, str]]:
    with sqlite3.connect(settings.database_path) as conn:
        return conn.execute(
            "SELECT parser_name, status FROM cf_parser_tests ORDER BY id"
        ).fetchall()


def labels(app) -> dict[str, str]:  # type: ignore[no-untyped-def]
    parser_list = app.screen.query_one(ParserList)
    return {
        parser.name: str(parser_list.get_option(key).prompt)
        for key, parser in parser_list.parsers.items()
    }


async def test_list_shows_health_and_unusable_parsers(bench_settings: Settings) -> None:
    (bench_settings.parsers_dir / "broken.py").write_text("def parse(path)\n")
    os.symlink(bench_settings.home / "nowhere.py", bench_settings.parsers_dir / "dangling.py")
    app = make_app(bench_settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_bench(pilot)
        assert labels(app) == {
            "broken": "✗ broken  unusable",
            "dangling": "✗ dangling  unusable",
            "sales_csv": "· sales_csv 1.0.0  sales",
        }
        detail = app.screen.query_one(ParserDetail)
        assert "~/home/parsers/broken.py" in str(detail.content)
        await pilot.press("down")
        assert "broken symbolic link" in str(detail.content)

        await pilot.press("down")
        await run_test_on(pilot, "q1")

        assert labels(app)["sales_csv"] == "⚠ sales_csv 1.0.0  sales"
        assert "tested 2026-11-27 12:00 UTC" in str(detail.content)
        assert recorded_tests(bench_settings) == [("sales_csv", "COMPLETED_WITH_WARNINGS")]


async def test_t_tests_the_picked_file_and_shows_rows_schema_quarantine(
    bench_settings: Settings,
) -> None:
    app = make_app(bench_settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_bench(pilot)
        picker = await open_picker(pilot)
        assert [str(c.path.name) for c in picker.candidates] == ["sales_clean.csv", "sales_q1.csv"]
        assert all(c.topic_bound for c in picker.candidates)
        await pick(pilot, "q1")  # type to filter: only sales_q1.csv is left
        await finish(pilot)

        shown = result_text(app)
        assert "sales_csv 1.0.0 on ~/home/data/sales_q1.csv" in shown
        assert "COMPLETED_WITH_WARNINGS" in shown
        assert "sales  78 rows written to ~/home/output/sales" in shown
        assert "2 rows quarantined (in sales_quarantine): amount: min (1), region: allowed (1)" in (
            shown
        )
        assert "order_date │ date" in shown.replace("  ", " ").replace("  ", " ")
        assert "first 10 rows" in shown and "Barbara Dijkstra" in shown
        assert "read 80 orders from ~/home/data/sales_q1.csv" in shown  # the parser's log


async def test_failing_parser_shows_code_hint_and_traceback(bench_settings: Settings) -> None:
    write_parser(bench_settings, "orders", KEY_ERROR_PARSER)
    app = make_app(bench_settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_bench(pilot)  # "orders" comes first in the list
        await run_test_on(pilot, "clean")

        shown = result_text(app)
        assert "FAILED SCHEMA_MISMATCH" in shown
        assert "hint: the parser looked up a key that is not there" in shown
        assert "traceback" in shown and "KeyError: 'amt'" in shown
        assert 'File "~/home/parsers/orders.py"' in shown
        assert labels(app)["orders"].startswith("✗ orders")


async def test_contract_mismatch_suggests_the_near_miss_column(bench_settings: Settings) -> None:
    write_parser(bench_settings, "orders", CONTRACT_MISMATCH_PARSER)
    app = make_app(bench_settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_bench(pilot)
        await run_test_on(pilot, "clean")
        assert "hint: column 'amt' not found; did you mean 'amount'?" in result_text(app)


async def test_n_tests_any_py_file_by_path(bench_settings: Settings, tmp_path: Path) -> None:
    outside = tmp_path / "scratch" / "counting.py"
    outside.parent.mkdir()
    outside.write_text(textwrap.dedent("def parse(path):\n    return [{'n': 1}, {'n': 2}]\n"))
    (tmp_path / "scratch" / "notes.txt").write_text("x")
    app = make_app(bench_settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_bench(pilot)
        picker = await open_picker(pilot, "n")
        for wrong, error in (("notes.txt", "not a .py file"), ("missing.py", "no such file")):
            picker.query_one(Input).value = str(tmp_path / "scratch" / wrong)
            await pilot.press("enter")
            assert app.screen is picker
            assert error in str(picker.query_one("#picker-error").content)
        picker.query_one(Input).value = str(outside)
        await pilot.press("enter")

        await until(pilot, lambda: isinstance(app.screen, PathPickerScreen), "the file picker")
        await pilot.pause()
        assert app.screen is not picker
        await pick(pilot, str(data_dir(bench_settings) / "sales_clean.csv"))
        await finish(pilot)

        shown = result_text(app)
        assert "counting 0.0.0 on ~/home/data/sales_clean.csv" in shown
        assert "COMPLETED" in shown and "2 rows written" in shown
        assert "schema (inferred from the data, not enforced)" in shown


async def test_schema_and_first_rows_show_every_type_and_number_whole(
    bench_settings: Settings,
) -> None:
    write_parser(bench_settings, "readings", READINGS_PARSER)
    app = make_app(bench_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_bench(pilot)  # "readings" comes first in the list
        await run_test_on(pilot, "clean")

        shown = result_text(app)
        assert "at     │ timestamp[ms, UTC] │ no" in shown
        assert "tags   │ list<string>       │ yes" in shown
        table = app.screen.query_one(ArrowTable)
        assert preview_text(table).splitlines()[1:3] == [
            "2026-11-27 10:00:00.000Z | sensor-000 | NORTH-EAST | 1234567.891 | "
            "12345678901234.5678 | []",
            "2026-11-27 10:00:01.234Z | sensor-001 | NORTH-EAST | 2469135.782 | "
            "12345678901234.5678 | ['calibrated']",
        ]
        # Every column at least as wide as its widest value: none squeezed, none cut.
        assert table.column_widths == [24, 10, 10, 11, 19, 25]
        assert table.virtual_size.width > table.size.width  # so the table scrolls sideways
        table.focus()
        await pilot.press("end")
        await pilot.pause()
        assert table.scroll_x == table.max_scroll_x > 0


async def test_r_reruns_the_last_test(bench_settings: Settings) -> None:
    app = make_app(bench_settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_bench(pilot)
        await pilot.press("r")  # nothing to re-run yet: nothing happens
        await finish(pilot)
        assert recorded_tests(bench_settings) == []
        await run_test_on(pilot, "clean")
        await pilot.press("r")
        await finish(pilot)
        assert recorded_tests(bench_settings) == [("sales_csv", "COMPLETED")] * 2
        assert "sales_clean.csv" in result_text(app)


async def test_r_reruns_the_highlighted_parsers_last_test(bench_settings: Settings) -> None:
    source = (bench_settings.parsers_dir / "sales_csv.py").read_text()
    twin = source.replace('name = "sales_csv"', 'name = "zz_sales"').replace(
        '"sales": {', '"zz_sales": {'
    )
    write_parser(bench_settings, "zz_sales", twin)
    app = make_app(bench_settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_bench(pilot)
        await pilot.press("down", "r")  # zz_sales was never tested: nothing runs
        await finish(pilot)
        assert recorded_tests(bench_settings) == []
        await pilot.press("up")
        await run_test_on(pilot, "clean")  # sales_csv on sales_clean.csv
        await pilot.press("down")
        await run_test_on(pilot, "q1")  # zz_sales on sales_q1.csv: the bench's latest test
        await pilot.press("up", "r")
        await finish(pilot)
        assert recorded_tests(bench_settings)[-1] == ("sales_csv", "COMPLETED")
        assert "sales_csv 1.0.0 on ~/home/data/sales_clean.csv" in result_text(app)


async def test_a_parser_dropped_into_the_folder_appears_without_leaving(
    bench_settings: Settings,
) -> None:
    app = CasparianApp(CoreService(bench_settings, clock=fixed_clock))  # follows parsers/
    async with app.run_test(size=TERMINAL) as pilot:
        # Not open_bench/settle: they wait for every worker, and the watcher never ends.
        await pilot.press("alt+p")
        await until(pilot, lambda: isinstance(app.screen, ParserBenchScreen), "Parser Bench")
        await until(pilot, lambda: list(labels(app)) == ["sales_csv"], "the parser list")
        source = (bench_settings.parsers_dir / "sales_csv.py").read_text()
        twin = source.replace('name = "sales_csv"', 'name = "dropped"')
        # Written elsewhere and moved in, as a copy or an editor's save lands.
        staged = bench_settings.home / "dropped.py"
        staged.write_text(twin.replace('"sales": {', '"dropped": {'))
        staged.rename(bench_settings.parsers_dir / "dropped.py")
        await until(pilot, lambda: "dropped" in labels(app), "the new parser in the list")
        assert app.current_mode == "parser_bench"


async def test_w_reruns_when_the_parser_is_saved(bench_settings: Settings) -> None:
    parser = bench_settings.parsers_dir / "sales_csv.py"
    app = make_app(bench_settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_bench(pilot)
        await run_test_on(pilot, "clean")
        await pilot.press("w")
        assert watch_header(app) == "● watching sales_csv.py"

        # The watcher starts in a worker: save until a re-run shows up (a later save while the
        # first re-run runs only re-runs again, which is what saving means).
        source = parser.read_text()
        saves = 0

        def rerun_recorded() -> bool:
            nonlocal saves
            saves += 1
            if saves % 10 == 1:
                parser.write_text(source.replace('"1.0.0"', f'"1.0.{saves}"'))
            return len(recorded_tests(bench_settings)) > 1

        await until(pilot, rerun_recorded, "a re-run after saving")
        await finish(pilot)
        assert "sales_csv 1.0." in result_text(app) and "COMPLETED" in result_text(app)

        await pilot.press("w")
        await finish(pilot)
        assert watch_header(app) == ""
        assert not [w for w in app.workers if w.group == "bench-watch" and w.is_running]


async def test_escape_closes_picker_then_cancels_test_then_goes_home(
    bench_settings: Settings,
) -> None:
    write_parser(bench_settings, "gate", GATE_PARSER)
    app = make_app(bench_settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_bench(pilot)  # "gate" comes first in the list
        await open_picker(pilot)
        await pilot.press("escape")
        assert isinstance(app.screen, ParserBenchScreen)

        await open_picker(pilot)
        await pick(pilot, "clean")
        await until(pilot, lambda: "waiting for the gate" in result_text(app), "the log line")
        assert "Running gate on sales_clean.csv…" in result_text(app)

        await pilot.press("escape")
        await finish(pilot)
        assert app.current_mode == "parser_bench"
        assert "CANCELLED" in result_text(app)

        await pilot.press("escape")
        assert app.current_mode == "home"


async def test_empty_home_says_how_to_add_a_parser(bench_settings: Settings) -> None:
    (bench_settings.parsers_dir / "sales_csv.py").unlink()
    app = make_app(bench_settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_bench(pilot)
        shown = result_text(app)
        assert "No parsers in this home yet" in shown
        assert "~/home/parsers" in shown and "casparian run parser.py data.csv" in shown
        await pilot.press("t")  # nothing to test: no picker
        await settle(pilot)
        assert isinstance(app.screen, ParserBenchScreen)


async def test_help_lists_the_bench_keys(bench_settings: Settings) -> None:
    app = make_app(bench_settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_bench(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        lines = {(k.keys, k.description) for k in app.screen.keys}
        assert {
            ("t", "Test on a file"),
            ("Enter", "Test on a file"),
            ("n", "Test any .py"),
            ("r", "Re-run"),
            ("w", "Watch"),
        } <= lines
        assert not any(description == "Cancel test" for _, description in lines)  # none runs


async def test_quitting_during_a_test_asks_first(bench_settings: Settings) -> None:
    write_parser(bench_settings, "gate", GATE_PARSER)
    app = make_app(bench_settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_bench(pilot)
        await open_picker(pilot)
        await pick(pilot, "clean")
        await until(pilot, lambda: "waiting for the gate" in result_text(app), "the log line")
        await pilot.press("ctrl+c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmPrompt), "the question")
        assert "A parser test is still running" in app.screen.question
        await pilot.press("n")  # stay: the test goes on
        await until(pilot, lambda: isinstance(app.screen, ParserBenchScreen), "the bench")
        assert app.is_running
        await pilot.press("ctrl+c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmPrompt), "the question again")
        await pilot.press("y")
        await until(pilot, lambda: not app.is_running, "the app to exit")
