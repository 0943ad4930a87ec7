"""The async store: the control-plane queries CoreService makes, on one aiosqlite connection."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import aiosqlite

from casparian_core.db.connection import ALL_PRAGMAS


@dataclass(frozen=True)
class CatalogCounts:
    files: int
    sources: int
    tags: int
    untagged_files: int
    recent_tests: int
    jobs_by_status: dict[str, int]


class Store:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    @classmethod
    async def open(cls, path: Path) -> Store:
        """Open a database that `connect` has already checked and migrated (CoreService.start
        does so through prepare_home), so start-up opens and checks the file once, not twice."""
        conn = await aiosqlite.connect(path, isolation_level=None)
        for pragma in ALL_PRAGMAS:
            await conn.execute(pragma)
        return cls(conn)

    async def close(self) -> None:
        await self._conn.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def data_version(self) -> int:
        """Changes whenever another connection commits; how we notice the CLI or the daemon."""
        return await self._scalar("PRAGMA data_version")

    async def catalog_counts(self, tests_since: str) -> CatalogCounts:
        files, tags, untagged = await self._row(
            "SELECT count(*), count(DISTINCT tag), count(*) - count(tag) FROM scout_files"
            " WHERE status != 'missing'"
        )
        sources = await self._scalar("SELECT count(*) FROM scout_sources")
        recent_tests = await self._scalar(
            "SELECT count(*) FROM cf_parser_tests WHERE tested_at >= ?", (tests_since,)
        )
        async with self._conn.execute(
            "SELECT status, count(*) FROM cf_processing_queue GROUP BY status ORDER BY status"
        ) as cursor:
            jobs = {status: count async for status, count in cursor}
        return CatalogCounts(files, sources, tags, untagged, recent_tests, jobs)

    async def _row(self, sql: str, params: tuple[object, ...] = ()) -> tuple:
        async with self._conn.execute(sql, params) as cursor:
            row = await cursor.fetchone()
        assert row is not None, sql
        return tuple(row)

    async def _scalar(self, sql: str, params: tuple[object, ...] = ()) -> int:
        return (await self._row(sql, params))[0]
