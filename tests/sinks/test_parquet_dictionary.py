"""A Parquet part dictionary-encodes only the columns that profit: a column of mostly distinct
values is written plain from its first page, every other column keeps its dictionary, and the
values read back are the values written either way."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from casparian_core.sinks import open_sink, parquet_dictionary, parquet_part
from casparian_core.sinks.parquet_dictionary import dictionary_columns, leaf_paths

from .conftest import INFO

ROWS = 20_000  # more than parquet_dictionary.SAMPLE_ROWS


def mixed(rows: int) -> pa.Table:
    """Unique ids and notes, four regions, nested columns of repeated text, a lineage-like
    dictionary column."""
    ids = pa.array(range(rows), pa.int64())
    regions = pc.take(pa.array(["north", "south", "east", "west"]), pc.bit_wise_and(ids, 3))
    return pa.table(
        {
            "id": ids,
            "note": pc.binary_join_element_wise("order ", pc.cast(ids, pa.string()), ""),
            "region": regions,
            "tags": pa.array([["a", "b"]] * rows, pa.list_(pa.string())),
            "place": pa.array([{"city": "Oslo", "zip": 150}] * rows),
            "source": pa.DictionaryArray.from_arrays(
                pa.array([0] * rows, pa.int32()), pa.array(["f.csv"])
            ),
        }
    )


def write_part(tmp_path: Path, table: pa.Table) -> Path:
    sink = open_sink(f"parquet://{tmp_path}")
    writer = sink.begin("sales", "k", table.schema, INFO)
    for batch in table.to_batches(max_chunksize=5_000):
        writer.write(pa.Table.from_batches([batch]))
    writer.commit()
    sink.close()
    return tmp_path / "sales" / "part-k.parquet"


def dictionary_pages(path: Path) -> dict[str, bool]:
    """Per leaf column path: whether every row group stores it with a dictionary page."""
    metadata = pq.read_metadata(path)
    leaves = [metadata.schema.column(index).path for index in range(metadata.num_columns)]
    return {
        leaf: all(
            metadata.row_group(group).column(index).has_dictionary_page
            for group in range(metadata.num_row_groups)
        )
        for index, leaf in enumerate(leaves)
    }


EXPECTED = {
    "id": False,
    "note": False,
    "region": True,
    "tags.list.element": True,
    "place.city": True,
    "place.zip": True,
    "source": True,
}


def test_a_part_encoded_in_memory_skips_the_dictionary_of_distinct_columns_only(
    tmp_path: Path,
) -> None:
    table = mixed(ROWS)
    path = write_part(tmp_path, table)

    assert dictionary_pages(path) == EXPECTED
    assert pq.read_table(path).equals(table)


def test_a_part_written_in_row_groups_decides_once_from_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parquet_part, "ROW_GROUP_ROWS", ROWS)
    table = mixed(3 * ROWS)
    path = write_part(tmp_path, table)

    assert pq.read_metadata(path).num_row_groups == 3
    assert dictionary_pages(path) == EXPECTED
    assert pq.read_table(path).equals(table)


def test_a_short_part_or_one_without_distinct_columns_keeps_every_dictionary() -> None:
    assert dictionary_columns(mixed(parquet_dictionary.SAMPLE_ROWS - 1)) is True
    assert dictionary_columns(mixed(ROWS).drop_columns(["id", "note"])) is True


def test_nulls_do_not_count_as_distinct_values() -> None:
    # A mostly empty column of one repeated value stays dictionary-encoded.
    values = pa.array(["x" if index % 10 == 0 else None for index in range(ROWS)])
    half_unique = pa.array([str(index // 2) for index in range(ROWS)])  # 50%: not "mostly"
    table = pa.table({"sparse": values, "pairs": half_unique, "id": range(ROWS)})

    assert dictionary_columns(table) == ["sparse", "pairs"]


def test_a_column_arrow_cannot_count_keeps_its_dictionary() -> None:
    # count_distinct has no kernel for string_view: the part is still written, as by default.
    views = pa.array([str(index) for index in range(ROWS)], pa.string_view())
    table = pa.table({"view": views, "id": range(ROWS), "empty": pa.nulls(ROWS)})

    assert dictionary_columns(table) == ["view", "empty"]


@pytest.mark.parametrize(
    "arrow_type",
    [
        pa.list_(pa.struct({"a": pa.int64(), "b": pa.list_(pa.string())})),
        pa.large_list(pa.string()),
        pa.list_(pa.int32(), 2),
        pa.struct({"inner": pa.struct({"x": pa.float64()}), "y": pa.date32()}),
        pa.map_(pa.string(), pa.list_(pa.int64())),
        pa.dictionary(pa.int32(), pa.string()),
    ],
    ids=str,
)
def test_leaf_paths_are_the_ones_parquet_gives_the_column(
    tmp_path: Path, arrow_type: pa.DataType
) -> None:
    path = tmp_path / "empty.parquet"
    pq.write_table(pa.schema([pa.field("c", arrow_type)]).empty_table(), path)
    schema = pq.read_metadata(path).schema

    assert leaf_paths("c", arrow_type) == [
        schema.column(index).path for index in range(len(schema))
    ]
