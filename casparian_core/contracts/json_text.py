"""Values as JSON: for quarantined rows' `row_json`, and for sinks that store a list or struct
column as JSON text (SQLite). Dates, times, timestamps, durations and decimals become their
Arrow text (a timestamp '2026-11-27 10:15:00.000000', a decimal '12.50'), at any depth; bytes
become UTF-8 text with undecodable bytes escaped.
"""

from __future__ import annotations

import json

import pyarrow as pa


def jsonable_type(arrow_type: pa.DataType) -> pa.DataType:
    """`arrow_type` with every leaf that JSON has no value for turned into text."""
    if pa.types.is_dictionary(arrow_type):
        return jsonable_type(arrow_type.value_type)
    if pa.types.is_temporal(arrow_type) or pa.types.is_decimal(arrow_type):
        return pa.string()
    if pa.types.is_list(arrow_type) or pa.types.is_fixed_size_list(arrow_type):
        return pa.list_(jsonable_type(arrow_type.value_type))
    if pa.types.is_large_list(arrow_type):
        return pa.large_list(jsonable_type(arrow_type.value_type))
    if pa.types.is_struct(arrow_type):
        return pa.struct([(field.name, jsonable_type(field.type)) for field in arrow_type])
    return arrow_type


def json_values(values: pa.Array | pa.ChunkedArray) -> list[object]:
    """The values as Python objects `encode_json` can write."""
    return values.cast(jsonable_type(values.type)).to_pylist()


def json_text(values: pa.Array | pa.ChunkedArray) -> list[object]:
    """Each value as JSON text (a str); nulls stay None (SQL NULL, not the JSON text "null")."""
    return [None if value is None else encode_json(value) for value in json_values(values)]


def _bytes_as_text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    raise TypeError(f"cannot show {type(value).__name__} as JSON")


encode_json = json.JSONEncoder(ensure_ascii=False, default=_bytes_as_text).encode
