"""Sink write throughput: 1 M validated rows (5 contract columns + 4 lineage columns) streamed
in 100 k-row batches into each sink and committed, against a bare `pq.write_table` of the same
rows in the same run.

Run: .venv/bin/python -m tests.bench.bench_sinks
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from casparian_core.contracts.lineage import lineage
from casparian_core.contracts.validate import validate_batch
from casparian_core.sinks import PartInfo, open_sink
from tests.bench.bench_validation import CONTRACT, make_batch

BATCH_ROWS = 100_000
SINK_URIS = (
    "parquet://{dir}/parquet",
    "arrow://{dir}/arrow",
    "duckdb:///{dir}/out.duckdb",
    "sqlite:///{dir}/out.db",
)


def validated_rows() -> pa.Table:
    valid = validate_batch(make_batch(0, 0.0), CONTRACT, row_offset=0).valid
    columns = lineage(source_hash="f" * 64, job_id="bench", parser="bench", parser_version="1.0.0")
    return columns.append_to(valid)


def write_parquet_directly(table: pa.Table, folder: Path) -> float:
    start = time.perf_counter()
    pq.write_table(table, folder / "baseline.parquet", compression="zstd")
    return time.perf_counter() - start


def write_through_sink(uri: str, table: pa.Table) -> float:
    sink = open_sink(uri)
    start = time.perf_counter()
    writer = sink.begin("orders", "bench-part", table.schema, PartInfo("orders.csv", "hash", "1"))
    for batch in table.to_batches(max_chunksize=BATCH_ROWS):
        writer.write(pa.Table.from_batches([batch]))
    writer.commit()
    return time.perf_counter() - start


def main() -> None:
    table = validated_rows()
    rows = table.num_rows
    with tempfile.TemporaryDirectory() as folder:
        baseline = min(write_parquet_directly(table, Path(folder)) for _ in range(2))
        print(f"{'pq.write_table, zstd (baseline)':<36} {rows / baseline / 1e6:6.2f} M rows/s")
        for template in SINK_URIS:
            uri = template.format(dir=folder)
            seconds = write_through_sink(uri, table)
            ratio = baseline / seconds
            scheme = uri.partition(":")[0]
            print(f"{scheme + ' sink':<36} {rows / seconds / 1e6:6.2f} M rows/s   {ratio:.2f}x")


if __name__ == "__main__":
    main()
