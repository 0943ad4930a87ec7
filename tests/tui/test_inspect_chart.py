"""Distributions drawn in the terminal (widgets/inspect_distribution.py): bars in eighths,
labels and counts lined up, fitted to the width there is."""

from __future__ import annotations

from casparian_core.api import Distribution, DistributionKind
from casparian_tui.widgets.inspect_distribution import LABEL_WIDTH_MAX, bar, chart


def test_bars_are_drawn_in_eighths_and_padded() -> None:
    assert bar(1.0, 4) == "████"
    assert bar(0.5, 4) == "██  "
    assert bar(0.53, 4) == "██▏ "  # 0.53 x 32 eighths = 17: two cells and one eighth
    assert bar(0.0, 3) == "   "
    assert bar(0.0001, 3) == "▏  "  # any row at all stays visible


def test_each_bin_is_a_line_with_its_label_bar_and_count() -> None:
    found = Distribution(
        "amount", DistributionKind.NUMERIC, [("0 – 50", 90), ("50 – 100", 45)], 150, 15
    )
    lines = chart(found, 40).plain.splitlines()
    assert lines[0] == "amount · histogram · 150 rows · 15 null (10.0%)"
    # Labels padded to the widest, the longest bar fills the width left, counts right-aligned.
    assert lines[1] == "0 – 50   " + "█" * 28 + " 90"
    assert lines[2] == "50 – 100 " + "█" * 14 + " " * 14 + " 45"
    assert all(len(line) == 40 for line in lines[1:])


def test_long_categories_are_cut_and_periods_named() -> None:
    found = Distribution(
        "city",
        DistributionKind.CATEGORICAL,
        [("x" * 40, 3), ("(all others)", 1_200)],
        1_203,
        0,
    )
    lines = chart(found, 60).plain.splitlines()
    assert lines[0] == "city · top values · 1,203 rows"
    # "All others" is a sum: no bar, so it does not shrink the values' bars to nothing.
    assert lines[1] == "x" * (LABEL_WIDTH_MAX - 1) + "… " + "█" * 29 + "     3"
    assert lines[2] == "(all others)".ljust(LABEL_WIDTH_MAX) + " " * 31 + "1,200"
    temporal = Distribution("at", DistributionKind.TEMPORAL, [("2026-01", 2)], 2, 0, "month")
    assert chart(temporal, 30).plain.startswith("at · rows per month")


def test_an_all_null_column_says_so() -> None:
    found = Distribution("empty", DistributionKind.CATEGORICAL, [], 10, 10)
    assert "every row is null" in chart(found, 40).plain
