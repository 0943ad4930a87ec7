"""Following the home's parsers folder: a parser file dropped in, saved or removed is published
as ParsersChanged, so a face lists it without being asked to look again."""

from __future__ import annotations

from pathlib import Path

from casparian_core.events import EventBus, ParsersChanged

# Editors save in bursts (write, rename, chmod), copies arrive in pieces: one event per burst.
DEBOUNCE_MS = 300


def is_parser_file(path: Path) -> bool:
    """A `*.py` directly in the folder that discovery would list (not `_x.py`, not `.x.py`)."""
    return path.suffix == ".py" and not path.name.startswith(("_", "."))


async def watch_parsers(parsers_dir: Path, events: EventBus) -> None:
    """Publish ParsersChanged for every burst of changes to parser files in `parsers_dir`, until
    cancelled. The folder is watched rather than each file: a save that writes a new file and
    renames it over the old one would end a watch on the file itself."""
    import watchfiles  # its Rust notifier loads only for the screens that follow the folder

    parsers_dir.mkdir(parents=True, exist_ok=True)
    async for changes in watchfiles.awatch(
        parsers_dir,
        watch_filter=lambda _change, path: is_parser_file(Path(path)),
        debounce=DEBOUNCE_MS,
        recursive=False,
    ):
        events.publish(ParsersChanged(paths=tuple(sorted(Path(p) for _, p in changes))))
