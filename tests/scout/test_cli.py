"""The Scout commands: JSON outputs, human text, and errors, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from casparian_cli import main
from casparian_core.config import load_settings
from casparian_core.home import prepare_home
from tests.scout.conftest import write_tree


def cli_json(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> dict:
    assert main(["--home", str(home), *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def cli_text(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--home", str(home), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_scan_json_has_the_summary_counts(
    capsys: pytest.CaptureFixture[str], home: Path, data: Path
) -> None:
    write_tree(data, {"a.csv": "x", "b/c.log": "y", ".git/HEAD": "z"})

    first = cli_json(capsys, home, "scan", str(data))
    (data / "a.csv").unlink()
    second = cli_json(capsys, home, "scan", str(data), "--no-hash")

    assert {k: first[k] for k in ("source", "seen", "new", "hashed", "cancelled")} == {
        "source": "data",
        "seen": 2,
        "new": 2,
        "hashed": 2,
        "cancelled": False,
    }
    assert first["skipped"] == {"ignored": 1}
    assert first["by_extension"] == {".csv": 1, ".log": 1}
    assert first["files_per_s"] >= 0 and first["elapsed_s"] >= 0
    assert (second["unchanged"], second["missing"], second["hashed"]) == (1, 1, 0)


def test_rules_tags_files_and_sources_from_the_command_line(
    capsys: pytest.CaptureFixture[str], home: Path, data: Path
) -> None:
    write_tree(data, {"a.csv": "x", "b.csv": "x", "notes.txt": "x"})
    cli_json(capsys, home, "scan", str(data), "--name", "shop")

    added = cli_json(capsys, home, "rule", "add", "*.csv", "sales", "--priority", "5")
    assert (added["pattern"], added["tag"], added["priority"], added["files"]) == (
        "*.csv",
        "sales",
        5,
        2,
    )
    assert main(["--home", str(home), "tag", str(data / "a.csv"), "special"]) == 0
    assert main(["--home", str(home), "untag", "*.txt"]) == 0
    capsys.readouterr()

    listed = cli_json(capsys, home, "rule", "list")
    assert [(r["id"], r["files"]) for r in listed["rules"]] == [(added["id"], 1)]
    files = cli_json(capsys, home, "files", "--source", "shop")
    assert [(f["rel_path"], f["tag"], f["tag_source"], f["source"]) for f in files["files"]] == [
        ("a.csv", "special", "manual", "shop"),
        ("b.csv", "sales", "rule", "shop"),
        ("notes.txt", None, "manual", "shop"),
    ]
    assert cli_json(capsys, home, "files", "--untagged")["total"] == 1
    assert cli_json(capsys, home, "files", "--tag", "sales", "--limit", "0") == {
        "files": [],
        "total": 1,
    }
    assert main(["--home", str(home), "source", "watch", "shop", "on"]) == 0
    capsys.readouterr()
    [source] = cli_json(capsys, home, "source", "list")["sources"]
    assert (source["name"], source["files"], source["watch"]) == ("shop", 3, True)

    assert main(["--home", str(home), "rule", "remove", str(added["id"])]) == 0
    assert main(["--home", str(home), "source", "remove", "shop"]) == 0
    capsys.readouterr()
    assert cli_json(capsys, home, "source", "list") == {"sources": []}
    assert (data / "a.csv").exists()  # the catalogue forgot it; the disk did not


def test_user_errors_print_one_sentence_and_exit_2(
    capsys: pytest.CaptureFixture[str], home: Path, data: Path
) -> None:
    (data / "file.csv").write_text("x")
    cases = [
        (["scan", str(data / "nope")], "does not exist"),
        (["scan", str(data / "file.csv")], "is a file, not a folder"),
        (["scan", str(data), "--pattern", "*.csv"], "add --tag TAG"),
        (["rule", "remove", "7"], "no tagging rule 7"),
        (["rule", "add", "*.csv", "bad tag"], "not a valid tag"),
        (["tag", "*.parquet", "x"], "No catalogued file matches"),
        (["source", "remove", "ghost"], "no source named 'ghost'"),
        (["files", "--source", "ghost"], "no source named 'ghost'"),
    ]
    prepare_home(load_settings(env={}, home=home))
    for args, message in cases:
        code, out, err = cli_text(capsys, home, *args)
        assert (code, out) == (2, ""), args
        assert err.startswith("casparian: ") and message in err, (args, err)


def test_human_summary_and_no_live_line_when_piped(home: Path, data: Path) -> None:
    write_tree(data, {"a.csv": "x"})
    os.mkfifo(data / "pipe")

    result = subprocess.run(
        [sys.executable, "-m", "casparian_cli", "--home", str(home), "scan", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0
    # The home is new; no progress line when stderr is not a terminal.
    assert result.stderr == f"Created a new home at {home}.\n"
    assert result.stdout.startswith("Scanned: data (")
    assert "new 1, changed 0, unchanged 0, missing 0, hashed 1" in result.stdout
    assert "skipped: 1 fifo (e.g. pipe)" in result.stdout
    assert "by extension: .csv 1" in result.stdout
