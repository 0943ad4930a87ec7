"""Inspect: the output tables."""

from __future__ import annotations

from casparian_tui.screens.base import EmptyModeScreen


class InspectScreen(EmptyModeScreen):
    MODE = "inspect"
    EMPTY_TEXT = (
        "[b]No output tables yet[/b]\n\n"
        "Tables appear here once a parser has written rows to the home's output/ folder."
    )
