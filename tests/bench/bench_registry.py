"""Registering a 20-file parser package: bundling, the lock check, the gatekeeper, packing
and storing, each timed, then the whole `prepare` + `register` through the service; and the
warm path of `runnable` (artifact read and verified, its folder and venv reused), which every
prod run of a registered parser pays.

The package: the parser module, 17 helper modules of ~6 kB, pyproject.toml and a uv.lock of
60 locked packages (~30 kB), as a realistic small project.

Run: .venv/bin/python -m tests.bench.bench_registry
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from casparian_core.config import load_settings
from casparian_core.registry import archive
from casparian_core.registry.bundle import collect_sources
from casparian_core.registry.gatekeeper import check_bundle
from casparian_core.registry.lock_check import check_lock
from casparian_core.registry.project import read_project
from casparian_core.service import CoreService
from tests.registry.support import pyproject, uv_lock, write_package

HELPERS = 17
LOCKED = tuple((f"package-{index:02d}", f">={index}.0") for index in range(60))
ROUNDS = 20
CAP = 20_000_000


def helper_source(index: int) -> str:
    functions = "".join(
        f"\n\ndef step_{index}_{n}(rows):\n"
        f"    '''Step {n} of helper {index}: keep the rows whose field {n} is set.'''\n"
        f"    return [row for row in rows if row.get('field_{n}') is not None]\n"
        for n in range(30)
    )
    return f'"""Helper module {index}."""\n\nimport json\nimport re{functions}'


def make_package(folder: Path, version: str = "1.0.0") -> Path:
    dependencies = tuple(f"{name}{specifier}" for name, specifier in LOCKED)
    write_package(folder, version=version, dependencies=dependencies, locked=LOCKED)
    (folder / "helpers.py").unlink()
    for index in range(HELPERS):
        (folder / f"helper_{index:02d}.py").write_text(helper_source(index))
    assert len(list(folder.iterdir())) == 20
    return folder


def timed(what: str, work: Callable[[], object]) -> None:
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        work()
        samples.append(time.perf_counter() - start)
    print(f"{what:<44} median {statistics.median(samples) * 1000:7.2f} ms")


async def register_rounds(home: Path, folder: Path) -> list[float]:
    samples = []
    async with CoreService(load_settings(env={}, home=home)) as service:
        for index in range(ROUNDS):
            make_package(folder, version=f"1.0.{index}")
            start = time.perf_counter()
            await service.registry.register(await service.registry.prepare(folder))
            samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = make_package(Path(scratch) / "pkg")
        sources = collect_sources(folder, CAP)
        project = read_project(pyproject(tuple(f"{n}{s}" for n, s in LOCKED)), "pyproject.toml")
        lock_text = uv_lock(LOCKED)
        print(f"20 files, {sources.size / 1000:.0f} kB of sources")
        timed("collect the sources (walk, read, UTF-8)", lambda: collect_sources(folder, CAP))
        timed(
            "check uv.lock against pyproject.toml", lambda: check_lock(project, lock_text, folder)
        )
        timed("gatekeeper (AST scan of 18 modules)", lambda: check_bundle(sources.files, ()))
        timed(
            "pack the ZIP and hash it",
            lambda: archive.sha256_hex(archive.pack(sources.files)),
        )
        home = Path(scratch) / "home"
        samples = asyncio.run(register_rounds(home, Path(scratch) / "versions"))
        print(
            f"{'prepare + register through the service':<44} median "
            f"{statistics.median(samples) * 1000:7.2f} ms (max {max(samples) * 1000:.1f})"
        )


if __name__ == "__main__":
    main()
