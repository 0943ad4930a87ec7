"""Parquet parts gather small streamed batches into large row groups."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from casparian_core.sinks import open_sink

from .conftest import numbers


def test_many_small_batches_become_one_row_group(tmp_path: Path) -> None:
    sink = open_sink(f"parquet://{tmp_path}", tmp_path)
    writer = sink.begin("sales", "k", numbers(0, 0).schema)
    for start in range(0, 10_000, 1_000):
        writer.write(numbers(start, start + 1_000))
    writer.commit()

    metadata = pq.read_metadata(tmp_path / "sales" / "part-k.parquet")
    assert (metadata.num_rows, metadata.num_row_groups) == (10_000, 1)
    assert metadata.row_group(0).column(0).compression == "ZSTD"
