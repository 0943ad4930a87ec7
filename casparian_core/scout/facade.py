"""`Scout`: the one API of this package, reached as `CoreService.scout`.

All database work goes through the process's gateway (db/gateway.py), off the event loop:
queries on its readers, small changes on its writer, and each scan or watch refresh on a
connection of its own, so a long scan never blocks a listing and short changes go between its
batches. Every change publishes `DataChanged(origin="scout")`; scans also publish `ScanProgress`.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from casparian_core.db.gateway import Gateway
from casparian_core.events import DataChanged, EventBus, ScanProgress
from casparian_core.scout import queries, rules, sources, tagging
from casparian_core.scout.errors import FileNotCataloguedError
from casparian_core.scout.names import openable_path
from casparian_core.scout.preview import Preview, preview_file
from casparian_core.scout.queries import CatalogCounts, FilePage, FileQuery, TagCounts
from casparian_core.scout.rules import RuleInfo
from casparian_core.scout.sources import SourceInfo, SourceRecord
from casparian_core.scout.watch import Watcher

# The scanner and its worker's modules (~50 ms of imports) load with the first scan, not with
# the service, which the TUI starts before its first paint.
if TYPE_CHECKING:
    from casparian_core.scout.scanner import ProgressCallback, ScanSummary

ORIGIN = "scout"


class Scout:
    def __init__(self, db: Gateway, events: EventBus) -> None:
        self._db = db
        self._events = events
        # One scan at a time per source: a watch refresh waits for a running scan and v.v.
        self._scan_locks: dict[int, threading.Lock] = {}
        self._scan_locks_guard = threading.Lock()
        self._watcher: Watcher | None = None

    async def close(self) -> None:
        await self.stop_watching()

    # Scanning.

    async def scan(
        self,
        path: str | Path,
        *,
        name: str | None = None,
        patterns: Sequence[str] = (),
        tag: str | None = None,
        hash_files: bool = True,
        on_progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> ScanSummary:
        """Register `path` as a source if new, scan it, and tag what `patterns` select.

        With `tag`, the files matching any of `patterns` (all files when there are none) get
        that tag as a manual tag. Raises ScanPathNotFoundError / NotAFolderError for bad paths.
        """
        if tag is not None:
            tagging.validate_tag(tag)
        folder = await asyncio.to_thread(sources.resolve_folder, path)
        source = await self._db.write(sources.register, folder, name)
        self._changed()

        def progress(event: ScanProgress) -> None:
            self._events.publish(event)
            if on_progress is not None:
                on_progress(event)

        summary = await asyncio.to_thread(
            self._scan_source, source, hash_files, progress, cancel or threading.Event()
        )
        if tag is not None and not summary.cancelled:
            for query in [FileQuery(source_id=source.id, glob=p) for p in patterns] or [
                FileQuery(source_id=source.id)
            ]:
                await self._db.write(tagging.tag_files, query, tag)
        self._changed()
        return summary

    def _scan_source(
        self,
        source: SourceRecord,
        hash_files: bool,
        on_progress: ProgressCallback,
        cancel: threading.Event,
    ) -> ScanSummary:
        from casparian_core.scout.scanner import Scanner  # lazily, see the imports

        with self._scan_lock(source.id), self._db.own_connection() as conn:
            scanner = Scanner(
                conn, source, hash_files=hash_files, on_progress=on_progress, cancel=cancel
            )
            return scanner.scan()

    def _refresh_paths(self, source: SourceRecord, rel_paths: list[str]) -> None:
        from casparian_core.scout.scanner import Scanner  # lazily, see the imports

        with self._scan_lock(source.id), self._db.own_connection() as conn:
            for rel_path in rel_paths:
                Scanner(conn, source, on_progress=self._events.publish).refresh(rel_path)

    def _scan_lock(self, source_id: int) -> threading.Lock:
        with self._scan_locks_guard:
            return self._scan_locks.setdefault(source_id, threading.Lock())

    # Sources.

    async def sources(self) -> list[SourceInfo]:
        return await self._db.read(sources.list_sources)

    async def find_source(self, name: str) -> SourceRecord:
        """The source called `name`; raises SourceNotFoundError."""
        return await self._db.read(sources.find, name)

    async def remove_source(self, name: str) -> SourceRecord:
        removed = await self._db.write(sources.remove, name)
        self._changed()
        return removed

    async def set_watch(self, name: str, on: bool) -> SourceRecord:
        source = await self._db.write(sources.set_watch, name, on)
        if self._watcher is not None:
            self._watcher.reload()
        self._changed()
        return source

    # Files and tags.

    async def counts(self) -> CatalogCounts:
        return await self._db.read(queries.catalog_counts)

    async def tags(self, source_id: int | None = None) -> TagCounts:
        return await self._db.read(queries.tag_counts, source_id)

    async def files_page(
        self, query: FileQuery | None = None, *, offset: int = 0, limit: int = 100
    ) -> FilePage:
        """One page of files in (source, relative path) order; count_files gives the total."""
        return await self._db.read(
            lambda conn: queries.files_page(conn, query or FileQuery(), offset=offset, limit=limit)
        )

    async def count_files(self, query: FileQuery | None = None, at_most: int | None = None) -> int:
        """The number of files `query` selects; with `at_most`, `at_most + 1` stands for "more
        than at_most" (cheaper: counting stops there)."""
        return await self._db.read(queries.count_files, query or FileQuery(), at_most)

    async def tag_files(self, query: FileQuery, tag: str) -> int:
        """Tag (manually) every file `query` selects; returns how many."""
        changed = await self._db.write(tagging.tag_files, query, tag)
        self._changed()
        return changed

    async def untag_files(self, query: FileQuery) -> int:
        changed = await self._db.write(tagging.untag_files, query)
        self._changed()
        return changed

    async def file_path(self, file_id: int) -> Path:
        """The catalogued file's real path (a name that is not valid UTF-8 included)."""
        found = await self._db.read(queries.file_by_id, file_id)
        if found is None:
            raise FileNotCataloguedError(file_id)
        return Path(os.fsdecode(openable_path(found[0].path, found[1])))

    async def preview(self, file_id: int) -> Preview:
        found = await self._db.read(queries.file_by_id, file_id)
        if found is None:
            raise FileNotCataloguedError(file_id)
        return await asyncio.to_thread(preview_file, *found)

    # Rules.

    async def rules(self) -> list[RuleInfo]:
        return await self._db.read(rules.list_rules)

    async def add_rule(
        self,
        pattern: str,
        tag: str,
        *,
        priority: int = 0,
        source: str | None = None,
        name: str | None = None,
    ) -> int:
        def add(conn: sqlite3.Connection) -> int:
            source_id = sources.find(conn, source).id if source is not None else None
            return rules.add_rule(
                conn, pattern, tag, priority=priority, source_id=source_id, name=name
            )

        rule_id = await self._db.write(add)
        self._changed()
        return rule_id

    async def update_rule(
        self,
        rule_id: int,
        *,
        pattern: str,
        tag: str,
        priority: int = 0,
        source: str | None = None,
        name: str | None = None,
    ) -> None:
        def update(conn: sqlite3.Connection) -> None:
            source_id = sources.find(conn, source).id if source is not None else None
            rules.update_rule(
                conn,
                rule_id,
                pattern=pattern,
                tag=tag,
                priority=priority,
                source_id=source_id,
                name=name,
            )

        await self._db.write(update)
        self._changed()

    async def remove_rule(self, rule_id: int) -> None:
        await self._db.write(rules.remove_rule, rule_id)
        self._changed()

    async def set_rule_enabled(self, rule_id: int, enabled: bool) -> None:
        await self._db.write(rules.set_rule_enabled, rule_id, enabled)
        self._changed()

    # Watching.

    async def start_watching(self) -> None:
        """Follow the sources with watching on until stop_watching() (or close())."""
        if self._watcher is None:
            self._watcher = Watcher(lambda: self._db.read(sources.watched), self._refresh)
            self._watcher.start()

    async def stop_watching(self) -> None:
        if self._watcher is not None:
            await self._watcher.stop()
            self._watcher = None

    async def _refresh(self, source: SourceRecord, rel_paths: list[str]) -> None:
        await asyncio.to_thread(self._refresh_paths, source, rel_paths)
        self._events.publish(DataChanged(origin=f"{ORIGIN} watch"))

    # Plumbing.

    def _changed(self) -> None:
        self._events.publish(DataChanged(origin=ORIGIN))
