"""A scripted conversation over a real prod run, against the fake Messages API: asked from the
Jobs screen why things failed, the model calls a jobs tool and a quarantine tool and answers
from what they returned."""

from __future__ import annotations

import json
from pathlib import Path

from casparian_core.api import AssistantContext, ToolCallEntry
from casparian_core.service import CoreService
from tests.ai.prod_home import ProdHome
from tests.fake_anthropic import FakeAnthropic, text_reply, tool_call, tool_reply


async def test_the_model_reads_failed_jobs_and_quarantined_rows_then_answers(
    prod_service: CoreService, prod: ProdHome, fake: FakeAnthropic
) -> None:
    failed = tool_call("list_jobs", {"status": "FAILED"}, "toolu_jobs")
    quarantined = tool_call("list_quarantine", {"output": "orders"}, "toolu_q")
    fake.script(
        tool_reply(failed, text="Let me look at the failed jobs."),
        tool_reply(quarantined, text="And at the quarantined rows."),
        text_reply("Two exports have no header; two rows of mar.csv have negative amounts."),
    )
    context = AssistantContext("jobs", {"run": prod.run})

    await prod_service.assistant.send("Show me similar failures", context)

    asked, after_jobs, after_quarantine = fake.requests
    assert f'"run": "{prod.run}"' in asked.system_text()
    assert {"list_jobs", "list_quarantine", "job_detail"} <= {
        t["name"] for t in asked.body["tools"]
    }
    [jobs_result] = after_jobs.tool_results()
    jobs = json.loads(jobs_result["content"])
    files = {Path(row[jobs["columns"].index("input_path")]).name for row in jobs["jobs"]}
    assert jobs_result["is_error"] is False and files == {"broken-1.csv", "broken-2.csv"}
    [quarantine_result] = after_quarantine.tool_results()
    rows = json.loads(quarantine_result["content"])
    assert rows["total"] == 2 and rows["on_this_page_by_rule"] == {"orders.amount: min": 2}

    calls = [e for e in prod_service.assistant.transcript() if isinstance(e, ToolCallEntry)]
    assert [(c.name, c.summary, c.failed) for c in calls] == [
        ("list_jobs", "2 jobs", False),
        ("list_quarantine", "2 of 2 quarantined rows", False),
    ]
