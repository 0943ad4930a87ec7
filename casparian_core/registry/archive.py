"""The artifact format: a deterministic ZIP of a parser's sources, and its safe unpacking.

Same sources, same bytes, same SHA-256 on any machine: entries sorted by path, every timestamp
1980-01-01 00:00, every mode 0644 as made on Unix, nothing else recorded (no comment, no extra
fields), and stored without compression: deflate's output depends on the zlib build, so a
compressed archive of the same files can differ between two machines.

Unpacking refuses any entry that could land outside its folder: an absolute path, a `..`
part, a backslash or a drive, or a symbolic link.
"""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from casparian_core.registry.errors import UnsafeArchiveError

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = stat.S_IFREG | 0o644
UNIX = 3  # ZipInfo.create_system; Python writes 0 on Windows, which would change the bytes


def pack(files: Mapping[str, bytes]) -> bytes:
    """The deterministic ZIP of `files` (bundle path, POSIX-style -> content)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.create_system = UNIX
            info.external_attr = FILE_MODE << 16
            info.compress_type = zipfile.ZIP_STORED
            archive.writestr(info, files[name])
    return buffer.getvalue()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_members(data: bytes, where: str) -> dict[str, bytes]:
    """Every file of the archive by its path, each path checked; `where` names the artifact
    in errors."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members: dict[str, bytes] = {}
        for info in archive.infolist():
            if info.is_dir():
                continue
            _check_entry(info, where)
            members[info.filename] = archive.read(info)
        return members


def unpack(data: bytes, folder: Path, where: str) -> list[Path]:
    """Write the archive's files under `folder` (created if missing), once every entry passed
    its checks; returns what was written."""
    return write_members(read_members(data, where), folder)


def write_members(members: Mapping[str, bytes], folder: Path) -> list[Path]:
    """Write checked members (read_members) under `folder`, created if missing."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in members.items():
        target = folder.joinpath(*PurePosixPath(name).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        target.chmod(0o644)
        written.append(target)
    return written


def _check_entry(info: zipfile.ZipInfo, where: str) -> None:
    name = info.filename
    path = PurePosixPath(name)
    if stat.S_ISLNK(info.external_attr >> 16):
        problem = "is a symbolic link"
    elif path.is_absolute() or name.startswith("/"):
        problem = "is an absolute path"
    elif ".." in path.parts:
        problem = "climbs out of its folder with '..'"
    elif "\\" in name or (path.parts and ":" in path.parts[0]):
        problem = "names a Windows path (a backslash or a drive)"
    else:
        return
    raise UnsafeArchiveError(
        f"{where}: the entry {name!r} {problem}; nothing was unpacked from it. An artifact "
        "made by `casparian parser register` never holds one: the stored artifact was altered."
    )
