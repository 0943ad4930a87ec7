"""`service.approvals`: the pending actions every face proposed (the sidebar's model, an MCP
client), for a human to read and decide outside the TUI (`casparian approvals`). Deciding
applies through the same path as the sidebar's approval cards (ai/decisions.py)."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING

from casparian_core.ai.actions import ActionStore
from casparian_core.ai.conversation import PendingAction
from casparian_core.errors import ActionNotFoundError

if TYPE_CHECKING:
    from casparian_core.service import CoreService


class Approvals:
    def __init__(self, service: CoreService) -> None:
        self._service = service
        self._actions = ActionStore(service.db, service.clock)

    async def pending(self) -> list[PendingAction]:
        """The actions waiting for a decision, oldest first."""
        return await self._actions.pending()

    async def get(self, action_id: str) -> PendingAction:
        """The action `action_id`, pending or decided; ActionNotFoundError when none."""
        found = await self._actions.get(action_id)
        if found is None:
            raise ActionNotFoundError(
                f"There is no action {action_id}: `casparian approvals list` shows the pending "
                "ones."
            )
        return found

    async def approve(self, action_id: str, by: str | None = None) -> PendingAction:
        """Apply the action (it is FAILED, saying why, when applying it failed)."""
        return await self._decide(action_id, True, by)

    async def reject(self, action_id: str, by: str | None = None) -> PendingAction:
        return await self._decide(action_id, False, by)

    async def _decide(self, action_id: str, approve: bool, by: str | None) -> PendingAction:
        from casparian_core.ai.decisions import decide_action

        decided, _ = await decide_action(
            self._service, self._actions, action_id, approve, by or getpass.getuser()
        )
        return decided
