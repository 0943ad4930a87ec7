"""Unpacking an artifact refuses every entry that could land outside its folder."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from casparian_core.registry import archive
from casparian_core.registry.errors import UnsafeArchiveError
from tests.registry.support import zip_with


def test_an_artifact_unpacks_as_packed(tmp_path: Path) -> None:
    files = {"a.py": b"x = 1\n", "sub/b.json": b"{}", "uv.lock": b"version = 1\n"}

    written = archive.unpack(archive.pack(files), tmp_path / "out", "test")

    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == sorted(files)
    assert (tmp_path / "out" / "sub" / "b.json").read_bytes() == b"{}"


@pytest.mark.parametrize(
    ("name", "mode", "problem"),
    [
        ("../escape.py", 0o100644, "climbs out of its folder"),
        ("sub/../../escape.py", 0o100644, "climbs out of its folder"),
        ("/etc/escape.py", 0o100644, "is an absolute path"),
        ("link.py", stat.S_IFLNK | 0o777, "is a symbolic link"),
        ("..\\escape.py", 0o100644, "Windows path"),
        ("C:/escape.py", 0o100644, "Windows path"),
    ],
)
def test_an_unsafe_entry_is_refused_and_nothing_is_written(
    tmp_path: Path, name: str, mode: int, problem: str
) -> None:
    target = tmp_path / "deep" / "out"
    data = zip_with(name, b"/etc/passwd" if mode & stat.S_IFLNK == stat.S_IFLNK else b"x", mode)

    with pytest.raises(UnsafeArchiveError, match=problem):
        archive.unpack(data, target, "parser p 1.0")

    assert not target.exists()
    assert not (tmp_path / "escape.py").exists()
    assert not (tmp_path / "deep" / "escape.py").exists()
