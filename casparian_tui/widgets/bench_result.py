"""The Parser Bench's right pane: a hint, a test while it runs (with its log), or its result."""

from __future__ import annotations

import logging
from collections import deque
from pathlib import Path

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from casparian_core.api import (
    RATE_MIN_BYTES,
    OutputResult,
    RunResult,
    RunStatus,
    format_duration,
    plural,
    rates,
    top_reasons,
)
from casparian_tui.widgets.bench_paths import short_path, shorten_paths

SHOWN_LOG_LINES = 200  # the newest; a chatty parser must not grow the pane without bound
STATUS_STYLES = {
    RunStatus.COMPLETED: "bold green",
    RunStatus.COMPLETED_WITH_WARNINGS: "bold yellow",
    RunStatus.FAILED: "bold red",
    RunStatus.CANCELLED: "bold yellow",
    RunStatus.SKIPPED: "bold yellow",
}


class BenchResult(Vertical):
    """A header (with the watch indicator) over a scrollable body."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._log: deque[str] = deque(maxlen=SHOWN_LOG_LINES)
        self._running_line: Text | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="bench-result-header"):
            yield Static("[b]Result[/b]", id="bench-result-title")
            yield Static("", id="bench-watching")
        with VerticalScroll(id="bench-result-scroll"):
            yield Static(id="bench-result-body")
            yield Vertical(id="bench-result-outputs")  # per output: its facts, its first rows
            yield Static(id="bench-result-log")

    @property
    def body(self) -> Static:
        return self.query_one("#bench-result-body", Static)

    @property
    def outputs(self) -> Vertical:
        return self.query_one("#bench-result-outputs", Vertical)

    def show_hint(self, hint: RenderableType) -> None:
        self._running_line = None
        self.body.update(hint)
        self.outputs.remove_children()
        self._log.clear()
        self._show_log()

    def show_running(self, parser_name: str, input_path: Path) -> None:
        self._log.clear()
        self.outputs.remove_children()
        self._running_line = Text.assemble(
            ("Running ", "bold"),
            (parser_name, "bold"),
            (" on ", "bold"),
            (input_path.name, "bold"),
            ("…", "bold"),
            ("   Esc cancels", "dim"),
        )
        self._refresh_running()

    def add_log(self, level: int, message: str) -> None:
        self._log.append(f"{logging.getLevelName(level):<7} {shorten_paths(message)}")
        if self._running_line is not None:
            self._refresh_running()

    async def show_result(self, result: RunResult) -> None:
        self._running_line = None
        parts = _headline(result)
        if not result.ok:
            parts.extend(_failure_parts(result))
        self.body.update(Group(*parts))
        await self.outputs.remove_children()
        if result.ok:
            await self.outputs.mount_all(
                [widget for output in result.outputs for widget in _output_widgets(output)]
            )
        self._show_log()
        self.query_one("#bench-result-scroll").scroll_home(animate=False)

    def show_watching(self, parser_path: Path | None) -> None:
        label = "" if parser_path is None else f"● watching {parser_path.name}"
        self.query_one("#bench-watching", Static).update(label)

    def _refresh_running(self) -> None:
        assert self._running_line is not None
        self.body.update(self._running_line)
        self._show_log()
        self.query_one("#bench-result-scroll").scroll_end(animate=False)

    def _show_log(self) -> None:
        log = self.query_one("#bench-result-log", Static)
        if not self._log:
            log.update("")
            return
        log.update(Group(Text("\nlog", style="bold"), Text("\n".join(self._log), style="dim")))


def _headline(result: RunResult) -> list[RenderableType]:
    version = f" {result.parser_version}" if result.parser_version else ""
    subject = Text(f"{result.parser_name}{version} on {short_path(result.input_path)}")
    status = Text.assemble((result.status, STATUS_STYLES.get(result.status, "bold")))
    if result.error_code and result.status != RunStatus.CANCELLED:  # its code too: say it once
        status.append(f" {result.error_code}", style="bold red")
    status.append(f"  in {format_duration(result.duration_s)}")
    if result.ok and result.input_bytes >= RATE_MIN_BYTES:
        status.append(f" ({rates(result)})", style="dim")
    return [subject, status]


def _output_widgets(output: OutputResult) -> list[Widget]:
    """What one output made: its facts and schema, then its first rows as a table that
    scrolls sideways (every value whole, however narrow the pane)."""
    widgets: list[Widget] = [Static(Group(*_output_parts(output)), classes="bench-output")]
    if output.preview is not None and output.preview.num_rows:
        from casparian_tui.widgets.arrow_table import ArrowTable  # loads pyarrow: not at start

        widgets.append(ArrowTable(output.preview, classes="bench-preview"))
    return widgets


def _output_parts(output: OutputResult) -> list[RenderableType]:
    parts: list[RenderableType] = [
        Text.assemble(
            "\n",
            (output.name, "bold"),
            f"  {plural(output.rows, 'row')} written to {short_path(output.location)}",
        )
    ]
    if output.quarantined:
        parts.append(
            Text.assemble(
                (f"{plural(output.quarantined, 'row')} quarantined", "yellow"),
                f" (in {output.name}_quarantine): {top_reasons(output)}",
            )
        )
    if output.spec is not None:
        parts.extend(_schema_parts(output))
    if output.preview is not None and output.preview.num_rows:
        title = f"first {plural(output.preview.num_rows, 'row')}"
        parts.append(Text.assemble((title, "italic"), ("  Tab to the table, ← → scroll", "dim")))
    return parts


def _schema_parts(output: OutputResult) -> list[RenderableType]:
    assert output.spec is not None
    # The title on its own line: as a table title it would wrap to the table's narrow width.
    title = "schema (inferred from the data, not enforced)" if output.inferred else "schema"
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("column")
    table.add_column("type")
    table.add_column("nullable")
    for name, spec in output.spec.columns.items():
        # Text, not markup: "timestamp[ms, UTC]" would lose "[ms, UTC]" as a style tag.
        table.add_row(Text(name), Text(spec.type), "yes" if spec.nullable else "no")
    return [Text(title, style="italic"), table]


def _failure_parts(result: RunResult) -> list[RenderableType]:
    parts: list[RenderableType] = []
    if result.error_message:
        parts.append(Text("\n" + shorten_paths(result.error_message), style="red"))
    if result.suggestion:
        parts.append(Text(f"\nhint: {result.suggestion}", style="cyan"))
    if result.traceback:
        parts.append(Text("\ntraceback", style="bold"))
        parts.append(Text(shorten_paths(result.traceback.rstrip()), style="dim"))
    return parts
