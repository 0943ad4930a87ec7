"""Watched sources pick up new, changed and deleted files while the service runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from casparian_core.config import Settings
from casparian_core.scout.queries import FileQuery
from casparian_core.service import CoreService
from tests.scout.conftest import write_tree

DEADLINE_SECS = 10.0


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    deadline = time.monotonic() + DEADLINE_SECS
    while not await check():
        assert time.monotonic() < deadline, "the watcher did not catch up in time"
        await asyncio.sleep(0.05)


async def statuses(service: CoreService) -> dict[str, str]:
    page = await service.scout.files_page(FileQuery(include_missing=True))
    return {row.rel_path: row.status for row in page.rows}


async def test_a_watched_source_follows_changes_on_disk(service: CoreService, data: Path) -> None:
    write_tree(data, {"old.txt": "old", "edit.txt": "v1"})
    await service.scout.scan(data)
    await service.scout.add_rule("*.csv", "sales")
    await service.scout.set_watch("data", True)
    await service.scout.start_watching()
    await asyncio.sleep(0.3)  # let the watcher attach before changing files

    write_tree(data, {"new/arrived.csv": "a,b\n", "edit.txt": "version 2"})
    (data / "old.txt").unlink()

    async def caught_up() -> bool:
        return await statuses(service) == {
            "edit.txt": "changed",
            "new/arrived.csv": "new",
            "old.txt": "missing",
        }

    await eventually(caught_up)
    page = await service.scout.files_page(FileQuery(tag="sales"))
    assert [(row.rel_path, row.kind) for row in page.rows] == [("new/arrived.csv", "text")]


async def test_turning_watch_off_stops_following(service: CoreService, data: Path) -> None:
    await service.scout.scan(data)
    await service.scout.set_watch("data", True)
    await service.scout.start_watching()
    await service.scout.set_watch("data", False)
    await asyncio.sleep(0.3)

    write_tree(data, {"late.txt": "x"})
    await asyncio.sleep(1.0)  # longer than the watcher's debounce; nothing may arrive

    assert await statuses(service) == {}


async def test_the_service_can_start_with_watching(settings: Settings, data: Path) -> None:
    async with CoreService(settings) as first:
        await first.scout.scan(data)
        await first.scout.set_watch("data", True)
    service = CoreService(settings)
    await service.start(watch=True)
    try:
        await asyncio.sleep(0.3)
        write_tree(data, {"hello.txt": "x"})

        async def arrived() -> bool:
            return await statuses(service) == {"hello.txt": "new"}

        await eventually(arrived)
        assert await statuses(service) == {"hello.txt": "new"}
    finally:
        await service.stop()
