"""Pending actions proposed and decided by other processes on the same home (the MCP server,
`casparian approvals`, a second TUI): this face's conversation shows them as approval cards
when they appear, and shows their decision when one is made elsewhere."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from casparian_core.api import ActionEntry, ActionStatus, PendingAction
from casparian_core.config import Settings
from casparian_core.events import AssistantActionChanged
from casparian_core.service import CoreService
from tests.ai.conftest import SHOP_FILES
from tests.conftest import fixed_clock

# Another process proposes, as the MCP server does: the tool layer over its own service.
PROPOSE = textwrap.dedent(
    """
    import asyncio, sys, tempfile
    from pathlib import Path
    from casparian_core.ai.tools.all import toolbox
    from casparian_core.ai.tools.base import ToolEnv
    from casparian_core.ai.actions import ActionStore
    from casparian_core.config import load_settings
    from casparian_core.service import CoreService

    async def main():
        async with CoreService(load_settings(env={}, home=Path(sys.argv[1]))) as service:
            env = ToolEnv(service, ActionStore(service.db, service.clock), Path(tempfile.mkdtemp()))
            arguments = {"tag": "orders", "source": "shop", "glob": "*.csv"}
            output = await toolbox().call(env, "apply_scope", arguments)
            print(output.action.id)

    asyncio.run(main())
    """
)
# Another process decides, as `casparian approvals` does.
REJECT = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from casparian_core.config import load_settings
    from casparian_core.service import CoreService

    async def main():
        async with CoreService(load_settings(env={}, home=Path(sys.argv[1]))) as service:
            await service.assistant.decide(sys.argv[2], approve=False)

    asyncio.run(main())
    """
)
WAIT = 60.0  # a bound against a hang only: the poll is 50 ms


def _in_another_process(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
async def shop_home(settings: Settings, tmp_path: Path) -> Settings:
    """The home with a scanned source "shop" (two CSV exports and a note)."""
    folder = tmp_path / "shop"
    for name, text in SHOP_FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    async with CoreService(settings, clock=fixed_clock) as service:
        await service.scout.scan(folder, name="shop")
    return settings


@pytest.fixture
async def face(shop_home: Settings) -> AsyncIterator[CoreService]:
    """This face's service, looking for other processes' commits every 50 ms."""
    quick = shop_home.model_copy(update={"change_poll_secs": 0.05})
    async with CoreService(quick, clock=fixed_clock) as service:
        yield service


def _next_change(service: CoreService, status: ActionStatus) -> asyncio.Future[PendingAction]:
    """The next AssistantActionChanged with `status`, from now on (the bus delivers on its own
    thread)."""
    loop = asyncio.get_running_loop()
    seen: asyncio.Future[PendingAction] = loop.create_future()

    def changed(event: AssistantActionChanged) -> None:
        if event.action.status is status:
            loop.call_soon_threadsafe(lambda: seen.done() or seen.set_result(event.action))

    unsubscribe = service.subscribe(changed, AssistantActionChanged)  # type: ignore[arg-type]
    seen.add_done_callback(lambda _: unsubscribe())
    return seen


def _cards(service: CoreService) -> dict[str, ActionStatus]:
    return {
        entry.action.id: entry.action.status
        for entry in service.assistant.transcript()
        if isinstance(entry, ActionEntry)
    }


async def test_an_action_another_process_proposes_appears_and_its_decision_elsewhere_shows(
    face: CoreService,
) -> None:
    home = str(face.settings.home)
    proposed = _next_change(face, ActionStatus.PENDING)
    action_id = await asyncio.to_thread(_in_another_process, PROPOSE, home)

    shown = await asyncio.wait_for(proposed, WAIT)
    assert shown.id == action_id and shown.summary == "Tag 2 files 'orders'"
    assert _cards(face) == {action_id: ActionStatus.PENDING}

    decided = _next_change(face, ActionStatus.REJECTED)
    await asyncio.to_thread(_in_another_process, REJECT, home, action_id)

    assert (await asyncio.wait_for(decided, WAIT)).decided_by is not None
    assert _cards(face) == {action_id: ActionStatus.REJECTED}  # one card, updated
    assert await face.assistant.pending_actions() == []


async def test_actions_pending_before_a_face_starts_are_shown_when_it_starts(
    shop_home: Settings,
) -> None:
    action_id = await asyncio.to_thread(_in_another_process, PROPOSE, str(shop_home.home))

    async with CoreService(shop_home, clock=fixed_clock) as later:
        assert _cards(later) == {action_id: ActionStatus.PENDING}
