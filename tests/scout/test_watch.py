"""Watched sources pick up new, changed and deleted files while the service runs.

The watcher attaches in the background, so no test can know when it starts listening. Instead of
sleeping, each test keeps touching a file until the watcher has seen it (`until_seen`): from then
on, every change is caught. Polling the catalogue is bounded by a deadline, not timed.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from casparian_core.config import Settings
from casparian_core.scout.queries import FileQuery
from casparian_core.service import CoreService
from tests.scout.conftest import write_tree

DEADLINE_SECS = 60.0  # an upper bound for a loaded machine, not a timing check
POLL_SECS = 0.05
TOUCH_EVERY = 10


async def eventually(
    check: Callable[[], Awaitable[bool]], act: Callable[[], None] | None = None
) -> None:
    """Wait until `check()` holds, calling `act()` (when given) before each look."""
    deadline = time.monotonic() + DEADLINE_SECS
    while True:
        if act is not None:
            act()
        if await check():
            return
        assert time.monotonic() < deadline, "the watcher did not catch up in time"
        await asyncio.sleep(POLL_SECS)


async def statuses(service: CoreService, source: str | None = None) -> dict[str, str]:
    source_id = None if source is None else (await service.scout.find_source(source)).id
    page = await service.scout.files_page(FileQuery(source_id=source_id, include_missing=True))
    return {row.rel_path: row.status for row in page.rows}


async def until_seen(service: CoreService, folder: Path, source: str | None = None) -> None:
    """Rewrite a probe file in `folder` until the watcher catalogues it: it is listening now."""
    looks = itertools.count()

    def touch() -> None:
        # Every tenth look, so the watcher's debounce window can close between writes.
        look = next(looks)
        if look % TOUCH_EVERY == 0:
            write_tree(folder, {"probe.txt": f"v{look}"})

    async def seen() -> bool:
        return "probe.txt" in await statuses(service, source)

    await eventually(seen, touch)


async def test_a_watched_source_follows_changes_on_disk(service: CoreService, data: Path) -> None:
    write_tree(data, {"old.txt": "old", "edit.txt": "v1"})
    await service.scout.scan(data)
    await service.scout.add_rule("*.csv", "sales")
    await service.scout.set_watch("data", True)
    await service.scout.start_watching()
    await until_seen(service, data)

    write_tree(data, {"new/arrived.csv": "a,b\n", "edit.txt": "version 2"})
    (data / "old.txt").unlink()

    async def caught_up() -> bool:
        return await statuses(service) == {
            "edit.txt": "changed",
            "new/arrived.csv": "new",
            "old.txt": "missing",
            "probe.txt": "new",
        }

    await eventually(caught_up)
    page = await service.scout.files_page(FileQuery(tag="sales"))
    assert [(row.rel_path, row.kind) for row in page.rows] == [("new/arrived.csv", "text")]


async def test_turning_watch_off_stops_following(
    service: CoreService, data: Path, tmp_path: Path
) -> None:
    # A second, watched source is the control: once a change there arrives, a change made
    # before it in the unwatched source would have arrived too (one watcher serves both).
    control = tmp_path / "control"
    control.mkdir()
    await service.scout.scan(data)
    await service.scout.scan(control)
    await service.scout.set_watch("data", True)
    await service.scout.set_watch("control", True)
    await service.scout.start_watching()
    await service.scout.set_watch("data", False)
    await until_seen(service, control, "control")

    write_tree(data, {"late.txt": "x"})
    write_tree(control, {"after.txt": "y"})

    async def control_caught_up() -> bool:
        return "after.txt" in await statuses(service, "control")

    await eventually(control_caught_up)
    assert await statuses(service, "data") == {}


async def test_the_service_can_start_with_watching(settings: Settings, data: Path) -> None:
    async with CoreService(settings) as first:
        await first.scout.scan(data)
        await first.scout.set_watch("data", True)
    service = CoreService(settings)
    await service.start(watch=True)
    try:
        await until_seen(service, data)
        write_tree(data, {"hello.txt": "x"})

        async def arrived() -> bool:
            return await statuses(service) == {"hello.txt": "new", "probe.txt": "new"}

        await eventually(arrived)
    finally:
        await service.stop()
