"""Parser Bench's registry lines: the highlighted parser's registered versions, whether its
working copy's contract is approved (registered as it is) or a draft, each output's modes
(structure freeze, values quarantine, with its ceiling), and the files an older registered
version processed last (a backfill to offer)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from casparian_core.api import plural

if TYPE_CHECKING:
    from casparian_core.api import BackfillPlan, BackfillRecord, WorkingCopy

STATUS_STYLES = {"approved": "green", "draft": "yellow"}


class RegistryStatus(Static):
    def show(
        self,
        copy: WorkingCopy | None,
        backfill: BackfillPlan | None = None,
        unfinished: BackfillRecord | None = None,
    ) -> None:
        self.display = copy is not None
        if copy is None:
            return
        versions = ", ".join(copy.versions) if copy.versions else "none"
        text = Text.assemble(("registered: ", "dim"), versions, "\n")
        text.append(copy.summary, style=STATUS_STYLES[copy.status])
        if unfinished is not None:
            text.append(
                f"\nbackfill {unfinished.id[:8]} to {unfinished.parser_version}: "
                f"{str(unfinished.status).lower()} (see Jobs)",
                style="yellow",
            )
        elif backfill is not None and backfill.files:
            older = ", ".join(count.version for count in backfill.by_version)
            text.append(
                f"\n{plural(len(backfill.files), 'file')} last run by {older}: "
                f"press b to backfill them with {backfill.version}",
                style="yellow",
            )
        for name, spec in (copy.plan.outputs if copy.plan is not None else {}).items():
            # What the contract does, in dlt's words: structure freeze, values quarantine.
            ceiling = "" if spec.max_quarantine_pct is None else f" ≤{spec.max_quarantine_pct:g}%"
            text.append(f"\n{name}: freeze · quarantine{ceiling}", style="dim")
        if copy.plan is not None and copy.plan.registered is None:
            text.append("\npress g to register", style="dim")
        elif copy.problem is not None and not copy.differs:
            text.append("\npress g to see why", style="dim")
        self.update(text)
