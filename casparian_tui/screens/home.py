"""Home Hub: four cards with live numbers, and a first-run hint on an empty home."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.events import DescendantFocus, Resize
from textual.widgets import Static

from casparian_core.api import AssistantContext, Stats, compact
from casparian_tui.modes import WORK_MODES
from casparian_tui.screens.base import ModeScreen
from casparian_tui.widgets.mode_card import ModeCard

NARROW_WIDTH = 70  # below this the cards stack in one column
COLUMNS = 2

FIRST_RUN_HINT = (
    "[b]Welcome.[/b] This home is empty. Start in [b]Discover[/b]: catalogue a folder of files "
    "with [b]casparian scan <folder>[/b], then test a parser on them in [b]Parser Bench[/b]."
)


class HomeScreen(ModeScreen):
    MODE = "home"
    BINDINGS = [  # noqa: RUF012
        Binding("q", "app.quit", "Quit"),
        *(
            Binding(str(number), f"open_card({number - 1})", "Open card", show=False)
            for number in range(1, len(WORK_MODES) + 1)
        ),
    ]

    _chosen_card: str | None = None

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="home-body"):
            with Grid(id="cards"):
                for number, mode in enumerate(WORK_MODES, start=1):
                    yield ModeCard(mode, number)
            yield Static(FIRST_RUN_HINT, id="first-run-hint")

    def on_mount(self) -> None:
        self.query_one("#first-run-hint").display = False
        self.watch(self.app, "stats", self._show_stats)
        self.query_one(ModeCard).focus()

    def _show_stats(self, stats: Stats | None) -> None:
        if stats is None:
            return
        summaries = {
            "discover": stats.discover_summary(),
            "parser_bench": stats.parsers_summary(),
            "inspect": inspect_summary(stats),
            "jobs": stats.jobs_summary(),
        }
        for card in self.query(ModeCard):
            card.show_summary(summaries[card.mode.name])
        self.query_one("#first-run-hint").display = stats.is_empty

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        if isinstance(event.widget, ModeCard):
            self._chosen_card = event.widget.mode.name  # kept while the chat has the focus

    def assistant_context(self) -> AssistantContext:
        """The numbers the Home Hub shows, and the card last chosen."""
        cards = "\n".join(f"- {card.mode.title}: {card.summary}" for card in self.query(ModeCard))
        selection = {"card": self._chosen_card} if self._chosen_card else {}
        return AssistantContext(self.MODE, selection, f"The Home Hub shows:\n{cards}")

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width < NARROW_WIDTH, "narrow")

    def action_move(self, step: int) -> None:
        cards = list(self.query(ModeCard))
        if self.has_class("narrow"):
            step = 1 if step > 0 else -1  # one column: every move is up or down
        current = cards.index(self.focused) if self.focused in cards else 0
        target = current + step
        if 0 <= target < len(cards):
            cards[target].focus()

    async def action_open_card(self, index: int) -> None:
        await self.app.switch_mode(WORK_MODES[index].name)

    async def on_mode_card_opened(self, message: ModeCard.Opened) -> None:
        await self.app.switch_mode(message.mode.name)


def inspect_summary(stats: Stats) -> str:
    """The tables and rows, and the rows waiting in quarantine when there are any."""
    summary = stats.inspect_summary()
    if stats.quarantined_rows:
        summary += f", {compact(stats.quarantined_rows)} quarantined"
    return summary
