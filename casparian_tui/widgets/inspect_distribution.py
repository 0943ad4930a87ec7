"""A column's distribution drawn in the terminal: one horizontal bar per histogram bin, category
or period, as long as its count allows in the width there is, with eighth-block ends so small
differences still show."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from casparian_core.api import OTHERS_LABEL, Distribution, DistributionKind

BAR_EIGHTHS = " ▏▎▍▌▋▊▉█"
LABEL_WIDTH_MAX = 24  # a longer category is cut with an ellipsis: bars need the room
BAR_WIDTH_MIN = 10
KIND_WORDS = {
    DistributionKind.NUMERIC: "histogram",
    DistributionKind.CATEGORICAL: "top values",
    DistributionKind.TEMPORAL: "rows per {unit}",
}


class DistributionChart(Widget):
    """The distribution of the selected column, or a line saying what is going on."""

    COMPONENT_CLASSES = {"distribution--bar"}  # noqa: RUF012
    DEFAULT_CSS = """
    DistributionChart {
        height: auto;
    }
    DistributionChart > .distribution--bar {
        color: $accent;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: Distribution | Text = Text("")

    def show(self, shown: Distribution | Text) -> None:
        self._shown = shown
        self.refresh(layout=True)

    def render(self) -> Text:
        if isinstance(self._shown, Text):
            return self._shown
        style = self.get_component_rich_style("distribution--bar")
        return chart(self._shown, self.content_size.width or 60, style)


def chart(found: Distribution, width: int, bar_style: Style | str = "") -> Text:
    """A title line, then a labelled bar per bin with its count, fitted to `width` columns."""
    text = Text()
    kind = KIND_WORDS[found.kind].format(unit=found.unit or "period")
    text.append(found.column, style="bold")
    text.append(f" · {kind} · {found.total:,} rows")
    if found.nulls:
        share = 100 * found.nulls / found.total if found.total else 0.0
        text.append(f" · {found.nulls:,} null ({share:.1f}%)", style="yellow")
    if not found.bins:
        text.append("\n\nNo values to draw: every row is null.", style="dim")
        return text
    labels = [_cut(label, LABEL_WIDTH_MAX) for label, _ in found.bins]
    label_width = max(len(label) for label in labels)
    count_width = max(len(f"{count:,}") for _, count in found.bins)
    bar_width = max(BAR_WIDTH_MIN, width - label_width - count_width - 2)
    # "All others" is a sum, not a value: it gets no bar, so the values' bars keep their scale.
    largest = max((count for label, count in found.bins if label != OTHERS_LABEL), default=1)
    for label, (raw, count) in zip(labels, found.bins, strict=True):
        text.append("\n")
        text.append(label.ljust(label_width), style="dim" if count == 0 else "")
        text.append(" ")
        if raw == OTHERS_LABEL:
            text.append(" " * bar_width)
        else:
            text.append(bar(count / (largest or 1), bar_width), style=bar_style)
        text.append(" ")
        text.append(f"{count:,}".rjust(count_width), style="dim" if raw == OTHERS_LABEL else "")
    return text


def bar(share: float, width: int) -> str:
    """A bar `share` (0-1) of `width` cells long in eighths, padded to `width`; any count above
    zero shows at least one eighth."""
    eighths = round(share * width * 8)
    if share > 0:
        eighths = max(1, eighths)
    full, rest = divmod(eighths, 8)
    drawn = "█" * full + (BAR_EIGHTHS[rest] if rest else "")
    return drawn.ljust(width)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
