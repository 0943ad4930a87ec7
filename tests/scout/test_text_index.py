"""The trigram index behind substring and glob filters: same answers as a full scan, filled
beside a large scan, and never trusted once it may mislead."""

from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest

from casparian_core.config import Settings
from casparian_core.db.connection import connect, path_index_file
from casparian_core.events import ScanProgress
from casparian_core.processes import MAX_NICENESS
from casparian_core.scout import compare, scan_worker, text_index
from casparian_core.scout.queries import FileQuery
from casparian_core.scout.text_index import (
    FILL_NICENESS,
    BackgroundFill,
    longest_literal,
    rare_candidates,
)
from casparian_core.service import CoreService
from tests.scout.conftest import write_tree

NAMES = {f"logs/Day_{i:02d}/run.{'csv' if i % 3 else 'log'}": "x" for i in range(30)}


async def _matches(service: CoreService, query: FileQuery) -> list[str]:
    page = await service.scout.files_page(query, limit=1000)
    assert await service.scout.count_files(query) == len(page.rows)
    return [row.rel_path for row in page.rows]


async def test_rare_filters_go_through_the_index_and_match_exactly(
    service: CoreService, settings: Settings, data: Path
) -> None:
    write_tree(data, NAMES)
    await service.scout.scan(data)
    with closing(connect(settings.database_path)) as conn:
        assert rare_candidates(conn, "day_1") is not None
        assert rare_candidates(conn, "da") is None  # too short for a trigram

    assert await _matches(service, FileQuery(text="DAY_1")) == [
        f"logs/Day_{i}/run.{'csv' if i % 3 else 'log'}" for i in range(10, 20)
    ]
    assert await _matches(service, FileQuery(text="*Day_2?/*.log")) == [
        "logs/Day_21/run.log",
        "logs/Day_24/run.log",
        "logs/Day_27/run.log",
    ]
    assert await _matches(service, FileQuery(text="*day_2?/*.log")) == []  # GLOB keeps case
    assert await _matches(service, FileQuery(glob="*/Day_0[0-2]/*")) == [
        "logs/Day_00/run.log",
        "logs/Day_01/run.csv",
        "logs/Day_02/run.csv",
    ]


async def test_rows_not_indexed_yet_are_still_found(
    service: CoreService, settings: Settings, data: Path
) -> None:
    write_tree(data, NAMES)
    await service.scout.scan(data)
    with closing(connect(settings.database_path)) as conn:
        # As during a scan: the rows are in the catalogue, the index has not caught up.
        conn.execute(
            "INSERT INTO path_index.scout_files_text (scout_files_text) VALUES ('delete-all')"
        )
        conn.execute("UPDATE path_index.scout_files_text_mark SET indexed_upto = 0")

    assert len(await _matches(service, FileQuery(text="Day_1"))) == 10


async def test_a_removed_source_leaves_nothing_behind_in_the_index(
    service: CoreService, data: Path, tmp_path: Path
) -> None:
    write_tree(data, NAMES)
    await service.scout.scan(data, name="first")
    await service.scout.remove_source("first")
    write_tree(tmp_path / "second", {"other/Day_10.txt": "x", "zz.txt": "x"})
    await service.scout.scan(tmp_path / "second")  # may reuse the removed rows' ids

    assert await _matches(service, FileQuery(text="Day_1")) == ["other/Day_10.txt"]
    assert await _matches(service, FileQuery(text="run.")) == []


async def test_a_capped_count_stops_past_the_cap(service: CoreService, data: Path) -> None:
    write_tree(data, NAMES)
    await service.scout.scan(data)

    assert await service.scout.count_files(FileQuery(text="Day_"), at_most=10) == 11
    assert await service.scout.count_files(FileQuery(text="Day_1"), at_most=10) == 10
    assert await service.scout.count_files(FileQuery(text="Day_1"), at_most=100) == 10


def test_the_longest_literal_run_of_a_glob() -> None:
    assert longest_literal("*.log") == ".log"
    assert longest_literal("logs/*/day_??.csv") == "logs/"
    assert longest_literal("a[bcdefgh]cd*xyzw") == "xyzw"
    assert longest_literal("[]abcdef]x") == "x"  # ']' first in a class is a member
    assert longest_literal("*") == ""


async def test_ids_reused_behind_the_index_s_back_are_caught(
    service: CoreService, settings: Settings, data: Path, tmp_path: Path
) -> None:
    write_tree(data, NAMES)
    await service.scout.scan(data, name="first")
    with closing(connect(settings.database_path)) as conn:
        # As if the process removing the source died before it refilled the index.
        conn.execute("DELETE FROM scout_sources WHERE name = 'first'")
    write_tree(tmp_path / "second", {"other/Day_10.txt": "x", "zz.txt": "x"})
    with closing(connect(settings.database_path)) as conn:
        # The new rows take the deleted rows' ids; the index still has the old paths there.
        await service.scout.scan(tmp_path / "second")
        assert rare_candidates(conn, "day_1") is not None  # the scan's catch_up started afresh
        indexed = conn.execute(
            "SELECT count(*) FROM path_index.scout_files_text WHERE scout_files_text MATCH 'run'"
        ).fetchone()[0]
        assert indexed == 0

    assert await _matches(service, FileQuery(text="Day_1")) == ["other/Day_10.txt"]


async def test_a_stale_mark_keeps_filters_off_the_index(
    service: CoreService, settings: Settings, data: Path
) -> None:
    write_tree(data, NAMES)
    await service.scout.scan(data)
    with closing(connect(settings.database_path)) as conn:
        newest = conn.execute("SELECT max(id) FROM scout_files").fetchone()[0]
        conn.execute("DELETE FROM scout_files WHERE id = ?", (newest,))  # its id is free again
        conn.execute(
            "INSERT INTO scout_files (source_id, path, rel_path, size, mtime_ns, status,"
            " first_seen, last_seen) VALUES (1, '/x/Day_1x', 'Day_1x', 1, 1, 'new', 't', 't')"
        )
        assert conn.execute("SELECT max(id) FROM scout_files").fetchone()[0] == newest
        assert rare_candidates(conn, "day_1") is None  # only a scan can be trusted now

    assert "Day_1x" in await _matches(service, FileQuery(text="Day_1"))


async def test_an_unreadable_path_index_is_made_afresh(settings: Settings, data: Path) -> None:
    write_tree(data, NAMES)
    async with CoreService(settings) as service:
        await service.scout.scan(data)
    index = path_index_file(settings.database_path)
    index.write_bytes(b"not a database " * 500)
    for companion in ("-wal", "-shm"):
        index.with_name(index.name + companion).unlink(missing_ok=True)

    async with CoreService(settings) as reopened:
        assert len(await _matches(reopened, FileQuery(text="Day_1"))) == 10  # not indexed: a scan
        await reopened.scout.scan(data)
        with closing(connect(settings.database_path)) as conn:
            assert rare_candidates(conn, "day_1") is not None
        assert len(await _matches(reopened, FileQuery(text="Day_1"))) == 10


async def test_a_large_scan_fills_the_index_from_its_own_thread(
    service: CoreService,
    settings: Settings,
    data: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(scan_worker, "HANDOVER_AFTER", 100)
    monkeypatch.setattr(compare, "WRITE_BATCH", 500)
    write_tree(data, {f"d{i // 500}/Day_{i:04d}.csv": "x" for i in range(3_000)})
    niceness: list[int] = []
    filled_during_the_scan = threading.Event()
    real_catch_up = text_index.catch_up

    def watched(conn: sqlite3.Connection, *, afresh: bool = False) -> None:
        real_catch_up(conn, afresh=afresh)
        if threading.current_thread().name == "path-index-fill":
            niceness.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
            filled_during_the_scan.set()

    def wait_for_a_fill_round(event: ScanProgress) -> None:
        if event.new >= 1_000:  # the writer waits here; the fill was woken by its last write
            filled_during_the_scan.wait(timeout=30)

    monkeypatch.setattr(text_index, "catch_up", watched)

    await service.scout.scan(data, hash_files=False, on_progress=wait_for_a_fill_round)

    assert filled_during_the_scan.is_set()
    # Below the writer's priority: the rounds may lag, the scan must not.
    assert set(niceness) == {min(os.nice(0) + FILL_NICENESS, MAX_NICENESS)}
    with closing(connect(settings.database_path)) as conn:
        assert (
            conn.execute("SELECT indexed_upto FROM path_index.scout_files_text_mark").fetchone()[0]
            == conn.execute("SELECT max(id) FROM scout_files").fetchone()[0]
        )
        assert rare_candidates(conn, "day_0042") is not None
    assert await _matches(service, FileQuery(text="Day_0042")) == ["d0/Day_0042.csv"]


def test_the_fill_thread_s_failure_is_raised_when_it_closes(settings: Settings) -> None:
    with closing(connect(settings.database_path)) as conn:
        conn.execute("DROP TABLE path_index.scout_files_text")  # broken underneath us
        conn.execute("INSERT INTO scout_sources (name, path, created_at) VALUES ('s', '/s', 't')")
        conn.execute(
            "INSERT INTO scout_files (source_id, path, rel_path, size, mtime_ns, status,"
            " first_seen, last_seen) VALUES (1, '/s/a', 'a', 1, 1, 'new', 't', 't')"
        )
    fill = BackgroundFill(settings.database_path)
    fill.wake()
    with pytest.raises(sqlite3.OperationalError, match="scout_files_text"):
        fill.close()
