"""From a stored artifact to files on disk: verified first, always.

`unpacked` writes an artifact under `$CASPARIAN_HOME/artifacts/{sha256}/` once (into a
temporary folder renamed into place, so a crash never leaves a half folder that is later
used); `export` writes it into a folder the user names. Both check the artifact's SHA-256
against the one recorded at registration before anything else: a corrupted or altered blob
never runs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from casparian_core.config import Settings
from casparian_core.registry import archive
from casparian_core.registry.bundle import LOCK_FILE, PROJECT_FILE
from casparian_core.registry.errors import ArtifactCorruptError, ExportTargetError
from casparian_core.registry.store import RegisteredParser


@dataclass(frozen=True)
class RunnableParser:
    """A registered parser version ready for a ParserSession: its files and its venv."""

    name: str
    version: str
    parser_path: Path  # the parser file inside the unpacked artifact
    venv: Path
    artifact_sha256: str


def verify(parser: RegisteredParser, data: bytes) -> None:
    actual = archive.sha256_hex(data)
    if actual != parser.artifact_sha256:
        raise ArtifactCorruptError(
            f"parser {parser.name} {parser.version}: its stored artifact's SHA-256 is "
            f"{actual[:16]}…, not {parser.artifact_sha256[:16]}… as registered, so the "
            "database copy was altered or damaged and it will not run: restore the database "
            "from a backup, or register the parser's sources again under a new version"
        )


def unpacked(settings: Settings, parser: RegisteredParser, data: bytes) -> Path:
    """The artifact's folder, `artifacts/{sha256}/`: unpacked once, read-only, and compared with
    the verified artifact on every call, so a run uses exactly the registered bytes (a file
    changed, added or removed there since, a `__pycache__` too, makes a fresh unpacking)."""
    verify(parser, data)
    members = archive.read_members(data, f"parser {parser.name} {parser.version}")
    folder = settings.artifacts_dir / parser.artifact_sha256
    if folder.is_dir():
        if _holds_exactly(folder, members):
            return folder
        _remove(folder)
    settings.artifacts_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{parser.artifact_sha256[:16]}-", dir=folder.parent))
    try:
        archive.write_members(members, staging)
        _make_read_only(staging)
        os.rename(staging, folder)
    except OSError:
        if not folder.is_dir():  # not another process unpacking the same artifact first
            raise
    finally:
        if staging.exists():
            _remove(staging)
    return folder


def _holds_exactly(folder: Path, members: dict[str, bytes]) -> bool:
    found = {
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_symlink() or not path.is_dir()
    }
    return found == members.keys() and all(
        not (folder / name).is_symlink() and (folder / name).read_bytes() == content
        for name, content in members.items()
    )


def _make_read_only(folder: Path) -> None:
    """Files 0444, folders 0555: a guest (or a slip) cannot write beside the parser."""
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        path.chmod(0o555 if path.is_dir() else 0o444)
    folder.chmod(0o555)


def _remove(folder: Path) -> None:
    """Delete a (read-only) artifact folder: set aside first, so no one uses half of it."""
    aside = folder.with_name(f".{folder.name[:16]}-removed-{uuid.uuid4().hex}")
    os.rename(folder, aside)
    for path in [aside, *aside.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(aside, ignore_errors=True)


def runnable(
    settings: Settings,
    parser: RegisteredParser,
    data: bytes,
    *,
    offline: bool = False,
    progress: Callable[[str], object] | None = None,
) -> RunnableParser:
    """Verify, unpack and give the artifact its venv (built from its lock, or reused)."""
    from casparian_core.registry.envs import ensure_venv

    folder = unpacked(settings, parser, data)
    venv = ensure_venv(
        settings,
        (folder / LOCK_FILE).read_text(encoding="utf-8"),
        (folder / PROJECT_FILE).read_text(encoding="utf-8"),
        offline=offline,
        progress=progress,
    )
    entry = folder.joinpath(*PurePosixPath(parser.entry).parts)
    return RunnableParser(parser.name, parser.version, entry, venv, parser.artifact_sha256)


def export(parser: RegisteredParser, data: bytes, target: Path) -> list[Path]:
    """Unpack the verified artifact into `target` (created; an empty folder is fine)."""
    verify(parser, data)
    if target.is_symlink() or (target.exists() and (not target.is_dir() or any(target.iterdir()))):
        raise ExportTargetError(
            f"{target} already exists and is not an empty folder; export into a new one "
            "(nothing is overwritten)"
        )
    return archive.unpack(data, target, f"parser {parser.name} {parser.version}")
