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
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFileError(path)
        # Plain reads: for small files mmap costs more than it saves. A read of a regular file
        # returns less than asked only at its end, which saves small files a second read.
        first = os.read(fd, READ_CHUNK)
        hasher = blake3.blake3(first)
        chunk = first
        while len(chunk) == READ_CHUNK:
            chunk = os.read(fd, READ_CHUNK)
            hasher.update(chunk)
    finally:
        os.close(fd)
    return Content(hasher.hexdigest(), sniff(first[:HEAD_BYTES]))
