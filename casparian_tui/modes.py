"""The app's modes: one table that the bindings, the Home cards and the palette all read."""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Mode:
    name: str
    title: str
    alt_key: str
    function_key: str
    purpose: str
    screen: str  # "module:Class", imported when the mode is first opened

    @property
    def keys_label(self) -> str:
        """'Alt+d · F3': how a user reaches the mode, as the title bar and the cards show it."""
        return f"{self.alt_key.replace('alt+', 'Alt+')} · {self.function_key.upper()}"

    def load_screen_class(self) -> type:
        module, _, name = self.screen.partition(":")
        return getattr(importlib.import_module(module), name)


SCREENS = "casparian_tui.screens"
MODES = (
    Mode(
        "home",
        "Home",
        "alt+h",
        "f2",
        "Overview of everything in this home",
        f"{SCREENS}.home:HomeScreen",
    ),
    Mode(
        "discover",
        "Discover",
        "alt+d",
        "f3",
        "Organize: scan, tag, preview files",
        f"{SCREENS}.discover:DiscoverScreen",
    ),
    Mode(
        "parser_bench",
        "Parser Bench",
        "alt+p",
        "f4",
        "Test and develop parsers",
        f"{SCREENS}.parser_bench:ParserBenchScreen",
    ),
    Mode(
        "inspect",
        "Inspect",
        "alt+i",
        "f5",
        "Analyze: query tables, view stats",
        f"{SCREENS}.inspect:InspectScreen",
    ),
    Mode(
        "jobs",
        "Jobs",
        "alt+j",
        "f6",
        "Monitor: track status, handle errors",
        f"{SCREENS}.jobs:JobsScreen",
    ),
)
MODES_BY_NAME = {mode.name: mode for mode in MODES}
WORK_MODES = MODES[1:]  # the four the Home Hub shows as cards
