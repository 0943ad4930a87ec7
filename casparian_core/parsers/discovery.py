"""Finding parsers in `$CASPARIAN_HOME/parsers/`: flat, `*.py`, symlinks followed.

A file that cannot be used (a broken link, a syntax error, bad metadata) is listed with its error
rather than dropped, so a screen can show it with a red health icon.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from casparian_core.errors import CasparianError
from casparian_core.parsers.metadata import ParserInfo, read_parser_info


@dataclass(frozen=True)
class DiscoveredParser:
    path: Path
    info: ParserInfo | None  # None when the file cannot be used
    error: str | None  # why not

    @property
    def name(self) -> str:
        return self.info.name if self.info is not None else self.path.stem


def parser_files(folder: Path) -> list[Path]:
    """Every `*.py` directly in `folder` (names starting with `_` or `.` skipped), unread."""
    if not folder.is_dir():
        return []
    with os.scandir(folder) as entries:
        return [
            Path(entry.path)
            for entry in entries
            if entry.name.endswith(".py") and not entry.name.startswith(("_", "."))
        ]


def discover_parsers(folder: Path) -> list[DiscoveredParser]:
    """Every parser file in `folder` with its metadata or its error, by name."""
    found = _refuse_shared_names([_examine(path) for path in parser_files(folder)])
    return sorted(found, key=lambda parser: (parser.name, parser.path.name))


def _refuse_shared_names(found: list[DiscoveredParser]) -> list[DiscoveredParser]:
    """Parsers sharing a `name` would write the same outputs under the same lineage: none of
    them is used (which one would win depends on nothing the user sees) until one is renamed."""
    files: dict[str, list[str]] = defaultdict(list)
    for parser in found:
        if parser.info is not None:
            files[parser.info.name].append(parser.path.name)
    checked = []
    for parser in found:
        if parser.info is None or len(files[parser.info.name]) == 1:
            checked.append(parser)
            continue
        others = ", ".join(sorted(n for n in files[parser.info.name] if n != parser.path.name))
        error = (
            f"{parser.path}: {others} in the same folder also has the name "
            f"{parser.info.name!r}, so none of them is used; rename all but one (`name = ...`)"
        )
        checked.append(DiscoveredParser(parser.path, None, error))
    return checked


def _examine(path: Path) -> DiscoveredParser:
    if path.is_symlink() and not path.exists():
        target = os.readlink(path)
        return DiscoveredParser(path, None, f"{path}: broken symbolic link to {target}")
    if path.is_dir():
        return DiscoveredParser(path, None, f"{path}: a folder, not a parser file")
    try:
        return DiscoveredParser(path, read_parser_info(path), None)
    except CasparianError as exc:
        return DiscoveredParser(path, None, str(exc))
