"""Sizes, counts and durations as people read them, the same in every face: 1000-based (SI)
units, as disks and network speeds are sold (1 kB = 1,000 bytes)."""

from __future__ import annotations

BYTE_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB")


def format_bytes(n: float) -> str:
    """`n` bytes with three significant digits at most: "999 B", "1.5 kB", "12 MB", "340 GB"."""
    value = float(n)
    for unit in BYTE_UNITS:
        shown = f"{value:.1f}" if unit != "B" and value < 9.95 else f"{value:.0f}"
        if float(shown) < 1000 or unit == BYTE_UNITS[-1]:
            return f"{shown} {unit}"
        value /= 1000
    raise AssertionError("unreachable")  # the last unit always returns


def plural(count: int, noun: str) -> str:
    """ "1 row", "2 rows", "1,234 rows"."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def format_duration(seconds: float) -> str:
    """ "12 ms", "450 ms", "1.23 s", "2 min 5 s": never "0.00 s"."""
    if seconds < 1:
        return f"{max(seconds * 1000, 1):.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"
