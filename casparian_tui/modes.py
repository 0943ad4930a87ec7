"""The app's modes: one table that the bindings, the Home cards and the palette all read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mode:
    name: str
    title: str
    alt_key: str
    function_key: str
    purpose: str


MODES = (
    Mode("home", "Home", "alt+h", "f2", "Overview of everything in this home"),
    Mode("discover", "Discover", "alt+d", "f3", "Organize: scan, tag, preview files"),
    Mode("parser_bench", "Parser Bench", "alt+p", "f4", "Test and develop parsers"),
    Mode("inspect", "Inspect", "alt+i", "f5", "Analyze: query tables, view stats"),
    Mode("jobs", "Jobs", "alt+j", "f6", "Monitor: track status, handle errors"),
)
MODES_BY_NAME = {mode.name: mode for mode in MODES}
WORK_MODES = MODES[1:]  # the four the Home Hub shows as cards
