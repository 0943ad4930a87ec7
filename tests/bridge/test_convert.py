"""safe_to_arrow: every supported result type converts; mixed columns become strings; nulls stay
nulls."""

from __future__ import annotations

import math

import pandas as pd
import pyarrow as pa
import pytest

from casparian_core.bridge.convert import UnsupportedTypeError, estimate_nbytes, safe_to_arrow


def test_table_passes_through_and_record_batch_becomes_a_table() -> None:
    table = pa.table({"a": [1, 2]})
    assert safe_to_arrow(table) is table
    assert safe_to_arrow(table.to_batches()[0]).equals(table)


def test_list_of_dicts_keeps_key_order_and_fills_missing_keys_with_null() -> None:
    table = safe_to_arrow([{"a": 1, "b": "x"}, {"c": 2.5, "a": 3}])
    assert table.column_names == ["a", "b", "c"]
    assert table.to_pylist() == [
        {"a": 1, "b": "x", "c": None},
        {"a": 3, "b": None, "c": 2.5},
    ]


def test_mixed_types_become_strings_and_nulls_stay_null() -> None:
    table = safe_to_arrow([{"v": 1}, {"v": "abc"}, {"v": None}, {"v": math.nan}])
    assert table.schema.field("v").type == pa.string()
    assert table.column("v").to_pylist() == ["1", "abc", None, None]


def test_nan_in_a_float_column_is_null() -> None:
    table = safe_to_arrow([{"v": 1.5}, {"v": math.nan}])
    assert table.column("v").to_pylist() == [1.5, None]


def test_pandas_dataframe_with_a_mixed_column() -> None:
    frame = pd.DataFrame({"n": [1, 2, 3], "mixed": [1, "two", None]})
    table = safe_to_arrow(frame)
    assert table.column("n").to_pylist() == [1, 2, 3]
    assert table.column("mixed").to_pylist() == ["1", "two", None]


def test_pandas_dataframe_nulls_are_not_strings() -> None:
    frame = pd.DataFrame({"x": [1.0, None], "s": ["a", None]})
    table = safe_to_arrow(frame)
    assert table.column("x").to_pylist() == [1.0, None]
    assert table.column("s").to_pylist() == ["a", None]


@pytest.mark.parametrize("value", [None, 42, "text", {"a": 1}, [1, 2]])
def test_unsupported_types_raise(value: object) -> None:
    with pytest.raises(UnsupportedTypeError, match="return a pyarrow Table"):
        safe_to_arrow(value)


def test_estimate_nbytes_grows_with_the_data() -> None:
    small = [{"a": "x" * 10}] * 10
    large = [{"a": "x" * 10}] * 10_000
    assert 0 < estimate_nbytes(small) < estimate_nbytes(large)
    assert estimate_nbytes(pa.table({"a": list(range(1000))})) >= 8000
