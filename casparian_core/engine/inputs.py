"""Inputs of a run: expanding a file/folder/glob argument, a file's content hash, and the key of
the sink parts a file produces."""

from __future__ import annotations

import glob
import mmap
import os
from pathlib import Path

from casparian_core.engine.errors import InputNotFoundError

GLOB_CHARS = frozenset("*?[")
HASH_SLICE_BYTES = 64 * 1024 * 1024


def expand_inputs(argument: str) -> list[Path]:
    """A file, every file under a folder (recursive; dot-names skipped) or a glob's file matches,
    sorted. Raises InputNotFoundError when nothing matches."""
    if GLOB_CHARS & set(argument):
        matches = [Path(match) for match in glob.glob(argument, recursive=True)]
        files = sorted(match for match in matches if match.is_file())
        if not files:
            raise InputNotFoundError(f"{argument}: no file matches this pattern; check it")
        return files
    path = Path(argument)
    if path.is_dir():
        files = sorted(
            file
            for file in path.rglob("*")
            if file.is_file()
            and not any(part.startswith(".") for part in file.relative_to(path).parts)
        )
        if not files:
            raise InputNotFoundError(
                f"{argument}: the folder holds no files to run on (names starting with a dot "
                "are skipped); check the path"
            )
        return files
    if path.is_file():
        return [path]
    if path.exists():
        # A FIFO would block open() and a device such as /dev/zero never ends: refuse them
        # before anything opens them, as a folder run skips them.
        raise InputNotFoundError(
            f"{argument}: not a regular file (a pipe, a device or a socket); "
            "run the parser on a file or a folder"
        )
    raise InputNotFoundError(f"{argument}: no such file or folder; check the path")


def input_root(argument: str) -> Path:
    """The folder an input argument's files are known relative to ("the same input" of a
    rerun is the same path below it): a folder itself, a file's folder, a glob's folders
    before its first pattern."""
    if GLOB_CHARS & set(argument):
        parts = Path(argument).parts
        fixed = next(index for index, part in enumerate(parts) if GLOB_CHARS & set(part))
        return Path(*parts[:fixed]) if fixed else Path(".")
    path = Path(argument)
    return path if path.is_dir() else path.parent


def hash_file(path: Path) -> str:
    """blake3 of the file's bytes, memory-mapped (gigabytes per second, no copy in Python),
    a slice at a time, so that Ctrl+C is handled between slices rather than after the file."""
    import blake3

    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size:
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                view = memoryview(mapped)
                try:
                    for start in range(0, size, HASH_SLICE_BYTES):
                        hasher.update(view[start : start + HASH_SLICE_BYTES])
                finally:
                    view.release()
    return hasher.hexdigest()


def part_key(source_hash: str, parser_version: str) -> str:
    """Same input and parser version, same key: a rerun replaces its part, never duplicates."""
    import hashlib

    return hashlib.sha256(f"{source_hash}\0{parser_version}".encode()).hexdigest()[:32]
