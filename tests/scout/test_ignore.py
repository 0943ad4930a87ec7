"""Built-in ignores and `.casparianignore` files (gitignore syntax, scoped to their folder)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.scout.conftest import catalogue, scan, write_tree


def test_builtin_clutter_is_ignored(conn: sqlite3.Connection, data: Path) -> None:
    write_tree(
        data,
        {
            "keep.csv": "a",
            ".git/config": "x",
            "pkg/__pycache__/m.pyc": b"\x00",
            ".venv/lib/site.py": "x",
            "web/node_modules/x/index.js": "x",
            "photos/.DS_Store": b"\x00",
            "photos/._img.jpg": b"\x00",
            "photos/img.jpg": b"\xff\xd8\xff\xe0",
        },
    )

    summary = scan(conn, data)

    assert list(catalogue(conn)) == ["keep.csv", "photos/img.jpg"]
    assert summary.skipped == {"ignored": 6}


def test_ignore_files_apply_to_their_folder_and_deeper_files_override(
    conn: sqlite3.Connection, data: Path
) -> None:
    write_tree(
        data,
        {
            ".casparianignore": "*.tmp\nscratch/\n",
            "a.tmp": "x",
            "a.csv": "x",
            "scratch/s.csv": "x",
            "sub/b.tmp": "x",
            "sub/.casparianignore": "!keep.tmp\n/local.csv\n",
            "sub/keep.tmp": "x",
            "sub/local.csv": "x",
            "sub/deeper/local.csv": "x",
            "other/local.csv": "x",
        },
    )

    scan(conn, data)

    assert list(catalogue(conn)) == [
        "a.csv",
        "other/local.csv",
        "sub/deeper/local.csv",
        "sub/keep.tmp",
    ]


def test_a_newly_ignored_file_becomes_missing_on_rescan(
    conn: sqlite3.Connection, data: Path
) -> None:
    write_tree(data, {"a.log": "x", "b.csv": "x"})
    scan(conn, data)
    write_tree(data, {".casparianignore": "*.log\n"})

    summary = scan(conn, data)

    assert summary.missing == 1
    assert catalogue(conn)["a.log"]["status"] == "missing"
