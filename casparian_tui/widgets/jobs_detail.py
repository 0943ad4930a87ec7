"""The Jobs screen's detail pane: the selected run, job or dead letter in full.

A job shows its status and attempts, its error code and message, its fingerprint with the other
files it occurred on, its lineage (the input's content hash, the parser version, the outputs it
wrote), its trace, and the tail of its log, which follows the log while the job runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from casparian_core.api import (
    UNFINISHED,
    BackfillRecord,
    BackfillStatus,
    DeadLetter,
    ErrorDetail,
    ErrorFile,
    JobDetail,
    JobRecord,
    JobStatus,
    RunRecord,
)
from casparian_tui.widgets.jobs_rows import (
    ICONS,
    WORDS,
    backfill_label,
    duration,
    run_label,
    swap_step,
)

TRACE_LINES = 20  # the end of a trace: where it failed
OTHER_FILES = 3  # of a fingerprint's other files, this many are named


@dataclass(frozen=True)
class JobView:
    """What the pane shows of a job, read together by the screen."""

    detail: JobDetail
    error: ErrorDetail | None = None  # its fingerprint, when it failed
    error_files: list[ErrorFile] = field(default_factory=list)
    log_path: Path | None = None
    log_tail: list[str] = field(default_factory=list)


class JobDetailPane(VerticalScroll, can_focus=False):
    shown: RenderableType = ""

    def compose(self) -> ComposeResult:
        yield Static(id="jobs-detail-body")

    def show(self, content: RenderableType) -> None:
        self.shown = content
        self.query_one("#jobs-detail-body", Static).update(content)

    def show_run(
        self, run: RunRecord, now: datetime, backfill: BackfillRecord | None = None
    ) -> None:
        self.show(describe_run(run, now, backfill))

    def show_job(self, view: JobView, now: datetime) -> None:
        self.show(describe_job(view, now))

    def show_dead_letter(self, letter: DeadLetter) -> None:
        self.show(describe_dead_letter(letter))


def describe_run(
    run: RunRecord, now: datetime, backfill: BackfillRecord | None = None
) -> RenderableType:
    name = f"{run_label(run.batch_id)} · {', '.join(run.parsers)}"
    step = None if backfill is None else swap_step(backfill, run)
    text = _title(
        name if backfill is None else backfill_label(backfill),
        run.status if step is None else step[0],
    )
    warned = f" ({run.warned:,} with rows quarantined)" if run.warned else ""
    counts = [
        (run.completed, f"complete{warned}"),
        (run.failed, "failed"),
        (run.running, "running"),
        (run.queued, "pending"),
        (run.cancelled, "cancelled"),
    ]
    _field(text, "files", f"{run.total:,}: " + ", ".join(f"{n:,} {w}" for n, w in counts if n))
    _field(text, "queued", when(run.enqueued_at))
    _field(text, "started", when(run.started_at))
    _field(text, "finished", when(run.finished_at))
    _field(text, "took", duration(run.started_at, run.finished_at, now))
    if backfill is not None:
        _describe_swap(text, backfill)
    elif run.batch_id:
        _field(text, "batch", run.batch_id)
    text.append("\nEnter lists its jobs (failed first).", style="dim")
    return text


SWAP_STEPS = {
    BackfillStatus.STAGING: "last step, once every file succeeded: the output is untouched",
    BackfillStatus.SWAPPING: "under way (a crash here is finished by --resume)",
    BackfillStatus.DONE: "done",
    BackfillStatus.ABANDONED: "never: the backfill was abandoned, the output left as it was",
}


def _describe_swap(text: Text, backfill: BackfillRecord) -> None:
    """A backfill's run: its swap, the last step, and what to do when it waits."""
    _field(text, "backfill", backfill.id)
    _field(text, "into", backfill.sink_uri)
    _field(text, "swap", SWAP_STEPS[backfill.status])
    _field(text, "swapped", when(backfill.swapped_at))
    if backfill.note:
        _field(text, "waits", backfill.note, "yellow")
    if backfill.status == BackfillStatus.STAGING:
        text.append(
            f"\nRetry failed files (r), then `casparian backfill --resume {backfill.id}`.",
            style="dim",
        )


def describe_job(view: JobView, now: datetime) -> RenderableType:
    job, detail = view.detail.job, view.detail
    text = _title(Path(job.input_path).name, job.status)
    _field(text, "input", job.input_path)
    _field(text, "parser", f"{job.parser_name} {job.parser_version}")
    _field(text, "attempts", str(job.attempts))
    _field(text, "took", duration(job.started_at, job.finished_at, now))
    if job.status == JobStatus.QUEUED and job.attempts:
        _field(text, "next try", when(job.next_attempt_at))
    if job.status == JobStatus.RUNNING:
        _field(text, "worker", job.claimed_by)
    _field(text, "ran on", job.ran_on)  # the Dask worker of its last attempt
    if job.rows_out is not None:
        _field(text, "rows", f"{job.rows_out:,} ({job.rows_quarantined or 0:,} quarantined)")
    if job.error_code is not None:
        text.append("\n")
        _field(text, "error", str(job.error_code), style="bold red")
        text.append(f"{job.error_message or ''}\n", style="red")
    _describe_fingerprint(text, job, view)
    _describe_lineage(text, job, detail)
    for letter in detail.dead_letters:
        replayed = f", replayed {when(letter.replayed_at)}" if letter.replayed_at else ""
        _field(text, "dead letter", f"{when(letter.moved_at)}: {letter.reason}{replayed}")
    parts: list[RenderableType] = [text]
    if detail.traceback:
        trace = detail.traceback.rstrip().splitlines()[-TRACE_LINES:]
        parts.append(_section("Trace", trace, style="red"))
    parts.append(_log_section(job, view))
    return Group(*parts)


def _describe_fingerprint(text: Text, job: JobRecord, view: JobView) -> None:
    if job.fingerprint is None:
        return
    line = job.fingerprint
    if view.error is not None:
        summary = view.error.summary
        line += (
            f" · {summary.occurrences:,} occurrence{'s' if summary.occurrences != 1 else ''}"
            f" across {summary.files:,} file{'s' if summary.files != 1 else ''}"
        )
    _field(text, "error id", line)
    others = [f for f in view.error_files if f.input_path != job.input_path][:OTHER_FILES]
    for other in others:
        text.append(f"{'':12}also {Path(other.input_path).name} ({other.occurrences}×)\n")


def _describe_lineage(text: Text, job: JobRecord, detail: JobDetail) -> None:
    if job.input_hash is None and not detail.outputs:
        return
    text.append("\n")
    _field(text, "lineage", f"{Path(job.input_path).name} → {job.parser_name} {job.parser_version}")
    if job.input_hash is not None:
        _field(text, "content", job.input_hash[:16])
    for name, output in detail.outputs.items():
        if isinstance(output, dict):
            location = output.get("location", "")
            _field(text, "output", f"{name}: {output.get('rows', 0):,} rows → {location}")
        else:
            _field(text, "output", f"{name}: {output}")


def _log_section(job: JobRecord, view: JobView) -> RenderableType:
    if view.log_path is None:
        unfinished = job.status in UNFINISHED
        return _section("Log", ["(no log lines yet)" if unfinished else "(nothing logged)"], "dim")
    title = "Log · following" if job.status == JobStatus.RUNNING else "Log"
    text = _section(title, [])
    text.append(f"logs/{view.log_path.parent.name}/{view.log_path.name}\n", style="dim")
    text.append("\n".join(view.log_tail or ["(empty)"]))
    return text


def describe_dead_letter(letter: DeadLetter) -> RenderableType:
    text = _title(Path(letter.input_path).name, JobStatus.DEAD_LETTER)
    _field(text, "input", letter.input_path)
    _field(text, "parser", f"{letter.parser_name} {letter.parser_version}")
    _field(text, "job", letter.job_id)
    _field(text, "retries", str(letter.retry_count))
    _field(text, "moved", when(letter.moved_at))
    _field(text, "reason", letter.reason)
    if letter.error_code is not None:
        _field(text, "error", str(letter.error_code), style="bold red")
        text.append(f"{letter.error_message or ''}\n", style="red")
    if letter.replayed_at:
        _field(text, "replayed", when(letter.replayed_at))
    else:
        text.append("\nr replays it: the job is queued again, its dead letter kept.", style="dim")
    return text


def _title(name: str, status: JobStatus) -> Text:
    icon, style = ICONS[status]
    text = Text()
    text.append(f"{icon} ", style=style)
    text.append(name, style="bold")
    text.append(f"  {WORDS[status]}\n\n", style=style)
    return text


def when(timestamp: str | None) -> str | None:
    """'2026-11-27 11:21:03' of a stored ISO-8601 UTC timestamp."""
    return None if timestamp is None else timestamp[:19].replace("T", " ")


def _field(text: Text, label: str, value: str | None, style: str = "") -> None:
    if value:
        text.append(f"{label:<11} ", style="dim")
        text.append(f"{value}\n", style=style)


def _section(title: str, lines: list[str], style: str = "") -> Text:
    text = Text(f"\n{title}\n", style="bold")
    text.append("\n".join(lines), style=style)
    return text
