"""Scanning and incremental rescans on real folders."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import blake3

from tests.scout.conftest import catalogue, scan, write_tree


def test_first_scan_records_every_file_with_hash_kind_and_status(
    conn: sqlite3.Connection, data: Path
) -> None:
    write_tree(
        data, {"a.csv": "x,y\n1,2\n", "logs/b.log": "hello\n", "logs/deep/c.gz": b"\x1f\x8bzz"}
    )

    summary = scan(conn, data)

    assert (summary.seen, summary.new, summary.hashed, summary.missing) == (3, 3, 3, 0)
    assert summary.by_extension == {".csv": 1, ".log": 1, ".gz": 1}
    rows = catalogue(conn)
    assert list(rows) == ["a.csv", "logs/b.log", "logs/deep/c.gz"]
    a = rows["a.csv"]
    assert a["path"] == str(data / "a.csv")
    assert a["size"] == 8
    assert a["content_hash"] == blake3.blake3(b"x,y\n1,2\n").hexdigest()
    assert a["status"] == "new"
    assert a["first_seen"] == a["last_seen"]
    assert rows["logs/deep/c.gz"]["kind"] == "gzip"
    source = conn.execute("SELECT name, path, last_scan_at FROM scout_sources").fetchone()
    assert source[:2] == ("data", str(data)) and source[2] is not None


def test_rescan_finds_changed_unchanged_and_missing_and_deletes_nothing(
    conn: sqlite3.Connection, data: Path
) -> None:
    write_tree(data, {"keep.txt": "same", "edit.txt": "before", "gone.txt": "bye"})
    scan(conn, data)
    first = catalogue(conn)
    (data / "edit.txt").write_text("after, longer")
    (data / "gone.txt").unlink()
    write_tree(data, {"added.txt": "new"})

    summary = scan(conn, data)

    assert (summary.new, summary.changed, summary.unchanged, summary.missing) == (1, 1, 1, 1)
    assert summary.hashed == 2  # the unchanged file is not read again
    rows = catalogue(conn)
    assert set(rows) == {"keep.txt", "edit.txt", "gone.txt", "added.txt"}
    assert rows["gone.txt"]["status"] == "missing"
    assert rows["gone.txt"]["last_seen"] == first["gone.txt"]["last_seen"]
    assert rows["edit.txt"]["status"] == "changed"
    assert rows["edit.txt"]["content_hash"] == blake3.blake3(b"after, longer").hexdigest()
    assert rows["keep.txt"]["status"] == "unchanged"
    assert rows["keep.txt"]["last_seen"] > first["keep.txt"]["last_seen"]
    assert rows["keep.txt"]["id"] == first["keep.txt"]["id"]

    again = scan(conn, data)
    assert again.missing == 0  # already missing: not counted twice
    assert catalogue(conn)["gone.txt"]["status"] == "missing"


def test_same_size_and_mtime_means_unchanged_and_not_reread(
    conn: sqlite3.Connection, data: Path
) -> None:
    write_tree(data, {"f.txt": "aaaa"})
    scan(conn, data)
    original = catalogue(conn)["f.txt"]["content_hash"]
    stat = os.stat(data / "f.txt")
    (data / "f.txt").write_text("bbbb")
    os.utime(data / "f.txt", ns=(stat.st_atime_ns, stat.st_mtime_ns))

    summary = scan(conn, data)

    assert (summary.unchanged, summary.hashed) == (1, 0)
    assert catalogue(conn)["f.txt"]["content_hash"] == original


def test_a_file_that_comes_back_is_present_again(conn: sqlite3.Connection, data: Path) -> None:
    write_tree(data, {"f.txt": "x"})
    scan(conn, data)
    (data / "f.txt").unlink()
    scan(conn, data)
    write_tree(data, {"f.txt": "x, back with more"})

    summary = scan(conn, data)

    assert summary.changed == 1
    assert catalogue(conn)["f.txt"]["status"] == "changed"


def test_no_hash_reads_no_file_and_a_later_scan_fills_the_hashes(
    conn: sqlite3.Connection, data: Path
) -> None:
    write_tree(data, {"a.txt": "a", "b.bin": b"\x00\x01"})

    summary = scan(conn, data, hash_files=False)

    assert summary.hashed == 0
    assert all(
        row["content_hash"] is None and row["kind"] is None for row in catalogue(conn).values()
    )
    later = scan(conn, data)
    assert (later.unchanged, later.hashed) == (2, 2)
    rows = catalogue(conn)
    assert rows["b.bin"]["kind"] == "binary"
    assert rows["a.txt"]["content_hash"] == blake3.blake3(b"a").hexdigest()


def test_catalogue_order_matches_the_walk_for_tricky_names(
    conn: sqlite3.Connection, data: Path
) -> None:
    # '.' and '-' sort before '/', '0' after it: a folder's files sit between its siblings.
    names = ["a.txt", "a/x.txt", "a-b/y.txt", "a0.txt", "é.txt", "Z.txt", "a/b/c/d.txt"]
    write_tree(data, dict.fromkeys(names, "x"))
    scan(conn, data)

    summary = scan(conn, data)

    assert (summary.seen, summary.unchanged, summary.new, summary.missing) == (7, 7, 0, 0)


def test_a_large_file_is_hashed_whole(conn: sqlite3.Connection, data: Path) -> None:
    blob = os.urandom(3 * 1024 * 1024 + 7)
    write_tree(data, {"big.bin": blob})

    scan(conn, data)

    assert catalogue(conn)["big.bin"]["content_hash"] == blake3.blake3(blob).hexdigest()


def test_two_folders_with_the_same_name_become_two_sources(
    conn: sqlite3.Connection, tmp_path: Path
) -> None:
    for parent in ("one", "two"):
        write_tree(tmp_path / parent / "data", {"f.txt": parent})
        scan(conn, tmp_path / parent / "data")

    names = [row[0] for row in conn.execute("SELECT name FROM scout_sources ORDER BY id")]

    assert names == ["data", "data-2"]


def test_a_rescan_of_files_already_unchanged_writes_no_row(
    conn: sqlite3.Connection, data: Path
) -> None:
    write_tree(data, {"f.txt": "x", "g.txt": "y"})
    scan(conn, data)
    scan(conn, data)  # 'new' becomes 'unchanged': one write each
    before = catalogue(conn)
    changes = conn.total_changes

    summary = scan(conn, data)

    assert (summary.unchanged, summary.new, summary.missing) == (2, 0, 0)
    assert catalogue(conn) == before
    assert conn.total_changes - changes == 1  # the source's last_scan_at, nothing else
