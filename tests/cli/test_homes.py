"""Which commands create a home, and what a missing, lost or damaged home does to each."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.cli.support import casparian, make_home, one_sentence, popen_casparian, write_files

READ_ONLY = (
    ("status",),
    ("status", "--json"),
    ("files",),
    ("rule", "list"),
    ("rule", "remove", "1"),
    ("source", "list"),
    ("source", "remove", "x"),
    ("tag", "*.csv", "sales"),
)


@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_a_read_only_command_on_a_missing_home_is_exit_2_and_creates_nothing(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    mistyped = tmp_path / "hmoe"
    result = casparian(*command, home=mistyped)
    one_sentence(result, f"no Casparian home at {mistyped}", "--home", "casparian scan")
    assert not mistyped.exists()


def test_an_existing_folder_without_a_database_is_not_a_home(tmp_path: Path) -> None:
    result = casparian("status", home=tmp_path)
    one_sentence(result, f"no Casparian home at {tmp_path}")
    assert sorted(os.listdir(tmp_path)) == []


def test_scan_creates_a_home_and_says_so_once(tmp_path: Path) -> None:
    home, data = tmp_path / "new-home", write_files(tmp_path / "data", 3)
    first = casparian("scan", str(data), home=home)
    assert first.returncode == 0, first.stderr
    assert first.stderr.strip() == f"Created a new home at {home}."
    assert "3 files" in first.stdout
    again = casparian("scan", str(data), home=home)
    assert again.returncode == 0 and again.stderr == ""
    status = casparian("status", home=home)
    assert status.returncode == 0 and "3 files, 1 source" in status.stdout


def test_rule_add_creates_a_home_and_says_so(tmp_path: Path) -> None:
    home = tmp_path / "new-home"
    result = casparian("rule", "add", "*.csv", "sales", home=home)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == f"Created a new home at {home}."
    assert (home / "casparian_flow.sqlite3").stat().st_size > 0


@pytest.mark.parametrize("damage", ["deleted", "emptied"])
@pytest.mark.parametrize(
    "command", [("status",), ("files",), ("scan", "DATA"), ("tui",)], ids=" ".join
)
def test_a_home_with_parsers_and_outputs_that_lost_its_database_is_never_started_afresh(
    tmp_path: Path, damage: str, command: tuple[str, ...]
) -> None:
    home, data = make_home(tmp_path / "home"), write_files(tmp_path / "data", 2)
    (home / "parsers" / "sales.py").write_text("def parse(path):\n    return []\n")
    database = home / "casparian_flow.sqlite3"
    (home / "casparian_flow.paths.sqlite3").unlink()  # the parsers alone tell
    if damage == "deleted":
        database.unlink()
    else:
        database.write_bytes(b"")
    args = [str(data) if arg == "DATA" else arg for arg in command]
    result = casparian(*args, home=home)
    one_sentence(
        result, str(home), "database casparian_flow.sqlite3 is missing or empty", "restore"
    )
    assert database.exists() == (damage == "emptied")
    assert not database.exists() or database.stat().st_size == 0


def test_outputs_alone_also_mean_the_database_was_lost(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")
    (home / "output" / "sales").mkdir()
    (home / "casparian_flow.sqlite3").unlink()
    (home / "casparian_flow.paths.sqlite3").unlink()  # the outputs alone tell
    one_sentence(casparian("rule", "add", "*.csv", "x", home=home), "missing or empty")


def _scanned_home(tmp_path: Path, files: int) -> Path:
    home, data = tmp_path / "home", write_files(tmp_path / "data", files)
    assert casparian("scan", str(data), home=home).returncode == 0
    return home


def test_status_reports_damaged_inner_pages_in_one_sentence(tmp_path: Path) -> None:
    home = _scanned_home(tmp_path, 2000)
    database = home / "casparian_flow.sqlite3"
    size = database.stat().st_size
    with database.open("r+b") as handle:  # a page in the middle: size and header look fine
        handle.seek(size // 2 // 4096 * 4096)
        handle.write(bytes(range(256)) * 16)
    before = database.read_bytes()
    result = casparian("status", home=home)
    one_sentence(result, str(database), "is damaged", "integrity check", "backup")
    assert database.read_bytes() == before


def test_a_truncated_database_is_checked_at_open_by_any_command(tmp_path: Path) -> None:
    home = _scanned_home(tmp_path, 2000)
    database = home / "casparian_flow.sqlite3"
    with database.open("r+b") as handle:
        handle.truncate(database.stat().st_size // 2 + 100)  # no whole number of pages
    one_sentence(casparian("rule", "list", home=home), str(database), "is damaged")


def test_two_first_scans_of_a_new_home_at_once_both_succeed(tmp_path: Path) -> None:
    data = write_files(tmp_path / "data", 20)
    for round_ in range(3):
        home = tmp_path / f"home-{round_}"
        scans = [popen_casparian("scan", str(data), home=home) for _ in range(3)]
        outcomes = [(scan.wait(timeout=120), *scan.communicate()) for scan in scans]
        assert [code for code, _, _ in outcomes] == [0, 0, 0], outcomes
        created = [err for _, _, err in outcomes if "Created a new home" in err]
        assert len(created) == 1, outcomes
        status = casparian("source", "list", home=home)
        assert status.stdout.count("20 files") == 1, status.stdout


def test_a_config_that_is_not_utf8_is_one_sentence(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")
    (home / "config.toml").write_bytes(b"max_workers = 2\n# caf\xe9\n")
    one_sentence(casparian("status", home=home), "config.toml", "not UTF-8", "byte 22")


def test_a_copied_home_keeps_working(tmp_path: Path) -> None:
    """A sanity check of the rules above: a home moved elsewhere is a home there."""
    home = _scanned_home(tmp_path, 5)
    moved = tmp_path / "moved"
    shutil.copytree(home, moved)
    result = casparian("files", "--json", home=moved)
    assert result.returncode == 0, result.stderr
    assert '"total": 5' in result.stdout
    assert sqlite3.connect(moved / "casparian_flow.sqlite3").execute(
        "PRAGMA quick_check"
    ).fetchone() == ("ok",)


async def test_a_database_deleted_while_the_app_is_open_is_not_replaced(tmp_path: Path) -> None:
    """The app keeps its connections; a scan opens a new one, where SQLite would quietly make
    a new, empty database: its path index, still there, says one was lost."""
    from casparian_core.config import load_settings
    from casparian_core.errors import DatabaseLostError
    from casparian_core.service import CoreService

    home, data = make_home(tmp_path / "home"), write_files(tmp_path / "data", 3)
    async with CoreService(load_settings(env={}, home=home)) as service:
        await service.scout.scan(data)
        database = home / "casparian_flow.sqlite3"
        for companion in ("", "-wal", "-shm"):
            Path(f"{database}{companion}").unlink(missing_ok=True)
        with pytest.raises(DatabaseLostError, match="restore it from a backup"):
            await service.scout.scan(data)
    assert not database.exists()
    one_sentence(casparian("files", home=home), "deleted or truncated")
