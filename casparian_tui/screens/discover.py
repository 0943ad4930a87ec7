"""Discover: sources, tags and files."""

from __future__ import annotations

from casparian_tui.screens.base import EmptyModeScreen


class DiscoverScreen(EmptyModeScreen):
    MODE = "discover"
    EMPTY_TEXT = (
        "[b]No sources yet[/b]\n\n"
        "Catalogue a folder from a shell:  [b]casparian scan <folder>[/b]\n"
        "Its files will be listed here to browse, preview and tag."
    )
