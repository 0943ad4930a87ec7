"""Processing a tag's files from the Jobs screen: a real registered parser in its venv, a real
worker pool; the run shows up in the list as it goes, and a broken file's job fails."""

from __future__ import annotations

from pathlib import Path

from casparian_core.api import JobStatus
from casparian_core.service import CoreService
from casparian_tui.screens.prompt import ConfirmPrompt
from casparian_tui.widgets.jobs_list import JobsList
from casparian_tui.widgets.jobs_tag_picker import TagPicker
from tests.jobs.pool_support import TOPIC, prepare
from tests.registry.test_envs import Fixture, locked
from tests.tui.conftest import make_app, settle, until, until_idle
from tests.tui.jobs_support import list_text, open_jobs, seed_queue

__all__ = ["locked"]  # the fixture, used by name


async def test_p_processes_a_picked_tags_files_and_the_run_shows_its_outcome(
    locked: Fixture,
) -> None:
    home = await prepare(
        locked, {"a.csv": (5, "id,value"), "b.csv": (7, "id,value"), "bad.csv": (3, "BROKEN")}
    )
    seed_queue(home.settings, with_auth=False)  # an earlier run, finished, under the cursor
    app = make_app(home.settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_jobs(pilot)
        assert "· sales" in list_text(app)
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, TagPicker), "the tag picker")
        await until_idle(pilot)
        assert [option.id for option in app.screen.query_one("#tag-options").options] == [TOPIC]
        await pilot.press("enter")
        await until(
            pilot,
            lambda: not any(w.group == "jobs-process" and w.is_running for w in app.workers),
            "the processing to end",
        )
        await until(pilot, lambda: "3/3" in list_text(app), "the run's final counts")
        await settle(pilot)
        run, earlier = list_text(app).splitlines()
        assert "· sales" in earlier
        assert run.startswith("▸ ✗ run ") and " · rows " in run and "1 failed" in run
        assert app.screen.query_one(JobsList).cursor == 0  # the cursor went to the new run

        await pilot.press("enter")
        await settle(pilot)
        jobs = list_text(app).splitlines()[1:-1]
        assert "bad.csv" in jobs[0] and "failed" in jobs[0]  # failed first
        assert sorted(line.split()[1] for line in jobs[1:]) == ["a.csv", "b.csv"]
        assert all("complete" in line for line in jobs[1:])


async def test_quitting_while_processing_asks_then_puts_the_running_job_back(
    locked: Fixture,
) -> None:
    home = await prepare(locked, {"hang.csv": (3, "HANG")})
    app = make_app(home.settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_jobs(pilot)
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, TagPicker), "the tag picker")
        await until_idle(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: "running" in list_text(app), "the job to run")
        await until(pilot, lambda: _hanging(home.settings.logs_dir), "the guest to hang")

        await pilot.press("ctrl+c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmPrompt), "the question")
        assert "Processing is still running" in str(app.screen.question)
        await pilot.press("y")
        await until(pilot, lambda: not app.is_running, "the app to end")

    async with CoreService(home.settings) as service:
        [job] = await service.queue.jobs()
    assert job.status == JobStatus.QUEUED and job.attempts == 0  # released, not counted
    assert not any(home.settings.output_dir.rglob("*.parquet"))  # nothing of it kept


def _hanging(logs_dir: Path) -> bool:
    return any("hanging in guest" in log.read_text() for log in logs_dir.glob("*/*.log"))
