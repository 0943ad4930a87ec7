"""What a parser's lock pins for this machine, and whether a wheels folder holds all of it.

`uv export --frozen` turns the lock into pinned requirements with their hashes (the lock is
used as is, never re-resolved). The guest shim needs pyarrow and pyzmq: when the lock pins
neither, the host's own versions are added. An offline build is checked against the wheels
folder first, so a missing wheel is named before anything is built.
"""

from __future__ import annotations

import contextlib
import platform
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version as installed_version
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import sys_tags
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from casparian_core.registry.env_errors import VenvBuildError
from casparian_core.registry.tools import Progress, ToolFailed, run_tool, uv_binary

SHIM_PACKAGES = ("pyarrow", "pyzmq")  # what casparian_core/bridge/guest.py imports
VENDOR_HINT = (
    "on a machine with internet access run `casparian vendor PARSER_DIR DIR`, then copy DIR's "
    "wheels into {wheels_dir}"
)


@dataclass(frozen=True)
class Pin:
    """One exported requirement: `line` as uv wrote it (with its hashes)."""

    requirement: Requirement
    line: str

    @property
    def name(self) -> str:
        return canonicalize_name(self.requirement.name)

    @property
    def version(self) -> str | None:
        """The pinned version; None for a requirement pinned by URL."""
        exact = [spec.version for spec in self.requirement.specifier if spec.operator == "=="]
        return exact[0] if exact and self.requirement.url is None else None

    def applies_here(self) -> bool:
        marker = self.requirement.marker
        return marker is None or marker.evaluate()


@dataclass(frozen=True)
class LockPins:
    """What to install for a lock on this machine."""

    pins: tuple[Pin, ...]
    shim: tuple[tuple[str, str], ...]  # (name, version) of host shim packages the lock lacks
    requirements: Path  # the pins as uv exported them (with their hashes)

    def shim_specs(self) -> list[str]:
        return [f"{name}=={version}" for name, version in self.shim]

    def needed(self) -> list[tuple[str, str | None]]:
        """(name, version) of every package this machine installs."""
        pinned = [(pin.name, pin.version) for pin in self.pins if pin.applies_here()]
        return [*pinned, *self.shim]


@contextlib.contextmanager
def parser_project(lock_text: str, pyproject_text: str) -> Iterator[Path]:
    """A scratch copy of a parser's pyproject.toml and uv.lock, where uv runs: it then reads
    the parser's own `[tool.uv]` settings (an index of its own), not those of whatever folder
    Casparian was started in."""
    with tempfile.TemporaryDirectory(prefix="casparian-lock-") as folder:
        project = Path(folder)
        (project / "pyproject.toml").write_text(pyproject_text, encoding="utf-8")
        (project / "uv.lock").write_text(lock_text, encoding="utf-8")
        yield project


def export_pins(project: Path, progress: Progress | None) -> LockPins:
    """The pins for this machine of the lock in `project` (see `parser_project`), exported by
    uv without resolving anything."""
    exported = project / "casparian-requirements.txt"
    try:
        run_tool(
            [
                uv_binary(),
                "export",
                "--frozen",
                "--no-default-groups",
                "--no-emit-workspace",
                "--no-header",
                "--no-annotate",
                "--format",
                "requirements.txt",
                "--python",
                sys.executable,
                "--no-python-downloads",
                "--offline",  # a frozen export reads the lock only
                "--quiet",
                "--output-file",
                exported,
            ],
            progress,
            cwd=project,
        )
    except ToolFailed as exc:
        raise VenvBuildError(
            f"uv could not read this parser's uv.lock ({exc.tail}): run `uv lock` in the "
            "parser's folder and register it again"
        ) from None
    check_python((project / "uv.lock").read_text(encoding="utf-8"))
    pins = parse_requirements(exported.read_text(encoding="utf-8"))
    return LockPins(pins, shim_additions(pins), exported)


def check_python(lock_text: str) -> None:
    """The lock's `requires-python` must admit the Python the venv gets: the host's."""
    declared = tomllib.loads(lock_text).get("requires-python")
    here = platform.python_version()
    if isinstance(declared, str) and not SpecifierSet(declared).contains(here, prereleases=True):
        raise VenvBuildError(
            f"This parser's uv.lock requires Python {declared}; Casparian runs on Python {here}, "
            "which every parser environment uses: lower the parser's `requires-python` in "
            "pyproject.toml and run `uv lock`, or run Casparian on a Python it admits"
        )


def parse_requirements(text: str) -> tuple[Pin, ...]:
    """Pins of a `uv export` requirements file: one per logical line, hashes kept."""
    logical = text.replace("\\\n", " ")
    pins = []
    for raw in logical.splitlines():
        line = " ".join(raw.split())
        if not line or line.startswith("#"):
            continue
        try:
            requirement = Requirement(line.split(" --", 1)[0])
        except InvalidRequirement as exc:
            raise VenvBuildError(
                f"uv exported a requirement Casparian cannot read ({line}: {exc}): run `uv lock` "
                "again in the parser's folder"
            ) from None
        pins.append(Pin(requirement, line))
    return tuple(pins)


def shim_additions(pins: tuple[Pin, ...]) -> tuple[tuple[str, str], ...]:
    """The host's exact pyarrow and pyzmq, for each the lock does not pin for this machine."""
    pinned = {pin.name for pin in pins if pin.applies_here()}
    return tuple((name, installed_version(name)) for name in SHIM_PACKAGES if name not in pinned)


def missing_wheels(lock: LockPins, wheels_dir: Path) -> list[str]:
    """`name version` of each package this machine needs that `wheels_dir` has no wheel for
    (a wheel of that version whose tags this Python accepts)."""
    here = set(sys_tags())
    available: set[tuple[str, Version]] = set()
    for wheel in wheels_dir.glob("*.whl") if wheels_dir.is_dir() else ():
        try:
            name, version, _build, tags = parse_wheel_filename(wheel.name)
        except (InvalidWheelFilename, InvalidVersion):
            continue  # not a wheel we could use anyway
        if tags & here:
            available.add((name, version))
    return [
        f"{name} {version or '(pinned by URL)'}"
        for name, version in lock.needed()
        if version is None or (canonicalize_name(name), Version(version)) not in available
    ]
