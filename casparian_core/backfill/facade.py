"""`service.backfill`: plan a backfill, execute it, resume or abandon one, list them. The CLI
(`casparian backfill`) and the TUI (Parser Bench, Jobs) both go through it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from casparian_core.backfill import store
from casparian_core.backfill.errors import BackfillNotFoundError

if TYPE_CHECKING:  # planning and running load the job pool and the engine: on first use
    from casparian_core.backfill.plan import BackfillPlan
    from casparian_core.backfill.run import BackfillRun
    from casparian_core.backfill.store import BackfillRecord
    from casparian_core.jobs.executor import JobReport
    from casparian_core.service import CoreService


class Backfills:
    def __init__(self, service: CoreService) -> None:
        self._service = service

    def default_sink(self) -> str:
        return self._service.settings.output_uri

    async def plan(
        self,
        parser: str,
        *,
        limit: int | None = None,
        force: bool = False,
        sink_uri: str | None = None,
    ) -> BackfillPlan:
        """What `parser`'s current version would run again (nothing runs)."""
        from casparian_core.backfill.plan import make_plan

        return await make_plan(
            self._service,
            parser,
            limit=limit,
            force=force,
            sink_uri=sink_uri or self.default_sink(),
        )

    async def backfills(self, limit: int = 100) -> list[BackfillRecord]:
        """The backfills, newest first."""
        return await self._service.db.read(store.listed, limit)

    async def backfill(self, backfill_id: str) -> BackfillRecord:
        record = await self._service.db.read(store.get, backfill_id)
        if record is None:
            raise BackfillNotFoundError(backfill_id)
        return record

    async def active(self, parser: str) -> BackfillRecord | None:
        """The parser's unfinished backfill, if it has one."""
        return await self._service.db.read(store.active, parser)

    def runner(
        self,
        *,
        workers: int | None = None,
        offline: bool = False,
        on_report: Callable[[JobReport], object] | None = None,
    ) -> BackfillRun:
        """What executes a plan (`start` then `drive`), resumes (`resume` then `drive`) or
        abandons a backfill; `stop` interrupts it."""
        from casparian_core.backfill.run import BackfillRun

        return BackfillRun(self._service, workers=workers, offline=offline, on_report=on_report)
