"""`service.backfill`: plan a backfill, execute it, resume or abandon one, list them. The CLI
(`casparian backfill`) and the TUI (Parser Bench, Jobs) both go through it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from casparian_core.backfill import store
from casparian_core.backfill.plan import BackfillPlan, make_plan

if TYPE_CHECKING:
    from casparian_core.backfill.store import BackfillRecord
    from casparian_core.service import CoreService


class Backfills:
    def __init__(self, service: CoreService) -> None:
        self._service = service

    def default_sink(self) -> str:
        return f"parquet://{self._service.settings.output_dir}"

    async def plan(
        self,
        parser: str,
        *,
        limit: int | None = None,
        force: bool = False,
        sink_uri: str | None = None,
    ) -> BackfillPlan:
        """What `parser`'s current version would run again (nothing runs)."""
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
