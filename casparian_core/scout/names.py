"""Display text for file names that may not be valid UTF-8.

On POSIX, a file name is bytes. Python hands us undecodable bytes as lone surrogates
(surrogateescape), which SQLite cannot store as text. We store a display form where each bad
byte reads `\\xNN`, and keep the real bytes beside it so the file can still be opened.
"""

from __future__ import annotations

import os


def display_text(name: str) -> str:
    """`name` as text SQLite can store and a terminal can show; unchanged when it is valid."""
    if name.isascii():
        return name  # the overwhelmingly common case, and the cheapest test
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", "backslashreplace")
    return name


def display_path(os_rel_path: str) -> str:
    """A relative OS path ('/'-separated) as the rel_path the catalogue stores for it."""
    return "/".join(map(display_text, os_rel_path.split("/")))


def openable_path(path: str, path_bytes: bytes | None) -> str | bytes:
    """The path to pass to open(): the real bytes when the stored text is only a display form."""
    return path if path_bytes is None else path_bytes
