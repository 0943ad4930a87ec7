"""The Jobs screen on a real queue: runs grouped by batch with failures first, a run expanded to
its jobs, a job's detail (error, fingerprint, trace, log tail, lineage), the filters, retry,
cancel and replay, live updates from the queue's events, and the Home Hub's Jobs card."""

from __future__ import annotations

from contextlib import closing

import pytest

from casparian_core.api import JobRequest, JobStatus, JobSuccess
from casparian_core.config import Settings
from casparian_core.jobs import queue
from casparian_tui.messages import ShowJob
from casparian_tui.screens.prompt import ConfirmPrompt
from casparian_tui.widgets.assistant import AssistantSidebar
from casparian_tui.widgets.assistant_input import ChatInput
from casparian_tui.widgets.jobs_list import JobsList
from tests.conftest import FIXED_NOW
from tests.tui.conftest import card_text, make_app, settle, until, until_idle
from tests.tui.jobs_support import (
    BROKEN,
    SALES_BATCH,
    detail_text,
    list_text,
    open_jobs,
    open_queue,
    seed_queue,
)


async def test_runs_list_failed_first_and_a_run_expands_to_its_jobs(settings: Settings) -> None:
    seed_queue(settings)
    app = make_app(settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_jobs(pilot)
        lines = list_text(app).splitlines()
        assert "run d3adbeef · events" in lines[0] and "1 failed" in lines[0]
        assert "run 5a1e5b47 · sales" in lines[1] and "9/9" in lines[1] and "1 failed" in lines[1]
        assert "run a07b0c1d · auth_log" in lines[2] and "2/5" in lines[2] and "running" in lines[2]

        await pilot.press("down", "enter")
        await settle(pilot)
        lines = list_text(app).splitlines()
        assert len(lines) == 3 + 9
        assert lines[1].startswith("▾") and "orders-bad.csv" in lines[2]  # failed first
        assert "SCHEMA_MISMATCH" in lines[2]
        detail = detail_text(app)
        assert "orders-bad.csv  failed" in detail
        assert "KeyError: 'amount'" in detail and "Trace" in detail
        assert "ERROR KeyError: 'amount'" in detail  # the log's tail
        assert "1 occurrence across 1 file" in detail

        await pilot.press("escape")  # collapses the run
        await settle(pilot)
        assert len(list_text(app).splitlines()) == 3
        await pilot.press("escape")  # nothing left to step back from: Home
        await settle(pilot)
        assert app.current_mode == "home"


async def test_changes_made_by_another_process_show_up(settings: Settings) -> None:
    """No event reaches this app from a daemon or a `casparian process` in a shell: the list
    reads the queue again while it is shown."""
    seeded = seed_queue(settings)
    app = make_app(settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_jobs(pilot)
        await pilot.press("down", "down", "enter")  # the auth_log run, its running job first
        await settle(pilot)
        with closing(open_queue(settings)) as conn:  # another process's connection
            queue.complete(
                conn, seeded.jobs["auth-03.log"], "host-1-pool-1", JobSuccess(55), FIXED_NOW
            )
        await until(pilot, lambda: "3/5" in list_text(app).splitlines()[2], "the run's progress")
        await until(pilot, lambda: "55 rows" in list_text(app).splitlines()[3], "the job's row")


async def test_home_card_shows_the_queues_real_counts(settings: Settings) -> None:
    seed_queue(settings, with_auth=False)
    app = make_app(settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert "1 failed, 8 complete" in card_text(app, "jobs")


async def test_job_changes_update_rows_by_key_without_laying_the_list_out_again(
    settings: Settings,
) -> None:
    seeded = seed_queue(settings)
    app = make_app(settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_jobs(pilot)
        await pilot.press("down", "down", "enter")  # the auth_log run, under way
        await settle(pilot)
        jobs_list = app.screen.query_one(JobsList)
        layouts = []
        original = jobs_list.set_rows
        jobs_list.set_rows = lambda rows: (layouts.append(1), original(rows))  # type: ignore[method-assign]
        queue = app.service.queue

        # A burst: the running job completes, a pending one is claimed and quarantines rows.
        running = seeded.jobs["auth-03.log"]
        assert await queue.complete(running, "host-1-pool-1", JobSuccess(rows_out=40))
        claimed = await queue.claim("host-1-pool-2")
        assert claimed is not None and claimed.job_id == seeded.jobs["auth-04.log"]
        await queue.complete(claimed.job_id, "host-1-pool-2", JobSuccess(30, rows_quarantined=2))

        await until(pilot, lambda: "4/5" in list_text(app).splitlines()[2], "the run's progress")
        await settle(pilot)
        lines = list_text(app).splitlines()
        assert "auth-03.log" in lines[3] and "40 rows" in lines[3] and "complete" in lines[3]
        assert "auth-04.log" in lines[6] and "30 rows" in lines[6] and "warnings" in lines[6]
        assert layouts == []  # rows replaced in place: the list was not laid out again


async def test_a_new_run_appears_and_a_run_that_fails_moves_up(settings: Settings) -> None:
    seed_queue(settings, with_auth=False)
    app = make_app(settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_jobs(pilot)
        queue = app.service.queue
        made = await queue.enqueue([JobRequest("auth_log", "1.0.0", "/d/x.log", batch_id="b" * 32)])
        await until(pilot, lambda: "run bbbbbbbb" in list_text(app), "the new run")
        assert "pending" in list_text(app).splitlines()[1]  # a failed run stays first

        claimed = await queue.claim("w")
        assert claimed is not None and claimed.job_id == made[0].job_id
        await queue.fail(claimed.job_id, "w", BROKEN)
        await until(
            pilot, lambda: "run bbbbbbbb" in list_text(app).splitlines()[0], "the run to move up"
        )


async def test_filters_keep_the_runs_with_such_jobs(settings: Settings) -> None:
    seed_queue(settings)
    app = make_app(settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_jobs(pilot)
        for key, runs in (("2", ["auth_log"]), ("3", ["events", "sales"]), ("4", ["auth_log"])):
            await pilot.press(key)
            await settle(pilot)
            assert [line.split(" · ")[1].split()[0] for line in list_text(app).splitlines()] == runs
        await pilot.press("enter")  # pending filter: the auth_log run lists its pending jobs only
        await settle(pilot)
        assert [line.split()[1] for line in list_text(app).splitlines()[1:]] == [
            "auth-04.log",
            "auth-05.log",
        ]


async def test_retry_queues_a_failed_job_again_and_replay_a_dead_letter(
    settings: Settings,
) -> None:
    seeded = seed_queue(settings)
    app = make_app(settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_jobs(pilot)
        await pilot.press("down", "enter")  # the sales run: its failed job first
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        bad = await app.service.queue.job(seeded.jobs["orders-bad.csv"])
        assert bad.job.status == JobStatus.QUEUED

        await pilot.press("d")  # the dead letters: the crashed events job is still there
        await settle(pilot)
        assert "events-7.json" in list_text(app)
        await pilot.press("r")
        await settle(pilot)
        replayed = await app.service.queue.job(seeded.jobs["events-7.json"])
        assert replayed.job.status == JobStatus.QUEUED
        assert all(letter.replayed_at for letter in replayed.dead_letters)


async def test_cancel_asks_first_then_cancels_a_runs_unfinished_jobs(settings: Settings) -> None:
    seeded = seed_queue(settings)
    app = make_app(settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_jobs(pilot)
        await pilot.press("down", "down", "c")  # the auth_log run
        await until_idle(pilot)
        assert isinstance(app.screen, ConfirmPrompt)
        await pilot.press("n")
        await settle(pilot)
        queue = app.service.queue
        assert (await queue.job(seeded.jobs["auth-04.log"])).job.status == JobStatus.QUEUED

        await pilot.press("c")
        await until_idle(pilot)
        await pilot.press("y")
        await settle(pilot)
        for name in ("auth-03.log", "auth-04.log", "auth-05.log"):
            assert (await queue.job(seeded.jobs[name])).job.status == JobStatus.CANCELLED
        assert (await queue.job(seeded.jobs["auth-01.log"])).job.status == JobStatus.COMPLETED


async def test_a_running_jobs_log_is_followed(settings: Settings) -> None:
    seeded = seed_queue(settings)
    app = make_app(settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_jobs(pilot)
        await pilot.press("down", "down", "enter")  # the running auth-03.log comes first
        await settle(pilot)
        assert "Log · following" in detail_text(app)
        log = next(settings.logs_dir.glob(f"*/{seeded.jobs['auth-03.log']}.log"))
        with log.open("a") as handle:
            handle.write("INFO 500 rows so far\n")
        await until(pilot, lambda: "INFO 500 rows so far" in detail_text(app), "the new line")


async def test_the_assistant_gets_the_selected_job_as_context(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-not-used")  # nothing is sent
    seeded = seed_queue(settings)
    app = make_app(settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_jobs(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        context = app.screen.assistant_context()
        assert context.mode == "jobs"
        assert context.selection["job_id"] == seeded.jobs["orders-bad.csv"]
        assert context.selection["error_code"] == "SCHEMA_MISMATCH"
        assert context.selection["run"] == SALES_BATCH
        assert len(context.selection["fingerprint"]) == 16
        assert context.detail is not None
        assert "KeyError: 'amount'" in context.detail and "occurred 1 times" in context.detail
        assert "ERROR KeyError: 'amount'" in context.detail  # the log's tail

        await pilot.press("a")  # a failed job: the chat opens with the question ready
        await settle(pilot)
        chat = app.screen.query_one(AssistantSidebar)
        assert chat.display and isinstance(app.focused, ChatInput)
        assert chat.input.text == "Why did this job fail?"
        assert chat.context().selection["job_id"] == seeded.jobs["orders-bad.csv"]
        assert "Show me similar failures" in app.service.assistant.starter_prompts("jobs")

        app.screen.focus_content()
        await pilot.press("up")  # the run itself
        await settle(pilot)
        assert app.screen.assistant_context().selection["run"] == SALES_BATCH


async def test_another_mode_can_open_jobs_on_one_job(settings: Settings) -> None:
    """Inspect's `J` posts ShowJob: Jobs opens with the job's run expanded and the job under
    the cursor, whatever filter was on."""
    seeded = seed_queue(settings)
    app = make_app(settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_jobs(pilot)
        await pilot.press("4")  # pending: the sales run is not listed
        await settle(pilot)
        await pilot.press("alt+h")
        await settle(pilot)
        app.post_message(ShowJob(seeded.jobs["orders-05.csv"]))
        await until(pilot, lambda: app.current_mode == "jobs", "the Jobs mode")
        await settle(pilot)
        highlighted = app.screen.query_one(JobsList).highlighted
        assert highlighted is not None and highlighted.key == f"job:{seeded.jobs['orders-05.csv']}"
        assert "run 5a1e5b47 · sales" in list_text(app).splitlines()[1]
        assert "orders-05.csv  complete" in detail_text(app)


async def test_show_job_opens_jobs_for_the_first_time_on_that_job(settings: Settings) -> None:
    seeded = seed_queue(settings)
    app = make_app(settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        app.post_message(ShowJob(seeded.jobs["auth-04.log"]))
        await until(pilot, lambda: app.current_mode == "jobs", "the Jobs mode")
        await settle(pilot)
        highlighted = app.screen.query_one(JobsList).highlighted
        assert highlighted is not None and highlighted.key == f"job:{seeded.jobs['auth-04.log']}"


async def test_r_on_a_run_retries_its_failed_jobs_and_c_on_a_job_cancels_it(
    settings: Settings,
) -> None:
    seeded = seed_queue(settings)
    app = make_app(settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_jobs(pilot)
        await pilot.press("down", "r")  # the sales run: its one failed job
        await settle(pilot)
        queue = app.service.queue
        assert (await queue.job(seeded.jobs["orders-bad.csv"])).job.status == JobStatus.QUEUED
        assert (await queue.job(seeded.jobs["orders-01.csv"])).job.status == JobStatus.COMPLETED

        await pilot.press("3")  # failed: the sales run has none left, the events run stays
        await settle(pilot)
        assert "run 5a1e5b47" not in list_text(app)

        await pilot.press("4", "enter")  # pending: the runs with pending jobs, expanded
        await settle(pilot)
        lines = list_text(app).splitlines()
        target = next(n for n, line in enumerate(lines) if "auth-05.log" in line)
        app.screen.query_one(JobsList).action_jump(target)
        await settle(pilot)
        await pilot.press("c")
        await until_idle(pilot)
        assert "auth-05.log" in str(app.screen.question)
        await pilot.press("y")
        await settle(pilot)
        assert (await queue.job(seeded.jobs["auth-05.log"])).job.status == JobStatus.CANCELLED
        assert (await queue.job(seeded.jobs["auth-04.log"])).job.status == JobStatus.QUEUED
