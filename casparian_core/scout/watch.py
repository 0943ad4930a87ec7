"""Following watched sources: when files change on disk, re-scan just those paths.

One watchfiles `awatch` covers every watched source; when the set of watched sources changes,
`reload()` ends it and a new one starts with the new set.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable, Iterable

import watchfiles

from casparian_core.scout.sources import SourceRecord

# Changes are batched for this long, so a file written in many small writes is read once.
DEBOUNCE_MS = 300
STEP_MS = 50

WatchedSources = Callable[[], Awaitable[list[SourceRecord]]]
Refresh = Callable[[SourceRecord, list[str]], Awaitable[None]]


class Watcher:
    def __init__(self, watched_sources: WatchedSources, refresh: Refresh) -> None:
        self._watched_sources = watched_sources
        self._refresh = refresh
        self._reload = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._follow(), name="scout-watcher")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    def reload(self) -> None:
        """The watched sources changed: start watching the new set."""
        self._reload.set()

    async def _follow(self) -> None:
        while True:
            self._reload.clear()
            # A watched folder that was deleted cannot be watched; the others still are.
            sources = [s for s in await self._watched_sources() if os.path.isdir(s.path)]
            if not sources:
                await self._reload.wait()
                continue
            async for changes in watchfiles.awatch(
                *(s.path for s in sources),
                stop_event=self._reload,
                debounce=DEBOUNCE_MS,
                step=STEP_MS,
            ):
                for source, rel_paths in changed_paths(sources, (path for _, path in changes)):
                    await self._refresh(source, rel_paths)


def changed_paths(
    sources: list[SourceRecord], paths: Iterable[str]
) -> list[tuple[SourceRecord, list[str]]]:
    """The changed paths of each source, relative to its root, minus those under another one.

    A path under a changed folder is covered by re-scanning the folder.
    """
    # The deepest root first, so nested sources get their own paths.
    by_depth = sorted(sources, key=lambda s: len(s.path), reverse=True)
    grouped: dict[int, set[str]] = {}
    for path in paths:
        for source in by_depth:
            if path.startswith(source.path + os.sep):
                grouped.setdefault(source.id, set()).add(os.path.relpath(path, source.path))
                break
    result = []
    for source in sources:
        # Sorted by parts, a folder comes right before what is under it ('a', 'a/x', 'a.txt').
        rel_paths = sorted(grouped.get(source.id, ()), key=lambda rel: rel.split("/"))
        kept: list[str] = []
        for rel in rel_paths:
            if not kept or not rel.startswith(kept[-1] + "/"):
                kept.append(rel)
        if kept:
            result.append((source, kept))
    return result
