"""Bundles: source only, deterministic, and refused when a file is unsafe or not text."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from casparian_core.registry import archive
from casparian_core.registry.bundle import collect_sources
from casparian_core.registry.errors import (
    BundleTooLargeError,
    NotUtf8SourceError,
    UnsafeLinkError,
)
from tests.registry.support import write_package

CAP = 20_000_000


def add_junk(folder: Path) -> None:
    """What a working parser folder holds besides its sources."""
    for relative, content in {
        ".venv/lib/site.py": b"venv",
        "venv2/pyvenv.cfg": b"home = /usr",
        "venv2/lib/mod.py": b"x = 1",
        "__pycache__/events.cpython-311.pyc": b"\x00\x01",
        "native/fast.so": b"\x7fELF",
        "native/fast.pyd": b"MZ",
        "data/sample.csv": b"a,1\n",
        ".git/config.toml": b"x",
        ".hidden.py": b"x = 1",
        "README.md": b"# events",
    }.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def test_a_package_bundles_its_sources_and_nothing_else(tmp_path: Path) -> None:
    folder = write_package(tmp_path / "pkg")
    (folder / "sub").mkdir()
    (folder / "sub" / "table.yaml").write_text("a: 1\n")
    (folder / "sub" / "codes.json").write_text("{}")
    (folder / "sub" / "more.yml").write_text("b: 2\n")
    add_junk(folder)

    sources = collect_sources(folder, CAP)

    assert list(sources.files) == [
        "events.py",
        "helpers.py",
        "pyproject.toml",
        "sub/codes.json",
        "sub/more.yml",
        "sub/table.yaml",
        "uv.lock",
    ]
    assert sources.files["helpers.py"] == (folder / "helpers.py").read_bytes()


def test_the_same_sources_give_the_same_sha256_wherever_they_are(tmp_path: Path) -> None:
    first = write_package(tmp_path / "one" / "pkg")
    second = tmp_path / "elsewhere" / "copy"
    shutil.copytree(first, second)
    add_junk(second)  # excluded things differ too
    for index, path in enumerate(sorted(second.rglob("*.py"))):
        os.utime(path, (1_000_000 + index, 2_000_000_000 - index))
        path.chmod(0o600 if index % 2 else 0o755)

    one = archive.pack(collect_sources(first, CAP).files)
    two = archive.pack(collect_sources(second, CAP).files)

    assert archive.sha256_hex(one) == archive.sha256_hex(two)
    (second / "helpers.py").write_text("def clean(text):\n    return text\n")
    changed = archive.pack(collect_sources(second, CAP).files)
    assert archive.sha256_hex(changed) != archive.sha256_hex(one)


def test_the_archive_is_stored_with_fixed_times_and_modes(tmp_path: Path) -> None:
    import io
    import zipfile

    data = archive.pack(collect_sources(write_package(tmp_path / "pkg"), CAP).files)

    with zipfile.ZipFile(io.BytesIO(data)) as opened:
        infos = opened.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}
    assert {i.compress_type for i in infos} == {zipfile.ZIP_STORED}


def test_a_single_file_bundles_itself_with_the_project_files_beside_it(tmp_path: Path) -> None:
    folder = write_package(tmp_path / "parsers")
    (folder / "other_parser.py").write_text("def parse(path):\n    return []\n")

    sources = collect_sources(folder / "events.py", CAP)

    assert list(sources.files) == ["events.py", "pyproject.toml", "uv.lock"]
    assert sources.single_file == "events.py"


def test_a_link_to_a_file_outside_the_folder_is_refused(tmp_path: Path) -> None:
    folder = write_package(tmp_path / "pkg")
    secret = tmp_path / "secret.py"
    secret.write_text("token = 'x'\n")
    (folder / "shared.py").symlink_to(secret)

    with pytest.raises(UnsafeLinkError, match=r"shared\.py.*outside the parser folder"):
        collect_sources(folder, CAP)


def test_a_link_to_a_folder_is_refused_and_a_link_inside_is_bundled(tmp_path: Path) -> None:
    folder = write_package(tmp_path / "pkg")
    (folder / "alias.py").symlink_to(folder / "helpers.py")
    assert collect_sources(folder, CAP).files["alias.py"] == (folder / "helpers.py").read_bytes()

    (tmp_path / "lib").mkdir()
    (folder / "lib").symlink_to(tmp_path / "lib")
    with pytest.raises(UnsafeLinkError, match="a symbolic link to a folder"):
        collect_sources(folder, CAP)


def test_a_bundle_over_the_size_cap_is_refused(tmp_path: Path) -> None:
    folder = write_package(tmp_path / "pkg")
    (folder / "big.json").write_text("[" + "1," * 3000 + "1]")

    with pytest.raises(BundleTooLargeError, match="registry_max_bundle_bytes"):
        collect_sources(folder, 5000)
    assert collect_sources(folder, 20_000).files["big.json"]


def test_a_source_that_is_not_utf8_is_refused_naming_it(tmp_path: Path) -> None:
    folder = write_package(tmp_path / "pkg")
    (folder / "latin.py").write_bytes("name = 'café'\n".encode("latin-1"))

    with pytest.raises(NotUtf8SourceError, match=r"latin\.py: byte 12 is not UTF-8"):
        collect_sources(folder, CAP)


def test_the_archive_bytes_are_pinned() -> None:
    """The SHA-256 of known sources, written down: a Python whose zipfile wrote other bytes
    (and so other hashes for every parser already registered) fails here first."""
    files = {"uv.lock": b"version = 1\n", "sub/\u00e9.py": b"x = 1\n", "a.py": b""}

    digest = archive.sha256_hex(archive.pack(files))

    assert digest == "6da1d74ed8f3744739b2ab51d34b7c011edb278efdc7dc4a9c5a3d24ce56f8d6"


def test_a_source_whose_name_is_not_utf8_is_refused(tmp_path: Path) -> None:
    folder = write_package(tmp_path / "pkg")
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.py"), "wb") as handle:
        handle.write(b"x = 1\n")

    with pytest.raises(NotUtf8SourceError, match="name is not UTF-8; rename it"):
        collect_sources(folder, CAP)
