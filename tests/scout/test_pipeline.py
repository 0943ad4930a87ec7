"""Scans handed over to the worker process: same catalogue, cancel, a dying worker."""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import psutil
import pytest

from casparian_core.config import Settings
from casparian_core.events import ScanProgress
from casparian_core.processes import MAX_NICENESS
from casparian_core.scout import compare, scan_worker, sources, staging
from casparian_core.scout.errors import ScanWorkerDiedError
from casparian_core.scout.scanner import ScanSummary
from casparian_core.scout.walk import split_point
from casparian_core.service import CoreService
from tests.child_processes import children_running
from tests.scout.conftest import catalogue, scan, write_tree

HANDOVER = 100
BATCH = 500
# Each worker's range (about half of what follows the handover) holds more batches of changes
# than a worker may send ahead of the writer (MAX_AHEAD): no worker can finish while the scanner
# is busy with its first batch.
MANY = 6_000


@pytest.fixture
def early_handover(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan_worker, "HANDOVER_AFTER", HANDOVER)
    monkeypatch.setattr(compare, "WRITE_BATCH", BATCH)


def _tricky_tree(data: Path) -> None:
    names = ["a.txt", "a/x.txt", "a-b/y.txt", "a0.txt", "é.txt", "Z.txt", "a/b/c/d.txt"]
    write_tree(data, dict.fromkeys(names, "x"))
    write_tree(data, {"skip/me.csv": "s", ".casparianignore": "skip/\n"})
    (data / "link.txt").symlink_to(data / "a.txt")
    with open(os.path.join(os.fsencode(data), b"caf\xe9.csv"), "wb") as handle:
        handle.write(b"a,b\n")


@pytest.mark.parametrize("handover_after", [1, 2, 4, 7])
def test_a_scan_handed_over_anywhere_catalogues_what_an_in_process_scan_does(
    conn: sqlite3.Connection, data: Path, monkeypatch: pytest.MonkeyPatch, handover_after: int
) -> None:
    _tricky_tree(data)
    in_process = scan(conn, data)
    expected = {path: row["content_hash"] for path, row in catalogue(conn).items()}
    sources.remove(conn, "data")
    monkeypatch.setattr(scan_worker, "HANDOVER_AFTER", handover_after)

    handed_over = scan(conn, data)

    assert _comparable(handed_over) == _comparable(in_process)
    assert {path: row["content_hash"] for path, row in catalogue(conn).items()} == expected
    (data / "a0.txt").unlink()
    (data / "é.txt").write_text("changed, longer")
    rescan = scan(conn, data)
    assert (rescan.unchanged, rescan.changed, rescan.missing) == (6, 1, 1)
    assert catalogue(conn)["a0.txt"]["status"] == "missing"


def _comparable(summary: ScanSummary) -> dict[str, object]:
    return summary.as_json() | {"source_id": 0, "elapsed_s": 0, "files_per_s": 0}


def _unreadable_depth(data: Path) -> tuple[str, str]:
    """A folder whose path is longer than PATH_MAX: even root cannot list it (ENAMETOOLONG).

    Returns its rel_path and a file path below it, which a scan can never see.
    """
    name = "d" * 250
    fd = os.open(data, os.O_RDONLY)
    rel_parts = []
    try:
        while len(str(data)) + len(rel_parts) * (len(name) + 1) <= os.pathconf("/", "PC_PATH_MAX"):
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
            rel_parts.append(name)
    finally:
        os.close(fd)
    return "/".join(rel_parts), "/".join(rel_parts) + "/f.txt"


def test_rows_under_a_folder_the_worker_cannot_read_are_left_alone(
    conn: sqlite3.Connection, data: Path, early_handover: None
) -> None:
    write_tree(data, {f"a/f{i:03d}.txt": "a" for i in range(HANDOVER)})
    write_tree(data, {"z.txt": "z"})
    _unreadable_depth(data)
    first = scan(conn, data)
    [unreadable] = first.skipped_examples["unreadable folder"]
    # As if an earlier scan had seen a file there: the worker must not declare it missing.
    conn.execute(
        "INSERT INTO scout_files (source_id, path, rel_path, size, mtime_ns, status, first_seen,"
        " last_seen) VALUES (1, ?, ?, 1, 1, 'new', 't', 't')",
        (str(data / unreadable / "f.txt"), unreadable + "/f.txt"),
    )
    (data / "z.txt").unlink()

    summary = scan(conn, data)

    assert summary.skipped == {"unreadable folder": 1}
    rows = catalogue(conn)
    assert rows[unreadable + "/f.txt"]["status"] == "new"
    assert rows["z.txt"]["status"] == "missing"
    assert summary.missing == 1


def _many_files(data: Path) -> None:
    for folder in range(MANY // 1000):
        os.mkdir(data / f"d{folder:02d}")
        for index in range(1000):
            with open(data / f"d{folder:02d}" / f"f{index:04d}.csv", "wb") as handle:
                handle.write(b"x,%d\n" % index)


async def test_a_scan_cancelled_while_the_worker_scans_marks_nothing_missing(
    service: CoreService, data: Path, early_handover: None
) -> None:
    _many_files(data)
    await service.scout.scan(data, hash_files=False)
    gone = [data / "d00" / f"f{index:04d}.csv" for index in range(0, 1000, 10)]
    for path in gone:
        path.unlink()
    cancel = threading.Event()

    def cancel_once_the_worker_reported(event: ScanProgress) -> None:
        if event.seen > HANDOVER:
            cancel.set()

    partial = await service.scout.scan(
        data, on_progress=cancel_once_the_worker_reported, cancel=cancel, hash_files=False
    )

    assert partial.cancelled and partial.missing == 0
    [source] = await service.scout.sources()
    assert source.missing == 0
    finished = await service.scout.scan(data, hash_files=False)
    assert (finished.cancelled, finished.missing) == (False, len(gone))


async def test_cancelling_while_the_worker_scans_keeps_what_was_written(
    service: CoreService, settings: Settings, data: Path, early_handover: None
) -> None:
    _many_files(data)
    cancel = threading.Event()
    reports: list[ScanProgress] = []

    def cancel_once_the_worker_reported(event: ScanProgress) -> None:
        reports.append(event)
        if event.seen > HANDOVER:
            cancel.set()

    partial = await service.scout.scan(
        data, on_progress=cancel_once_the_worker_reported, cancel=cancel, hash_files=False
    )

    assert partial.cancelled
    assert HANDOVER < partial.new < MANY
    assert not list(settings.home.glob(f"{scan_worker.STAGE_DIR_PREFIX}*"))
    assert reports[-1].new == partial.new
    assert await service.scout.count_files() == partial.new
    [source] = await service.scout.sources()
    assert source.last_scan_at is None
    finished = await service.scout.scan(data, hash_files=False)
    assert (finished.new, finished.unchanged, finished.missing) == (
        MANY - partial.new,
        partial.new,
        0,
    )


def _workers() -> list[psutil.Process]:
    """The scan's worker processes still running (a worker done with its range may be a
    zombie until the scan ends)."""
    return children_running("casparian_core.scout.scan_worker")


def _signal_the_worker(signal_number: int) -> None:
    for child in _workers():
        child.send_signal(signal_number)


async def test_a_terminals_ctrl_c_does_not_reach_the_workers(
    service: CoreService, data: Path, early_handover: None
) -> None:
    _many_files(data)
    groups: list[int] = []
    niceness: list[int] = []

    def look_at_the_workers_once_they_reported(event: ScanProgress) -> None:
        if event.seen > HANDOVER and not groups:
            groups.extend(os.getpgid(worker.pid) for worker in _workers())
            niceness.extend(worker.nice() for worker in _workers())

    summary = await service.scout.scan(
        data, on_progress=look_at_the_workers_once_they_reported, hash_files=False
    )

    # A terminal sends Ctrl+C to its foreground process group: ours, not theirs.
    assert len(groups) == 2 and os.getpgrp() not in groups
    # Behind the writer when the cores are short.
    assert niceness == [min(os.nice(0) + scan_worker.WORKER_NICENESS, MAX_NICENESS)] * 2
    assert (summary.cancelled, summary.new) == (False, MANY)


async def test_a_worker_that_dies_is_a_clear_error_and_the_catalogue_stays_usable(
    service: CoreService, data: Path, early_handover: None
) -> None:
    _many_files(data)

    def kill_once_the_worker_reported(event: ScanProgress) -> None:
        # The worker cannot have finished: it waits for the writer while we are in here.
        if event.seen > HANDOVER:
            _signal_the_worker(signal.SIGKILL)

    with pytest.raises(ScanWorkerDiedError, match="worker process exited with code -9"):
        await service.scout.scan(data, on_progress=kill_once_the_worker_reported, hash_files=False)

    written = await service.scout.count_files()
    assert HANDOVER <= written < MANY
    again = await service.scout.scan(data, hash_files=False)
    assert (again.new, again.unchanged, again.missing) == (MANY - written, written, 0)
    [source] = await service.scout.sources()
    assert source.files == MANY


async def test_the_rest_of_a_large_scan_is_split_between_two_workers_and_one_dying_stops_both(
    service: CoreService, settings: Settings, data: Path, early_handover: None
) -> None:
    _many_files(data)
    running: list[int] = []

    def kill_the_second_worker(event: ScanProgress) -> None:
        if event.seen > HANDOVER and not running:
            workers = sorted(_workers(), key=lambda worker: worker.create_time())
            running.append(len(workers))
            workers[-1].kill()

    with pytest.raises(ScanWorkerDiedError, match="worker process exited with code -9"):
        await service.scout.scan(data, on_progress=kill_the_second_worker, hash_files=False)

    assert running == [2]
    assert _workers() == []  # the first worker was stopped with the scan
    assert not list(settings.home.glob(f"{scan_worker.STAGE_DIR_PREFIX}*"))  # nor left files
    written = await service.scout.count_files()
    assert HANDOVER <= written < MANY
    again = await service.scout.scan(data, hash_files=False)
    assert (again.new, again.unchanged, again.missing) == (MANY - written, written, 0)


def test_the_rest_of_a_walk_is_cut_in_the_first_folder_with_more_than_one_entry_left(
    data: Path,
) -> None:
    write_tree(data, dict.fromkeys(["in/a/x.txt", "in/b/y.txt", "in/c.txt", "in/d/z.txt"], "x"))

    assert split_point(str(data), "in/a/x.txt") == "in/c.txt"
    assert split_point(str(data), "in/b/y.txt") == "in/c.txt"
    assert split_point(str(data), "in/c.txt") == "in/d/"
    assert split_point(str(data), "in/d/z.txt") is None  # one file left


async def test_staging_left_by_a_killed_scanning_process_is_removed_by_the_next_scan(
    service: CoreService, settings: Settings, data: Path, early_handover: None
) -> None:
    gone = psutil.Popen([sys.executable, "-c", "pass"])  # a process id that no longer runs
    gone.wait()
    abandoned = settings.home / f"{scan_worker.STAGE_DIR_PREFIX}{gone.pid}-x1y2"
    abandoned.mkdir()
    (abandoned / "worker-0.sqlite3").write_bytes(b"rows staged by a scan killed with -9")
    ours = settings.home / f"{scan_worker.STAGE_DIR_PREFIX}{os.getpid()}-a1b2"
    ours.mkdir()  # a running process's: left alone
    write_tree(data, {f"d/f{i:04d}.csv": "x" for i in range(HANDOVER * 3)})

    summary = await service.scout.scan(data, hash_files=False)

    assert summary.new == HANDOVER * 3
    assert sorted(settings.home.glob(f"{scan_worker.STAGE_DIR_PREFIX}*")) == [ours]


async def test_rows_a_worker_staged_are_catalogued_like_rows_it_sent(
    service: CoreService,
    settings: Settings,
    conn: sqlite3.Connection,
    data: Path,
    early_handover: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _many_files(data)
    inserted_from: list[str] = []
    held: list[bool] = []
    real_insert = staging.Stages.insert

    def recorded(self: staging.Stages, staged: staging.StagedRows, *args: object) -> None:
        inserted_from.append(staged.file)
        real_insert(self, staged, *args)  # type: ignore[arg-type]

    def hold_the_writer_until_a_worker_staged_rows(event: ScanProgress) -> None:
        # A writer that is behind is the cue for the workers to stage their rows themselves.
        if event.seen > HANDOVER and not held:
            held.append(True)
            deadline = time.monotonic() + 30
            while not _staged_anything(settings.home) and time.monotonic() < deadline:
                time.sleep(0.01)

    monkeypatch.setattr(staging.Stages, "insert", recorded)
    summary = await service.scout.scan(
        data, on_progress=hold_the_writer_until_a_worker_staged_rows, hash_files=False
    )

    assert summary.new == MANY
    assert staging.IN_PROCESS in inserted_from  # the scanning process's own rows
    assert {file for file in inserted_from if file != staging.IN_PROCESS}  # a worker's file
    rows = catalogue(conn)
    assert len(rows) == MANY
    row = rows["d03/f0042.csv"]
    assert (row["path"], row["size"], row["status"]) == (str(data / "d03/f0042.csv"), 5, "new")


def _staged_anything(home: Path) -> bool:
    for stage in home.glob(f"{scan_worker.STAGE_DIR_PREFIX}*/*.sqlite3"):
        with closing(sqlite3.connect(stage.as_uri() + "?mode=ro", uri=True)) as reader:
            try:
                if reader.execute("SELECT count(*) FROM new_files").fetchone()[0]:
                    return True
            except sqlite3.OperationalError:
                continue  # not created yet
    return False
