"""Parser projects with real `uv.lock` files and wheel folders, made without a network.

A tiny pure-Python package is written as a wheel by hand and served from a local PEP 503 index
(so the lock records its hash, as a lock made against PyPI does); pyarrow and pyzmq come from
the wheels `make install` downloaded into `.venv/wheels` (the host's exact versions).
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import sys
import uuid
import zipfile
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pytest

from casparian_core.registry.tools import run_tool, uv_binary

SHIM_WHEELS = Path(sys.prefix) / "wheels"  # filled by `make install`
FIXED_TIME = (2020, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class LockedProject:
    folder: Path
    pyproject_text: str
    lock_text: str


def shim_wheels() -> list[Path]:
    """The host's pyarrow and pyzmq wheels; the tests need them offline."""
    found = [
        wheel
        for name in ("pyarrow", "pyzmq")
        for wheel in SHIM_WHEELS.glob(f"{name}-{version(name)}-*.whl")
    ]
    if len(found) < 2:
        pytest.fail(f"pyarrow and pyzmq wheels are missing from {SHIM_WHEELS}: run `make install`")
    return found


def write_wheel(folder: Path, name: str, version: str, body: str | None = None) -> Path:
    """A pure-Python wheel of one module `name` whose VALUE is "name version"."""
    dist_info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": body or f'VALUE = "{name} {version}"\n',
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist_info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = [f"{path},{_record_hash(text.encode())}" for path, text in files.items()]
    files[f"{dist_info}/RECORD"] = "\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(zipfile.ZipInfo(path, FIXED_TIME), text)
    return wheel


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest},{len(data)}"


def write_index(index: Path, wheels: list[Path]) -> None:
    """A PEP 503 simple index over `wheels`, with their hashes."""
    for wheel in wheels:
        project = index / wheel.name.split("-")[0].lower().replace("_", "-")
        project.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        link = f'<a href="{wheel.as_uri()}#sha256={digest}">{wheel.name}</a>\n'
        with (project / "index.html").open("a") as page:
            page.write(link)


def locked_project(
    folder: Path, dependencies: list[str], index: Path, extra: str = ""
) -> LockedProject:
    """A parser project depending on `dependencies` (its pyproject.toml ending with `extra`),
    locked by uv against `index` offline."""
    folder.mkdir(parents=True, exist_ok=True)
    requires = ", ".join(f'"{dependency}"' for dependency in dependencies)
    pyproject = (
        f'[project]\nname = "{folder.name}"\nversion = "0.1.0"\n'
        f'requires-python = ">=3.11"\ndependencies = [{requires}]\n{extra}'
    )
    (folder / "pyproject.toml").write_text(pyproject)
    command = [uv_binary(), "lock", "--offline", "--default-index", index.as_uri()]
    run_tool([*command, "--python", sys.executable, "--quiet"], None, cwd=folder)
    return LockedProject(folder, pyproject, (folder / "uv.lock").read_text())


def shared_wheels(root: Path, wheels: list[Path]) -> Path:
    """A wheels folder under `root` holding `wheels`, the same folder for every test that asks
    for the same wheels. uv caches a find-links wheel under its folder's path: with one folder
    (and the run's one uv cache, tests/conftest.py) a venv's packages are hard links into the
    cache, where a folder per test cost a copy of pyarrow each (~170 MB per venv). The folder
    never changes: a test that alters its wheels folder takes `link_wheels`."""
    digest = hashlib.sha256()
    for wheel in sorted(wheels, key=lambda path: path.name):
        # The host's wheels are known by name; a test's own by their bytes (built the same).
        content = b"" if wheel.parent == SHIM_WHEELS else wheel.read_bytes()
        digest.update(wheel.name.encode() + b"\0" + hashlib.sha256(content).digest())
    folder = root / f"wheels-{digest.hexdigest()[:16]}"
    if folder.is_dir():
        return folder
    scratch = root / f".{folder.name}-{os.getpid()}-{uuid.uuid4().hex}"
    scratch.mkdir(parents=True)
    for wheel in wheels:
        if wheel.parent == SHIM_WHEELS:
            (scratch / wheel.name).symlink_to(wheel)
        else:
            shutil.copyfile(wheel, scratch / wheel.name)
    try:
        scratch.rename(folder)
    except OSError:  # another test process made it first
        shutil.rmtree(scratch)
    return folder


def link_wheels(folder: Path, wheels: list[Path]) -> Path:
    """A wheels folder of the caller's own holding (links to) `wheels`."""
    folder.mkdir(parents=True, exist_ok=True)
    for wheel in wheels:
        (folder / wheel.name).symlink_to(wheel)
    return folder
