"""Deciding a pending action, the one path every face takes: the sidebar's approval cards
(Assistant.decide), `casparian approvals`, and an MCP server trusting an action class
(`casparian mcp --allow`). The action is claimed first, so two faces never both apply it."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from casparian_core.ai.conversation import ActionStatus, PendingAction

if TYPE_CHECKING:
    from casparian_core.ai.actions import ActionStore
    from casparian_core.ai.apply import Applied
    from casparian_core.service import CoreService

REJECTED = "Rejected: nothing was changed."


async def decide_action(
    service: CoreService, actions: ActionStore, action_id: str, approve: bool, by: str
) -> tuple[PendingAction, Applied]:
    """Apply (approve) or reject the pending action `action_id` as `by`; returns it decided and
    what applying it did. ActionNotFoundError when it is not pending (or another face decides
    it now); a bug or a cancel while applying leaves it pending, for anyone."""
    from casparian_core.ai.apply import Applied, apply_action

    action, payload = await actions.claim(action_id, by)
    try:
        if approve:
            applied = await apply_action(service, action, payload)
        else:
            applied = Applied(ActionStatus.REJECTED, REJECTED)
    except BaseException:
        await asyncio.shield(actions.release(action_id, by))
        raise
    decided = await actions.decide(action, applied.status, applied.outcome, by)
    return decided, applied
