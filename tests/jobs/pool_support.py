"""A registered parser for the pool's tests: a real project locked by uv (test_envs's fixture),
registered, its venv built offline, and a scanned source whose files are tagged with its topic.

The parser's behaviour is chosen by each file's first line: BROKEN fails for good, FLAKY fails
with a MemoryError (transient) on its first two parses in a guest, HANG logs its guest's pid and
blocks until killed (unless `<file>.release` exists), NOISY logs 3,000 long lines. Each
parse logs its guest's pid, the CPUs it may run on and its scheduling policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from casparian_core.config import Settings
from casparian_core.service import CoreService
from tests.registry.test_envs import Fixture

PARSER = """\
import os
import threading
from pathlib import Path

CALLS = {}


class Rows:
    name = "rows"
    version = "1.0.0"
    topics = ["csv_rows"]
    outputs = {"rows": {"n": {"type": "int64", "nullable": False}, "text": "string"}}

    def parse(self, ctx):
        path = str(ctx.path)
        lines = Path(path).read_text().splitlines()
        head = lines[0] if lines else ""
        cpus = ",".join(map(str, sorted(os.sched_getaffinity(0))))
        policy = os.sched_getscheduler(0)
        ctx.logger.info("parsed by guest %d on CPUs %s, policy %d", os.getpid(), cpus, policy)
        if head == "BROKEN":
            raise ValueError("this file is broken for good")
        if head == "FLAKY":
            CALLS[path] = CALLS.get(path, 0) + 1
            if CALLS[path] <= 2:
                raise MemoryError("short of memory this time")
        if head == "HANG" and not Path(path + ".release").exists():
            ctx.logger.info("hanging in guest %d", os.getpid())
            threading.Event().wait()
        if head == "NOISY":
            for number in range(3000):
                ctx.logger.info("line %d %s", number, "x" * 200)
        yield "rows", [{"n": n, "text": line} for n, line in enumerate(lines)]
"""

TOPIC = "csv_rows"


@dataclass(frozen=True)
class Home:
    settings: Settings  # with the wheels folder the venv is built from, offline
    data: Path  # the scanned source's folder (source name "shop")


def write_rows(path: Path, rows: int, head: str = "id,value") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([head, *(f"{n},{n * 10}" for n in range(rows - 1))]) + "\n")
    return path


async def prepare(locked: Fixture, files: dict[str, tuple[int, str]]) -> Home:
    """Register the parser and scan a source holding `files` (relative path -> rows, first
    line), all tagged with its topic. Every parse logs its guest's pid."""
    (locked.project.folder / "rows.py").write_text(PARSER)
    data = locked.project.folder.parent / "shop"
    for rel_path, (rows, head) in files.items():
        write_rows(data / rel_path, rows, head)
    async with CoreService(locked.settings) as service:
        await service.registry.register(await service.registry.prepare(locked.project.folder))
        await service.registry.runnable("rows", offline=True)  # the venv, built once
        await service.scout.scan(data, name="shop", tag=TOPIC)
    return Home(locked.settings, data)


@pytest.fixture
def wheels_env(locked: Fixture) -> dict[str, str]:
    return {"CASPARIAN_WHEELS_DIR": str(locked.settings.wheels_dir)}
