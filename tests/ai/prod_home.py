"""A home after a real prod run, for the assistant's jobs, errors, quarantine, registry and
statistics tools: a parser project locked by uv (tests/registry's helpers), registered with its
contract, its venv built offline, a scanned source of order files processed by the real worker
pool. Built once per test module (it takes seconds); each test gets its own copy of the home, so
a test that changes it (an approved retry, a registration) leaves the others alone.

The files: two clean ones, one with rows whose amount is negative (quarantined by the
contract's `min`), and two broken ones on which the parser raises (one error fingerprint, two
files, two failed jobs).
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from casparian_core.config import Settings, load_settings
from casparian_core.jobs.plan import ProcessRequest
from casparian_core.service import CoreService
from tests.registry.lockfiles import (
    link_wheels,
    locked_project,
    shim_wheels,
    write_index,
    write_wheel,
)

PARSER = """\
from pathlib import Path


class Orders:
    name = "orders"
    version = "{version}"
    topics = ["orders_csv"]
    outputs = {{
        "orders": {{
            "id": {{"type": "int64", "nullable": False}},
            "amount": {{"type": "float64", "min": 0}},
        }}
    }}

    def parse(self, ctx):
        lines = Path(str(ctx.path)).read_text().splitlines()
        ctx.logger.info("read %d lines", len(lines))
        if lines[0] == "BROKEN":
            raise ValueError("this export is broken: no header")
        rows = [line.split(",") for line in lines[1:]]
        yield "orders", [{{"id": int(i), "amount": float(a)}} for i, a in rows]
"""
TOPIC = "orders_csv"
FILES = {
    "jan.csv": "id,amount\n1,10.5\n2,7.25\n",
    "feb.csv": "id,amount\n3,1.0\n4,2.0\n5,3.0\n",
    "mar.csv": "id,amount\n6,4.0\n7,-1.5\n8,5.0\n9,-2.0\n",
    "broken-1.csv": "BROKEN\n",
    "broken-2.csv": "BROKEN\n",
}


@dataclass(frozen=True)
class ProdHome:
    settings: Settings
    project: Path  # the parser's project folder (pyproject.toml, uv.lock, orders.py)
    jobs: dict[str, str]  # file name -> its job id
    run: str  # the run's batch id


def build(root: Path) -> ProdHome:
    tiny = write_wheel(root / "built", "tinypkg", "0.1.0")
    write_index(root / "index", [tiny])
    project = locked_project(root / "orders-parser", ["tinypkg==0.1.0"], root / "index")
    wheels = link_wheels(root / "wheels", [tiny, *shim_wheels()])
    settings = load_settings(env={}, home=root / "home").model_copy(update={"wheels_dir": wheels})
    (project.folder / "orders.py").write_text(PARSER.format(version="1.0.0"))
    data = root / "shop"
    data.mkdir()
    for name, text in FILES.items():
        (data / name).write_text(text)
    jobs, run = asyncio.run(_process(settings, project.folder, data))
    return ProdHome(settings, project.folder, jobs, run)


async def _process(settings: Settings, project: Path, data: Path) -> tuple[dict[str, str], str]:
    async with CoreService(settings) as service:
        await service.registry.register(await service.registry.prepare(project))
        await service.scout.scan(data, name="shop", tag=TOPIC)
        processing = service.processing(ProcessRequest(workers=1, offline=True))
        plan = await processing.prepare()
        await processing.run()
        jobs = await service.queue.jobs()
    return {Path(job.input_path).name: job.job_id for job in jobs}, plan.batch_id


def copy_of(home: ProdHome, folder: Path) -> ProdHome:
    """The home copied into `folder` (its venvs left out: the tools run no parser), its jobs'
    output locations moved with it (Inspect lists every folder jobs wrote to: the original
    home's would show as a second sink)."""
    target = folder / "home"
    shutil.copytree(home.settings.home, target, symlinks=True, ignore=_venvs)
    with closing(sqlite3.connect(target / home.settings.database_path.name)) as conn, conn:
        conn.execute(
            "UPDATE cf_processing_queue SET outputs = replace(outputs, ?, ?)",
            (str(home.settings.home), str(target)),
        )
    return ProdHome(
        home.settings.model_copy(update={"home": target}), home.project, home.jobs, home.run
    )


def _venvs(folder: str, names: list[str]) -> list[str]:
    return ["venvs"] if "venvs" in names else []
