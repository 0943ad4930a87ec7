"""A progress bar on stderr while `casparian run` works through several inputs (a terminal
only). Lines printed to stderr meanwhile (the parser's log) appear above it."""

from __future__ import annotations

from types import TracebackType

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from casparian_cli.console import CliConsole


class RunProgress:
    def __init__(self, description: str, total: int) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[detail]}"),
            console=CliConsole(stderr=True),
            transient=True,  # the summary takes its place
        )
        self._task = self._progress.add_task(description, total=total, detail="")

    def advance(self, detail: str | None = None) -> None:
        """One more done; `detail` (such as a rate) replaces the text after the bar."""
        if detail is not None:
            self._progress.update(self._task, detail=detail)
        self._progress.advance(self._task)

    def __enter__(self) -> RunProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()
