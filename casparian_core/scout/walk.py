"""Walking a source folder without following links or opening anything.

Each folder is listed whole and its entries come out sorted as SQLite sorts `rel_path` (code
point order, which is UTF-8 byte order), so catalogue rows are written in index order, which
keeps B-tree inserts local. A folder sorts as its name plus '/', because that is how the paths
beneath it begin: a depth-first walk then comes out in plain string order ('a.txt' < 'a/x' <
'a0').
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from operator import itemgetter

from casparian_core.scout.ignore import (
    IGNORE_FILE,
    IgnoreRules,
    is_builtin_ignored,
    rules_for_folder,
)
from casparian_core.scout.names import display_path, display_text


class SkipReason(StrEnum):
    IGNORED = "ignored"
    SYMLINK = "symlink"
    FIFO = "fifo"
    SOCKET = "socket"
    DEVICE = "device"
    UNREADABLE_FOLDER = "unreadable folder"
    UNREADABLE_FILE = "unreadable file"
    VANISHED = "vanished"


# Not frozen: a frozen dataclass sets each field through object.__setattr__, which costs
# ~0.5 µs per file; nothing mutates these.
@dataclass(slots=True)
class FoundFile:
    """A regular file: `rel_path` is display text, `path` the real OS path (may hold surrogates)."""

    rel_path: str
    path: str
    size: int
    mtime_ns: int
    exact: bool  # whether rel_path is the real name, i.e. valid UTF-8 all the way down


@dataclass(slots=True)
class Skipped:
    rel_path: str
    reason: SkipReason


WalkItem = FoundFile | Skipped


@dataclass(frozen=True, slots=True)
class _Bounds:
    """The part of a walk from the rel_path `start` (inclusive) to `end` (exclusive), in
    rel_path order; None leaves that side open."""

    start: str | None = None
    end: str | None = None

    @property
    def limited(self) -> bool:
        return self.start is not None or self.end is not None

    def holds(self, rel_path: str, is_dir: bool) -> bool:
        """Whether the entry `rel_path`, or for a folder anything below it, lies within.

        A folder sorts as its name plus '/', which is how every path below it begins.
        """
        start, end = self.start, self.end
        if not is_dir:
            return (start is None or rel_path >= start) and (end is None or rel_path < end)
        below = rel_path + "/"
        return (start is None or below > start or start.startswith(below)) and (
            end is None or below < end
        )


@dataclass(frozen=True, slots=True)
class _Subfolder:
    path: str
    rel_path: str
    exact: bool
    rules: IgnoreRules


def source_items(
    root: str, scope: str | None, start: str | None, end: str | None = None
) -> Iterator[WalkItem]:
    """The walk of a source folder, or of one path in it (`scope`, relative, in OS form: a
    file, or a folder and all below it), from the display rel_path `start` on and before `end`
    (a scan handed over to worker processes goes on from there, each over its own range)."""
    bounds = _Bounds(start, end)
    if scope is None:
        return walk(root, "", True, rules_for_folder(root, "")[0], bounds)
    rel_path = display_path(scope)
    path = os.path.join(root, scope)
    parent, _, name = scope.rpartition("/")
    rules, parent_ignored = rules_for_folder(root, parent)
    exact = rel_path == scope
    if parent_ignored or is_builtin_ignored(name):
        return iter(())
    if os.path.isdir(path) and not os.path.islink(path):
        if rules.ignores(rel_path, is_dir=True):
            return iter(())
        return walk(path, rel_path, exact, rules, bounds)
    if rules.ignores(rel_path, is_dir=False) or not bounds.holds(rel_path, is_dir=False):
        return iter(())
    item = examine(path, rel_path, exact)
    return iter(() if item is None else (item,))


def walk(
    path: str, rel_path: str, exact: bool, rules: IgnoreRules, bounds: _Bounds
) -> Iterator[WalkItem]:
    """Every file and skipped entry below the folder `path` (known as `rel_path`), in order,
    within `bounds`.

    An explicit stack instead of recursion: trees deeper than Python's recursion limit are
    legal. Each folder is listed whole (memory follows the largest folder, not the tree).
    """
    stack = [iter(_list_folder(path, rel_path, exact, rules, bounds))]
    while stack:
        for item in stack[-1]:
            if isinstance(item, _Subfolder):
                stack.append(
                    iter(_list_folder(item.path, item.rel_path, item.exact, item.rules, bounds))
                )
                break
            yield item
        else:
            stack.pop()


def split_point(root: str, start: str) -> str | None:
    """A rel_path that cuts the walk of `root` from `start` on into two ranges, for two worker
    processes; None when what is left cannot be split (a single file, an unreadable folder).

    The cut halves the entries left in the first folder that has more than one, going down from
    the root: one listing per level instead of a count of the files, so the halves are equal
    only for evenly filled trees (an uneven cut costs speed, never correctness).
    """
    path, prefix, bounds = root, "", _Bounds(start)
    while True:
        try:
            with os.scandir(path) as scan:
                entries = list(scan)
        except OSError:
            return None
        rest = [
            (key, is_dir, entry)
            for key, name, is_dir, entry in sorted(_sort_keys(entries), key=itemgetter(0))
            if bounds.holds(prefix + name, is_dir)
        ]
        if len(rest) > 1:
            return prefix + rest[len(rest) // 2][0]
        if not rest or not rest[0][1]:
            return None
        key, _, entry = rest[0]
        path, prefix = entry.path, prefix + key


def examine(path: str, rel_path: str, exact: bool) -> WalkItem | None:
    """The walk item for one non-folder entry, from lstat alone; None when it is gone."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError:
        return Skipped(rel_path, SkipReason.UNREADABLE_FILE)
    if stat.S_ISREG(info.st_mode):
        return FoundFile(rel_path, path, info.st_size, info.st_mtime_ns, exact)
    return Skipped(rel_path, _reason_for_mode(info.st_mode))


def _list_folder(
    path: str, rel_path: str, exact: bool, rules: IgnoreRules, bounds: _Bounds
) -> list[WalkItem | _Subfolder]:
    try:
        with os.scandir(path) as scan:
            entries = list(scan)
    except FileNotFoundError:
        return [Skipped(rel_path, SkipReason.VANISHED)]
    except OSError:
        # Permission denied, I/O error...: the folder is reported and the scan goes on.
        return [Skipped(rel_path, SkipReason.UNREADABLE_FOLDER)]
    rules = rules.entering(rel_path, path, any(e.name == IGNORE_FILE for e in entries))
    prefix = rel_path + "/" if rel_path else ""
    limited = bounds.limited
    items: list[WalkItem | _Subfolder] = []
    for _, name, is_dir, entry in sorted(_sort_keys(entries), key=itemgetter(0)):
        child_rel = prefix + name
        if limited and not bounds.holds(child_rel, is_dir):
            continue
        child_exact = exact and name == entry.name
        if is_builtin_ignored(name) or (rules.files and rules.ignores(child_rel, is_dir)):
            items.append(Skipped(child_rel, SkipReason.IGNORED))
        elif is_dir:
            items.append(_Subfolder(entry.path, child_rel, child_exact, rules))
        else:
            item = examine(entry.path, child_rel, child_exact)
            items.append(Skipped(child_rel, SkipReason.VANISHED) if item is None else item)
    return items


def _sort_keys(
    entries: list[os.DirEntry[str]],
) -> Iterator[tuple[str, str, bool, os.DirEntry[str]]]:
    for entry in entries:
        name = entry.name
        if not name.isascii():  # inlined fast path of display_text: one call less per file
            name = display_text(name)
        try:
            # d_type from the directory listing: no system call, and a link is never a folder.
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            is_dir = False
        yield (name + "/" if is_dir else name), name, is_dir, entry


def _reason_for_mode(mode: int) -> SkipReason:
    if stat.S_ISLNK(mode):
        return SkipReason.SYMLINK
    if stat.S_ISFIFO(mode):
        return SkipReason.FIFO
    if stat.S_ISSOCK(mode):
        return SkipReason.SOCKET
    if stat.S_ISDIR(mode):
        # A folder replaced a file between the listing and lstat: it will be seen next scan.
        return SkipReason.VANISHED
    return SkipReason.DEVICE
