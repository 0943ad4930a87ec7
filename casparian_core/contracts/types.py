"""Contract type names ("int64", "timestamp[us, UTC]", "decimal(12,2)", "list<int64>",
"struct<name: string, age: int32>") and their Arrow types.

Parsing a type name needs no pyarrow, so reading a parser's `outputs` stays cheap; only
`ColumnType.arrow_type()` imports it.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


class Kind(Enum):
    """What a column holds, which decides the constraints it accepts."""

    STRING = "string"
    BOOL = "bool"
    INTEGER = "integer"
    FLOAT = "float"
    DECIMAL = "decimal"
    DATE = "date"
    TIME = "time"
    TIMESTAMP = "timestamp"
    DURATION = "duration"
    BINARY = "binary"
    LIST = "list"
    STRUCT = "struct"


SIMPLE_TYPES: dict[str, Kind] = {
    "string": Kind.STRING,
    "bool": Kind.BOOL,
    **{f"int{bits}": Kind.INTEGER for bits in (8, 16, 32, 64)},
    **{f"uint{bits}": Kind.INTEGER for bits in (8, 16, 32, 64)},
    "float32": Kind.FLOAT,
    "float64": Kind.FLOAT,
    "date": Kind.DATE,
    "time": Kind.TIME,
    "binary": Kind.BINARY,
}
TIME_UNITS = ("s", "ms", "us", "ns")
DEFAULT_UNIT = "us"
MAX_DECIMAL_PRECISION = 76  # decimal256; up to 38 digits fit decimal128
TYPE_NAMES_HELP = ", ".join(
    [
        *SIMPLE_TYPES,
        "timestamp[unit] or timestamp[unit, tz]",
        "duration[unit]",
        "decimal(p,s)",
        "list<type>",
        "struct<name: type, ...>",
    ]
)

_PARAMETRIZED = re.compile(
    r"^(?P<name>timestamp|duration)(?:\[(?P<unit>[a-z]+)\s*(?:,\s*(?P<tz>[^\]]+?))?\s*\])?$"
    r"|^decimal\(\s*(?P<precision>\d+)\s*,\s*(?P<scale>\d+)\s*\)$"
)

_UTC_OFFSET = re.compile(r"^[+-]\d{2}:\d{2}$")
_NESTED = re.compile(r"^(?P<name>list|struct)\s*<(?P<inner>.*)>$", re.DOTALL)
_OPENING = {"<": ">", "[": "]", "(": ")"}


class UnknownTypeError(ValueError):
    """A type name that is not one of the contract types."""


@dataclass(frozen=True)
class ColumnType:
    kind: Kind
    name: str  # canonical spelling, e.g. "timestamp[us, UTC]"
    unit: str | None = None
    tz: str | None = None
    precision: int | None = None
    scale: int | None = None
    item: ColumnType | None = None  # a list's
    fields: tuple[tuple[str, ColumnType], ...] = ()  # a struct's, in order

    @property
    def is_nested(self) -> bool:
        return self.kind in (Kind.LIST, Kind.STRUCT)

    @property
    def is_temporal(self) -> bool:
        return self.kind in (Kind.DATE, Kind.TIME, Kind.TIMESTAMP)

    @property
    def is_numeric(self) -> bool:
        return self.kind in (Kind.INTEGER, Kind.FLOAT, Kind.DECIMAL)

    def arrow_type(self) -> pa.DataType:
        return _arrow_type(self)


@functools.cache  # validation asks for every column's type on every batch; types are few
def _arrow_type(column_type: ColumnType) -> pa.DataType:
    import pyarrow as pa

    match column_type.kind:
        case Kind.STRING:
            return pa.string()
        case Kind.BOOL:
            return pa.bool_()
        case Kind.INTEGER | Kind.FLOAT:
            return pa.type_for_alias(column_type.name)
        case Kind.DECIMAL:
            assert column_type.precision is not None and column_type.scale is not None
            if column_type.precision <= 38:
                return pa.decimal128(column_type.precision, column_type.scale)
            return pa.decimal256(column_type.precision, column_type.scale)
        case Kind.DATE:
            return pa.date32()
        case Kind.TIME:
            return pa.time64("us")
        case Kind.TIMESTAMP:
            return pa.timestamp(column_type.unit or DEFAULT_UNIT, tz=column_type.tz)
        case Kind.DURATION:
            return pa.duration(column_type.unit or DEFAULT_UNIT)
        case Kind.BINARY:
            return pa.binary()
        case Kind.LIST:
            assert column_type.item is not None
            return pa.list_(column_type.item.arrow_type())
        case Kind.STRUCT:
            return pa.struct([(name, field.arrow_type()) for name, field in column_type.fields])


def parse_type_name(text: str) -> ColumnType:
    """Read a contract type name; raise `UnknownTypeError` with the accepted names."""
    cleaned = text.strip()
    if cleaned in SIMPLE_TYPES:
        return ColumnType(SIMPLE_TYPES[cleaned], cleaned)
    nested = _NESTED.match(cleaned)
    if nested is not None:
        return _nested_type(text, nested["name"], nested["inner"])
    match = _PARAMETRIZED.match(cleaned)
    if match is None:
        raise UnknownTypeError(f"unknown type {text!r} (expected one of: {TYPE_NAMES_HELP})")
    if match["precision"] is not None:
        return _decimal_type(text, int(match["precision"]), int(match["scale"]))
    unit = match["unit"] or DEFAULT_UNIT
    if unit not in TIME_UNITS:
        raise UnknownTypeError(
            f"unknown time unit {unit!r} in {text!r} (expected one of: {', '.join(TIME_UNITS)})"
        )
    if match["name"] == "duration":
        if match["tz"] is not None:
            raise UnknownTypeError(f"a duration has no time zone: {text!r}")
        return ColumnType(Kind.DURATION, f"duration[{unit}]", unit=unit)
    tz = match["tz"]
    if tz is not None and not _is_known_time_zone(tz):
        raise UnknownTypeError(
            f"unknown time zone {tz!r} in {text!r} (use an IANA name such as 'UTC' or "
            "'Europe/Paris', or an offset such as '+01:00')"
        )
    name = f"timestamp[{unit}, {tz}]" if tz else f"timestamp[{unit}]"
    return ColumnType(Kind.TIMESTAMP, name, unit=unit, tz=tz)


def _nested_type(text: str, name: str, inner: str) -> ColumnType:
    parts = _split_top_level(inner, text)
    if name == "list":
        if len(parts) != 1 or not parts[0].strip():
            raise UnknownTypeError(f"a list holds one item type, e.g. 'list<int64>': {text!r}")
        item = parse_type_name(parts[0])
        return ColumnType(Kind.LIST, f"list<{item.name}>", item=item)
    fields: list[tuple[str, ColumnType]] = []
    for part in parts:
        field_name, colon, field_type = part.partition(":")
        field_name = field_name.strip()
        if not colon or not field_name or not field_type.strip():
            raise UnknownTypeError(
                f"a struct lists 'name: type' fields, e.g. 'struct<name: string, age: int32>': "
                f"{text!r}"
            )
        if field_name in (known for known, _ in fields):
            raise UnknownTypeError(f"struct field {field_name!r} appears twice in {text!r}")
        fields.append((field_name, parse_type_name(field_type.strip())))
    shown = ", ".join(f"{field_name}: {field.name}" for field_name, field in fields)
    return ColumnType(Kind.STRUCT, f"struct<{shown}>", fields=tuple(fields))


def _split_top_level(inner: str, text: str) -> list[str]:
    """`inner` cut at the commas outside any <>, [] or () (a timestamp's zone, a decimal's
    scale and nested types hold commas of their own)."""
    parts, closing, start = [], [], 0
    for position, character in enumerate(inner):
        if character in _OPENING:
            closing.append(_OPENING[character])
        elif closing and character == closing[-1]:
            closing.pop()
        elif character in _OPENING.values():
            raise UnknownTypeError(f"unbalanced {character!r} in {text!r}")
        elif character == "," and not closing:
            parts.append(inner[start:position])
            start = position + 1
    if closing:
        raise UnknownTypeError(f"unbalanced brackets in {text!r}")
    parts.append(inner[start:])
    return parts


def _is_known_time_zone(tz: str) -> bool:
    if _UTC_OFFSET.match(tz):
        return True
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _decimal_type(text: str, precision: int, scale: int) -> ColumnType:
    if not 1 <= precision <= MAX_DECIMAL_PRECISION:
        raise UnknownTypeError(
            f"decimal precision must be 1..{MAX_DECIMAL_PRECISION}, got {precision} in {text!r}"
        )
    if scale > precision:
        raise UnknownTypeError(f"decimal scale {scale} exceeds precision {precision} in {text!r}")
    return ColumnType(
        Kind.DECIMAL, f"decimal({precision},{scale})", precision=precision, scale=scale
    )


def type_name_of(arrow_type: pa.DataType) -> str | None:
    """The contract name of an Arrow type, or None when no contract type holds it (maps,
    unions, a list of nulls...). Dictionary types are named after their values."""
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        return type_name_of(arrow_type.value_type)
    if (
        pa.types.is_list(arrow_type)
        or pa.types.is_large_list(arrow_type)
        or pa.types.is_fixed_size_list(arrow_type)
    ):
        item = type_name_of(arrow_type.value_type)
        return None if item is None else f"list<{item}>"
    if pa.types.is_struct(arrow_type):
        fields = [(field.name, type_name_of(field.type)) for field in arrow_type]
        if not fields or any(name is None for _, name in fields):
            return None
        return "struct<" + ", ".join(f"{name}: {item}" for name, item in fields) + ">"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "string"
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return "binary"
    if pa.types.is_boolean(arrow_type):
        return "bool"
    if pa.types.is_integer(arrow_type):
        return str(arrow_type)
    if pa.types.is_float32(arrow_type) or pa.types.is_float64(arrow_type):
        return {"float": "float32", "double": "float64"}[str(arrow_type)]
    if pa.types.is_decimal(arrow_type):
        return f"decimal({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_time(arrow_type):
        return "time"
    if pa.types.is_timestamp(arrow_type):
        tz = arrow_type.tz
        return f"timestamp[{arrow_type.unit}, {tz}]" if tz else f"timestamp[{arrow_type.unit}]"
    if pa.types.is_duration(arrow_type):
        return f"duration[{arrow_type.unit}]"
    return None


def describe_arrow_type(arrow_type: pa.DataType) -> str:
    """A type as a user reads it: the contract name when there is one, else Arrow's."""
    return type_name_of(arrow_type) or str(arrow_type)
