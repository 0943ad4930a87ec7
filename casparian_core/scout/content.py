"""Reading a file once for both its blake3 hash and its kind."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

import blake3

from casparian_core.scout.sniff import HEAD_BYTES, Kind, sniff

READ_CHUNK = 1024 * 1024
# O_NONBLOCK: if a FIFO took the file's place since we listed it, open must not wait for a
# writer. O_NOFOLLOW: nor may a symlink slipped in send us elsewhere.
OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class NotRegularFileError(OSError):
    """Something other than a regular file took the listed file's place."""


@dataclass(frozen=True, slots=True)
class Content:
    content_hash: str
    kind: Kind


def read_content(path: str | bytes) -> Content:
    """The hash (hex blake3) and kind of a regular file; raises OSError when it cannot."""
    fd = os.open(path, OPEN_FLAGS)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFileError(path)
        # Plain reads: for small files mmap costs more than it saves. Asking for one byte more
        # than the size reads a small file whole in one call, and never makes Python allocate
        # a 1 MiB buffer for a 100-byte file.
        want = min(info.st_size + 1, READ_CHUNK)
        first = os.read(fd, want)
        hasher = blake3.blake3(first)
        chunk = first
        while len(chunk) == want:
            want = READ_CHUNK
            chunk = os.read(fd, want)
            hasher.update(chunk)
    finally:
        os.close(fd)
    return Content(hasher.hexdigest(), sniff(first[:HEAD_BYTES]))
