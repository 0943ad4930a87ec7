"""Managed environments: one venv per lockfile hash under `$CASPARIAN_HOME/venvs/{hash}`.

A venv is built once from its parser's `uv.lock` (`uv export --frozen`, then `uv pip install`
of exactly those pins, hashes checked) with this host's Python, plus the host's pyarrow and
pyzmq when the lock lacks them (the guest shim imports them). It is reused by every later run:
the warm path reads one small marker file and starts no process.

A build is atomic: it happens in `venvs/{pid}-{hash}.tmp`, the marker is written last, and the
folder is renamed into place; a failed build is removed, and one left by a crashed process is
removed by the next build. Two processes building the same hash take turns on a lock file: the
second finds the first one's venv and uses it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from casparian_core.config import Settings
from casparian_core.processes import left_by_dead_process
from casparian_core.registry.env_errors import VenvBuildError, WheelsMissingError
from casparian_core.registry.tools import Progress, ToolFailed, run_tool, uv_binary
from casparian_core.units import format_duration

if TYPE_CHECKING:
    from casparian_core.registry.requirements import LockPins

MARKER = "casparian-venv.json"  # written last: a venv without it is not finished
SCRATCH_SUFFIXES = (".tmp", ".old")  # a build in progress; a venv being replaced


def lock_hash(lock_text: str) -> str:
    """The SHA-256 (hex) of a lock's text: the name of its venv."""
    return hashlib.sha256(lock_text.encode("utf-8")).hexdigest()


def ensure_venv(
    settings: Settings,
    lock_text: str,
    pyproject_text: str,
    *,
    offline: bool = False,
    progress: Progress | None = None,
) -> Path:
    """The venv for this lock, built first if there is none. With `offline`, wheels come from
    `settings.wheels_dir` only. Raises WheelsMissingError (offline, a wheel is missing) or
    VenvBuildError; either way nothing half-built is left to be used."""
    digest = lock_hash(lock_text)
    venv = settings.venvs_dir / digest
    if is_ready(venv, digest):
        return venv
    try:
        settings.venvs_dir.mkdir(parents=True, exist_ok=True)
        with _build_lock(settings.venvs_dir / f".{digest}.lock", progress):
            if is_ready(venv, digest):  # another process built it while we waited
                return venv
            _remove_scratch(settings.venvs_dir)
            # Only a build reads the lock (packaging's import is ~15 ms: not for a venv found).
            from casparian_core.registry.requirements import export_pins, parser_project

            with parser_project(lock_text, pyproject_text) as project:
                lock = export_pins(project, progress)
                if offline:
                    _check_wheels(lock, settings.wheels_dir)
                wheels_dir = settings.wheels_dir if offline else None
                _build(venv, digest, _Install(lock, project, wheels_dir, progress))
    except OSError as exc:
        raise VenvBuildError(
            f"Cannot build a parser environment in {settings.venvs_dir} ({exc}); nothing was "
            "kept. Free disk space or make the folder writable, then run again."
        ) from None
    return venv


def is_ready(venv: Path, digest: str) -> bool:
    """Whether `venv` is a finished build of this lock for this host's Python."""
    try:
        marker = json.loads((venv / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        marker == _marker(digest)
        and (venv / "bin" / "python").exists()  # its interpreter was not uninstalled
    )


def _marker(digest: str) -> dict[str, str]:
    return {"lock_hash": digest, "python": platform.python_version()}


@contextlib.contextmanager
def _build_lock(path: Path, progress: Progress | None) -> Iterator[None]:
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _say(progress, "Waiting for another Casparian process building this environment…")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_scratch(venvs_dir: Path) -> None:
    """Remove what builds of processes that no longer run left behind."""
    for entry in venvs_dir.iterdir():
        if entry.name.endswith(SCRATCH_SUFFIXES) and left_by_dead_process(entry.name):
            shutil.rmtree(entry, ignore_errors=True)


def _check_wheels(lock: LockPins, wheels_dir: Path) -> None:
    from casparian_core.registry.requirements import VENDOR_HINT, missing_wheels

    missing = missing_wheels(lock, wheels_dir)
    if missing:
        raise WheelsMissingError(
            f"No wheel in {wheels_dir} for {', '.join(missing)} (Python "
            f"{platform.python_version()}, {sys.platform} {platform.machine()}): "
            + VENDOR_HINT.format(wheels_dir=wheels_dir)
        )


@dataclass(frozen=True)
class _Install:
    """What a build installs, and how: uv runs in the parser's project folder."""

    lock: LockPins
    project: Path
    wheels_dir: Path | None  # offline: the only place wheels come from
    progress: Progress | None

    def uv(self, arguments: list[str | Path], what: str) -> None:
        try:
            run_tool([uv_binary(), *arguments], self.progress, cwd=self.project)
        except ToolFailed as exc:
            raise VenvBuildError(
                f"uv could not {what}; nothing was kept. uv said:\n{exc.tail}\nFix what uv "
                "names (a wheel missing or damaged in the wheels folder, no network without "
                "--offline) and run again."
            ) from None


def _build(venv: Path, digest: str, install: _Install) -> None:
    scratch = venv.with_name(f"{os.getpid()}-{digest}.tmp")
    started = time.monotonic()
    _say(install.progress, f"Building the environment of lock {digest[:12]} in {venv}")
    shutil.rmtree(scratch, ignore_errors=True)  # left by a dead process that had our pid
    try:
        _create(scratch, install)
        _install(scratch, install)
        _check_shim_imports(scratch)
        (scratch / MARKER).write_text(json.dumps(_marker(digest)), encoding="utf-8")
        _replace(venv, scratch)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    elapsed = format_duration(time.monotonic() - started)
    _say(install.progress, f"Environment ready in {elapsed}")


def _create(scratch: Path, install: _Install) -> None:
    # Relocatable: its scripts keep working once the folder is renamed into place.
    command = ["venv", "--relocatable", "--python", sys.executable, "--no-python-downloads"]
    install.uv([*command, "--offline", scratch], "create the virtual environment")


def _install(scratch: Path, install: _Install) -> None:
    command: list[str | Path] = ["pip", "install", "--python", scratch / "bin" / "python"]
    command += ["--compile-bytecode", "--requirement", install.lock.requirements]
    command += install.lock.shim_specs()
    if install.wheels_dir is not None:
        command += ["--offline", "--no-index", "--find-links", install.wheels_dir]
    install.uv(command, "install the lock's packages")


def _check_shim_imports(scratch: Path) -> None:
    """The guest shim must start in this venv: a broken pyarrow or pyzmq fails the build."""
    try:
        run_tool([scratch / "bin" / "python", "-c", "import pyarrow, zmq"], None)
    except ToolFailed as exc:
        raise VenvBuildError(
            f"The new environment cannot import pyarrow and pyzmq, which Casparian's guest "
            f"needs ({exc.tail}); nothing was kept. Check the lock's pyarrow and pyzmq pins."
        ) from None


def _replace(venv: Path, scratch: Path) -> None:
    """Move the finished build into place; an unfinished or outdated venv there goes first."""
    if venv.exists():
        old = venv.with_name(f"{os.getpid()}-{venv.name}.old")
        venv.rename(old)
        shutil.rmtree(old, ignore_errors=True)
    scratch.rename(venv)


def _say(progress: Progress | None, line: str) -> None:
    if progress is not None:
        progress(line)
