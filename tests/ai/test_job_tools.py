"""The jobs and errors tools on the queue of a real prod run (tests/ai/prod_home.py): runs, jobs
filtered and paged, a failed job's error, trace and log tail, error fingerprints and their
files; retrying and cancelling change nothing until approved, then exactly that job."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from casparian_core.ai.actions import ActionStore
from casparian_core.ai.conversation import ActionKind, ActionStatus
from casparian_core.ai.tools.all import toolbox
from casparian_core.ai.tools.base import DEFAULT_CAP_BYTES, ToolEnv, ToolInputError
from casparian_core.jobs.model import JobRequest
from casparian_core.jobs.status import JobStatus
from casparian_core.service import CoreService
from tests.ai.prod_home import ProdHome
from tests.ai.test_bounds import call


async def ask(service: CoreService, tmp_path: Path, name: str, **arguments: Any) -> Any:
    """The tool's JSON answer (its byte cap checked by `call`)."""
    return json.loads((await call(service, tmp_path, name, **arguments)).content)


async def statuses(service: CoreService) -> dict[str, JobStatus]:
    return {job.job_id: job.status for job in await service.queue.jobs()}


async def test_runs_and_jobs_filtered_by_status_parser_and_run(
    prod_service: CoreService, prod: ProdHome, tmp_path: Path
) -> None:
    [run] = (await ask(prod_service, tmp_path, "list_runs"))["runs"]
    assert run["run"] == prod.run and run["status"] == "FAILED"
    assert (run["jobs"], run["completed"], run["with_quarantine"], run["failed"]) == (5, 3, 1, 2)

    failed = await ask(prod_service, tmp_path, "list_jobs", status="FAILED")
    columns = failed["columns"]
    rows = [dict(zip(columns, row, strict=True)) for row in failed["jobs"]]
    assert sorted(Path(r["input_path"]).name for r in rows) == ["broken-1.csv", "broken-2.csv"]
    assert {r["error_message"] for r in rows} == {"ValueError: this export is broken: no header"}
    assert len({r["fingerprint"] for r in rows}) == 1 and rows[0]["parser"] == "orders@1.0.0"

    of_run = await ask(prod_service, tmp_path, "list_jobs", run=prod.run, parser="orders")
    assert len(of_run["jobs"]) == 5 and "next_offset" not in of_run
    assert (await ask(prod_service, tmp_path, "list_jobs", parser="other"))["jobs"] == []

    first = await ask(prod_service, tmp_path, "list_jobs", limit=2)
    rest = await ask(prod_service, tmp_path, "list_jobs", offset=first["next_offset"], limit=3)
    ids = [row[0] for row in first["jobs"] + rest["jobs"]]
    assert first["next_offset"] == 2 and sorted(ids) == sorted(prod.jobs.values())


async def test_a_failed_jobs_detail_has_its_error_trace_fingerprint_and_log_tail(
    prod_service: CoreService, prod: ProdHome, tmp_path: Path
) -> None:
    job_id = prod.jobs["broken-1.csv"]
    detail = await ask(prod_service, tmp_path, "job_detail", job_id=job_id)
    assert detail["status"] == "FAILED" and detail["error_code"] == "INVALID_DATA"
    assert detail["traceback"].rstrip().endswith("ValueError: this export is broken: no header")
    assert "in parse" in detail["traceback"]
    assert detail["fingerprint_seen"] == {"occurrences": 2, "files": 2}
    assert detail["log_tail"] == ["INFO parser.orders: read 1 lines"]
    quiet = await ask(prod_service, tmp_path, "job_detail", job_id=job_id, log_lines=0)
    assert "log_tail" not in quiet


async def test_fingerprints_with_counts_and_one_fingerprints_files(
    prod_service: CoreService, prod: ProdHome, tmp_path: Path
) -> None:
    [error] = (await ask(prod_service, tmp_path, "list_error_fingerprints"))["fingerprints"]
    assert (error["occurrences"], error["files"], error["error_type"]) == (2, 2, "ValueError")

    found = await ask(prod_service, tmp_path, "error_occurrences", fingerprint=error["fingerprint"])
    assert sorted(Path(f["input_path"]).name for f in found["files"]) == [
        "broken-1.csv",
        "broken-2.csv",
    ]
    assert found["files_total"] == 2 and 'File "orders.py", in parse' in found["trace"]
    assert {o["job_id"] for o in found["recent"]} == {
        prod.jobs["broken-1.csv"],
        prod.jobs["broken-2.csv"],
    }
    paged = await ask(
        prod_service, tmp_path, "error_occurrences", fingerprint=error["fingerprint"], limit=1
    )
    assert len(paged["files"]) == 1 and paged["next_offset"] == 1


@pytest.mark.parametrize(
    ("name", "arguments", "says"),
    [
        ("job_detail", {"job_id": "f" * 32}, "There is no job"),
        ("list_jobs", {"status": "BOGUS"}, "status"),
        ("list_jobs", {"limit": 500}, "limit"),
        ("list_jobs", {"owner": "me"}, "owner"),
        ("error_occurrences", {"fingerprint": "0123456789abcdef"}, "No error has"),
        ("retry_job", {"job_id": "f" * 32}, "There is no job"),
    ],
)
async def test_bad_arguments_are_told_to_the_model(
    prod_service: CoreService, tmp_path: Path, name: str, arguments: dict[str, Any], says: str
) -> None:
    env = ToolEnv(prod_service, ActionStore(prod_service.db, prod_service.clock), tmp_path)
    with pytest.raises(ToolInputError, match=says):
        await toolbox().call(env, name, arguments)


async def test_a_page_of_long_jobs_is_cut_to_whole_rows_that_fit(
    prod_service: CoreService, tmp_path: Path
) -> None:
    long = "/data/" + "x" * 400
    await prod_service.queue.enqueue(
        [JobRequest("orders", "1.0.0", f"{long}-{n}.csv") for n in range(300)]
    )
    page = await ask(prod_service, tmp_path, "list_jobs", status="QUEUED", limit=200)
    assert 0 < len(page["jobs"]) < 200 and "cut" in page["note"]
    assert page["next_offset"] == len(page["jobs"])
    output = await call(prod_service, tmp_path, "list_jobs", status="QUEUED", limit=200)
    assert len(output.content.encode()) <= DEFAULT_CAP_BYTES


async def test_a_retry_changes_nothing_until_approved_then_queues_exactly_that_job(
    prod_service: CoreService, prod: ProdHome, tmp_path: Path
) -> None:
    before = await statuses(prod_service)
    job_id = prod.jobs["broken-1.csv"]
    proposed = await ask(prod_service, tmp_path, "retry_job", job_id=job_id)
    assert "broken-1.csv" in proposed["effect"] and "FAILED" in proposed["effect"]
    assert await statuses(prod_service) == before  # nothing yet

    decided = await prod_service.assistant.decide(proposed["pending_action"], approve=True)
    assert decided.status is ActionStatus.APPROVED and job_id in (decided.outcome or "")
    after = await statuses(prod_service)
    assert after == before | {job_id: JobStatus.QUEUED}

    with pytest.raises(ToolInputError, match="only a failed"):
        await toolbox().call(
            ToolEnv(prod_service, ActionStore(prod_service.db, prod_service.clock), tmp_path),
            "retry_job",
            {"job_id": prod.jobs["jan.csv"]},
        )


async def test_a_rejected_cancel_changes_nothing_an_approved_one_cancels_that_job(
    prod_service: CoreService, prod: ProdHome, tmp_path: Path
) -> None:
    job_id = prod.jobs["broken-2.csv"]
    await prod_service.queue.retry(job_id)  # queued again: cancellable
    before = await statuses(prod_service)

    rejected = await ask(prod_service, tmp_path, "cancel_job", job_id=job_id)
    decided = await prod_service.assistant.decide(rejected["pending_action"], approve=False)
    assert decided.status is ActionStatus.REJECTED and await statuses(prod_service) == before

    approved = await ask(prod_service, tmp_path, "cancel_job", job_id=job_id)
    [pending] = await prod_service.assistant.pending_actions()
    assert pending.kind is ActionKind.CANCEL_JOB and await statuses(prod_service) == before
    await prod_service.assistant.decide(approved["pending_action"], approve=True)
    assert await statuses(prod_service) == before | {job_id: JobStatus.CANCELLED}
