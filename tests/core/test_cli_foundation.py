"""The CLI as a user runs it: a real `casparian` process on a temporary home."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from casparian_core import __version__
from casparian_core.config import load_settings
from casparian_core.db.schema import LATEST_VERSION
from casparian_core.home import prepare_home


def casparian(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CASPARIAN_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "casparian_cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_version(home: Path) -> None:
    result = casparian("--version", home=home)
    assert result.returncode == 0
    assert result.stdout.strip() == f"casparian {__version__}"


def test_status_on_a_new_home_says_how_to_start(tmp_path: Path) -> None:
    home = tmp_path / "fresh"
    prepare_home(load_settings(env={}, home=home))
    result = casparian("status", home=home)
    assert result.returncode == 0, result.stderr
    assert "0 files, 0 sources" in result.stdout
    assert "casparian scan" in result.stdout
    assert (home / "casparian_flow.sqlite3").is_file()
    assert (home / "parsers").is_dir()


def test_status_json_is_one_object_with_the_counts(home: Path) -> None:
    prepare_home(load_settings(env={}, home=home))
    conn = sqlite3.connect(home / "casparian_flow.sqlite3")
    conn.execute("INSERT INTO scout_sources (name, path, created_at) VALUES ('a', '/a', 't')")
    conn.commit()
    conn.close()
    result = casparian("status", "--json", home=home)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["sources"] == 1
    assert data["jobs"] == {}  # by status, once the queue exists
    assert data["home"] == str(home)


def assert_one_clear_sentence(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    for needle in needles:
        assert needle in result.stderr


def test_unwritable_home_is_exit_2_without_traceback(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = casparian("status", home=blocker / "home")
    assert_one_clear_sentence(result, str(blocker / "home"), "CASPARIAN_HOME")
    assert blocker.read_text() == "not a folder"


def test_corrupt_database_is_exit_2_and_left_alone(home: Path) -> None:
    db = home / "casparian_flow.sqlite3"
    db.write_bytes(b"\x00garbage" * 1000)
    for command in ("status", "tui"):
        result = casparian(command, home=home)
        assert_one_clear_sentence(result, str(db), "move it aside")
    assert db.read_bytes() == b"\x00garbage" * 1000


def test_newer_schema_is_exit_2_and_left_alone(home: Path) -> None:
    db = home / "casparian_flow.sqlite3"
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.close()
    before = db.read_bytes()
    result = casparian("status", home=home)
    assert_one_clear_sentence(result, str(db), "upgrade")
    assert db.read_bytes() == before


def test_bad_setting_is_exit_2(home: Path) -> None:
    (home / "config.toml").write_text("heartbeat_secs = -1\n")
    result = casparian("status", home=home)
    assert_one_clear_sentence(result, "heartbeat_secs")
