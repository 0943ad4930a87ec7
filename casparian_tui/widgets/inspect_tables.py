"""Inspect's list of output tables: name, rows, and the rows its quarantine holds (yellow), a
quarantine table itself dimmed under its own name, a table with unreadable parts marked."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from casparian_core.api import CatalogTable, compact


class TableList(OptionList):
    """One option per table; the option id is the table's view name."""

    BINDINGS = [  # noqa: RUF012
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("enter", "select", "Statistics", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tables: dict[str, CatalogTable] = {}

    def show(self, tables: list[CatalogTable]) -> None:
        """Replace the list, keeping the highlight on the same table when it is still there.
        A quarantine table is left out when its table is listed: that table's count says how
        many rows it holds, and Q shows them."""
        current = self.highlighted_table
        companions = {t.quarantine_table for t in tables if t.quarantine_table is not None}
        tables = [t for t in tables if t.name not in companions]
        self.tables = {table.name: table for table in tables}
        name_width = max((len(table.name) for table in tables), default=0)
        rows_width = max((len(compact(table.rows)) for table in tables), default=0)
        self.set_options(
            Option(table_label(table, name_width, rows_width), id=table.name) for table in tables
        )
        if not tables:
            return
        names = list(self.tables)
        self.highlighted = names.index(current.name) if current and current.name in names else 0

    @property
    def highlighted_table(self) -> CatalogTable | None:
        option = self.highlighted_option
        return None if option is None or option.id is None else self.tables.get(option.id)


def table_label(table: CatalogTable, name_width: int, rows_width: int) -> Text:
    """Name, rows (right-aligned in a column), quarantined rows, broken parts."""
    style = "dim" if table.is_quarantine else ""
    label = Text()
    label.append(table.name.ljust(name_width), style=style or "bold")
    label.append(f" {compact(table.rows).rjust(rows_width)}", style=style)
    if table.quarantined_rows:
        label.append(f" ⚠ {compact(table.quarantined_rows)}", style="yellow")
    if table.broken_parts:
        label.append(f" ✗ {len(table.broken_parts)}", style="red")
    return label
