"""Converting a column as it arrived into its contract type, value by value, without a row loop.

`pc.cast(safe=True)` fails a whole array on its first bad value. So a cast is tried on the whole
chunk first (the common, clean case costs one cast); when it fails, a vectorized pre-check (a
regex for text, a range check for numbers) nulls the values that cannot convert, and any value
the pre-check could not foresee (an int64 overflow, February 30th) is found by splitting the
chunk in halves until the failing values are isolated. Values that fail become nulls in the
result and are reported in `failed`, so validation can quarantine their rows. A value the cast
would change (rounded, overflowed to infinity: see `exact`) is nulled too, and reported in
`changed` with what it would have become.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from casparian_core.contracts.exact import cast_or_null, changed
from casparian_core.contracts.model import ColumnSpec
from casparian_core.contracts.nested import Refusal, convert_nested, first_refusals, is_list
from casparian_core.contracts.types import MAX_DECIMAL_PRECISION, ColumnType, Kind

_NUMBER = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
_DAY = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_OFFSET = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)"
_CLOCK = r"[0-9]{2}(:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?)?"
# Shapes Arrow's string casts accept; anything else cannot convert and is nulled up front.
_TEXT_SHAPES: dict[Kind, str] = {
    Kind.INTEGER: r"^-?[0-9]+$",
    Kind.FLOAT: rf"^{_NUMBER}$|^[+-]?(?i:nan|inf|infinity)$",
    Kind.DECIMAL: rf"^{_NUMBER}$",
    Kind.BOOL: r"^(?i:true|false|1|0)$",
    Kind.DATE: rf"^{_DAY}$",
    Kind.TIMESTAMP: rf"^{_DAY}([T ]{_CLOCK})?{_OFFSET}?$",
    Kind.DURATION: r"^-?[0-9]+$",
}
# Arrow has no string -> time or string -> duration cast: text goes through a neighbour type.
_EPOCH_DAY = "1970-01-01T"
_DIGITS_OF_ANY_INTEGER = 20  # 2^64 - 1 has 20 digits
ROLLED_OVER_DAYS = 3  # February 31st rolls over to March 3rd at the latest
_DIRECTIVE = re.compile(r"([^%]+)|%([A-Za-z%])")
_DIRECTIVE_PATTERNS = {
    "Y": "[0-9]{4}",
    "y": "[0-9]{2}",
    "m": "[ 0-9]?[0-9]",
    "d": "[ 0-9]?[0-9]",
    "H": "[ 0-9]?[0-9]",
    "I": "[ 0-9]?[0-9]",
    "M": "[0-9]{1,2}",
    "S": "[0-9]{1,2}",
    "b": "[A-Za-z]+",
    "B": "[A-Za-z]+",
    "h": "[A-Za-z]+",
    "a": "[A-Za-z]+",
    "A": "[A-Za-z]+",
    "p": "[AaPp][Mm]",
    "%": "%",
}


_Values = TypeVar("_Values", pa.Array, pa.ChunkedArray)


@dataclass(frozen=True)
class Conversion:
    values: pa.ChunkedArray  # in the contract type; null where a value could not convert
    failed: pa.ChunkedArray | None  # True where a non-null value could not convert; None: none did
    rule: str  # "format" when text was read with the column's strptime format, else "type"
    changed: pa.ChunkedArray | None = None  # True where the cast would have changed the value
    became: pa.ChunkedArray | None = None  # what those values would have become


@dataclass(frozen=True)
class _Converted:
    values: pa.Array  # changed values nulled
    changed: pa.Array | None
    became: pa.Array  # the cast's result, changed values included


def is_convertible(actual: pa.DataType, column_type: ColumnType) -> bool:
    """Whether values of `actual` may be converted value by value into the contract type; if
    not, the batch is structurally wrong (SCHEMA_MISMATCH) rather than a few rows bad."""
    if pa.types.is_dictionary(actual):
        actual = actual.value_type
    if pa.types.is_null(actual):
        return True
    if column_type.is_nested or is_list(actual) or pa.types.is_struct(actual):
        return _is_convertible_nested(actual, column_type)
    if _is_text(actual):
        return True
    match column_type.kind:
        case Kind.STRING | Kind.BINARY:
            return pa.types.is_binary(actual) or pa.types.is_large_binary(actual)
        case Kind.BOOL:
            return pa.types.is_boolean(actual)
        case Kind.INTEGER | Kind.FLOAT | Kind.DECIMAL:
            return _is_number(actual)
        case Kind.DATE:
            return pa.types.is_date(actual)
        case Kind.TIME:
            return pa.types.is_time(actual)
        case Kind.TIMESTAMP:
            if pa.types.is_date(actual):
                return column_type.tz is None
            # Never guess a zone: naive and zoned timestamps do not convert into each other.
            return pa.types.is_timestamp(actual) and (actual.tz is None) == (column_type.tz is None)
        case Kind.DURATION:
            return pa.types.is_duration(actual) or pa.types.is_integer(actual)
    return False


def _is_convertible_nested(actual: pa.DataType, column_type: ColumnType) -> bool:
    """Lists into lists of a type their items convert into; structs into structs with the same
    field names (in any order), each field convertible. Never text: JSON is not parsed."""
    if column_type.kind is Kind.LIST:
        assert column_type.item is not None
        return is_list(actual) and is_convertible(actual.value_type, column_type.item)
    if column_type.kind is Kind.STRUCT and pa.types.is_struct(actual):
        arrived = {field.name: field.type for field in actual}
        return sorted(arrived) == sorted(name for name, _ in column_type.fields) and all(
            is_convertible(arrived[name], field) for name, field in column_type.fields
        )
    return False


def convert_column(values: pa.ChunkedArray, spec: ColumnSpec) -> Conversion:
    """Convert a column into `spec`'s type; the column must be `is_convertible`."""
    target = spec.arrow_type()
    values = _normalized(values)
    if values.type == target:
        return Conversion(values, None, "type")
    by_format = spec.format is not None and _is_text(values.type)
    chunks = [
        _Converted(_strptime(chunk, spec), None, pa.nulls(0))
        if by_format
        else _convert_chunk(chunk, spec.column_type, target)
        for chunk in values.chunks
    ]
    result = pa.chunked_array([chunk.values for chunk in chunks], type=target)
    failed = pc.and_(values.is_valid(), result.is_null())
    rule = "format" if by_format else "type"
    if all(chunk.changed is None for chunk in chunks):
        return Conversion(result, failed if pc.any(failed).as_py() else None, rule)
    changed_mask = pa.chunked_array(
        [
            pa.repeat(False, len(chunk.values)) if chunk.changed is None else chunk.changed
            for chunk in chunks
        ],
        type=pa.bool_(),
    )
    failed = pc.and_(failed, pc.invert(changed_mask))
    became = pa.chunked_array([chunk.became for chunk in chunks], type=target)
    return Conversion(
        result, failed if pc.any(failed).as_py() else None, rule, changed_mask, became
    )


def _normalized(values: _Values) -> _Values:
    """Dictionary values decoded, large text as text and half floats as float32: conversions
    that never change a value, so the casts below see fewer source types."""
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    if pa.types.is_large_string(values.type):
        values = values.cast(pa.string())
    if pa.types.is_float16(values.type):
        values = values.cast(pa.float32())
    return values


def _convert_chunk(chunk: pa.Array, column_type: ColumnType, target: pa.DataType) -> _Converted:
    if column_type.is_nested:
        values, _ = convert_nested(chunk, column_type, _convert_item)
        return _Converted(values, None, values)
    result = _cast_chunk(chunk, column_type, target)
    mask = changed(chunk, result)
    if mask is None or not pc.any(mask).as_py():
        return _Converted(result, None, result)
    return _Converted(pc.if_else(mask, pa.scalar(None, target), result), mask, result)


def nested_refusals(values: pa.Array, column_type: ColumnType) -> list[Refusal | None]:
    """For each nested value, the first item or field that would not convert into its type."""
    return first_refusals(_normalized(values), column_type, _convert_item)


def _convert_item(items: pa.Array, column_type: ColumnType) -> tuple[pa.Array, pa.Array]:
    """A list's items or a struct's field: the values and which were refused."""
    items = _normalized(items)
    target = column_type.arrow_type()
    if items.type == target:
        return items, pa.repeat(False, len(items))
    values = _convert_chunk(items, column_type, target).values
    return values, pc.and_(items.is_valid(), values.is_null())


def _cast_chunk(chunk: pa.Array, column_type: ColumnType, target: pa.DataType) -> pa.Array:
    if _is_text(chunk.type) and column_type.kind is Kind.TIME:
        chunk = pc.binary_join_element_wise(_EPOCH_DAY, chunk, "")
        return _cast_isolating_failures(chunk, pa.timestamp("us"), Kind.TIMESTAMP).cast(target)
    if _is_text(chunk.type) and column_type.kind is Kind.DURATION:
        return _cast_isolating_failures(chunk, pa.int64(), Kind.INTEGER).cast(target)
    if pa.types.is_date64(chunk.type):
        # A date64 is milliseconds meant to fall on midnight; one that does not is no date.
        chunk = _cast_isolating_failures(chunk, pa.date32(), None)
    if pa.types.is_integer(chunk.type) and pa.types.is_duration(target):
        chunk = _cast_isolating_failures(chunk, pa.int64(), None)  # Arrow's only way in
    if pa.types.is_decimal(chunk.type) and pa.types.is_floating(target):
        # Arrow's decimal -> float is not correctly rounded (1.255 becomes 1.2550000000000001);
        # its text -> float is.
        return pc.cast(pc.cast(chunk, pa.string()), target)
    if (
        pa.types.is_integer(chunk.type)
        and pa.types.is_decimal(target)
        and target.scale <= MAX_DECIMAL_PRECISION - _DIGITS_OF_ANY_INTEGER
    ):
        # Arrow wants room for every integer of the source type; through the widest decimal,
        # the final cast checks each value's own digits instead.
        chunk = pc.cast(chunk, pa.decimal256(MAX_DECIMAL_PRECISION, target.scale))
    text_shape = column_type.kind if _is_text(chunk.type) else None
    return _cast_isolating_failures(chunk, target, text_shape)


def _cast_isolating_failures(
    chunk: pa.Array, target: pa.DataType, text_shape: Kind | None
) -> pa.Array:
    try:
        return pc.cast(chunk, target)
    except (pa.ArrowInvalid, OverflowError):
        pass
    plausible = _plausible(chunk, target, text_shape)
    if plausible is not None:
        chunk = pc.if_else(plausible, chunk, pa.scalar(None, chunk.type))
    return cast_or_null(chunk, target)


def _plausible(chunk: pa.Array, target: pa.DataType, text_shape: Kind | None) -> pa.Array | None:
    """Values that may convert (True), or None when no cheap pre-check exists for this cast."""
    if text_shape is not None and text_shape in _TEXT_SHAPES:
        shape = _TEXT_SHAPES[text_shape]
        if text_shape is Kind.INTEGER and pa.types.is_unsigned_integer(target):
            shape = r"^[0-9]+$"
        return pc.match_substring_regex(chunk, shape).fill_null(False)
    if not pa.types.is_integer(target):
        return None
    low, high = _integer_range(target)
    if pa.types.is_integer(chunk.type):
        # Bounds in the source's own type (Arrow compares an int64 with a uint64 through
        # float64, which refuses values beyond 2^53).
        source_low, source_high = _integer_range(chunk.type)
        bounds = [pa.scalar(max(low, source_low), chunk.type)]
        bounds.append(pa.scalar(min(high, source_high), chunk.type))
    elif pa.types.is_floating(chunk.type):
        bounds = [pa.scalar(float(low), chunk.type), pa.scalar(float(high), chunk.type)]
    else:
        return None
    in_range = pc.and_(pc.greater_equal(chunk, bounds[0]), pc.less_equal(chunk, bounds[1]))
    if pa.types.is_floating(chunk.type):
        in_range = pc.and_(in_range, pc.equal(chunk, pc.trunc(chunk)))
    return in_range.fill_null(False)


def _strptime(chunk: pa.Array, spec: ColumnSpec) -> pa.Array:
    """Read text with the column's strptime format; text that does not match becomes null."""
    column_type = spec.column_type
    unit = column_type.unit if column_type.kind is Kind.TIMESTAMP else "us"
    assert spec.format is not None  # callers check it
    parsed = pc.strptime(chunk, format=spec.format, unit=unit, error_is_null=True)
    parsed = _without_rolled_over_dates(chunk, parsed, spec.format)
    if column_type.kind is Kind.TIMESTAMP and column_type.tz is not None and parsed.type.tz is None:
        # Text without an offset is wall-clock time in the column's zone.
        parsed = pc.assume_timezone(
            parsed, timezone=column_type.tz, ambiguous="earliest", nonexistent="earliest"
        )
    return parsed.cast(spec.arrow_type())


def _without_rolled_over_dates(text: pa.Array, parsed: pa.Array, time_format: str) -> pa.Array:
    """Arrow's strptime rolls impossible days over (February 30th becomes March 2nd) where
    Python's refuses them. A rolled-over day lands on the 1st to 3rd of a month, so only values
    parsed to those days are suspects; a suspect is refused when the day written in its text
    (cut out with a regex made from the format) is not the day it was parsed to."""
    if "%d" not in time_format:
        return parsed
    suspect = pc.less_equal(pc.day(parsed), ROLLED_OVER_DAYS).fill_null(False)
    if not pc.any(suspect).as_py():
        return parsed
    suspects = pc.filter(text, suspect)
    written_day = pc.struct_field(pc.extract_regex(suspects, _format_regex(time_format)), "day")
    written_day = pc.cast(pc.utf8_trim_whitespace(written_day), pa.int64())
    # A text the regex cannot read (an exotic directive) is given the benefit of the doubt.
    refused = pc.not_equal(written_day, pc.day(pc.filter(parsed, suspect))).fill_null(False)
    rejected = pc.replace_with_mask(suspect, suspect, refused)
    return pc.if_else(rejected, pa.scalar(None, parsed.type), parsed)


def _format_regex(time_format: str) -> str:
    """A regex matching what strptime `time_format` reads, with the day as group `day`."""
    pattern = ["^"]
    for literal, directive in _DIRECTIVE.findall(time_format):
        if literal:  # strptime lets any run of whitespace match whitespace
            pattern.append(r"\s+".join(re.escape(word) for word in re.split(r"\s+", literal)))
        elif directive == "d" and "(?P<day>" not in "".join(pattern):
            pattern.append("(?P<day>[ 0-9]?[0-9])")
        else:
            pattern.append(_DIRECTIVE_PATTERNS.get(directive, ".*?"))
    return "".join(pattern)


def _integer_range(target: pa.DataType) -> tuple[int, int]:
    bits = target.bit_width
    if pa.types.is_unsigned_integer(target):
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _is_text(arrow_type: pa.DataType) -> bool:
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def _is_number(arrow_type: pa.DataType) -> bool:
    return (
        pa.types.is_integer(arrow_type)
        or pa.types.is_floating(arrow_type)
        or pa.types.is_decimal(arrow_type)
    )
