"""The app re-reads the home's numbers on a change, not on every progress event or log line."""

from __future__ import annotations

from casparian_core.config import Settings
from casparian_core.events import DataChanged, RunLog, ScanProgress
from tests.tui.conftest import TERMINAL, make_app, settle, until


async def test_progress_and_log_lines_do_not_refresh_the_stats(settings: Settings) -> None:
    app = make_app(settings)
    refreshes: list[str] = []
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        app.refresh_stats = lambda: refreshes.append("stats")  # type: ignore[method-assign]
        for seen in range(50):
            app.service.events.publish(ScanProgress("s", seen, seen, 0, "d"))
            app.service.events.publish(RunLog(None, 20, "a line"))
        app.service.events.publish(DataChanged("test"))
        # Events arrive in order: once the change is handled, so is every event before it.
        await until(pilot, lambda: refreshes != [], "the change's refresh")
    assert refreshes == ["stats"]
