"""Which bundle of an output folder holds each part key (sinks/parquet_bundle.py).

Every process that publishes a bundle first appends a line `{key} {bundle name}` per part to the
output's bundle log, `DIR/.staging/{output}.bundles`, and fsyncs it, then renames the bundle into
place: the log names every bundle that can exist, so a lookup reads only the lines added since
its last one (one stat when none were), whatever the number of bundles. Listing a folder of
thousands of bundles per lookup would cost milliseconds. A line can outlive its claim: a bundle
is rewritten without some parts when their inputs run again, or never published after a crash;
so a key's bundles are checked against their footers (read once per file, by inode), newest
first. A folder whose log is missing (its `.staging` removed) is listed once, and the log
written again from its bundles' footers.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from casparian_core.sinks.parquet_bundle import BundledPart, is_bundle, read_index
from casparian_core.sinks.synced_write import write_synced

LOG_SUFFIX = ".bundles"
NAMES_KEPT = 8  # bundles remembered per key before those that lost it are forgotten


def log_path(staging: Path, output: str) -> Path:
    return staging / f"{output}{LOG_SUFFIX}"


def record(log: Path, entries: Iterable[tuple[str, str]]) -> None:
    """Add (part key, bundle name) lines to the log, on disk before the bundles are published
    (the staging folder holding it exists: the bundles are staged there)."""
    lines = "".join(f"{key} {bundle}\n" for key, bundle in entries)
    write_synced(log, lines.encode(), append=True)


class BundleIndex:
    """The bundles of the output folder `folder` of a sink whose staging folder is `staging`."""

    def __init__(self, staging: Path, folder: Path) -> None:
        self._folder = folder
        self._log = log_path(staging, folder.name)
        self._log_identity: tuple[int, int] | None = None  # the log file read so far
        self._offset = 0
        self._rebuilt = False
        self._bundles_of: dict[str, list[str]] = {}  # part key: bundle names, newest last
        self._footers: dict[str, tuple[int, dict[str, BundledPart]]] = {}  # name: inode, parts

    def find(self, key: str) -> tuple[Path, BundledPart] | None:
        """The bundle holding the part `key`, and where in it; None when no bundle does."""
        self._read_log()
        for name in reversed(self._bundles_of.get(key, ())):
            part = self._parts(name).get(key)
            if part is not None:
                return self._folder / name, part
        return None

    def _read_log(self) -> None:
        try:
            stat = os.stat(self._log)
        except (FileNotFoundError, NotADirectoryError):
            if not self._rebuilt:
                self._rebuild()
                self._read_log()
            return
        identity = (stat.st_dev, stat.st_ino)
        if identity != self._log_identity:  # written again from the bundles: read it whole
            self._log_identity, self._offset, self._bundles_of = identity, 0, {}
        if stat.st_size <= self._offset:
            return
        with open(self._log, "rb") as log:
            log.seek(self._offset)
            added = log.read(stat.st_size - self._offset)
        complete = added.rfind(b"\n") + 1  # a line still being appended is read next time
        self._offset += complete
        for line in added[:complete].decode(errors="replace").splitlines():
            key, _, name = line.partition(" ")
            if is_bundle(name):
                self._add(key, name)

    def _add(self, key: str, name: str) -> None:
        names = self._bundles_of.setdefault(key, [])
        if name in names:
            names.remove(name)
        names.append(name)
        if len(names) > NAMES_KEPT:  # an input run again and again: forget the bundles that
            # no longer hold it (a bundle only ever loses parts)
            names[:-1] = [old for old in names[:-1] if key in self._parts(old)]

    def _rebuild(self) -> None:
        """No log: list the folder once, and write the log from its bundles' footers (kept in
        memory only when the log cannot be written: a reader of another user's sink)."""
        self._rebuilt = True
        try:
            with os.scandir(self._folder) as found:
                names = sorted(entry.name for entry in found if is_bundle(entry.name))
        except (FileNotFoundError, NotADirectoryError):  # no output yet: the write will tell
            return
        entries = [(key, name) for name in names for key in self._parts(name)]
        if not entries:
            return
        try:
            record(self._log, entries)
        except OSError:
            for key, bundle in entries:
                self._add(key, bundle)

    def _parts(self, name: str) -> dict[str, BundledPart]:
        """The parts a bundle holds now; none when it is gone or unreadable."""
        path = self._folder / name
        try:
            inode = os.stat(path).st_ino
        except FileNotFoundError:
            self._footers.pop(name, None)
            return {}
        cached = self._footers.get(name)
        if cached is not None and cached[0] == inode:
            return cached[1]
        try:
            parts = read_index(path)
        except (OSError, ValueError):  # removed meanwhile, or unreadable: it holds no part we use
            parts = {}
        self._footers[name] = (inode, parts)
        return parts
