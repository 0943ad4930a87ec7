"""Collecting the sources a parser bundle holds, from a parser folder or a single parser file.

A folder (a Level 2 parser package) gives every `.py`, `.json`, `.yaml`, `.yml` and `.toml`
file and `uv.lock`, at any depth, and nothing else: no `.venv` or other virtual environment,
no `__pycache__`, no hidden files or folders, no native binaries, no data. A single file gives
itself and the `pyproject.toml` and `uv.lock` beside it (its siblings are other parsers: the
parsers folder is flat).

Every file must be UTF-8 text (a bundle holds source only), a symbolic link must point at a
file inside the folder, and the whole must fit under the size cap.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from casparian_core.parsers.metadata import ParserLoadError
from casparian_core.registry.errors import (
    BundleTooLargeError,
    NotUtf8SourceError,
    UnsafeLinkError,
)
from casparian_core.units import format_bytes

SOURCE_SUFFIXES = frozenset({".py", ".json", ".yaml", ".yml", ".toml"})
LOCK_FILE = "uv.lock"
PROJECT_FILE = "pyproject.toml"
SKIPPED_FOLDERS = frozenset({"__pycache__", "node_modules"})
VENV_MARKER = "pyvenv.cfg"


@dataclass(frozen=True)
class Sources:
    """What a bundle of the parser at `root` holds."""

    root: Path  # the folder bundle paths are relative to (links resolved)
    files: dict[str, bytes]  # bundle path (POSIX-style) -> content, sorted by path
    single_file: str | None  # the parser file, when a single file was given

    @property
    def size(self) -> int:
        return sum(len(content) for content in self.files.values())


def collect_sources(path: Path, max_bytes: int) -> Sources:
    """The sources of the parser folder or file at `path`; raises a typed error for a link
    out of the folder, a non-UTF-8 file or a bundle over `max_bytes`."""
    given = Path(path).absolute()
    if given.is_dir():
        root = given.resolve()
        candidates = _walk(root)
        single = None
    elif given.is_file():
        parser = given.resolve()  # the parsers folder may hold a link to the real file
        root = parser.parent
        if parser.suffix != ".py":
            raise ParserLoadError(f"{given}: not a Python file; register a .py file or a folder")
        candidates = (
            (name, root / name)
            for name in (parser.name, PROJECT_FILE, LOCK_FILE)
            if (root / name).exists() or (root / name).is_symlink()
        )
        single = parser.name
    else:
        raise ParserLoadError(f"{given}: no such parser file or folder")
    files: dict[str, bytes] = {}
    total = 0
    for name, file in candidates:
        content = _read_source(root, name, file)
        total += len(content)
        if total > max_bytes:
            raise BundleTooLargeError(
                f"{root}: the sources to bundle come to more than {format_bytes(max_bytes)} "
                f"(the registry_max_bundle_bytes setting), reached at {name} "
                f"({format_bytes(len(content))}): keep data and generated files out of the "
                "parser folder, or raise the setting in config.toml"
            )
        files[name] = content
    return Sources(root, dict(sorted(files.items())), single)


def _walk(root: Path) -> Iterator[tuple[str, Path]]:
    """(bundle path, file) of every source file under `root`, in no particular order."""
    for folder, subfolders, names in os.walk(root):
        here = Path(folder)
        kept = []
        for sub in subfolders:
            full = here / sub
            if _skipped(full):
                continue
            if full.is_symlink():
                raise UnsafeLinkError(
                    f"{full}: a symbolic link to a folder ({os.readlink(full)}); a bundle holds "
                    "the files of the parser folder itself: copy the folder in instead"
                )
            kept.append(sub)
        subfolders[:] = kept
        for name in names:
            if _is_source(name):
                file = here / name
                yield file.relative_to(root).as_posix(), file


def _skipped(folder: Path) -> bool:
    name = folder.name
    return name.startswith(".") or name in SKIPPED_FOLDERS or (folder / VENV_MARKER).exists()


def _is_source(name: str) -> bool:
    if name.startswith("."):
        return False
    return name == LOCK_FILE or os.path.splitext(name)[1] in SOURCE_SUFFIXES


def _read_source(root: Path, name: str, file: Path) -> bytes:
    if file.is_symlink():
        target = file.resolve()
        if not target.is_relative_to(root) or not target.is_file():
            raise UnsafeLinkError(
                f"{file}: a symbolic link to {os.readlink(file)}, outside the parser folder "
                f"{root}; a bundle holds only what is inside it: copy the file in instead"
            )
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise NotUtf8SourceError(
            f"{file}: the file's name is not UTF-8; rename it (a bundle names files in UTF-8)"
        ) from None
    try:
        content = file.read_bytes()
    except OSError as exc:
        raise ParserLoadError(f"{file}: cannot read it ({exc.strerror})") from None
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotUtf8SourceError(
            f"{file}: byte {exc.start + 1} is not UTF-8 text; save the file as UTF-8 (a "
            "bundle holds text sources only)"
        ) from None
    return content
