"""Casts that never change a value silently: a value either converts exactly or is refused.

Arrow's safe cast refuses most lossy conversions (a fraction into an integer, an overflow, time
finer than the unit, a decimal rescaled with loss) but lets a few through: a float64 narrowed to
float32 is rounded and overflows to infinity, a float into a decimal is rounded to its scale,
text beyond a float's or a decimal's range becomes infinity or zero. For those pairs `changed`
reads the result back in the source's terms and compares (text that became zero is caught by its
digits). Floats are compared as the decimal numbers they print as (their shortest text): float32
0.1 is the number 0.1, so float64 0.1 narrows to it, while float64 0.1234567891 does not survive
float32's seven digits.
"""

from __future__ import annotations

import functools

import pyarrow as pa
import pyarrow.compute as pc

_INFINITY_TEXT = r"^\s*[+-]?(?i:inf|infinity)\s*$"
_NON_ZERO_TEXT = r"^[^eE]*[1-9]"  # a non-zero digit before any exponent


def cast_or_null(chunk: pa.Array, target: pa.DataType) -> pa.Array:
    """Cast, nulling each value that fails: halve the chunk until the failures are alone."""
    try:
        return pc.cast(chunk, target)
    except (pa.ArrowInvalid, OverflowError):
        if len(chunk) <= 1:
            return pa.nulls(len(chunk), target)
    middle = len(chunk) // 2
    return pa.concat_arrays(
        [cast_or_null(chunk.slice(0, middle), target), cast_or_null(chunk.slice(middle), target)]
    )


def changed(source: pa.Array, result: pa.Array) -> pa.Array | None:
    """True where `result` holds a value that is not exactly `source`'s (never null); None when
    this pair of types needs no check (Arrow's safe cast already refuses every change)."""
    mask = _changed(source, result)
    if mask is None:
        return None
    return pc.and_(result.is_valid(), mask.fill_null(True))


def _changed(source: pa.Array, result: pa.Array) -> pa.Array | None:
    target = result.type
    if pa.types.is_floating(target):
        if _is_text(source.type):
            return _text_out_of_float_range(source, result, digits=pa.types.is_float32(target))
        if pa.types.is_float64(source.type) and pa.types.is_float32(target):
            return _differs(_float_read_back(result), source)
        if pa.types.is_decimal(source.type):
            return _differs(cast_or_null(_as_text(result), source.type), source)
        return None
    if pa.types.is_decimal(target) and pa.types.is_floating(source.type):
        return _differs(cast_or_null(_as_text(result), source.type), source)
    if pa.types.is_decimal(target) and _is_text(source.type):
        return _text_became_zero(source, result)  # Arrow reads "1E-903" as 0
    return None


def _text_out_of_float_range(text: pa.Array, result: pa.Array, digits: bool) -> pa.Array | None:
    """Text beyond the float's range became infinity or zero; with `digits`, text whose number
    float32 cannot hold (it reads back as another number) is changed too."""
    found = [
        mask
        for mask in (
            _suspects_matching(pc.is_inf(result), text, _INFINITY_TEXT, expected=False),
            _text_became_zero(text, result),
        )
        if mask is not None
    ]
    if digits:
        found.append(_differs(_float_read_back(result), cast_or_null(text, pa.float64())))
    return functools.reduce(pc.or_, found) if found else None


def _text_became_zero(text: pa.Array, result: pa.Array) -> pa.Array | None:
    return _suspects_matching(pc.equal(result, 0), text, _NON_ZERO_TEXT, expected=True)


def _suspects_matching(
    suspect: pa.Array, text: pa.Array, pattern: str, expected: bool
) -> pa.Array | None:
    """True where `suspect` holds and the text does (`expected`) or does not match `pattern`;
    None when nothing is suspect. Only the suspects' text is matched: an infinite or zero
    result is rare, and a regex over every row would cost more than the cast itself."""
    suspect = suspect.fill_null(False)
    if not pc.any(suspect).as_py():
        return None
    matches = pc.match_substring_regex(pc.filter(text, suspect), pattern)
    return pc.replace_with_mask(suspect, suspect, matches if expected else pc.invert(matches))


def _float_read_back(result: pa.Array) -> pa.Array:
    """A float32 as the float64 of the number it prints as."""
    return pc.cast(_as_text(result), pa.float64())


def _differs(back: pa.Array, source: pa.Array) -> pa.Array:
    """Where `back` is not `source` (null when `back` is null: it did not read back at all)."""
    different = pc.not_equal(back, source)
    if pa.types.is_floating(source.type):
        both_nan = pc.and_(pc.is_nan(back), pc.is_nan(source))
        different = pc.and_(different, pc.invert(both_nan))
    return different


def _as_text(values: pa.Array) -> pa.Array:
    return pc.cast(values, pa.string())


def _is_text(arrow_type: pa.DataType) -> bool:
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
