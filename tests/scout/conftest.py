"""Helpers for Scout tests: real folders in tmp_path, a real catalogue in the test's home."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from casparian_core.config import Settings
from casparian_core.db.connection import connect
from casparian_core.home import prepare_home
from casparian_core.scout import sources
from casparian_core.scout.scanner import Scanner, ScanSummary


@pytest.fixture
def conn(settings: Settings) -> Iterator[sqlite3.Connection]:
    prepare_home(settings)
    connection = connect(settings.database_path)
    yield connection
    connection.close()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """An empty folder to scan."""
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


def write_tree(root: Path, files: Mapping[str, bytes | str]) -> None:
    for rel_path, content in files.items():
        path = root / rel_path
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content)
        else:
            path.write_bytes(content)


def scan(conn: sqlite3.Connection, root: Path, **options: object) -> ScanSummary:
    source = sources.register(conn, sources.resolve_folder(root), None)
    return Scanner(conn, source, **options).scan()  # type: ignore[arg-type]


def catalogue(conn: sqlite3.Connection) -> dict[str, dict[str, object]]:
    """Every catalogue row, by relative path."""
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute("SELECT * FROM scout_files ORDER BY rel_path").fetchall()
    finally:
        conn.row_factory = None
    return {row["rel_path"]: dict(row) for row in rows}
