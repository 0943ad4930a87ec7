"""The parsers folder watcher publishes one ParsersChanged per burst of parser file changes."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from casparian_core.events import Event, EventBus, ParsersChanged
from casparian_core.parsers.watch import is_parser_file, watch_parsers

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
