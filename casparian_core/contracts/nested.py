"""Converting list and struct columns: their items and fields go through the flat conversions,
and a row is refused whole when one of its items or fields would not convert exactly.

Items are converted all at once (the list column's child array, never a loop over rows); a bad
item is mapped back to its row through the list offsets and a running count of bad items.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from casparian_core.contracts.types import ColumnType, Kind

# Converts a flat or nested array into a type: its values (refused ones null) and which were
# refused (True where a non-null value could not convert exactly; never null).
Convert = Callable[[pa.Array, ColumnType], tuple[pa.Array, pa.Array]]


def is_list(arrow_type: pa.DataType) -> bool:
    return (
        pa.types.is_list(arrow_type)
        or pa.types.is_large_list(arrow_type)
        or pa.types.is_fixed_size_list(arrow_type)
    )


def convert_nested(
    chunk: pa.Array, column_type: ColumnType, convert: Convert
) -> tuple[pa.Array, pa.Array]:
    """`chunk` (a list or struct array, or all nulls) as `column_type`; rows with a refused item
    or field become null and are marked refused."""
    target = column_type.arrow_type()
    if pa.types.is_null(chunk.type):
        return pa.nulls(len(chunk), target), pa.repeat(False, len(chunk))
    if column_type.kind is Kind.LIST:
        return _convert_list(chunk, column_type, convert)
    return _convert_struct(chunk, column_type, convert)


def _items(chunk: pa.Array) -> tuple[pa.Array, pa.Array]:
    """A list array's items, and where each row's items begin and end in them."""
    if pa.types.is_fixed_size_list(chunk.type):
        chunk = chunk.cast(pa.list_(chunk.type.value_field))
    offsets = chunk.offsets  # a sliced array's, relative to the whole child array
    start = offsets[0].as_py()
    items = chunk.values.slice(start, offsets[-1].as_py() - start)
    return items, pc.subtract(offsets, start)


def _convert_list(
    chunk: pa.Array, column_type: ColumnType, convert: Convert
) -> tuple[pa.Array, pa.Array]:
    assert column_type.item is not None
    items, offsets = _items(chunk)
    item_values, item_refused = convert(items, column_type.item)
    # Bad items per row: the running count of refused items, read at each row's two ends.
    running = pc.cumulative_sum(item_refused.cast(pa.int64()))
    running = pa.concat_arrays([pa.array([0], pa.int64()), running])
    ends = pc.take(running, offsets.slice(1))
    begins = pc.take(running, offsets.slice(0, len(chunk)))
    refused = pc.and_(pc.greater(pc.subtract(ends, begins), 0), chunk.is_valid())
    values = pa.ListArray.from_arrays(
        offsets.cast(pa.int32()),
        item_values,
        type=column_type.arrow_type(),
        mask=pc.or_(chunk.is_null(), refused),
    )
    return values, refused


def _convert_struct(
    chunk: pa.Array, column_type: ColumnType, convert: Convert
) -> tuple[pa.Array, pa.Array]:
    arrived = dict(zip((field.name for field in chunk.type), chunk.flatten(), strict=True))
    refused = pa.repeat(False, len(chunk))
    fields = []
    for name, field_type in column_type.fields:
        values, field_refused = convert(arrived[name], field_type)
        fields.append(values)
        refused = pc.or_(refused, field_refused)
    refused = pc.and_(refused, chunk.is_valid())
    values = pa.StructArray.from_arrays(
        fields, fields=list(column_type.arrow_type()), mask=pc.or_(chunk.is_null(), refused)
    )
    return values, refused


@dataclass(frozen=True)
class Refusal:
    """The first item or field of one nested value that would not convert."""

    path: str  # from the column on: "[2].price"
    value: pa.Array  # that item or field as it arrived (one value)
    type_name: str  # the type it would not convert into


def first_refusals(
    chunk: pa.Array, column_type: ColumnType, convert: Convert
) -> list[Refusal | None]:
    """For each value of `chunk`, its first refused item or field (depth first, in order), or
    None. Meant for the few quarantined rows: it picks each row's first refusal in Python."""
    if pa.types.is_null(chunk.type):
        return [None] * len(chunk)
    if not column_type.is_nested:
        _, refused = convert(chunk, column_type)
        return [
            Refusal("", chunk.slice(row, 1), column_type.name) if bad else None
            for row, bad in enumerate(refused.to_pylist())
        ]
    if column_type.kind is Kind.LIST:
        assert column_type.item is not None
        items, offsets = _items(chunk)
        inner = first_refusals(items, column_type.item, convert)
        bounds = offsets.to_pylist()
        found: list[Refusal | None] = []
        for row, (begin, end) in enumerate(itertools.pairwise(bounds)):
            at = next((i for i in range(begin, end) if inner[i] is not None), None)
            if at is None or not chunk[row].is_valid:
                found.append(None)
            else:
                found.append(_within(f"[{at - begin}]", inner[at]))
        return found
    arrived = dict(zip((field.name for field in chunk.type), chunk.flatten(), strict=True))
    fields = [
        (name, first_refusals(arrived[name], field_type, convert))
        for name, field_type in column_type.fields
    ]
    return [
        next(
            (_within(f".{name}", inner[row]) for name, inner in fields if inner[row] is not None),
            None,
        )
        for row in range(len(chunk))
    ]


def _within(step: str, refusal: Refusal | None) -> Refusal:
    assert refusal is not None
    return Refusal(step + refusal.path, refusal.value, refusal.type_name)
