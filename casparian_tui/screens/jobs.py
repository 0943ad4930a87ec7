"""Jobs: the processing queue."""

from __future__ import annotations

from casparian_tui.screens.base import EmptyModeScreen


class JobsScreen(EmptyModeScreen):
    MODE = "jobs"
    EMPTY_TEXT = (
        "[b]No jobs yet[/b]\n\n"
        "Jobs appear here when files are queued for processing by their parsers."
    )
