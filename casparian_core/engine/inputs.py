"""Inputs of a run: expanding a file/folder/glob argument and its root, a file's content hash,
and the key of the sink parts an input produces."""

from __future__ import annotations

import glob
import mmap
import os
from collections.abc import Sequence
from pathlib import Path

from casparian_core.engine.errors import InputNotFoundError

GLOB_CHARS = frozenset("*?[")
HASH_SLICE_BYTES = 64 * 1024 * 1024
# Files up to this size are read whole and hashed at once: mapping one cost 3x the CPU of
# reading it (19 against 6 us for a 1 KB file).
HASH_READ_BYTES = 1024 * 1024


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


def input_keys(inputs: Sequence[Path], root: Path | None = None) -> list[str]:
    """What names each input in the outputs ("the same input" of a rerun): its path relative
    to `root`, or, without one, to the folder holding all the inputs (a single file: its
    name), with '/' between folders."""
    paths = [Path(os.path.abspath(path)) for path in inputs]
    if not paths:
        return []
    if root is None:
        root = Path(os.path.commonpath([path.parent for path in paths]))
    root = Path(os.path.abspath(root))
    return [_relative_key(path, root) for path in paths]


def _relative_key(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:  # not under the root: where it lives is all of its path
        return path.as_posix()


def hash_file(path: Path) -> str:
    """blake3 of the file's bytes: a small file read whole; a larger one memory-mapped
    (gigabytes per second, no copy in Python), a slice at a time, so that Ctrl+C is handled
    between slices rather than after the file."""
    import blake3

    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        size = os.fstat(fd).st_size
        if size <= HASH_READ_BYTES:
            return blake3.blake3(os.read(fd, size)).hexdigest()
        hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
        with mmap.mmap(fd, 0, access=mmap.ACCESS_READ) as mapped:
            view = memoryview(mapped)
            try:
                for start in range(0, size, HASH_SLICE_BYTES):
                    hasher.update(view[start : start + HASH_SLICE_BYTES])
                    _forget(mapped, start, min(HASH_SLICE_BYTES, size - start))
            finally:
                view.release()
        return hasher.hexdigest()
    finally:
        os.close(fd)


def _forget(mapped: mmap.mmap, start: int, length: int) -> None:
    """Drop a hashed slice's pages from this process: each page read stays mapped, and
    counted in the host's memory, until the whole file is unmapped (a 20 GB input would
    hold 20 GB). The pages stay in the page cache for the guest's read."""
    if hasattr(mmap, "MADV_DONTNEED"):
        mapped.madvise(mmap.MADV_DONTNEED, start, length)


def part_key(input_key: str) -> str:
    """The key of an input's parts in every output: the same input (where it lives), the same
    key, so its latest run replaces its rows whatever its content or the parser's version.
    A hash, so the key is safe as a file name whatever the path holds."""
    import hashlib

    return hashlib.sha256(input_key.encode("utf-8", "surrogateescape")).hexdigest()[:32]
