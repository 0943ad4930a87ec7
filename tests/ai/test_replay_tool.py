"""The assistant's `replay_quarantine` tool on a real prod run (tests/inspect/replay_support.py:
a registered parser whose contract quarantines rows, then a fixed version registered): the
replay it proposes changes nothing until approved, then runs exactly the files it showed; a
replay whose files changed since the proposal is refused; nothing to replay is said, not
proposed; list_quarantine shows resolved entries when asked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from casparian_core.ai.actions import ActionStore
from casparian_core.ai.conversation import ActionStatus
from casparian_core.ai.tools.all import toolbox
from casparian_core.ai.tools.base import ToolEnv
from casparian_core.service import CoreService
from tests.conftest import fixed_clock
from tests.inspect.replay_support import FIXED, prepare, register
from tests.inspect.test_replay import open_entries, process, valid_ids
from tests.registry.test_envs import Fixture, locked

__all__ = ["locked"]  # the fixture, used by name


async def ask(service: CoreService, tmp_path: Path, name: str, **arguments: Any) -> Any:
    env = ToolEnv(service, ActionStore(service.db, service.clock), tmp_path)
    return json.loads((await toolbox().call(env, name, arguments)).content)


async def test_a_proposed_replay_changes_nothing_until_approved_then_resolves(
    locked: Fixture, tmp_path: Path
) -> None:
    home = await prepare(locked)
    await process(home)
    await register(home, FIXED)

    async with CoreService(home.settings, clock=fixed_clock) as service:
        before = (await valid_ids(service), await open_entries(service))
        proposed = await ask(service, tmp_path, "replay_quarantine", parser="prices")
        unchanged = (await valid_ids(service), await open_entries(service))
        decided = await service.assistant.decide(proposed["pending_action"], approve=True)
        after = await open_entries(service)
        resolved = await ask(service, tmp_path, "list_quarantine", state="resolved")

    effect = proposed["effect"]
    assert "prices@2.0.0" in effect and "a.csv" in effect and "c.csv" in effect
    assert "b.csv" not in effect  # none of its rows is quarantined
    assert unchanged == before
    assert decided.status is ActionStatus.APPROVED
    assert "2 quarantined rows resolved, 1 still quarantined" in (decided.outcome or "")
    assert after == [("a.csv", 2, "prices@2.0.0")]  # "bad" stays, as the new job's entry
    columns = resolved["columns"]
    rows = [dict(zip(columns, row, strict=True)) for row in resolved["rows"]]
    assert sorted((Path(r["source_file"]).name, r["row"]) for r in rows) == [
        ("a.csv", 1),
        ("c.csv", 0),
    ]
    assert {r["resolved_version"] for r in rows} == {"prices@2.0.0"}


async def test_a_replay_whose_files_changed_since_the_proposal_is_refused(
    locked: Fixture, tmp_path: Path
) -> None:
    home = await prepare(locked)
    await process(home)
    await register(home, FIXED)

    async with CoreService(home.settings, clock=fixed_clock) as service:
        proposed = await ask(service, tmp_path, "replay_quarantine")
        (home.data / "c.csv").unlink()  # the plan now leaves c.csv out: not what was shown
        before = (await valid_ids(service), await open_entries(service))
        decided = await service.assistant.decide(proposed["pending_action"], approve=True)
        after = (await valid_ids(service), await open_entries(service))
        jobs = await service.queue.jobs()

    assert decided.status is ActionStatus.FAILED
    assert "changed since the replay was proposed" in (decided.outcome or "")
    assert after == before
    assert all(job.parser_version == "1.0.0" for job in jobs)  # no replay job was queued


async def test_nothing_to_replay_is_said_and_not_proposed(locked: Fixture, tmp_path: Path) -> None:
    home = await prepare(locked)
    await process(home)  # 1.0.0 is still the current version: the same rows again

    async with CoreService(home.settings, clock=fixed_clock) as service:
        answer = await ask(service, tmp_path, "replay_quarantine", parser="prices")
        pending = await service.approvals.pending()

    assert "Nothing to replay" in answer["nothing_to_replay"]
    assert "pending_action" not in answer and pending == []
