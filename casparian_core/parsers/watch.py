"""Following parser files: the home's parsers folder (a parser dropped in, saved or removed is
published as ParsersChanged, so a face lists it without being asked to look again), and the saves
of one parser (Parser Bench's watch mode re-runs its test on each)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

from casparian_core.events import EventBus, ParsersChanged

# Editors save in bursts (write, rename, chmod), copies arrive in pieces: one event per burst.
DEBOUNCE_MS = 300


def is_parser_file(path: Path) -> bool:
    """A `*.py` directly in the folder that discovery would list (not `_x.py`, not `.x.py`)."""
    return path.suffix == ".py" and not path.name.startswith(("_", "."))


async def watch_parsers(parsers_dir: Path, events: EventBus) -> None:
    """Publish ParsersChanged for every burst of changes to parser files in `parsers_dir`, until
    cancelled."""
    parsers_dir.mkdir(parents=True, exist_ok=True)
    async for paths in _bursts(parsers_dir, is_parser_file):
        events.publish(ParsersChanged(paths=paths))


async def parser_saves(parser_path: Path) -> AsyncIterator[None]:
    """Yield once per burst of saves of the file at `parser_path`, until the caller stops."""
    target = parser_path.resolve()
    async for _paths in _bursts(target.parent, lambda path: path == target):
        yield


async def _bursts(folder: Path, keep: Callable[[Path], bool]) -> AsyncIterator[tuple[Path, ...]]:
    """The paths in `folder` (not below it) that `keep` selects, one tuple per burst of changes.
    The folder is watched rather than each file: a save that writes a new file and renames it
    over the old one would end a watch on the file itself."""
    import watchfiles  # its Rust notifier loads only for the screens that follow files

    async for changes in watchfiles.awatch(
        folder,
        watch_filter=lambda _change, path: keep(Path(path)),
        debounce=DEBOUNCE_MS,
        recursive=False,
    ):
        yield tuple(sorted(Path(p) for _, p in changes))
