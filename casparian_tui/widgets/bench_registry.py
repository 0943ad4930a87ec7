"""Parser Bench's registry line: the highlighted parser's registered versions and whether its
working copy's contract is approved (registered as it is) or a draft."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

if TYPE_CHECKING:
    from casparian_core.api import WorkingCopy

STATUS_STYLES = {"approved": "green", "draft": "yellow"}


class RegistryStatus(Static):
    def show(self, copy: WorkingCopy | None) -> None:
        self.display = copy is not None
        if copy is None:
            return
        versions = ", ".join(copy.versions) if copy.versions else "none"
        text = Text.assemble(("registered: ", "dim"), versions, "\n")
        text.append(copy.summary, style=STATUS_STYLES[copy.status])
        if copy.plan is not None and copy.plan.registered is None:
            text.append("\npress g to register", style="dim")
        elif copy.problem is not None and not copy.differs:
            text.append("\npress g to see why", style="dim")
        self.update(text)
