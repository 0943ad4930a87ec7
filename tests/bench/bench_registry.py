"""Registering a 20-file parser package: bundling, the lock check, the gatekeeper, packing
and storing, each timed, then the whole `prepare` + `register` through the service; and the
cold and warm `runnable` (artifact read and verified, unpacked, venv built; then both reused),
the warm one being what every prod run of a registered parser pays.

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
from tests.registry.lockfiles import (
    link_wheels,
    locked_project,
    shim_wheels,
    write_index,
    write_wheel,
)
from tests.registry.support import pyproject, uv_lock, write_package
from tests.registry.test_prod_artifact import PARSER as TINY_PARSER

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


async def runnable_rounds(scratch: Path) -> tuple[float, list[float]]:
    """The cold `runnable` (unpack, venv built offline) once, then the warm one ROUNDS times."""
    tiny = write_wheel(scratch / "built", "tinypkg", "0.1.0")
    write_index(scratch / "index", [tiny])
    project = locked_project(scratch / "tiny-parser", ["tinypkg==0.1.0"], scratch / "index")
    (project.folder / "tiny.py").write_text(TINY_PARSER)
    settings = load_settings(env={}, home=scratch / "tiny-home").model_copy(
        update={"wheels_dir": link_wheels(scratch / "wheels", [tiny, *shim_wheels()])}
    )
    async with CoreService(settings) as service:
        await service.registry.register(await service.registry.prepare(project.folder))
        start = time.perf_counter()
        await service.registry.runnable("tiny", offline=True)
        cold = time.perf_counter() - start
        warm = []
        for _ in range(ROUNDS):
            start = time.perf_counter()
            await service.registry.runnable("tiny", offline=True)
            warm.append(time.perf_counter() - start)
    return cold, warm


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
        cold, warm = asyncio.run(runnable_rounds(Path(scratch) / "tiny"))
        print(f"{'runnable, cold (unpack + venv built offline)':<44}        {cold * 1000:7.0f} ms")
        print(
            f"{'runnable, warm (verify, reuse folder + venv)':<44} median "
            f"{statistics.median(warm) * 1000:7.2f} ms (max {max(warm) * 1000:.1f})"
        )


if __name__ == "__main__":
    main()
