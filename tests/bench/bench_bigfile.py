"""One big CSV through `casparian process`, against a plain pyarrow script; and host memory
while a much bigger one streams through a worker (issue 16).

1. A 285 MB CSV (5,000,000 rows, deterministic) catalogued, tagged and processed by one
   registered parser (a streaming pyarrow-CSV reader, a 5-column contract, the Parquet sink),
   against a plain pyarrow script run as a process of its own (`open_csv` + `ParquetWriter`),
   alternated ROUNDS times. The comparison is kept fair: both read 16 MiB blocks, write zstd
   and gather row groups of the sink's size (parquet_part.ROW_GROUP_ROWS). Target:
   `process` / script <= 1.15.
2. A BIG_GB GB CSV generated into the temporary folder (less when the disk cannot hold it and
   its output: said in the output), through `casparian process` while the peak resident memory
   of the host (the `casparian` process and any worker process of its own) and of the guest is
   sampled from /proc. Target: host <= 500 MB.

Casparian's own modules are compiled to bytecode first, as an installed package's are (pip
compiles them at install): where PYTHONDONTWRITEBYTECODE is set, an editable checkout would
otherwise compile them at every start (~0.1 s of CPU before the guest launches), which no
user's `casparian` pays and the script's pyarrow, compiled at its install, does not pay either.

Run: .venv/bin/python -m tests.bench.bench_bigfile [--time] [--memory] [--gb N]
"""

from __future__ import annotations

import asyncio
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as csv

from casparian_core.bridge.host import GUEST_SCRIPT
from casparian_core.config import Settings, load_settings
from casparian_core.service import CoreService
from casparian_core.sinks.parquet_part import ROW_GROUP_ROWS
from tests.registry.lockfiles import link_wheels, locked_project, shim_wheels, write_index

ROWS = 5_000_000
ROUNDS = 3
BIG_GB = 5.0
CHUNK_ROWS = 500_000  # rows generated and written at a time
BLOCK_BYTES = 16 * 1024 * 1024
SAMPLE_SECS = 0.05
REGIONS = ["north", "south", "east", "west"]
PARSER = f"""\
import pyarrow.csv as csv


class BigCsv:
    name = "big_csv"
    version = "1.0.0"
    topics = ["big_csv"]
    outputs = {{"sales": {{
        "id": {{"type": "int64", "nullable": False, "min": 0}},
        "amount": "float64",
        "ts": {{"type": "timestamp[s]", "nullable": False}},
        "region": {{"type": "string", "allowed": {REGIONS!r}}},
        "note": {{"type": "string", "max_length": 64}},
    }}}}

    def parse(self, ctx):
        options = csv.ReadOptions(block_size={BLOCK_BYTES})
        for batch in csv.open_csv(str(ctx.path), read_options=options):
            yield "sales", batch
"""
BASELINE = f"""\
import sys
import pyarrow as pa
import pyarrow.csv as csv
import pyarrow.parquet as pq

reader = csv.open_csv(sys.argv[1], read_options=csv.ReadOptions(block_size={BLOCK_BYTES}))
with pq.ParquetWriter(sys.argv[2], reader.schema, compression="zstd") as writer:
    pending, rows = [], 0
    for batch in reader:
        pending.append(batch)
        rows += batch.num_rows
        if rows >= {ROW_GROUP_ROWS}:
            writer.write_table(pa.Table.from_batches(pending))
            pending, rows = [], 0
    if pending:
        writer.write_table(pa.Table.from_batches(pending))
"""


def chunk(offset: int, rows: int) -> pa.Table:
    """Rows `offset` to `offset + rows` of the file: every value follows from the row's id."""
    ids = pa.array(range(offset, offset + rows), pa.int64())
    return pa.table(
        {
            "id": ids,
            "amount": pc.divide(
                pc.cast(pc.bit_wise_and(pc.multiply(ids, 7919), 0xFFFFF), pa.float64()), 100.0
            ),
            "ts": pc.cast(pc.add(pc.multiply(ids, 7), 1_700_000_000), pa.timestamp("s")),
            "region": pc.take(pa.array(REGIONS), pc.cast(pc.bit_wise_and(ids, 3), pa.int32())),
            "note": pc.binary_join_element_wise("ord ", pc.cast(ids, pa.string()), ""),
        }
    )


def write_csv(path: Path, *, rows: int | None = None, size: int | None = None) -> int:
    """Write `rows` rows, or rows until the file holds `size` bytes; returns the row count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with csv.CSVWriter(str(path), chunk(0, 1).schema) as writer:
        while (rows is None or written < rows) and (size is None or path.stat().st_size < size):
            count = CHUNK_ROWS if rows is None else min(CHUNK_ROWS, rows - written)
            writer.write_table(chunk(written, count))
            written += count
    return written


async def prepare(root: Path, data: Path) -> Settings:
    """A home with the parser registered (its venv built) and `data` catalogued and tagged."""
    write_index(root / "index", [])
    project = locked_project(root / "big-parser", [], root / "index")
    (project.folder / "big_csv.py").write_text(PARSER)
    wheels = link_wheels(root / "wheels", shim_wheels())
    settings = load_settings(env={}, home=root / "home").model_copy(update={"wheels_dir": wheels})
    async with CoreService(settings) as service:
        await service.registry.register(await service.registry.prepare(project.folder))
        await service.registry.runnable("big_csv", offline=True)
        await service.scout.scan(data, name="big", tag="big_csv")
    return settings


class PeakMemory:
    """Samples the resident memory peaks (VmHWM) of a process tree: the root and its
    descendants other than guests (the host), and the guests."""

    def __init__(self, pid: int) -> None:
        self._root = psutil.Process(pid)
        self.host = self.guest = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                processes = [self._root, *self._root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for process in processes:
                self._sample(process)
            self._stop.wait(SAMPLE_SECS)

    def _sample(self, process: psutil.Process) -> None:
        try:
            guest = str(GUEST_SCRIPT) in process.cmdline()
            with open(f"/proc/{process.pid}/status") as status:
                peak = next(
                    int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM")
                )
        except (psutil.NoSuchProcess, OSError, StopIteration):
            return
        if guest:
            self.guest = max(self.guest, peak)
        else:
            self.host = max(self.host, peak)


def run_process(
    settings: Settings, sink: Path, memory: bool = False
) -> tuple[float, PeakMemory | None]:
    """`casparian process` as a user runs it (new jobs only: the sink is new each time)."""
    env = {
        **os.environ,
        "CASPARIAN_HOME": str(settings.home),
        "CASPARIAN_WHEELS_DIR": str(settings.wheels_dir),
    }
    command = [sys.executable, "-m", "casparian_cli", "process", "--offline", "--json"]
    command += ["--sink", f"parquet://{sink}"]
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peaks = PeakMemory(child.pid) if memory else None
    out, err = child.communicate()
    elapsed = time.perf_counter() - start
    if peaks is not None:
        peaks.stop()
    if child.returncode != 0:
        raise SystemExit(f"casparian process failed:\n{err.decode()[-2000:]}{out.decode()[-2000:]}")
    return elapsed, peaks


def baseline(source: Path, target: Path, script: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, str(script), str(source), str(target)], check=True)
    return time.perf_counter() - start


def timing(root: Path) -> None:
    data = root / "data"
    rows = write_csv(data / "big.csv", rows=ROWS)
    megabytes = (data / "big.csv").stat().st_size / 1e6
    settings = asyncio.run(prepare(root, data))
    script = root / "baseline.py"
    script.write_text(BASELINE)
    rounds = []
    for number in range(ROUNDS):  # alternated, so both see the same load
        plain = baseline(data / "big.csv", root / "baseline.parquet", script)
        ours, _ = run_process(settings, root / f"out{number}")
        rounds.append((plain, ours))
    print(
        f"{megabytes:.0f} MB CSV, {rows:,} rows, 5-column contract, Parquet zstd, "
        f"row groups of {ROW_GROUP_ROWS:,} rows on both sides"
    )
    print(
        "  per round (pyarrow script / casparian process, s): "
        + ", ".join(f"{plain:.2f} / {ours:.2f}" for plain, ours in rounds)
    )
    plain, ours = (statistics.median(column) for column in zip(*rounds, strict=True))
    ratio = statistics.median(ours / plain for plain, ours in rounds)
    print(f"  pyarrow script     {plain:.2f} s ({megabytes / plain:.0f} MB/s)")
    print(f"  casparian process  {ours:.2f} s ({megabytes / ours:.0f} MB/s)")
    print(f"  median ratio process / script: {ratio:.2f}x  target <= 1.15")


def memory(root: Path, gigabytes: float) -> None:
    free = shutil.disk_usage(root).free
    wanted = int(gigabytes * 1e9)
    # The CSV plus its Parquet output (about a third of it) and room to spare.
    fits = int((free - 2e9) / 1.4)
    size = min(wanted, fits)
    if size < wanted:
        print(
            f"  only {free / 1e9:.1f} GB free: a {size / 1e9:.1f} GB file "
            f"instead of {gigabytes:g} GB"
        )
    data = root / "huge"
    start = time.perf_counter()
    rows = write_csv(data / "huge.csv", size=size)
    actual = (data / "huge.csv").stat().st_size
    generated = time.perf_counter() - start
    print(f"  (generated {actual / 1e9:.2f} GB, {rows:,} rows, in {generated:.0f} s)")
    settings = asyncio.run(prepare(root / "mem", data))
    elapsed, peaks = run_process(settings, root / "huge_out", memory=True)
    assert peaks is not None
    print(
        f"{actual / 1e9:.2f} GB CSV through casparian process: {elapsed:.1f} s "
        f"({actual / 1e6 / elapsed:.0f} MB/s)"
    )
    print(
        f"  peak RSS: host {peaks.host / 1e6:.0f} MB (target <= 500), "
        f"guest {peaks.guest / 1e6:.0f} MB"
    )


def compile_bytecode() -> None:
    """Casparian's modules as an installed package has them: compiled (see the docstring)."""
    for package in ("casparian_core", "casparian_cli"):
        module = __import__(package)
        compileall.compile_dir(Path(module.__file__).parent, quiet=1)


def main() -> None:
    args = sys.argv[1:]
    gigabytes = float(args[args.index("--gb") + 1]) if "--gb" in args else BIG_GB
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    compile_bytecode()
    with tempfile.TemporaryDirectory(prefix="bench-bigfile-") as tmp:
        root = Path(tmp)
        if "--memory" not in args:
            timing(root / "timing")
        if "--time" not in args:
            memory(root, gigabytes)
        print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
