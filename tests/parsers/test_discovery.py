"""Parser discovery in the home's parsers folder: flat, symlinks followed, broken files listed."""

from __future__ import annotations

from pathlib import Path

from casparian_core.parsers.discovery import discover_parsers


def test_lists_parsers_with_errors_instead_of_dropping_them(tmp_path: Path) -> None:
    folder = tmp_path / "parsers"
    folder.mkdir()
    (folder / "good.py").write_text("name = 'alpha'\ndef parse(path):\n    return []\n")
    (folder / "broken.py").write_text("def parse(path)\n")
    (folder / "_helper.py").write_text("x = 1\n")
    (folder / "notes.txt").write_text("not a parser")
    (folder / "sub").mkdir()
    (folder / "sub" / "nested.py").write_text("def parse(path):\n    pass\n")
    elsewhere = tmp_path / "elsewhere.py"
    elsewhere.write_text("name = 'linked'\ndef parse(path):\n    return []\n")
    (folder / "linked.py").symlink_to(elsewhere)
    (folder / "dangling.py").symlink_to(tmp_path / "gone.py")

    found = {parser.path.name: parser for parser in discover_parsers(folder)}

    assert set(found) == {"good.py", "broken.py", "linked.py", "dangling.py"}
    assert found["good.py"].name == "alpha" and found["good.py"].error is None
    assert found["linked.py"].info is not None and found["linked.py"].name == "linked"
    assert found["broken.py"].info is None
    assert "broken.py:1: syntax error" in (found["broken.py"].error or "")
    assert "broken symbolic link" in (found["dangling.py"].error or "")


def test_missing_folder_has_no_parsers(tmp_path: Path) -> None:
    assert discover_parsers(tmp_path / "nowhere") == []
