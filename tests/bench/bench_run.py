"""`casparian run` end to end, against the same work done in-process with pyarrow.

1. A ~200 MB CSV through `casparian run` (a streaming pyarrow-CSV parser, a 5-column contract,
   the Parquet sink) vs pyarrow's streaming CSV reader + ParquetWriter (zstd) in this process,
   alternated BIG_ROUNDS times (medians). Target: in-process time / `casparian run` time >= 0.7.
   The in-process side starts with Python and pyarrow already loaded; `casparian run` pays for
   its own start (Python, imports, the guest) and still has to reach 0.7.
2. 1,000 small CSV files through one warm guest (`run_parser`) vs reading each with pyarrow and
   writing one Parquet file per input in this process. Target: <= 2 ms platform overhead per file.

`--big` runs only part 1, `--small` only part 2.
"""

from __future__ import annotations

import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as csv
import pyarrow.parquet as pq

from casparian_core.config import load_settings
from casparian_core.engine.results import RunOptions, RunResult
from casparian_core.engine.run import run_parser

BIG_ROWS = 3_300_000  # ~200 MB of CSV
BIG_ROUNDS = 3
SMALL_FILES = 1_000
SMALL_ROWS = 20
BLOCK_BYTES = 16 * 1024 * 1024
REGIONS = ["north", "south", "east", "west"]
PARSER = f"""
name = "bench_csv"
version = "1.0.0"
outputs = {{"sales": {{
    "id": {{"type": "int64", "nullable": False, "min": 0}},
    "amount": "float64",
    "ts": {{"type": "timestamp[s]", "nullable": False}},
    "region": {{"type": "string", "allowed": {REGIONS!r}}},
    "note": {{"type": "string", "max_length": 64}},
}}}}

def parse(path):
    import pyarrow.csv as csv
    reader = csv.open_csv(path, read_options=csv.ReadOptions(block_size={BLOCK_BYTES}))
    for batch in reader:
        yield batch
"""


def make_table(rows: int, offset: int = 0) -> pa.Table:
    ids = pa.array(range(offset, offset + rows), pa.int64())
    return pa.table(
        {
            "id": ids,
            "amount": pc.round(pc.multiply(pc.random(rows), 1000), 2),
            "ts": pc.cast(pc.add(pc.multiply(ids, 7), 1_700_000_000), pa.timestamp("s")),
            "region": pc.take(pa.array(REGIONS), pc.cast(pc.bit_wise_and(ids, 3), pa.int32())),
            "note": pc.binary_join_element_wise("order ", pc.cast(ids, pa.string()), " ok", ""),
        }
    )


def in_process_csv_to_parquet(source: Path, target: Path) -> float:
    start = time.perf_counter()
    reader = csv.open_csv(source, read_options=csv.ReadOptions(block_size=BLOCK_BYTES))
    with pq.ParquetWriter(target, reader.schema, compression="zstd") as writer:
        for batch in reader:
            writer.write_batch(batch)
    return time.perf_counter() - start


def casparian_run(home: Path, parser: Path, source: Path, out: Path) -> tuple[float, dict]:
    start = time.perf_counter()
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "casparian_cli",
            "--home",
            str(home),
            "run",
            str(parser),
            str(source),
            "--sink",
            f"parquet://{out}",
            "--json",
            "--force",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - start, json.loads(completed.stdout)


def big_file(folder: Path, parser: Path) -> None:
    source = folder / "big.csv"
    csv.write_csv(make_table(BIG_ROWS), source)
    megabytes = source.stat().st_size / 1e6
    rounds = []
    for _ in range(BIG_ROUNDS):  # alternated, so both sides see the same machine load
        baseline = in_process_csv_to_parquet(source, folder / "baseline.parquet")
        wall, document = casparian_run(folder / "home", parser, source, folder / "out")
        assert document["status"] == "COMPLETED", document
        rounds.append((baseline, wall, document["duration_s"]))
    print(f"{megabytes:.0f} MB CSV, {BIG_ROWS:,} rows, 5-column contract, Parquet (zstd)")
    print(f"  per round (in-process / whole process / engine, s): {_rounds_text(rounds)}")
    baseline, wall, engine = (statistics.median(column) for column in zip(*rounds, strict=True))
    for label, seconds in (
        ("in-process pyarrow stream CSV -> Parquet", baseline),
        ("casparian run, whole process", wall),
        ("casparian run, engine time of the input", engine),
    ):
        print(f"  {label:<42} {seconds:.2f} s ({megabytes / seconds:.0f} MB/s)")
    whole = statistics.median(base / whole for base, whole, _ in rounds)
    engine_only = statistics.median(base / engine for base, _, engine in rounds)
    print(
        f"  median ratio in-process / casparian run: {whole:.2f} (whole process), "
        f"{engine_only:.2f} (engine)  target >= 0.7"
    )


def _rounds_text(rounds: list[tuple[float, float, float]]) -> str:
    return ", ".join(" / ".join(f"{seconds:.2f}" for seconds in round_) for round_ in rounds)


class _FreezeOnce:
    """As `casparian run` does: gc.freeze() after the first result, once."""

    def __init__(self) -> None:
        self.frozen = False

    def __call__(self, result: RunResult) -> None:
        if not self.frozen:
            gc.freeze()
            self.frozen = True


def small_files(folder: Path, parser: Path) -> None:
    inputs = []
    for number in range(SMALL_FILES):
        inputs.append(folder / f"small_{number:04d}.csv")
        csv.write_csv(make_table(SMALL_ROWS, number * SMALL_ROWS), inputs[-1])
    baseline_dir = folder / "baseline_small"
    baseline_dir.mkdir()
    start = time.perf_counter()
    for path in inputs:
        pq.write_table(
            csv.read_csv(path), baseline_dir / f"{path.stem}.parquet", compression="zstd"
        )
    baseline = time.perf_counter() - start
    settings = load_settings(env={}, home=folder / "home")
    # One input alone: the guest's start plus one file, to tell the warm guest's cost per file.
    start = time.perf_counter()
    run_parser(parser, inputs[:1], settings, RunOptions(sink_uri=f"parquet://{folder / 'one'}"))
    cold = time.perf_counter() - start
    options = RunOptions(sink_uri=f"parquet://{folder / 'small_out'}")
    start = time.perf_counter()
    # As `casparian run` does (casparian_cli/run.py): what is alive after the first input
    # (pyarrow's and pandas' modules) is left out of the garbage collector's full passes.
    results = run_parser(parser, inputs, settings, options, on_result=_FreezeOnce())
    engine = time.perf_counter() - start
    assert all(result.status == "COMPLETED" for result in results)
    overhead_ms = (engine - baseline) / SMALL_FILES * 1000
    warm_ms = (engine - cold) / (SMALL_FILES - 1) * 1000
    warm_overhead_ms = warm_ms - baseline / SMALL_FILES * 1000
    print(f"{SMALL_FILES:,} files of {SMALL_ROWS} rows through one warm guest")
    print(
        f"  in-process read + write per file: {baseline / SMALL_FILES * 1000:.2f} ms "
        f"({SMALL_FILES / baseline:,.0f} files/s)"
    )
    print(
        f"  run_parser per file:              {engine / SMALL_FILES * 1000:.2f} ms "
        f"({SMALL_FILES / engine:,.0f} files/s, one guest start included)"
    )
    print(f"  platform overhead: {overhead_ms:.2f} ms per file, guest start included")
    print(
        f"  run_parser on one file (guest start + 1 file): {cold * 1000:.0f} ms; each further "
        f"file {warm_ms:.2f} ms: platform overhead {warm_overhead_ms:.2f} ms per file in the "
        "warm guest  target <= 2 ms"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        parser = folder / "bench_csv.py"
        parser.write_text(PARSER)
        if "--small" not in sys.argv[1:]:
            big_file(folder, parser)
        if "--big" not in sys.argv[1:]:
            small_files(folder, parser)


if __name__ == "__main__":
    main()
