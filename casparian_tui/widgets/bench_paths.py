"""How the screens write paths: with the user's home folder as `~`, as a shell would, and cut
from the left when they do not fit (the file name is what tells files apart).

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


def cut_left(path: str, width: int) -> str:
    """`path` cut from the left to `width` characters, an ellipsis marking the cut."""
    return path if len(path) <= width else "…" + path[len(path) - width + 1 :]
