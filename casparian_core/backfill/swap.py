"""Where a backfill stages its output, and its swap, for every kind of sink: a folder sink's
staged output folders exchanged with the live ones (sinks/folder_swap.py), a database sink's
staged database moved into the live one in one transaction (TableSink.swap_in)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from casparian_core.sinks import folder_swap
from casparian_core.sinks.file_sink import STAGING_DIR, FileSink
from casparian_core.sinks.table_sink import TableSink
from casparian_core.sinks.uri import open_sink

# A database sink's files beside the database (SQLite's journals, DuckDB's WAL).
_COMPANIONS = ("-journal", "-wal", "-shm", ".wal")


def staging_uri(sink_uri: str, backfill_id: str) -> str:
    """`DIR/.staging/backfill-{id}` for a folder sink, `FILE.backfill-{id}` for a database."""
    sink = open_sink(sink_uri)
    try:
        if isinstance(sink, FileSink):
            return f"{sink.uri}/{STAGING_DIR}/backfill-{backfill_id}"
        return f"{sink.uri}.backfill-{backfill_id}"
    finally:
        sink.close()


def check(sink_uri: str, staging: str, part_keys: Sequence[str]) -> None:
    """Raise OutputSchemaError if swapping would leave an output with two schemas."""
    _apply(sink_uri, staging, part_keys, None)


def swap(
    sink_uri: str,
    staging: str,
    backfill_id: str,
    part_keys: Sequence[str],
    before_each: Callable[[str], None],
) -> list[str]:
    """Swap the staged outputs in (rolled forward if a swap was interrupted): the outputs."""
    return _apply(sink_uri, staging, part_keys, (backfill_id, before_each))


def _apply(
    sink_uri: str,
    staging: str,
    part_keys: Sequence[str],
    swapping: tuple[str, Callable[[str], None]] | None,
) -> list[str]:
    live, staged = open_sink(sink_uri), open_sink(staging)
    try:
        if isinstance(live, FileSink) and isinstance(staged, FileSink):
            if swapping is None:
                folder_swap.check(live.root, staged.root, part_keys)
                return []
            return folder_swap.swap(live.root, staged.root, swapping[0], part_keys, swapping[1])
        assert isinstance(live, TableSink) and isinstance(staged, TableSink)
        if not staged.path.exists():
            return []  # swapped in already, and removed
        if swapping is not None:
            swapping[1]("tables")
        return live.swap_in(staged.path, part_keys, check_only=swapping is None)
    finally:
        staged.close()
        live.close()


def remove(staging: str) -> None:
    """The staging area, gone (after a swap, or when the backfill is abandoned)."""
    sink = open_sink(staging)
    sink.close()
    if isinstance(sink, FileSink):
        shutil.rmtree(sink.root, ignore_errors=True)
        return
    assert isinstance(sink, TableSink)
    for path in (sink.path, *(Path(f"{sink.path}{suffix}") for suffix in _COMPANIONS)):
        path.unlink(missing_ok=True)
