"""Validation throughput: validate_batch against bare pyarrow masks, and a per-row Python loop.

The contract has the five columns of DESIGN.md §11: int64 with a min, string with max_length,
float64, a timestamp already typed, string with allowed values. 10 M rows go through in 1 M-row
batches, clean and with 0.1% bad rows; a third run gets every column as text (what a CSV parser
that reads strings sends) so casts are measured too. The baseline is the same checks written by
hand as one mask and one filter, in the same process and run.

Run: .venv/bin/python -m tests.bench.bench_validation
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from casparian_core.contracts.model import OutputSpec, parse_outputs
from casparian_core.contracts.validate import validate_batch

BATCH_ROWS = 1_000_000
BATCHES = 10
LOOP_ROWS = 200_000
REGIONS = ["EU", "US", "APAC", "LATAM"]
MAX_NAME = 32
CONTRACT: OutputSpec = parse_outputs(
    {
        "orders": {
            "id": {"type": "int64", "nullable": False, "min": 0},
            "name": {"type": "string", "max_length": MAX_NAME},
            "amount": "float64",
            "ts": {"type": "timestamp[us]", "nullable": False},
            "region": {"type": "string", "allowed": REGIONS},
        }
    },
    "bench",
)["orders"]


def make_batch(seed: int, bad_fraction: float) -> pa.Table:
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 10**12, BATCH_ROWS)
    regions = np.array(REGIONS)[rng.integers(0, len(REGIONS), BATCH_ROWS)].astype(object)
    bad = rng.random(BATCH_ROWS) < bad_fraction
    ids[bad] = -1  # breaks min
    regions[bad & (rng.random(BATCH_ROWS) < 0.5)] = "MARS"  # and some break allowed too
    names = pa.array([f"customer-{i % 5000}" for i in range(BATCH_ROWS)])
    return pa.table(
        {
            "id": ids,
            "name": names,
            "amount": rng.random(BATCH_ROWS) * 1000,
            "ts": pa.array(rng.integers(0, 2 * 10**15, BATCH_ROWS), pa.timestamp("us")),
            "region": pa.array(regions, pa.string()),
        }
    )


def as_text(table: pa.Table) -> pa.Table:
    """Every column but the timestamp as strings, as a parser reading text would send them."""
    return pa.table(
        {
            name: column if name == "ts" else column.cast(pa.string())
            for name, column in zip(table.column_names, table.columns, strict=True)
        }
    )


def bare_masks(table: pa.Table) -> pa.Table:
    """The in-process reference: the same checks, hand-written as one mask and one filter."""
    checks = [
        table["id"].is_valid(),
        pc.greater_equal(table["id"], 0),
        pc.less_equal(pc.utf8_length(table["name"]), MAX_NAME),
        table["ts"].is_valid(),
        pc.is_in(table["region"], value_set=pa.array(REGIONS)),
    ]
    mask = checks[0]
    for check in checks[1:]:
        mask = pc.and_(mask, check.fill_null(True))
    return table.filter(mask.fill_null(False))


def python_loop(table: pa.Table) -> list[dict[str, object]]:
    valid = []
    for row in table.to_pylist():
        if row["id"] is None or row["id"] < 0 or row["ts"] is None:
            continue
        if row["name"] is not None and len(row["name"]) > MAX_NAME:
            continue
        if row["region"] is not None and row["region"] not in REGIONS:
            continue
        valid.append(row)
    return valid


def timed(work: Callable[[pa.Table], object], tables: Iterator[pa.Table]) -> tuple[float, int]:
    seconds = rows = 0
    for table in tables:
        start = time.perf_counter()
        work(table)
        seconds += time.perf_counter() - start
        rows += table.num_rows
    return seconds, rows


def batches(bad_fraction: float, text: bool = False) -> Iterator[pa.Table]:
    for seed in range(BATCHES):
        table = make_batch(seed, bad_fraction)
        yield as_text(table) if text else table


def report(label: str, seconds: float, rows: int, baseline_rate: float | None = None) -> float:
    """Print one line and return the rate in rows/s."""
    rate = rows / seconds
    ratio = "" if baseline_rate is None else f"   {rate / baseline_rate:.2f}x the bare masks"
    print(
        f"{label:<44} {rows / 1e6:5.1f} M rows {seconds:6.2f} s {rate / 1e6:6.1f} M rows/s{ratio}"
    )
    return rate


def main() -> None:
    print(f"5-column contract, {BATCHES} x {BATCH_ROWS:,} rows per run")
    for bad_fraction, label in ((0.0, "clean"), (0.001, "0.1% bad rows")):
        baseline = report(
            f"bare masks + filter ({label})", *timed(bare_masks, batches(bad_fraction))
        )
        seconds, rows = timed(
            lambda table: validate_batch(table, CONTRACT, row_offset=0), batches(bad_fraction)
        )
        report(f"validate_batch ({label})", seconds, rows, baseline)
    seconds, rows = timed(
        lambda table: validate_batch(table, CONTRACT, row_offset=0), batches(0.001, text=True)
    )
    report("validate_batch (text columns cast, 0.1% bad)", seconds, rows, baseline)
    sample = make_batch(0, 0.001).slice(0, LOOP_ROWS)
    report(
        "per-row Python loop (to_pylist + checks)", *timed(python_loop, iter([sample])), baseline
    )


if __name__ == "__main__":
    main()
