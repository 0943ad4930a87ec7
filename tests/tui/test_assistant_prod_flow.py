"""The sidebar on the Jobs screen against the real assistant (the official SDK talking to the
local fake Messages API): asked for similar failures with a failed job selected, the model gets
the job, its run and fingerprint as context, calls a jobs tool and a quarantine tool over the
real queue and outputs, and answers from what they returned."""

import json
from collections.abc import Iterator

import pytest

from casparian_core.config import Settings
from casparian_tui.widgets.assistant_entries import AnswerBlock, ToolCallView
from tests.fake_anthropic import FakeAnthropic, text_reply, tool_call, tool_reply
from tests.tui.assistant_support import sidebar
from tests.tui.conftest import TERMINAL, make_app, settle, until_idle
from tests.tui.inspect_support import seed_inspect
from tests.tui.jobs_support import SALES_BATCH, open_jobs, seed_queue
from tests.tui.test_assistant_flow import ask


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", server.key)
        yield server


async def test_similar_failures_asked_on_jobs_reads_the_queue_and_the_quarantine(
    settings: Settings, fake: FakeAnthropic
) -> None:
    seeded = seed_queue(settings)
    seed_inspect(settings)
    failed_job = seeded.jobs["orders-bad.csv"]
    fake.script(
        tool_reply(tool_call("job_detail", {"job_id": failed_job}, "toolu_job"), text="Looking."),
        tool_reply(tool_call("list_quarantine", {"output": "orders"}, "toolu_q")),
        text_reply("One file lacks the `amount` column; 3 order rows are quarantined."),
    )
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_jobs(pilot)
        await pilot.press("down", "enter")  # the failed sales run, its failed job first
        await until_idle(pilot)
        await pilot.press("alt+a")
        await settle(pilot)
        await ask(pilot, "Show me similar failures")

        chat = sidebar(app)
        titles = [str(view.title) for view in chat.query(ToolCallView)]
        answers = [block.source for block in chat.query(AnswerBlock)]

    asked, after_job, after_quarantine = fake.requests
    context = asked.system_text()
    assert f'"job_id": "{failed_job}"' in context and f'"run": "{SALES_BATCH}"' in context
    assert '"fingerprint": "' in context and '"mode": "jobs"' in context
    [job] = after_job.tool_results()
    detail = json.loads(job["content"])
    assert detail["error_code"] == "SCHEMA_MISMATCH" and "KeyError" in detail["traceback"]
    assert detail["fingerprint_seen"]["occurrences"] >= 1 and detail["log_tail"]
    [quarantine] = after_quarantine.tool_results()
    rows = json.loads(quarantine["content"])
    assert quarantine["is_error"] is False and rows["total"] == 3
    assert titles == [
        f"job_detail → job {failed_job[:8]}: FAILED",
        "list_quarantine → 3 of 3 quarantined rows",
    ]
    assert answers[-1] == "One file lacks the `amount` column; 3 order rows are quarantined."
