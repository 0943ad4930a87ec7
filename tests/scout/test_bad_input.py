"""Every bad input of issue 4: none of them may crash a scan or hang it."""

from __future__ import annotations

import os
import socket
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from casparian_core.scout import compare as compare_module
from casparian_core.scout import walk as walk_module
from casparian_core.scout.content import Content
from casparian_core.scout.errors import (
    NonUtf8SourcePathError,
    NotAFolderError,
    ScanPathNotFoundError,
)
from casparian_core.service import CoreService
from tests.scout.conftest import catalogue, scan, write_tree


async def test_a_missing_path_is_a_clear_error(service: CoreService, tmp_path: Path) -> None:
    with pytest.raises(ScanPathNotFoundError, match="does not exist"):
        await service.scout.scan(tmp_path / "nope")
    assert await service.scout.sources() == []


async def test_a_file_instead_of_a_folder_is_a_clear_error(
    service: CoreService, tmp_path: Path
) -> None:
    (tmp_path / "file.csv").write_text("a\n")
    with pytest.raises(NotAFolderError, match="is a file, not a folder"):
        await service.scout.scan(tmp_path / "file.csv")
    assert await service.scout.sources() == []


def _scandir_failing_for(monkeypatch: pytest.MonkeyPatch, folder: Path, error: OSError) -> None:
    """Make os.scandir raise `error` for one folder.

    Tests run as root, and chmod 000 does not stop root from reading a folder, so a permission
    problem is simulated at the one call the walker makes for a folder.
    """
    real_scandir = os.scandir

    def scandir(path: str) -> Iterator[os.DirEntry[str]]:
        if os.fspath(path) == str(folder):
            raise error
        return real_scandir(path)

    monkeypatch.setattr(walk_module.os, "scandir", scandir)


def test_an_unreadable_folder_is_reported_and_its_rows_are_left_alone(
    conn: sqlite3.Connection, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(data, {"a.txt": "a", "private/p.txt": "p", "z.txt": "z"})
    scan(conn, data)
    _scandir_failing_for(monkeypatch, data / "private", PermissionError(13, "Permission denied"))
    (data / "a.txt").unlink()

    summary = scan(conn, data)

    assert summary.skipped == {"unreadable folder": 1}
    assert summary.skipped_examples == {"unreadable folder": ["private"]}
    rows = catalogue(conn)
    # We cannot see inside: its file is not declared missing. The scan went on past it.
    assert rows["private/p.txt"]["status"] == "new"
    assert rows["a.txt"]["status"] == "missing"
    assert rows["z.txt"]["status"] == "unchanged"


def test_an_unreadable_root_marks_nothing_missing(
    conn: sqlite3.Connection, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(data, {"a.txt": "a"})
    scan(conn, data)
    _scandir_failing_for(monkeypatch, data, PermissionError(13, "Permission denied"))

    summary = scan(conn, data)

    assert (summary.seen, summary.missing, summary.skipped) == (0, 0, {"unreadable folder": 1})
    assert catalogue(conn)["a.txt"]["status"] == "new"


def test_a_folder_that_vanishes_mid_scan_counts_as_gone(
    conn: sqlite3.Connection, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(data, {"sub/a.txt": "a", "b.txt": "b"})
    scan(conn, data)
    _scandir_failing_for(monkeypatch, data / "sub", FileNotFoundError(2, "No such file"))

    summary = scan(conn, data)

    assert summary.skipped == {"vanished": 1}
    assert catalogue(conn)["sub/a.txt"]["status"] == "missing"


def test_symlink_loops_and_links_are_skipped_not_followed(
    conn: sqlite3.Connection, data: Path, tmp_path: Path
) -> None:
    write_tree(data, {"real/f.txt": "f"})
    (data / "real" / "loop").symlink_to(data, target_is_directory=True)
    (data / "self").symlink_to(data / "self")  # a link to itself
    outside = tmp_path / "outside.txt"
    outside.write_text("not in the source")
    (data / "link.txt").symlink_to(outside)

    summary = scan(conn, data)

    assert summary.seen == 1
    assert summary.skipped == {"symlink": 3}
    assert list(catalogue(conn)) == ["real/f.txt"]


def test_files_vanishing_between_listing_and_reading_are_skipped(
    conn: sqlite3.Connection, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(data, {"a.txt": "a", "b.txt": "b", "c.txt": "c"})
    real_lstat, real_read = os.lstat, compare_module.read_content

    def lstat_after_delete(path: str) -> os.stat_result:
        if path.endswith("a.txt"):  # listed, then gone before lstat
            os.unlink(path)
        return real_lstat(path)

    def read_after_delete(path: str) -> Content:
        if path.endswith("b.txt"):  # listed and stat'ed, then gone before it is read
            os.unlink(path)
        return real_read(path)

    monkeypatch.setattr(walk_module.os, "lstat", lstat_after_delete)
    monkeypatch.setattr(compare_module, "read_content", read_after_delete)

    summary = scan(conn, data)

    assert summary.skipped == {"vanished": 2}
    assert list(catalogue(conn)) == ["c.txt"]


def test_names_that_are_not_utf8_are_stored_shown_and_openable(
    conn: sqlite3.Connection, data: Path
) -> None:
    raw_name = b"caf\xe9-\xff.csv"  # Latin-1 bytes: not UTF-8
    raw_path = os.path.join(os.fsencode(data), raw_name)
    with open(raw_path, "wb") as handle:
        handle.write(b"a,b\n1,2\n")

    summary = scan(conn, data)

    assert summary.seen == 1
    row = catalogue(conn)["caf\\xe9-\\xff.csv"]
    assert row["path_bytes"] == raw_path
    assert row["path"] == str(data) + "/caf\\xe9-\\xff.csv"
    assert row["kind"] == "text"
    assert scan(conn, data).unchanged == 1  # the display form sorts and matches consistently


async def test_a_file_with_a_non_utf8_name_can_be_previewed(
    service: CoreService, data: Path
) -> None:
    with open(os.path.join(os.fsencode(data), b"r\xe9sum\xe9.txt"), "wb") as handle:
        handle.write(b"hello\n")
    await service.scout.scan(data)
    [row] = (await service.scout.files_page()).rows

    preview = await service.scout.preview(row.id)

    assert row.rel_path == "r\\xe9sum\\xe9.txt"
    assert preview.text == "hello\n"


def test_a_hundred_thousand_entries_in_one_folder(conn: sqlite3.Connection, data: Path) -> None:
    folder = os.fspath(data)
    for index in range(100_000):
        os.close(os.open(f"{folder}/{index:06d}.dat", os.O_CREAT | os.O_WRONLY, 0o644))

    summary = scan(conn, data, hash_files=False)

    assert (summary.seen, summary.new) == (100_000, 100_000)
    assert conn.execute("SELECT count(*) FROM scout_files").fetchone()[0] == 100_000
    assert scan(conn, data, hash_files=False).unchanged == 100_000


def test_fifos_sockets_and_devices_are_skipped_never_opened(
    conn: sqlite3.Connection, data: Path
) -> None:
    # Opening a FIFO for reading blocks until a writer comes: if the scan opened it, this test
    # would hang. It is named like data on purpose.
    os.mkfifo(data / "pipe.csv")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(data / "sock.csv"))
    try:
        os.mknod(data / "null.csv", stat.S_IFCHR | 0o600, os.makedev(1, 3))
        devices = 1
    except PermissionError:
        devices = 0  # not root: device nodes cannot be made; FIFOs and sockets still tested
    write_tree(data, {"real.csv": "a\n"})
    try:
        summary = scan(conn, data)
    finally:
        server.close()

    expected = {"fifo": 1, "socket": 1, **({"device": 1} if devices else {})}
    assert summary.skipped == expected
    assert list(catalogue(conn)) == ["real.csv"]


async def test_a_source_folder_whose_own_path_is_not_utf8_is_a_clear_error(
    service: CoreService, tmp_path: Path
) -> None:
    folder = os.path.join(os.fsencode(tmp_path), b"d\xe9p\xf4t")
    os.mkdir(folder)

    with pytest.raises(NonUtf8SourcePathError, match=r"d\\xe9p\\xf4t"):
        await service.scout.scan(os.fsdecode(folder))
