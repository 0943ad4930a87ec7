"""Processing a tag's files from the Jobs screen: a real registered parser in its venv, a real
worker pool; the run shows up in the list as it goes, and a broken file's job fails."""

from __future__ import annotations

from casparian_tui.widgets.jobs_tag_picker import TagPicker
from tests.jobs.pool_support import TOPIC, prepare
from tests.registry.test_envs import Fixture, locked
from tests.tui.conftest import make_app, settle, until, until_idle
from tests.tui.jobs_support import list_text, open_jobs

__all__ = ["locked"]  # the fixture, used by name


async def test_p_processes_a_picked_tags_files_and_the_run_shows_its_outcome(
    locked: Fixture,
) -> None:
    home = await prepare(
        locked, {"a.csv": (5, "id,value"), "b.csv": (7, "id,value"), "bad.csv": (3, "BROKEN")}
    )
    app = make_app(home.settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_jobs(pilot)
        assert list_text(app) == ""
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
        [run] = list_text(app).splitlines()
        assert run.startswith("▸ ✗ run ") and " · rows " in run and "1 failed" in run

        await pilot.press("enter")
        await settle(pilot)
        jobs = list_text(app).splitlines()[1:]
        assert "bad.csv" in jobs[0] and "failed" in jobs[0]  # failed first
        assert sorted(line.split()[1] for line in jobs[1:]) == ["a.csv", "b.csv"]
        assert all("complete" in line for line in jobs[1:])
