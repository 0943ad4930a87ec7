"""State-changing tools over MCP change nothing until a human approves the action with
`casparian approvals` (then exactly what it said), a rejection changes nothing, `--allow`
trusts a kind, and every call is in the audit log with its face."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from casparian_core.config import Settings
from casparian_core.scout.queries import FileQuery
from casparian_core.service import CoreService
from tests.cli.support import casparian
from tests.mcp.support import call, error_text, mcp_session, result_of


def approvals(home: Path, *args: str) -> Any:
    shown = casparian("approvals", *args, "--json", home=home)
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


async def tagged(settings: Settings, tag: str) -> int:
    async with CoreService(settings) as service:
        return await service.scout.count_files(FileQuery(tag=tag))


async def test_a_scope_changes_nothing_until_approved_then_exactly_its_effect(
    home: Path, data: Path, settings: Settings
) -> None:
    async with mcp_session(home) as session:
        proposed = await call(session, "apply_scope", tag="q1", glob="*a*.log", untagged=False)
        assert proposed.structured_content is not None
        action = proposed.structured_content["pending_action"]
        assert action["kind"] == "TAG_FILES" and action["status"] == "PENDING"
        assert action["effect"] == "Tag 3 files 'q1':\n  apr.log\n  jan.log\n  mar.log"
        assert await tagged(settings, "q1") == 0
        [listed] = approvals(home, "list")["actions"]
        assert listed["id"] == action["id"] and listed["effect"] == action["effect"]

        decided = approvals(home, "approve", action["id"])
        status = result_of(await call(session, "action_status", action_id=action["id"]))

    assert decided["status"] == "APPROVED"
    assert decided["outcome"] == "Tagged 3 files 'q1' (the proposal showed 3)."
    assert await tagged(settings, "q1") == 3 and await tagged(settings, "app_events") == 1
    assert status["status"] == "APPROVED" and status["outcome"] == decided["outcome"]
    assert approvals(home, "list")["actions"] == []


async def test_a_rejected_action_changes_nothing(
    home: Path, data: Path, settings: Settings
) -> None:
    async with mcp_session(home) as session:
        proposed = result_of(
            await call(session, "apply_scope", tag="logs", glob="*.log", as_rule=True)
        )
        decided = approvals(home, "reject", proposed["pending_action"])
        status = result_of(
            await call(session, "action_status", action_id=proposed["pending_action"])
        )

    assert decided["kind"] == "ADD_RULE" and decided["status"] == "REJECTED"
    assert status["status"] == "REJECTED"
    assert await tagged(settings, "logs") == 0
    async with CoreService(settings) as service:
        assert await service.scout.rules() == []
    again = casparian("approvals", "approve", proposed["pending_action"], home=home)
    assert again.returncode == 2 and "already rejected" in again.stderr


async def test_approved_schemas_register_the_parser_and_the_pipeline_enqueues_its_jobs(
    home: Path, data: Path, settings: Settings
) -> None:
    async with mcp_session(home) as session:
        wrong = error_text(await call(session, "approve_schemas", parser="events", version="2"))
        approve = result_of(
            await call(session, "approve_schemas", parser="events", version="1.0.0")
        )
        unregistered = error_text(await call(session, "execute_pipeline", parser="events"))
        approvals(home, "approve", approve["pending_action"])
        execute = result_of(await call(session, "execute_pipeline", parser="events"))
        async with CoreService(settings) as service:
            assert await service.queue.jobs() == []  # proposed only
        decided = approvals(home, "approve", execute["pending_action"])

    assert "declares version 1.0.0, not 2" in wrong
    assert "output events" in approve["effect"] and "amount" in approve["effect"]
    assert "events" in unregistered  # not registered yet: said so
    assert execute["summary"] == "Enqueue 4 jobs in the production queue (events 1.0.0)"
    async with CoreService(settings) as service:
        detail = await service.registry.show("events", "1.0.0")
        jobs = await service.queue.jobs()
    assert [c.output for c in detail.contracts] == ["events"]
    assert decided["status"] == "APPROVED"
    assert sorted(j.job_id for j in jobs) == sorted(
        decided["outcome"].split("Job ids: ")[1].split(", ")
    )
    assert sorted(Path(j.input_path).name for j in jobs) == [
        "apr.log",
        "feb.log",
        "jan.log",
        "mar.log",
    ]


async def test_allow_applies_a_trusted_kind_at_once_and_the_log_says_so(
    home: Path, data: Path, settings: Settings
) -> None:
    async with mcp_session(home, "--allow", "TAG_FILES") as session:
        trusted = await call(session, "apply_scope", tag="q1", glob="jan.log", untagged=False)
        rule = result_of(await call(session, "apply_scope", tag="logs", glob="*.log", as_rule=True))

    assert trusted.structured_content is not None
    applied = trusted.structured_content["pending_action"]
    assert applied["status"] == "APPROVED" and await tagged(settings, "q1") == 1
    assert (
        "applied without approval: TAG_FILES is trusted"
        in trusted.structured_content["result"]["note"]
    )
    [pending] = approvals(home, "list")["actions"]  # ADD_RULE is not trusted
    assert pending["id"] == rule["pending_action"]
    logged = casparian("ai", "log", "--json", home=home)
    requests = json.loads(logged.stdout)["requests"]
    assert [r["face"] for r in requests] == ["mcp", "mcp"]
    assert requests[0]["outcome"] == f"pending {rule['pending_action']}"
    assert requests[1]["outcome"] == f"auto-approved {applied['id']}: APPROVED"
    assert requests[1]["tools_called"] == ["apply_scope"]
    assert requests[1]["context"] == ('apply_scope {"tag":"q1","glob":"jan.log","untagged":false}')
    async with CoreService(settings) as service:
        decided = await service.approvals.get(applied["id"])
    assert decided.decided_by is not None and "--allow TAG_FILES" in decided.decided_by


def test_allow_takes_only_action_kinds(home: Path) -> None:
    refused = casparian("mcp", "--allow", "EVERYTHING", home=home)
    assert refused.returncode == 2 and "invalid choice: 'EVERYTHING'" in refused.stderr


async def test_show_prints_the_exact_effect_and_unknown_ids_are_refused(
    home: Path, data: Path
) -> None:
    async with mcp_session(home) as session:
        proposed = result_of(
            await call(session, "apply_scope", tag="q1", glob="jan.log", untagged=False)
        )
    shown = casparian("approvals", "show", proposed["pending_action"], home=home)
    missing = casparian("approvals", "show", "f" * 32, home=home)

    assert shown.returncode == 0
    assert shown.stdout.splitlines()[-2:] == ["Tag 1 files 'q1':", "  jan.log"]
    assert missing.returncode == 2 and f"There is no action {'f' * 32}" in missing.stderr
