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
    """The artifact's folder, unpacked once per SHA-256 (verified before)."""
    verify(parser, data)
    folder = settings.artifacts_dir / parser.artifact_sha256
    if folder.is_dir():
        return folder
    settings.artifacts_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{parser.artifact_sha256[:16]}-", dir=folder.parent))
    try:
        archive.unpack(data, staging, f"parser {parser.name} {parser.version}")
        os.rename(staging, folder)
    except OSError:
        if not folder.is_dir():  # not another process unpacking the same artifact first
            raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return folder


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
