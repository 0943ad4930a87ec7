"""Inspect's bad input (issue 17): a query matching ten million rows is capped and says so, and
an export onto a full disk or a read-only filesystem fails clearly leaving no file behind. (A
corrupt Parquet, Arrow IPC, SQLite or DuckDB part: tests/inspect/test_facade.py and
test_catalog_sinks.py; an export into a folder that is a file or missing: test_facade.py.)"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from casparian_core.config import Settings
from casparian_core.inspect.errors import ExportFailedError
from casparian_core.inspect.export import ExportFormat
from casparian_core.inspect.query import MAX_ROWS
from casparian_core.service import CoreService
from tests.cli.support import casparian
from tests.conftest import fixed_clock
from tests.tui.inspect_support import seed_inspect

TEN_MILLION = 10_000_000


def write_rows(settings: Settings, name: str, rows: int, text: bool = False) -> None:
    """One Parquet part of `rows` rows, written by DuckDB (ten million in about a second)."""
    folder = settings.output_dir / name
    folder.mkdir(parents=True)
    extra = ", md5(i::VARCHAR) AS code, 'region-' || (i % 7) AS region" if text else ""
    duckdb.connect().execute(
        f"COPY (SELECT i AS id, i * 0.5 AS amount{extra} FROM range({rows}) t(i)) "
        f"TO '{folder}/part-0.parquet' (FORMAT parquet)"
    ).fetchall()


@pytest.fixture
def service(settings: Settings) -> CoreService:
    return CoreService(seed_inspect(settings), clock=fixed_clock)


async def test_a_query_matching_ten_million_rows_is_capped_and_says_so(
    service: CoreService,
) -> None:
    write_rows(service.settings, "big", TEN_MILLION)

    result = await service.inspect.query("SELECT * FROM big")

    assert (result.table.num_rows, result.truncated) == (MAX_ROWS, True)
    assert result.table.column("id")[MAX_ROWS - 1].as_py() == MAX_ROWS - 1
    small = await service.inspect.query("SELECT * FROM big", max_rows=5)
    assert (small.table.num_rows, small.truncated) == (5, True)
    whole = await service.inspect.query("SELECT count(*) AS n FROM big")
    assert (whole.table.column("n").to_pylist(), whole.truncated) == ([TEN_MILLION], False)


def test_the_query_command_caps_ten_million_rows_and_says_so(settings: Settings) -> None:
    seed_inspect(settings)
    write_rows(settings, "big", TEN_MILLION)

    shown = casparian("query", "SELECT * FROM big", home=settings.home)
    as_json = casparian("query", "SELECT * FROM big", "--format", "json", home=settings.home)

    assert shown.returncode == 0, shown.stderr
    assert "(1,000 rows," in shown.stdout
    assert "only the first 1,000 rows shown; more matched" in shown.stderr
    found = json.loads(as_json.stdout)
    assert (len(found["rows"]), found["truncated"]) == (1000, True)


def _mount_tmpfs(folder: Path, options: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 600 KB filesystem of its own (tmpfs), unmounted after the test."""
    folder = tmp_path / "small"
    _mount_tmpfs(folder, "size=600k")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def read_only_disk(tmp_path: Path) -> Iterator[Path]:
    """A filesystem mounted read-only: the folder exists, nothing can be written in it (root
    included, unlike file permissions)."""
    folder = tmp_path / "read-only"
    _mount_tmpfs(folder, "size=1m,ro")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.mark.parametrize("fmt", [ExportFormat.CSV, ExportFormat.PARQUET])
async def test_an_export_onto_a_full_disk_says_so_and_leaves_no_file(
    service: CoreService, small_disk: Path, fmt: ExportFormat
) -> None:
    write_rows(service.settings, "wide", 200_000, text=True)  # ~10 MB as CSV, ~5 MB as Parquet
    (small_disk / "kept.txt").write_text("was here before")

    with pytest.raises(ExportFailedError, match="No space left on device") as failed:
        await service.inspect.export("wide", small_disk / f"wide.{fmt}", fmt)

    assert "with room for the file" in str(failed.value)
    assert [p.name for p in small_disk.iterdir()] == ["kept.txt"]  # no partial file


async def test_an_export_onto_a_read_only_filesystem_says_so_and_leaves_no_file(
    service: CoreService, read_only_disk: Path
) -> None:
    with pytest.raises(ExportFailedError, match="Read-only file system") as failed:
        await service.inspect.export("orders", read_only_disk / "o.csv", ExportFormat.CSV)

    assert "choose a folder you can write to" in str(failed.value)
    assert list(read_only_disk.iterdir()) == []
