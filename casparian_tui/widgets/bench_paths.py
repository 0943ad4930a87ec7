"""How Parser Bench writes paths: with the user's home folder as `~`, as a shell would.

Engine messages, tracebacks and log lines name files by absolute path; shortening the home
prefix keeps them readable in a narrow pane.
"""

from __future__ import annotations

from pathlib import Path


def short_path(path: Path | str) -> str:
    """`path` with the user's home folder written as `~`."""
    return shorten_paths(str(path))


def shorten_paths(text: str) -> str:
    """`text` with every mention of the user's home folder written as `~`."""
    home = str(Path.home())
    if home in ("", "/"):
        return text
    return text.replace(home + "/", "~/")
