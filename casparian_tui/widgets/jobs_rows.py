"""The Jobs screen's rows as one line of text each: a run (its parsers, a progress bar of its
files done and failed out of its total, how long it took, its status), a job of an expanded run
(its file, its error code or rows, its time, its status), a dead letter (its file, its reason).

Columns, left to right: a marker (▸ a run, ▾ an expanded one), a status icon, the name (all the
width left), the progress, the time, the status. Pure functions of a row, a width and the time
now: the list draws only the lines on screen, each when it changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rich.cells import cell_len, set_cell_size
from rich.text import Text

from casparian_core.api import (
    BackfillRecord,
    BackfillStatus,
    DeadLetter,
    JobRecord,
    JobStatus,
    RunRecord,
)

BAR_CELLS = 8
PROGRESS_CELLS = 22  # the bar, a space, "1,045/10,000" and the failures' mark
TIME_CELLS = 8
STATUS_CELLS = 13
LEAD_CELLS = 4  # marker and icon
MIN_NAME_CELLS = 10

ICONS: dict[JobStatus, tuple[str, str]] = {
    JobStatus.COMPLETED: ("✓", "green"),
    JobStatus.COMPLETED_WITH_WARNINGS: ("!", "yellow"),
    JobStatus.FAILED: ("✗", "bold red"),
    JobStatus.DEAD_LETTER: ("✗", "bold red"),
    JobStatus.RUNNING: ("●", "bold cyan"),
    JobStatus.QUEUED: ("○", "dim"),
    JobStatus.CANCELLED: ("–", "dim"),
}
WORDS: dict[JobStatus, str] = {
    JobStatus.COMPLETED: "complete",
    JobStatus.COMPLETED_WITH_WARNINGS: "warnings",
    JobStatus.FAILED: "failed",
    JobStatus.DEAD_LETTER: "dead letter",
    JobStatus.RUNNING: "running",
    JobStatus.QUEUED: "pending",
    JobStatus.CANCELLED: "cancelled",
}


@dataclass(frozen=True)
class Row:
    """One line of the list: a run, one of its jobs, or a dead letter, under a unique key."""

    key: str
    item: RunRecord | JobRecord | DeadLetter
    expanded: bool = False  # a run whose jobs are listed under it
    backfill: BackfillRecord | None = None  # the backfill a run's jobs are (backfill/)


def run_key(batch_id: str) -> str:
    return f"run:{batch_id}"


def job_key(job_id: str) -> str:
    return f"job:{job_id}"


def dead_letter_key(letter_id: int) -> str:
    return f"dead:{letter_id}"


def header(width: int, *, dead_letters: bool = False) -> Text:
    """The column titles: of the runs and their jobs, or of the dead letters."""
    titles = (
        ("Dead letter", "Error", "Moved") if dead_letters else ("Run / file", "Progress", "Time")
    )
    line = Text(" " * LEAD_CELLS, style="bold")
    line.append(_name(titles[0], width))
    line.append(_cell(titles[1], PROGRESS_CELLS, right=True))
    line.append(_cell(titles[2], TIME_CELLS, right=True))
    line.append(_cell("  Status", STATUS_CELLS))
    return line


def render(row: Row, width: int, now: datetime) -> Text:
    item = row.item
    if isinstance(item, RunRecord):
        return _run_line(item, row.expanded, width, now, row.backfill)
    if isinstance(item, JobRecord):
        return _job_line(item, width, now)
    return _dead_letter_line(item, width)


def _run_line(
    run: RunRecord, expanded: bool, width: int, now: datetime, backfill: BackfillRecord | None
) -> Text:
    step = None if backfill is None else swap_step(backfill, run)
    shown = run.status if step is None else step[0]
    line = Text("▾ " if expanded else "▸ ")
    line.append_text(_icon(shown))
    name = f"{run_label(run.batch_id)} · {', '.join(run.parsers)}"
    if backfill is not None:
        name = backfill_label(backfill)
    line.append(_name(name, width), style="bold")
    line.append_text(progress(run))
    line.append(_cell(duration(run.started_at, run.finished_at, now), TIME_CELLS, right=True))
    status = f"{run.failed:,} failed" if run.failed and run.status != JobStatus.RUNNING else None
    line.append_text(_status(shown, status if step is None else step[1]))
    return line


def backfill_label(backfill: BackfillRecord) -> str:
    return f"backfill {backfill.parser_name} → {backfill.parser_version}"


def swap_step(backfill: BackfillRecord, run: RunRecord) -> tuple[JobStatus, str] | None:
    """A backfill's last step, the swap, once its jobs are over: the icon's status and the
    word (None while its jobs run: the run's own status says it)."""
    if backfill.status == BackfillStatus.DONE:
        return run.status, "swapped"
    if backfill.status == BackfillStatus.SWAPPING:
        return JobStatus.RUNNING, "swapping"
    if backfill.status == BackfillStatus.ABANDONED:
        return JobStatus.CANCELLED, "abandoned"
    if run.running or run.queued:
        return None
    if run.failed:
        return JobStatus.FAILED, "blocked"
    return JobStatus.QUEUED, "swap waits"


def run_label(batch_id: str) -> str:
    return f"run {batch_id[:8]}" if batch_id else "not in a run"


def progress(run: RunRecord) -> Text:
    """A bar of the run's files, complete in green and failed in red, then done/total."""
    filled = round(BAR_CELLS * run.done / run.total) if run.total else 0
    failed = min(filled, round(BAR_CELLS * run.failed / run.total)) if run.failed else 0
    bar = Text()
    bar.append("━" * (filled - failed), style="green")
    bar.append("━" * failed, style="red")
    bar.append("─" * (BAR_CELLS - filled), style="dim")
    counts = f"{run.done:,}/{run.total:,}"
    return bar.append(_cell(counts, PROGRESS_CELLS - BAR_CELLS, right=True))


def _job_line(job: JobRecord, width: int, now: datetime) -> Text:
    line = Text("  ")
    line.append_text(_icon(job.status))
    name = Path(job.input_path).name
    if job.ran_on:  # a Dask worker: which machine ran it
        name = _with_worker(name, job.ran_on, _name_cells(width))
    line.append(_name(name, width))
    if job.error_code is not None:
        line.append(_cell(str(job.error_code), PROGRESS_CELLS, right=True), style="red")
    elif job.rows_out is not None:
        line.append(_cell(f"{job.rows_out:,} rows", PROGRESS_CELLS, right=True))
    else:
        line.append(" " * PROGRESS_CELLS)
    line.append(_cell(duration(job.started_at, job.finished_at, now), TIME_CELLS, right=True))
    tries = f"try {job.attempts + 1}" if job.status == JobStatus.QUEUED and job.attempts else None
    return line.append_text(_status(job.status, tries))


def _with_worker(name: str, worker: str, cells: int) -> str:
    """The file's name and the worker that ran it, as much of the worker as fits whole: its
    host and port, else its host (the detail pane shows the whole address), else nothing:
    the file's name is never cut for it."""
    address = worker.removeprefix("tcp://")
    for shown in (address, address.rpartition(":")[0]):
        joined = f"{name} · {shown}"
        if shown and cell_len(joined) <= cells:
            return joined
    return name


def _dead_letter_line(letter: DeadLetter, width: int) -> Text:
    line = Text("  ")
    line.append_text(_icon(JobStatus.DEAD_LETTER))
    name = f"{Path(letter.input_path).name} · {letter.parser_name} {letter.parser_version}"
    line.append(_name(name, width))
    line.append(_cell(str(letter.error_code or ""), PROGRESS_CELLS, right=True), style="red")
    line.append(_cell(letter.moved_at[11:16], TIME_CELLS, right=True))
    replayed = "replayed" if letter.replayed_at else "dead letter"
    return line.append_text(_status(JobStatus.DEAD_LETTER, replayed))


def duration(started_at: str | None, finished_at: str | None, now: datetime) -> str:
    """'12s', '3m 05s', '2h 14m' from start to end (to now while unfinished); '' unstarted."""
    if started_at is None:
        return ""
    end = datetime.fromisoformat(finished_at) if finished_at else now
    seconds = max(0.0, (end - datetime.fromisoformat(started_at)).total_seconds())
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"


def _icon(status: JobStatus) -> Text:
    icon, style = ICONS[status]
    return Text(f"{icon} ", style=style)


def _status(status: JobStatus, text: str | None = None) -> Text:
    style = ICONS[status][1]
    return Text(_cell(f"  {text or WORDS[status]}", STATUS_CELLS), style=style)


def _name_cells(width: int) -> int:
    """The name's cells, a space kept between it and the progress."""
    fixed = LEAD_CELLS + 1 + PROGRESS_CELLS + TIME_CELLS + STATUS_CELLS
    return max(MIN_NAME_CELLS, width - fixed)


def _name(text: str, width: int) -> str:
    return _cell(text, _name_cells(width)) + " "


def _cell(text: str, cells: int, *, right: bool = False) -> str:
    """`text` in exactly `cells` cells: cut with an ellipsis, padded (numbers on the left)."""
    text = text.replace("\n", " ")
    if cell_len(text) > cells:
        return set_cell_size(text, cells - 1) + "…"
    padding = " " * (cells - cell_len(text))
    return padding + text if right else text + padding
