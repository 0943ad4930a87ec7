"""Progress events while scanning, and cancelling a scan without hurting the catalogue."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from casparian_core.config import Settings
from casparian_core.db.connection import connect
from casparian_core.events import DataChanged, Event, ScanProgress
from casparian_core.scout import compare as compare_module
from casparian_core.scout import sources
from casparian_core.scout.compare import CHECK_EVERY_ITEMS
from casparian_core.scout.errors import SourceRemovedDuringScanError
from casparian_core.service import CoreService
from tests.scout.conftest import write_tree


async def test_progress_reaches_the_callback_and_the_event_bus(
    service: CoreService, data: Path
) -> None:
    write_tree(data, {f"sub/f{i}.txt": "x" for i in range(30)})
    published: list[Event] = []
    service.subscribe(published.append)
    calls: list[ScanProgress] = []

    await service.scout.scan(data, on_progress=calls.append)

    assert calls[-1] == ScanProgress(source="data", seen=30, new=30, changed=0, current_dir="sub")
    assert [e for e in published if isinstance(e, ScanProgress)] == calls
    assert DataChanged(origin="scout") in published


async def test_a_cancelled_scan_commits_what_it_found_and_marks_nothing_missing(
    service: CoreService, data: Path
) -> None:
    count = CHECK_EVERY_ITEMS * 4
    write_tree(data, {f"f{i:04d}.txt": "x" for i in range(count)})
    cancel = threading.Event()
    cancel.set()  # stops at the first check, after CHECK_EVERY_ITEMS - 1 files

    partial = await service.scout.scan(data, cancel=cancel)

    assert partial.cancelled
    assert 0 < partial.new < count
    assert await service.scout.count_files() == partial.new
    [source] = await service.scout.sources()
    assert source.last_scan_at is None  # the source was never fully scanned

    for path in data.iterdir():
        path.unlink()
    again = await service.scout.scan(data, cancel=cancel)

    assert again.cancelled and again.missing == 0
    assert await service.scout.count_files() == partial.new  # nothing declared missing

    finished = await service.scout.scan(data)
    assert (finished.cancelled, finished.missing) == (False, partial.new)


async def test_a_source_removed_during_its_scan_stops_the_scan_and_leaves_no_orphan_rows(
    service: CoreService, data: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A batch every CHECK_EVERY_ITEMS files, and the source removed after the first one.
    monkeypatch.setattr(compare_module, "WRITE_BATCH", 1)
    write_tree(data, {f"f{i:04d}.txt": "x" for i in range(CHECK_EVERY_ITEMS * 3)})

    removed: list[ScanProgress] = []

    def remove_after_first_batch(progress: ScanProgress) -> None:
        if progress.new and not removed:
            removed.append(progress)
            conn = connect(settings.database_path)
            try:
                sources.remove(conn, "data")
            finally:
                conn.close()

    with pytest.raises(SourceRemovedDuringScanError, match="removed while it was being scanned"):
        await service.scout.scan(data, on_progress=remove_after_first_batch)

    conn = connect(settings.database_path)
    try:
        assert conn.execute("SELECT count(*) FROM scout_files").fetchone() == (0,)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()
