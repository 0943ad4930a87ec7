"""Parquet parts gather small streamed batches into large row groups."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from casparian_core.sinks import open_sink, parquet_part

from .conftest import INFO, numbers


def test_many_small_batches_become_one_row_group(tmp_path: Path) -> None:
    sink = open_sink(f"parquet://{tmp_path}")
    writer = sink.begin("sales", "k", numbers(0, 0).schema, INFO)
    for start in range(0, 10_000, 1_000):
        writer.write(numbers(start, start + 1_000))
    writer.commit()

    metadata = pq.read_metadata(tmp_path / "sales" / "part-k.parquet")
    assert (metadata.num_rows, metadata.num_row_groups) == (10_000, 1)
    assert metadata.row_group(0).column(0).compression == "ZSTD"


def test_a_small_part_is_compressed_with_snappy_and_reads_back_the_same(tmp_path: Path) -> None:
    sink = open_sink(f"parquet://{tmp_path}")
    writer = sink.begin("sales", "k", numbers(0, 0).schema, INFO)
    writer.write(numbers(0, 50))
    writer.commit()

    part = tmp_path / "sales" / "part-k.parquet"
    assert pq.read_metadata(part).row_group(0).column(0).compression == "SNAPPY"
    assert pq.read_table(part).equals(
        numbers(0, 50).replace_schema_metadata(None), check_metadata=False
    )


def test_slices_of_a_larger_table_count_only_their_own_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Row groups are cut by size too: a slice shares its table's buffers, and counting those
    # whole would cut a row group per slice.
    table = numbers(0, 10_000)
    monkeypatch.setattr(parquet_part, "ROW_GROUP_BYTES", table.nbytes + 1)
    sink = open_sink(f"parquet://{tmp_path}")
    writer = sink.begin("sales", "k", table.schema, INFO)
    for batch in table.to_batches(max_chunksize=1_000):
        writer.write(pa.Table.from_batches([batch]))
    writer.commit()

    metadata = pq.read_metadata(tmp_path / "sales" / "part-k.parquet")
    assert (metadata.num_rows, metadata.num_row_groups) == (10_000, 1)
