"""`casparian process` on many small files, against `casparian run` on the same folder.

2,000 CSV files of 50 rows, catalogued and tagged, one registered parser (a project locked by
real uv, offline, its venv built before timing) through `casparian process --workers 2`; then
`casparian run` of the same parser file on the same folder. Both are timed end to end as the
user runs them (a process each: Python's start, imports, guests, the queue, fsyncs). Issue 16's
target: >= 1,000 files/s, and at least as fast as dlt; dlt is measured only when it is installed
in this venv (it is not installed for the benchmark's sake).

Run: .venv/bin/python -m tests.bench.bench_process
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from casparian_core.config import Settings, load_settings
from casparian_core.service import CoreService
from tests.registry.lockfiles import link_wheels, locked_project, shim_wheels, write_index

FILES = 2_000
ROWS = 50
WORKERS = 2
PARSER = """\
import pyarrow.csv as csv


class BenchRows:
    name = "bench_rows"
    version = "1.0.0"
    topics = ["bench_csv"]
    outputs = {"rows": {"id": {"type": "int64", "nullable": False}, "value": "int64"}}

    def parse(self, ctx):
        yield "rows", csv.read_csv(str(ctx.path))
"""


def write_files(folder: Path) -> None:
    body = "id,value\n" + "".join(f"{n},{n * 7}\n" for n in range(ROWS))
    for index in range(FILES):
        sub = folder / f"d{index % 20:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{index:05d}.csv").write_text(body)


async def prepare(root: Path) -> tuple[Settings, Path, Path]:
    write_index(root / "index", [])
    project = locked_project(root / "bench-parser", [], root / "index")
    parser = project.folder / "bench_rows.py"
    parser.write_text(PARSER)
    wheels = link_wheels(root / "wheels", shim_wheels())
    settings = load_settings(env={}, home=root / "home").model_copy(update={"wheels_dir": wheels})
    data = root / "data"
    write_files(data)
    async with CoreService(settings) as service:
        await service.registry.register(await service.registry.prepare(project.folder))
        await service.registry.runnable("bench_rows", offline=True)
        await service.scout.scan(data, name="bench", tag="bench_csv")
    return settings, parser, data


def timed(command: list[str], settings: Settings) -> tuple[float, str]:
    env = {
        **os.environ,
        "CASPARIAN_HOME": str(settings.home),
        "CASPARIAN_WHEELS_DIR": str(settings.wheels_dir),
    }
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return elapsed, done.stdout


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-process-") as tmp:
        root = Path(tmp)
        settings, parser, data = asyncio.run(prepare(root))
        cli = [sys.executable, "-m", "casparian_cli"]
        process_secs, out = timed(
            [*cli, "process", "--offline", "--json", "--workers", str(WORKERS)], settings
        )
        summary = json.loads(out)
        assert summary["counts"] == {"COMPLETED": FILES}, summary["counts"]
        assert summary["rows"] == FILES * ROWS
        again_secs, out = timed([*cli, "process", "--offline", "--json"], settings)
        assert json.loads(out)["already_done"] == FILES
        run_secs, _ = timed(
            [*cli, "run", str(parser), str(data), "--json", "--sink", f"parquet://{root / 'run'}"],
            settings,
        )
    print(f"{FILES:,} files x {ROWS} rows, {WORKERS} workers, {os.cpu_count()} cores")
    print(
        f"casparian process: {process_secs:.2f} s, {FILES / process_secs:,.0f} files/s, "
        f"{process_secs / FILES * 1000:.2f} ms/file"
    )
    print(f"casparian process again (nothing to do, every file hashed): {again_secs:.2f} s")
    print(
        f"casparian run (one guest, no queue): {run_secs:.2f} s, {FILES / run_secs:,.0f} files/s; "
        f"process / run = {process_secs / run_secs:.2f}x"
    )
    if importlib.util.find_spec("dlt") is None:
        print("dlt: not installed in this venv, not measured")


if __name__ == "__main__":
    main()
