"""Across the type matrix, every value arrives exactly or is quarantined with a reason.

For each (source Arrow type, contract type) pair that validation accepts structurally, Hypothesis
draws columns of values, and every row must either be quarantined (with a rule and a reason) or
arrive as a value that reads back as the one that was sent. Validation must never raise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casparian_core.contracts.casting import is_convertible
from casparian_core.contracts.model import OutputSpec, parse_outputs
from casparian_core.contracts.types import ColumnType, Kind, parse_type_name
from casparian_core.contracts.validate import validate_batch

MAX_ROWS = 12
EXAMPLES = 10  # per pair; ~175 pairs keep the whole matrix to seconds

TARGETS = [
    "string",
    "binary",
    "bool",
    *(f"{sign}int{bits}" for sign in ("", "u") for bits in (8, 16, 32, 64)),
    "float32",
    "float64",
    "decimal(12,2)",
    "decimal(40,10)",
    "date",
    "time",
    "timestamp[s]",
    "timestamp[ns]",
    "timestamp[ms, UTC]",
    "duration[ms]",
    "list<int64>",
    "list<float32>",
    "list<decimal(12,2)>",
    "struct<n: int32, when: date>",
    "list<struct<n: int32, when: date>>",
]


def _integers(arrow_type: pa.DataType) -> st.SearchStrategy[object]:
    bits = arrow_type.bit_width
    if pa.types.is_unsigned_integer(arrow_type):
        return st.integers(0, 2**bits - 1)
    return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)


_NUMBER_TEXT = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=False).map(repr),
    st.floats(width=32, allow_nan=False).map(lambda value: str(np.float32(value))),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.sampled_from(["1e40", "1e400", "1e-50", "0.005", "-0.001", "0.1", "nan", "inf", "-0"]),
    st.from_regex(r"\A-?[0-9]{1,25}(\.[0-9]{0,12})?([eE][+-]?[0-9]{1,3})?\Z"),
)
_STAMP = st.datetimes(datetime(1700, 1, 1), datetime(2200, 12, 31))
_TEMPORAL_TEXT = st.one_of(
    _STAMP.map(lambda value: value.isoformat()),
    _STAMP.map(lambda value: value.isoformat(sep=" ", timespec="seconds")),
    _STAMP.map(lambda value: value.isoformat(timespec="milliseconds") + "Z"),
    _STAMP.map(lambda value: value.isoformat(timespec="minutes") + "+02:00"),
    _STAMP.map(lambda value: value.date().isoformat()),
    _STAMP.map(lambda value: value.time().isoformat()),
    st.sampled_from(["2026-02-30", "2026-02-30T10:00:00", "24:00:00", "10:00:00.1234567"]),
)
_TEXT = st.one_of(
    _NUMBER_TEXT,
    _TEMPORAL_TEXT,
    st.sampled_from(["true", "FALSE", "True", "1", "0", "yes", "t", ""]),
    st.text(max_size=6),
)

SOURCES: dict[str, tuple[pa.DataType, st.SearchStrategy[object]]] = {
    "string": (pa.string(), _TEXT),
    "large_string": (pa.large_string(), _TEXT),
    "binary": (pa.binary(), st.binary(max_size=6)),
    "bool": (pa.bool_(), st.booleans()),
    **{
        str(arrow_type): (arrow_type, _integers(arrow_type))
        for arrow_type in (pa.int8(), pa.int32(), pa.int64(), pa.uint32(), pa.uint64())
    },
    "float32": (pa.float32(), st.floats(width=32)),
    "float64": (pa.float64(), st.floats()),
    "decimal(20,3)": (
        pa.decimal128(20, 3),
        st.decimals(min_value=-(10**17) + 1, max_value=10**17 - 1, places=3),
    ),
    "date32": (pa.date32(), st.integers(-200_000, 200_000)),
    "date64": (pa.date64(), st.integers(-(10**13), 10**13)),
    "time32[s]": (pa.time32("s"), st.integers(0, 86_399)),
    "time64[ns]": (pa.time64("ns"), st.integers(0, 86_400 * 10**9 - 1)),
    **{
        f"timestamp[{unit}, {tz}]": (pa.timestamp(unit, tz), st.integers(-(2**62), 2**62))
        for unit in ("s", "ms", "ns")
        for tz in (None, "UTC", "Europe/Paris")
    },
    "duration[us]": (pa.duration("us"), st.integers(-(2**62), 2**62)),
}
_RECORD = pa.struct([("when", pa.string()), ("n", pa.float64())])  # fields in another order
_RECORDS = st.fixed_dictionaries(
    {
        "when": st.none() | _TEMPORAL_TEXT,
        "n": st.none() | st.floats() | st.integers(-(2**40), 2**40),
    }
)
SOURCES |= {
    "list<float64>": (pa.list_(pa.float64()), st.lists(st.none() | st.floats(), max_size=4)),
    "list<string>": (pa.large_list(pa.string()), st.lists(st.none() | _NUMBER_TEXT, max_size=4)),
    "struct<when: string, n: float64>": (_RECORD, _RECORDS),
    "list<struct<when: string, n: float64>>": (
        pa.list_(_RECORD),
        st.lists(st.none() | _RECORDS, max_size=3),
    ),
}

PAIRS = [
    (source, target)
    for source, (arrow_type, _) in SOURCES.items()
    for target in TARGETS
    if is_convertible(arrow_type, parse_type_name(target))
]


def contract(type_name: str) -> OutputSpec:
    return parse_outputs({"matrix": {"c": type_name}}, "parsers/matrix.py")["matrix"]


@pytest.mark.parametrize(("source", "target"), PAIRS)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # no example files in the work tree
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_value_arrives_exactly_or_is_quarantined(
    source: str, target: str, data: st.DataObject
) -> None:
    arrow_type, values = SOURCES[source]
    sent = pa.array(data.draw(st.lists(st.none() | values, max_size=MAX_ROWS)), arrow_type)
    spec = contract(target)

    result = validate_batch(pa.table({"c": sent}), spec, row_offset=0)

    quarantined = result.quarantined.to_pylist()
    assert all(row["rule"] and row["reason"] for row in quarantined)
    refused = {row["row_index"] for row in quarantined}
    kept = pa.array([row not in refused for row in range(len(sent))], pa.bool_())
    arrived = result.valid.column("c").combine_chunks()
    assert len(arrived) == len(sent) - len(refused)
    reads_back = _oracle(parse_type_name(target), sent.type)
    for before, after in zip(sent.filter(kept), arrived, strict=True):
        assert _same(reads_back, before, after), f"{before!r} arrived as {after!r}"


Oracle = Callable[[pa.Scalar, pa.Scalar], bool]


def _oracle(column_type: ColumnType, source: pa.DataType) -> Oracle:
    """How to tell that a value arrived exactly, from Python's reading of both sides."""
    kind = column_type.kind
    if kind is Kind.LIST:
        assert column_type.item is not None
        return _each(_oracle(column_type.item, source.value_type))
    if kind is Kind.STRUCT:
        fields = {
            name: _oracle(field, source.field(name).type) for name, field in column_type.fields
        }
        return lambda before, after: all(
            _same(fields[name], before[name], after[name]) for name in fields
        )
    text = pa.types.is_string(source) or pa.types.is_large_string(source)
    if kind in (Kind.INTEGER, Kind.FLOAT, Kind.DECIMAL):
        return _text_number if text else _same_number
    if text:
        return {
            Kind.STRING: lambda before, after: before.as_py() == after.as_py(),
            Kind.BINARY: lambda before, after: before.as_py().encode() == after.as_py(),
            Kind.BOOL: _text_bool,
            Kind.DATE: lambda before, after: _iso(date, before) == after.as_py(),
            Kind.TIME: lambda before, after: _iso(time, before) == after.as_py(),
            Kind.TIMESTAMP: _text_timestamp,
            Kind.DURATION: lambda before, after: (
                int(before.as_py()) == after.cast(pa.int64()).as_py()
            ),
        }[kind]
    if kind is Kind.DURATION and pa.types.is_integer(source):  # a count of the column's unit
        return lambda before, after: after.cast(pa.int64()).as_py() == before.as_py()
    if kind is Kind.STRING:  # from binary
        return lambda before, after: before.as_py().decode() == after.as_py()
    return _casts_back


def _same(reads_back: Oracle, before: pa.Scalar, after: pa.Scalar) -> bool:
    if not before.is_valid:
        return not after.is_valid
    return after.is_valid and reads_back(before, after)


def _each(reads_back: Oracle) -> Oracle:
    def items(before: pa.Scalar, after: pa.Scalar) -> bool:
        sent, arrived = list(before.values), list(after.values)
        return len(sent) == len(arrived) and all(
            _same(reads_back, item, got) for item, got in zip(sent, arrived, strict=True)
        )

    return items


def _casts_back(before: pa.Scalar, after: pa.Scalar) -> bool:
    """Cast back into the source type (safely: a loss raises) and equal the value sent."""
    try:
        back = pa.repeat(after, 1).cast(before.type)
    except pa.ArrowInvalid:
        return False
    return back[0].equals(before)


def _text_of(value: pa.Scalar) -> str:
    """The number a value stands for, as text: a float32 as its shortest text in its width."""
    python = value.as_py()
    return str(np.float32(python)) if pa.types.is_float32(value.type) else str(python)


def _same_number(before: pa.Scalar, after: pa.Scalar) -> bool:
    """`after`'s number, read back as the source type reads a number, is the value sent."""
    sent = before.as_py()
    text = _text_of(after)
    if pa.types.is_float32(before.type):
        return _same_float(np.float32(text), np.float32(sent))
    if pa.types.is_floating(before.type):
        return _same_float(float(text), sent)
    return Decimal(text) == Decimal(sent)


def _same_float(back: float, sent: float) -> bool:
    return (math.isnan(back) and math.isnan(sent)) or back == sent


def _text_number(before: pa.Scalar, after: pa.Scalar) -> bool:
    text = before.as_py()
    if pa.types.is_floating(after.type):
        read = float(text)  # text is read as the nearest float64, never beyond its range
        if math.isnan(read):
            return math.isnan(after.as_py())
        if math.isinf(read) and text.strip().lstrip("+-").lower() not in ("inf", "infinity"):
            return False
        if read == 0 and Decimal(text) != 0:
            return False
        return float(_text_of(after)) == read
    try:
        return Decimal(text) == Decimal(_text_of(after))
    except InvalidOperation:
        return False


def _text_bool(before: pa.Scalar, after: pa.Scalar) -> bool:
    return {"true": True, "1": True, "false": False, "0": False}.get(
        before.as_py().lower()
    ) is after.as_py()


def _iso(kind: type[date] | type[time], before: pa.Scalar) -> object:
    try:
        return kind.fromisoformat(before.as_py())
    except ValueError:
        return None


def _text_timestamp(before: pa.Scalar, after: pa.Scalar) -> bool:
    try:
        sent = datetime.fromisoformat(before.as_py().replace("Z", "+00:00"))
    except ValueError:
        return False
    if (sent.tzinfo is None) != (after.type.tz is None):
        return False  # a zone is never guessed
    return sent == after.as_py()
