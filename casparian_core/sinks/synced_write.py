"""Writing a file that is on disk before the caller goes on: a sink publishes, or names in a
log, only what a crash cannot take back."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


def write_synced(path: Path, content: bytes | pa.Buffer, *, append: bool = False) -> None:
    """Write `content` to `path` (created, or replaced whole unless `append`), then fsync it.
    An append is one write to a file opened to append: appends of other processes never
    interleave with it."""
    mode = os.O_APPEND if append else os.O_TRUNC
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | mode, 0o644)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(descriptor, view) :]
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
