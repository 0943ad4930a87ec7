"""The parsers folder watcher publishes one ParsersChanged per burst of parser file changes; one
parser's saves are followed for Parser Bench's watch mode."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from casparian_core.events import Event, EventBus, ParsersChanged
from casparian_core.parsers.watch import is_parser_file, parser_saves, watch_parsers

DEADLINE_SECS = 60.0  # an upper bound for a loaded machine, not a timing check


async def test_a_new_parser_file_is_published_and_other_files_are_not(tmp_path: Path) -> None:
    events = EventBus()
    seen: list[Event] = []
    events.subscribe(seen.append)
    task = asyncio.create_task(watch_parsers(tmp_path, events))
    try:
        # The watcher starts in the background: write until it reports (a later write only
        # reports again, which is what a change means).
        async with asyncio.timeout(DEADLINE_SECS):
            while not seen:
                (tmp_path / "notes.txt").write_text("not a parser")
                (tmp_path / "_helper.py").write_text("")
                (tmp_path / "orders.py").write_text("def parse(path):\n    return []\n")
                await asyncio.sleep(0.1)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert all(isinstance(event, ParsersChanged) for event in seen)
    reported = {path.name for event in seen for path in event.paths}  # type: ignore[attr-defined]
    assert reported == {"orders.py"}


def test_parser_files_are_what_discovery_lists() -> None:
    assert is_parser_file(Path("/p/sales.py"))
    assert not is_parser_file(Path("/p/_common.py"))
    assert not is_parser_file(Path("/p/.sales.py.swp"))
    assert not is_parser_file(Path("/p/readme.md"))


async def test_saves_of_one_parser_are_followed_through_a_rename_over_it(tmp_path: Path) -> None:
    parser = tmp_path / "orders.py"
    parser.write_text("def parse(path):\n    return []\n")
    saves = parser_saves(parser)
    next_save = asyncio.ensure_future(anext(saves))
    try:
        async with asyncio.timeout(DEADLINE_SECS):
            # Saved the way editors do, a new file renamed over the old one, until the
            # watcher (starting in the background) sees a save.
            while not next_save.done():
                (tmp_path / "orders.py.tmp").write_text("def parse(path):\n    return [{}]\n")
                (tmp_path / "orders.py.tmp").replace(parser)
                await asyncio.wait({next_save}, timeout=0.1)
        assert next_save.result() is None
    finally:
        next_save.cancel()
        await saves.aclose()
