"""`casparian process` on many small files, against dlt and `casparian run` on the same folder.

2,000 CSV files of 50 rows, catalogued and tagged, one registered parser (a project locked by
real uv, offline, its venv built before timing) through `casparian process --workers 2`; then
`casparian run` of the same parser file on the same folder; then dlt loading the same files
(tests/bench/dlt_load.py: Arrow tables to its `filesystem` destination as Parquet; installed
by `make bench`, the `bench` extra). Each is timed end to end as the user runs it (a process
each: Python's start, imports, guests, the queue, fsyncs), after a sync: the writes of what ran
before are not its own. A second `process` run, on files of its own, records where its
workers' time goes (casparian_core.stage_times, which costs time itself: the timed run does not
record it), printed per file, and how long after its start each process reported its first
job. The fixed costs (starting the command, its worker process
and their guests, and ending them) are measured apart: `process --workers 2` on 20 files. Issue
16's targets: >= 1,000 files/s, and at least as fast as dlt. Casparian's modules are compiled to
bytecode first, as an installed package's are (bench_bigfile.compile_bytecode).

Run: .venv/bin/python -m tests.bench.bench_process
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from casparian_core import stage_times
from casparian_core.config import Settings, load_settings
from casparian_core.service import CoreService
from tests.bench.bench_bigfile import compile_bytecode
from tests.registry.lockfiles import link_wheels, locked_project, shim_wheels, write_index

# Per timed command (`process`, `process again`, `run`, `dlt`): CPU seconds of it and its
# children.
CPU_SECONDS: dict[str, float] = {}
FILES = 2_000
FEW_FILES = 20  # `process` on these measures the fixed costs
STAGE_RUN = "process, timed by stage"
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


def write_files(folder: Path, files: int) -> None:
    body = "id,value\n" + "".join(f"{n},{n * 7}\n" for n in range(ROWS))
    for index in range(files):
        sub = folder / f"d{index % 20:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{index:05d}.csv").write_text(body)


async def prepare(root: Path, files: int = FILES) -> tuple[Settings, Path, Path]:
    write_index(root / "index", [])
    project = locked_project(root / "bench-parser", [], root / "index")
    parser = project.folder / "bench_rows.py"
    parser.write_text(PARSER)
    wheels = link_wheels(root / "wheels", shim_wheels())
    settings = load_settings(env={}, home=root / "home").model_copy(update={"wheels_dir": wheels})
    data = root / "data"
    write_files(data, files)
    async with CoreService(settings) as service:
        await service.registry.register(await service.registry.prepare(project.folder))
        await service.registry.runnable("bench_rows", offline=True)
        await service.scout.scan(data, name="bench", tag="bench_csv")
    return settings, parser, data


def children_cpu() -> float:
    """CPU seconds used so far by the processes this one waited for (and theirs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(label: str, command: list[str], settings: Settings, **env: str) -> tuple[float, str]:
    environment = {
        **os.environ,
        "CASPARIAN_HOME": str(settings.home),
        "CASPARIAN_WHEELS_DIR": str(settings.wheels_dir),
        **env,
    }
    os.sync()  # the writes of what ran before (the files, a venv) are not this command's
    start, cpu = time.perf_counter(), children_cpu()
    done = subprocess.run(command, env=environment, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    CPU_SECONDS[label] = children_cpu() - cpu
    return elapsed, done.stdout


def stage_totals(path: Path) -> tuple[dict[str, list[float]], int]:
    """Each stage's count and seconds summed over the processes that wrote a line (the
    workers, or the one process), and how many did."""
    totals: dict[str, list[float]] = {}
    lines = path.read_text().splitlines()
    for line in lines:
        for name, (count, seconds) in json.loads(line)["stages"].items():
            total = totals.setdefault(name, [0, 0.0])
            total[0] += count
            total[1] += seconds
    return totals, len(lines)


def print_breakdown(totals: dict[str, list[float]], processes: int) -> None:
    print(
        f"where the time goes, per file (wall time in each stage, summed over the {processes} "
        "processes that ran workers; the commit threads run beside the workers; the CPU: lines "
        "are CPU time):"
    )
    for name, (count, seconds) in totals.items():
        if not name.startswith(stage_times.STARTUP_PREFIX):
            print(f"  {name:<40} {seconds / FILES * 1000:6.3f} ms/file  ({int(count):,} times)")
    for name, (_, seconds) in totals.items():
        if name.startswith(stage_times.STARTUP_PREFIX):
            print(f"  {name}: {seconds:.3f} s after the process started")


def stage_breakdown(process: list[str]) -> tuple[dict[str, list[float]], int]:
    """Where `process`'s time goes: a run of its own on files of their own, timed by stage
    (the timing itself costs time: the run the figures quote is not timed so)."""
    with tempfile.TemporaryDirectory(prefix="bench-process-") as tmp:
        settings, _, _ = asyncio.run(prepare(Path(tmp)))
        stages = Path(tmp) / "stages.jsonl"
        _, out = timed(STAGE_RUN, process, settings, **{stage_times.VARIABLE: str(stages)})
        assert json.loads(out)["counts"] == {"COMPLETED": FILES}
        return stage_totals(stages)


def fixed_costs(root: Path) -> None:
    """`process --workers 2` on FEW_FILES files: nearly all of it is starting and ending."""
    settings, _, _ = asyncio.run(prepare(root, FEW_FILES))
    cli = [
        sys.executable,
        "-m",
        "casparian_cli",
        "process",
        "--offline",
        "--json",
        "--workers",
        "2",
    ]
    elapsed, out = timed("process, 20 files", cli, settings)
    assert json.loads(out)["counts"] == {"COMPLETED": FEW_FILES}
    print(
        f"fixed costs (process --workers 2 on {FEW_FILES} files): {elapsed:.2f} s wall, "
        f"{CPU_SECONDS['process, 20 files']:.2f} s CPU"
    )


def dlt_seconds(data: Path, root: Path) -> float | None:
    if importlib.util.find_spec("dlt") is None:
        return None
    command = [sys.executable, "-m", "tests.bench.dlt_load", str(data), str(root / "dlt-out")]
    env = {
        **os.environ,
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "DLT_DATA_DIR": str(root / "dlt-data"),
    }
    os.sync()
    start, cpu = time.perf_counter(), children_cpu()
    subprocess.run([*command, str(root / "dlt-work")], env=env, check=True)
    elapsed = time.perf_counter() - start
    CPU_SECONDS["dlt"] = children_cpu() - cpu
    import pyarrow.parquet as pq

    rows = sum(pq.read_metadata(p).num_rows for p in (root / "dlt-out").rglob("*.parquet"))
    assert rows == FILES * ROWS, rows
    return elapsed


def main() -> None:
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    compile_bytecode()
    with tempfile.TemporaryDirectory(prefix="bench-process-") as tmp:
        fixed_costs(Path(tmp) / "few")
    cli = [sys.executable, "-m", "casparian_cli"]
    process = [*cli, "process", "--offline", "--json", "--workers", str(WORKERS)]
    with tempfile.TemporaryDirectory(prefix="bench-process-") as tmp:
        root = Path(tmp)
        settings, parser, data = asyncio.run(prepare(root))
        process_secs, out = timed("process", process, settings)
        summary = json.loads(out)
        assert summary["counts"] == {"COMPLETED": FILES}, summary["counts"]
        assert summary["rows"] == FILES * ROWS
        again_secs, out = timed("process again", [*cli, "process", "--offline", "--json"], settings)
        assert json.loads(out)["already_done"] == FILES
        run_secs, _ = timed(
            "run",
            [*cli, "run", str(parser), str(data), "--json", "--sink", f"parquet://{root / 'run'}"],
            settings,
        )
        dlt_secs = dlt_seconds(data, root)
    totals, processes = stage_breakdown(process)
    print(f"{FILES:,} files x {ROWS} rows, {WORKERS} workers, {os.cpu_count()} cores")
    print(
        f"casparian process: {process_secs:.2f} s, {FILES / process_secs:,.0f} files/s, "
        f"{process_secs / FILES * 1000:.2f} ms/file"
    )
    print(
        "CPU seconds per file (all processes; load distorts them less than wall time): "
        + ", ".join(
            f"{name} {secs / FILES * 1000:.2f} ms"
            for name, secs in CPU_SECONDS.items()
            if name not in ("process, 20 files", STAGE_RUN)
        )
    )
    print(f"casparian process again (nothing to do, every file hashed): {again_secs:.2f} s")
    print(
        f"casparian run (one guest, no queue): {run_secs:.2f} s, {FILES / run_secs:,.0f} files/s; "
        f"process / run = {process_secs / run_secs:.2f}x"
    )
    if dlt_secs is None:
        print("dlt: not installed in this venv (`make bench` installs it), not measured")
    else:
        print(
            f"dlt (Arrow tables to Parquet files): {dlt_secs:.2f} s, "
            f"{FILES / dlt_secs:,.0f} files/s; process takes {process_secs / dlt_secs:.2f}x "
            f"dlt's time, run {run_secs / dlt_secs:.2f}x"
        )
    print_breakdown(totals, processes)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
