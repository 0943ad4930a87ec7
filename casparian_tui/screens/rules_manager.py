"""The tagging rules manager (`R` in Discover): list, add, edit, delete and toggle rules."""

from __future__ import annotations

from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, Static

from casparian_core.api import RuleInfo
from casparian_core.errors import CasparianError
from casparian_core.service import CoreService
from casparian_tui.screens.prompt import ConfirmPrompt
from casparian_tui.widgets.table_cursor import current_key, restore_cursor


@dataclass(frozen=True)
class RuleDraft:
    """What the rule editor returns: the fields of a new or edited rule."""

    pattern: str
    tag: str
    priority: int
    source: str | None


class RulesScreen(ModalScreen[None]):
    BINDINGS = [  # noqa: RUF012
        Binding("n", "new", "New rule"),
        Binding("e", "edit", "Edit rule"),
        Binding("d", "delete", "Delete rule"),
        Binding("enter", "toggle_rule", "Enable/disable"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(self, service: CoreService, suggested: RuleDraft) -> None:
        super().__init__(classes="dialog-screen")
        self.service = service
        self.suggested = suggested
        self.rules: list[RuleInfo] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static(
                "[b]Tagging rules[/b]  [dim]highest priority wins[/dim]", classes="dialog-title"
            )
            yield DataTable(id="rules-table", cursor_type="row")
            yield Static("", id="rules-error", classes="error")
            yield Static(
                "[dim]n new · e edit · d delete · Enter enable/disable · Esc close[/dim]",
                classes="dialog-hint",
            )

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label in ("Id", "Pattern", "Tag", "Priority", "Source", "On", "Files"):
            table.add_column(label, key=label.lower())
        self.reload()

    @work(exclusive=True, group="rules", exit_on_error=False)
    async def reload(self, follow: int | None = None) -> None:
        """Refill the table; the cursor stays on its rule (or moves to `follow`, a new one)
        wherever the priorities sort it."""
        self.rules = await self.service.scout.rules()
        table = self.query_one(DataTable)
        row, key = table.cursor_row, current_key(table)
        table.clear()
        for rule in self.rules:
            table.add_row(
                str(rule.id),
                rule.pattern,
                rule.tag,
                str(rule.priority),
                rule.source or "all",
                "✓" if rule.enabled else "·",
                f"{rule.files:,}",
                key=str(rule.id),
            )
        restore_cursor(table, key if follow is None else str(follow), row)
        if not self.rules:
            self.query_one("#rules-error", Static).update(
                "No rules yet: press n to add one (it starts from what Discover shows)."
            )
        table.focus()

    @property
    def current(self) -> RuleInfo | None:
        table = self.query_one(DataTable)
        return self.rules[table.cursor_row] if self.rules else None

    @work(exclusive=True, group="rules-edit", exit_on_error=False)
    async def action_new(self) -> None:
        draft = await self.app.push_screen_wait(RuleEditor("New rule", self.suggested))
        if draft is not None:
            await self._apply(None, draft)

    @work(exclusive=True, group="rules-edit", exit_on_error=False)
    async def action_edit(self) -> None:
        rule = self.current
        if rule is None:
            return
        start = RuleDraft(rule.pattern, rule.tag, rule.priority, rule.source)
        draft = await self.app.push_screen_wait(RuleEditor(f"Edit rule {rule.id}", start))
        if draft is not None:
            await self._apply(rule.id, draft)

    @work(exclusive=True, group="rules-edit", exit_on_error=False)
    async def action_delete(self) -> None:
        rule = self.current
        if rule is None:
            return
        question = f"Delete rule {rule.id} ({rule.pattern} → {rule.tag})?"
        if await self.app.push_screen_wait(ConfirmPrompt(question, "Delete")):
            await self.service.scout.remove_rule(rule.id)
            self.reload()

    async def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()  # Enter on a row: the table claims the key, so toggle from its message
        await self.action_toggle_rule()

    async def action_toggle_rule(self) -> None:
        rule = self.current
        if rule is not None:
            await self.service.scout.set_rule_enabled(rule.id, not rule.enabled)
            self.reload()

    async def _apply(self, rule_id: int | None, draft: RuleDraft) -> None:
        scout = self.service.scout
        try:
            if rule_id is None:
                rule_id = await scout.add_rule(
                    draft.pattern, draft.tag, priority=draft.priority, source=draft.source
                )
            else:
                await scout.update_rule(
                    rule_id,
                    pattern=draft.pattern,
                    tag=draft.tag,
                    priority=draft.priority,
                    source=draft.source,
                )
        except CasparianError as exc:
            self.query_one("#rules-error", Static).update(f"[red]{exc}[/red]")
            return
        self.query_one("#rules-error", Static).update("")
        self.reload(follow=rule_id)

    def action_close(self) -> None:
        if self.is_active:
            self.dismiss(None)


class RuleEditor(ModalScreen[RuleDraft | None]):
    """A form for a rule's pattern, tag, priority and source."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]  # noqa: RUF012

    def __init__(self, title: str, start: RuleDraft) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.start = start

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"[b]{self.title_text}[/b]", classes="dialog-title")
            for label, field_id, value in (
                ("Pattern (glob on the relative path)", "pattern", self.start.pattern),
                ("Tag", "tag", self.start.tag),
                ("Priority", "priority", str(self.start.priority)),
                ("Source (empty: all sources)", "source", self.start.source or ""),
            ):
                with Horizontal(classes="form-row"):
                    yield Label(label, classes="form-label")
                    yield Input(value, id=f"rule-{field_id}")
            yield Static("", id="rule-error", classes="error")
            yield Static("[dim]Enter to save · Esc to cancel[/dim]", classes="dialog-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        values = {i.id.removeprefix("rule-"): i.value.strip() for i in self.query(Input) if i.id}
        try:
            priority = int(values["priority"] or "0")
        except ValueError:
            self.query_one("#rule-error", Static).update("[red]Priority must be a number.[/red]")
            return
        if not values["pattern"] or not values["tag"]:
            self.query_one("#rule-error", Static).update("[red]Pattern and tag are needed.[/red]")
            return
        self.dismiss(
            RuleDraft(values["pattern"], values["tag"], priority, values["source"] or None)
        )

    def action_cancel(self) -> None:
        if self.is_active:
            self.dismiss(None)
