"""`casparian vendor`: gather every wheel a parser's lock needs, for an air-gapped machine.

On a connected machine, pip downloads the wheels of the lock's pins for this platform and
Python (hashes checked against the lock), and of the host's pyarrow and pyzmq when the lock
lacks them: exactly what an `--offline` build on a machine like this one installs. Only
wheels: an air-gapped machine cannot build a source distribution.
"""

from __future__ import annotations

import importlib.util
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

from casparian_core.registry.env_errors import VendorError
from casparian_core.registry.requirements import (
    LockPins,
    export_pins,
    missing_wheels,
    parser_project,
)
from casparian_core.registry.tools import Progress, ToolFailed, pip_command, run_tool

WHEEL_ONLY_HINT = (
    "a package with no wheel for this platform must be built into one (`pip wheel NAME==VERSION "
    "--no-deps -w DIR`) on a machine like the air-gapped one"
)


@dataclass(frozen=True)
class VendorReport:
    folder: Path
    wheels: tuple[Path, ...]  # every wheel in the folder
    python: str  # what the wheels are for: "3.11" ...
    platform: str  # ... on "linux x86_64"

    @property
    def total_bytes(self) -> int:
        return sum(wheel.stat().st_size for wheel in self.wheels)


def read_parser_project(path: Path) -> tuple[str, str]:
    """(uv.lock, pyproject.toml) texts of the parser folder `path` (or the folder of the
    parser file `path`)."""
    folder = path if path.is_dir() else path.parent
    if not folder.is_dir():
        raise VendorError(f"{path}: no such parser folder; check the path")
    texts = []
    for name in ("uv.lock", "pyproject.toml"):
        try:
            texts.append((folder / name).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise VendorError(
                f"{folder} has no {name}: a parser to vendor needs pyproject.toml and uv.lock "
                f"(run `uv lock` in {folder})"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise VendorError(f"Cannot read {folder / name} ({exc}): fix the file") from None
    return texts[0], texts[1]


def vendor_wheels(parser: Path, folder: Path, progress: Progress | None = None) -> VendorReport:
    """Download into `folder` the wheels the lock of `parser` needs on this machine."""
    return vendor_lock(*read_parser_project(parser), folder, progress)


def vendor_lock(
    lock_text: str, pyproject_text: str, folder: Path, progress: Progress | None = None
) -> VendorReport:
    """Download into `folder` the wheels this lock (of this pyproject.toml) needs here: a
    parser folder's, or a registered artifact's."""
    if importlib.util.find_spec("pip") is None:
        raise VendorError(
            f"pip is not installed with Casparian ({sys.executable}); `casparian vendor` uses it "
            f"to download wheels: run `{sys.executable} -m ensurepip`"
        )
    with parser_project(lock_text, pyproject_text) as project:
        lock = export_pins(project, progress)
        folder.mkdir(parents=True, exist_ok=True)
        _download(lock, folder, progress)
    missing = missing_wheels(lock, folder)
    if missing:  # pinned by URL, or a wheel this Python cannot use: an offline build would fail
        names = ", ".join(missing)
        raise VendorError(f"No usable wheel in {folder} for {names}: {WHEEL_ONLY_HINT}")
    return VendorReport(
        folder,
        tuple(sorted(folder.glob("*.whl"))),
        f"{sys.version_info.major}.{sys.version_info.minor}",
        f"{sys.platform} {platform.machine()}",
    )


def _download(lock: LockPins, folder: Path, progress: Progress | None) -> None:
    download: list[str | Path] = [
        *pip_command(),
        "download",
        "--only-binary=:all:",
        "--no-deps",
        "--dest",
        folder,
    ]
    try:
        if lock.pins:  # with the lock's hashes: pip checks every download against them
            run_tool([*download, "--requirement", lock.requirements], progress)
        if lock.shim:
            run_tool([*download, *lock.shim_specs()], progress)
    except ToolFailed as exc:
        raise VendorError(
            f"pip could not download every wheel the lock needs; pip said:\n{exc.tail}\n"
            f"Check the network and the index (PIP_INDEX_URL); {WHEEL_ONLY_HINT}."
        ) from None
