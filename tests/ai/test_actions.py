"""Pending actions end to end: a failing parser patched on approval and re-tested until it
passes, a new parser written on approval, a rejected action that changes nothing."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest

from casparian_core.ai.actions import CLAIM_STALE
from casparian_core.api import (
    ActionEntry,
    ActionKind,
    ActionStatus,
    AssistantContext,
    PendingAction,
    UserEntry,
)
from casparian_core.engine.results import RunStatus
from casparian_core.errors import ActionNotFoundError
from casparian_core.scout.queries import UNTAGGED, FileQuery
from casparian_core.service import CoreService
from tests.ai.conftest import file_id
from tests.conftest import fixed_clock
from tests.fake_anthropic import FakeAnthropic, text_reply, tool_call, tool_reply

BROKEN = """\
import pyarrow.csv as pacsv


def parse(path):
    table = pacsv.read_csv(path)
    return table.select(["order_id", "amt"])
"""
FIXED = BROKEN.replace('"amt"', '"amount"')
BENCH = AssistantContext(mode="parser_bench", selection={"parser": "orders"})


async def test_a_failing_test_is_patched_on_approval_and_re_tested_until_it_passes(
    ai_service: CoreService, fake: FakeAnthropic, shop: Path
) -> None:
    parser = ai_service.settings.parsers_dir / "orders.py"
    parser.write_text(BROKEN)
    jan = await file_id(ai_service, "orders_jan.csv")
    failed = await ai_service.bench.test_parser(parser, shop / "orders_jan.csv")
    assert failed.status is RunStatus.FAILED
    fake.script(
        tool_reply(tool_call("run_parser_test", {"parser": "orders", "file_id": jan})),
        tool_reply(tool_call("patch_parser", {"parser": "orders", "new_source": FIXED})),
        text_reply("The column is called `amount`: I proposed a patch."),
    )

    await ai_service.assistant.send("Why did this test fail?", BENCH)

    test_result = json.loads(fake.requests[1].tool_results()[0]["content"])
    assert test_result["status"] == "FAILED" and "amt" in test_result["error"]
    [action] = await ai_service.assistant.pending_actions()
    assert action.kind is ActionKind.PATCH_PARSER and action.status is ActionStatus.PENDING
    assert '-    return table.select(["order_id", "amt"])' in action.effect
    assert '+    return table.select(["order_id", "amount"])' in action.effect
    assert parser.read_text() == BROKEN  # proposing changed nothing
    fake.script(text_reply("It passes now: 2 rows."))

    decided = await ai_service.assistant.decide(action.id, approve=True)
    await ai_service.assistant.wait_idle()

    assert decided.status is ActionStatus.APPROVED
    assert "COMPLETED: 2 rows, 0 quarantined" in (decided.outcome or "")
    assert parser.read_text() == FIXED
    [backup] = (ai_service.settings.parsers_dir / ".backup").iterdir()
    assert backup.read_text() == BROKEN and backup.name.startswith("orders.")
    [latest] = await ai_service.bench.recent_tests("orders", limit=1)
    assert latest.status is RunStatus.COMPLETED  # re-run through the engine, recorded
    told = fake.requests[-1].body["messages"][-1]["content"]
    assert f"approved action {action.id}" in told and '"status":"COMPLETED"' in told
    transcript = ai_service.assistant.transcript()
    assert ActionEntry(decided) in transcript
    shown = [e.text for e in transcript if isinstance(e, UserEntry)][-1]
    assert shown.startswith(f"The user approved action {action.id}") and "{" not in shown
    assert await ai_service.assistant.pending_actions() == []
    with pytest.raises(ActionNotFoundError):
        await ai_service.assistant.decide(action.id, approve=True)  # decided once only


async def test_a_patch_of_a_file_changed_since_the_proposal_is_not_applied(
    ai_service: CoreService, fake: FakeAnthropic, shop: Path
) -> None:
    parser = ai_service.settings.parsers_dir / "orders.py"
    parser.write_text(BROKEN)
    fake.script(
        tool_reply(tool_call("patch_parser", {"parser": "orders", "new_source": FIXED})),
        text_reply("Proposed."),
    )
    await ai_service.assistant.send("Fix it", BENCH)
    [action] = await ai_service.assistant.pending_actions()
    parser.write_text(BROKEN + "# the user edited it meanwhile\n")

    decided = await ai_service.assistant.decide(action.id, approve=True)

    assert decided.status is ActionStatus.FAILED
    assert "changed since the patch was proposed" in (decided.outcome or "")
    assert parser.read_text().endswith("# the user edited it meanwhile\n")
    assert not (ai_service.settings.parsers_dir / ".backup").exists()


async def test_a_drafted_parser_is_tested_then_written_into_parsers_on_approval(
    ai_service: CoreService, fake: FakeAnthropic, shop: Path
) -> None:
    jan = await file_id(ai_service, "orders_jan.csv")
    draft = {"draft_source": FIXED, "draft_file_name": "orders.py", "file_id": jan}
    fake.script(
        tool_reply(tool_call("run_parser_test", draft)),
        tool_reply(tool_call("write_parser", {"file_name": "orders.py", "source": FIXED})),
        text_reply("The draft passes on the sample; approve it to add it."),
    )
    discover = AssistantContext(mode="discover", selection={"source": "shop"})

    await ai_service.assistant.send("Write a parser for these files", discover)

    tested = json.loads(fake.requests[1].tool_results()[0]["content"])
    assert (tested["status"], tested["rows"]) == ("COMPLETED", 2)
    assert not (ai_service.settings.parsers_dir / "orders.py").exists()
    [action] = await ai_service.assistant.pending_actions()
    assert action.effect.startswith("--- /dev/null\n+++ parsers/orders.py\n")

    decided = await ai_service.assistant.decide(action.id, approve=True)

    assert decided.status is ActionStatus.APPROVED
    assert (ai_service.settings.parsers_dir / "orders.py").read_text() == FIXED
    assert "orders" in {p.name for p in await ai_service.bench.list_parsers()}


async def test_a_broken_draft_is_refused_to_the_model_not_proposed(
    ai_service: CoreService, fake: FakeAnthropic
) -> None:
    fake.script(
        tool_reply(tool_call("write_parser", {"file_name": "x.py", "source": "def parse(p)\n"})),
        text_reply("Sorry, let me fix the syntax."),
    )
    await ai_service.assistant.send("Write a parser", AssistantContext(mode="discover"))

    [result] = fake.requests[1].tool_results()
    assert result["is_error"] is True and "x.py" in result["content"]
    assert await ai_service.assistant.pending_actions() == []


async def test_a_rejected_tagging_changes_nothing_and_the_model_hears_of_it(
    ai_service: CoreService, fake: FakeAnthropic, shop: Path
) -> None:
    fake.script(
        tool_reply(tool_call("apply_scope", {"tag": "orders", "source": "shop", "glob": "*.csv"})),
        text_reply("I proposed tagging the two exports."),
    )
    await ai_service.assistant.send("Tag the exports", AssistantContext(mode="discover"))
    [action] = await ai_service.assistant.pending_actions()
    assert action.summary == "Tag 2 files 'orders'"
    assert "orders_feb.csv" in action.effect and "orders_jan.csv" in action.effect

    decided = await ai_service.assistant.decide(action.id, approve=False)

    assert decided.status is ActionStatus.REJECTED
    assert await ai_service.scout.count_files(FileQuery(tag=UNTAGGED)) == 3
    assert await ai_service.scout.count_files(FileQuery(tag="orders")) == 0
    fake.script(text_reply("Understood."))
    await ai_service.assistant.send("Never mind", AssistantContext(mode="discover"))
    said = fake.requests[-1].body["messages"][-1]["content"]
    assert f"rejected action {action.id}" in said and said.endswith("Never mind")


async def test_an_approved_rule_tags_the_files_it_showed(
    ai_service: CoreService, fake: FakeAnthropic, shop: Path
) -> None:
    fake.script(
        tool_reply(
            tool_call(
                "apply_scope",
                {"glob": "*.csv", "tag": "orders", "source": "shop", "as_rule": True},
            )
        ),
        text_reply("Proposed a rule."),
    )
    await ai_service.assistant.send("Add a rule", AssistantContext(mode="discover"))
    [action] = await ai_service.assistant.pending_actions()
    assert "matches 2 files now (2 of them untagged)" in action.effect

    decided = await ai_service.assistant.decide(action.id, approve=True)

    assert decided.status is ActionStatus.APPROVED and "it tags 2 files" in (decided.outcome or "")
    assert await ai_service.scout.count_files(FileQuery(tag="orders")) == 2


async def _proposed_patch(service: CoreService, fake: FakeAnthropic) -> str:
    (service.settings.parsers_dir / "orders.py").write_text(BROKEN)
    fake.script(
        tool_reply(tool_call("patch_parser", {"parser": "orders", "new_source": FIXED})),
        text_reply("Proposed."),
    )
    await service.assistant.send("Fix it", BENCH)
    [action] = await service.assistant.pending_actions()
    return action.id


async def test_two_faces_deciding_one_action_at_once_apply_it_once(
    ai_service: CoreService, fake: FakeAnthropic
) -> None:
    action_id = await _proposed_patch(ai_service, fake)
    async with CoreService(ai_service.settings, clock=fixed_clock) as other:  # another face
        outcomes = await asyncio.gather(
            ai_service.assistant.decide(action_id, approve=True),
            other.assistant.decide(action_id, approve=True),
            return_exceptions=True,
        )

    [decided] = [o for o in outcomes if not isinstance(o, BaseException)]
    [refused] = [o for o in outcomes if isinstance(o, BaseException)]
    assert isinstance(decided, PendingAction) and decided.status is ActionStatus.APPROVED
    assert isinstance(refused, ActionNotFoundError)
    assert ai_service.settings.parsers_dir.joinpath("orders.py").read_text() == FIXED
    assert len(list((ai_service.settings.parsers_dir / ".backup").iterdir())) == 1  # once


async def test_an_action_claimed_by_a_face_that_died_is_taken_over_once_the_claim_is_stale(
    ai_service: CoreService, fake: FakeAnthropic
) -> None:
    action_id = await _proposed_patch(ai_service, fake)
    await ai_service.assistant._actions.claim(action_id, "dead-face")  # it died deciding

    with pytest.raises(ActionNotFoundError, match="being decided by dead-face"):
        await ai_service.assistant.decide(action_id, approve=False)
    later = fixed_clock() + CLAIM_STALE + timedelta(seconds=1)
    async with CoreService(ai_service.settings, clock=lambda: later) as next_face:
        decided = await next_face.assistant.decide(action_id, approve=False)

    assert decided.status is ActionStatus.REJECTED
    assert ai_service.settings.parsers_dir.joinpath("orders.py").read_text() == BROKEN
