"""`service.inspect`: read-only looks at the home's outputs for every face (the TUI's Inspect,
the CLI, the assistant's tools).

Each call runs its DuckDB work in a thread on a fresh locked-down catalogue connection; when
the awaiting task is cancelled the connection is interrupted (again until the thread lets go:
an interrupt between two queries of one call would be missed) and CancelledError is raised
once the thread has stopped.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from casparian_core.inspect import resolutions, stats
from casparian_core.inspect.catalog import (
    CatalogTable,
    Known,
    TableCounts,
    count_tables,
    open_catalog,
    read_catalog,
)
from casparian_core.inspect.errors import QuarantineEntryNotFoundError, TableNotFoundError
from casparian_core.inspect.export import ExportFormat, ExportResult, Progress, export_rows
from casparian_core.inspect.locations import output_locations
from casparian_core.inspect.quarantine import (
    DEFAULT_LIMIT,
    QuarantineEntry,
    QuarantinePage,
    QuarantineRow,
    QuarantineState,
    read_quarantine,
    read_quarantine_row,
    row_values,
)
from casparian_core.inspect.query import MAX_ROWS, QueryResult, run_select

if TYPE_CHECKING:
    import duckdb

    from casparian_core.config import Settings
    from casparian_core.db.gateway import Gateway

T = TypeVar("T")
INTERRUPT_EVERY_SECS = 0.05


class Inspect:
    def __init__(self, settings: Settings, db: Gateway | None = None) -> None:
        self.settings = settings
        self._db = db  # where jobs wrote; the quarantine audit trail (entries a replay resolved)

    async def tables(self) -> list[CatalogTable]:
        return await asyncio.to_thread(read_catalog, self.settings, await self._known())

    async def counts(self) -> TableCounts:
        """Tables, rows and quarantined rows of every sink, without opening DuckDB."""
        return await asyncio.to_thread(count_tables, self.settings, await self._known())

    async def _known(self) -> Known:
        """Where the queue's jobs wrote outputs: the sinks besides the home's output folder. A
        service not started has no control plane open: the output folder alone then."""
        control_plane = self._control_plane()
        if control_plane is None:
            return {}
        return await control_plane.read(output_locations)

    def _control_plane(self) -> Gateway | None:
        """The database, when open: a service not started has none (no audit trail either)."""
        return self._db if self._db is not None and self._db.is_open else None

    async def table(self, name: str) -> CatalogTable:
        for table in await self.tables():
            if table.name == name:
                return table
        raise TableNotFoundError(
            f"No output table is named {name!r}: `casparian tables` lists them."
        )

    async def query(
        self, sql: str, *, max_rows: int = MAX_ROWS, timeout_secs: float | None = None
    ) -> QueryResult:
        return await self._run(lambda con: run_select(con, sql, max_rows, timeout_secs))

    async def column_stats(self, table: str) -> list[stats.ColumnStats]:
        return await self._run(lambda con: stats.column_stats(con, table))

    async def distribution(
        self, table: str, column: str, *, bins: int = stats.DEFAULT_BINS
    ) -> stats.Distribution:
        return await self._run(lambda con: stats.distribution(con, table, column, bins=bins))

    async def sample(
        self, table: str, *, where: str | None = None, limit: int = 1000
    ) -> QueryResult:
        return await self._run(lambda con: stats.sample(con, table, where=where, limit=limit))

    async def export(
        self,
        sql_or_table: str,
        path: Path,
        fmt: ExportFormat,
        progress: Progress | None = None,
    ) -> ExportResult:
        names = {t.name for t in await self.tables()}
        return await self._run(
            lambda con: export_rows(con, sql_or_table, names, path, fmt, progress)
        )

    async def quarantine(
        self,
        *,
        job_id: str | None = None,
        parser: str | None = None,
        output: str | None = None,
        limit: int = DEFAULT_LIMIT,
        state: QuarantineState = QuarantineState.OPEN,
    ) -> QuarantinePage:
        """Open entries (in the outputs), resolved ones (the audit trail), or both, open
        first; `limit` caps them all together."""
        entries: list[QuarantineEntry] = []
        total = 0
        if state != QuarantineState.RESOLVED:
            tables = await self.tables()
            page = await self._run(
                lambda con: read_quarantine(
                    con, tables, job_id=job_id, parser=parser, output=output, limit=limit
                )
            )
            entries, total = page.entries, page.total
        control_plane = self._control_plane()
        if state != QuarantineState.OPEN and control_plane is not None:
            resolved, count = await control_plane.read(
                resolutions.resolved_entries,
                job_id=job_id,
                parser=parser,
                output=output,
                limit=max(limit - len(entries), 0),
            )
            entries, total = entries + resolved, total + count
        return QuarantinePage(entries, total, total > len(entries))

    async def quarantine_row(self, entry_id: str) -> QuarantineRow:
        """An open entry, or a resolved one with its resolution (QuarantineEntryNotFoundError)."""
        tables = await self.tables()
        try:
            return await self._run(lambda con: read_quarantine_row(con, tables, entry_id))
        except QuarantineEntryNotFoundError:
            control_plane = self._control_plane()
            if control_plane is None:
                raise
            resolved = await control_plane.read(resolutions.resolved_row, entry_id)
            if resolved is None:
                raise
            entry, row_json = resolved
            return QuarantineRow(entry, row_values(row_json))

    async def _run(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        opened: list[duckdb.DuckDBPyConnection] = []
        lock = threading.Lock()  # an interrupt never reaches a connection being closed
        cancelled = threading.Event()
        known = await self._known()

        def call() -> T:
            con = open_catalog(self.settings, known)
            with lock:
                if cancelled.is_set():  # while the sinks' snapshots were made: kept for next time
                    con.close()
                    raise asyncio.CancelledError
                opened.append(con)
            try:
                return work(con)
            finally:
                with lock:
                    opened.clear()
                    con.close()

        task = asyncio.ensure_future(asyncio.to_thread(call))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            with lock:
                cancelled.set()
            while not task.done():
                with lock:
                    if not opened:  # no query to stop: the snapshots finish in the background
                        break
                    for con in opened:
                        con.interrupt()
                await asyncio.wait({task}, timeout=INTERRUPT_EVERY_SECS)
            task.add_done_callback(_retrieve)
            raise


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Take a cancelled call's end (the interrupt's error), which nobody awaits any more."""
    if not task.cancelled():
        task.exception()
