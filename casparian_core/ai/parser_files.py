"""Writing parser files for approved actions: atomically (a reader never sees half a file), a
patched file's previous version kept in `parsers/.backup/` (which parser discovery skips)."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from datetime import datetime
from pathlib import Path

BACKUP_DIR = ".backup"
# A new parser's file name: a Python module name, so it is a valid parser file.
FILE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}\.py$")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def write_atomically(path: Path, text: str, mode: int = 0o644) -> None:
    """Write `text` to `path` through a hidden temporary file beside it and a rename."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def back_up(path: Path, parsers_dir: Path, now: datetime) -> Path:
    """Copy the file at `path` to parsers/.backup/<stem>.<UTC time>.py; returns the copy."""
    folder = parsers_dir / BACKUP_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
    backup = folder / f"{path.stem}.{stamp}.py"
    write_atomically(backup, path.read_text(encoding="utf-8"), mode=0o600)
    return backup
