"""Jobs: the runs of the job queue (one `process` invocation or daemon batch each), failed ones
first; Enter lists a run's jobs under it, and the detail pane shows the selected run, job or
dead letter in full (a running job's log followed live).

Keys: 1-4 filter (all, running, failed, pending); r retries (a failed job, a run's failed jobs,
a dead letter: replays it); c cancels (a job, a run's unfinished jobs), after a confirmation;
d shows the dead letters; p processes a tag's files; a asks the assistant about the selection.

Live: the queue publishes JobChanged for each job it changes. A burst is gathered for
COALESCE_SECS, then the runs are read again (one grouped query) and only the rows that changed
are redrawn; the expanded run's changed jobs are read by id and replaced by key. One burst is
applied at a time: changes arriving meanwhile wait for the next. Jobs changed by another process
(a daemon, `casparian process` in a shell) publish no JobChanged here; the service notices that
another connection committed (DataChanged from "another process", settings.change_poll_secs)
and the list is read again the same way, the expanded run's unfinished jobs by id. A screen
not shown drops the bursts: it reads the list afresh when shown again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import PurePath
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from casparian_core.api import (
    UNFINISHED,
    AssistantContext,
    BackfillRecord,
    DeadLetter,
    JobRecord,
    JobStatus,
    ProcessRequest,
    RunRecord,
    find_job_log,
    read_tail,
)
from casparian_core.errors import CasparianError
from casparian_core.events import DataChanged, Event, JobChanged
from casparian_tui.messages import ShowJob
from casparian_tui.screens.base import ModeScreen
from casparian_tui.screens.prompt import ConfirmPrompt
from casparian_tui.widgets.jobs_detail import JobDetailPane, JobView
from casparian_tui.widgets.jobs_list import SCROLLBAR_CELLS, JobsList
from casparian_tui.widgets.jobs_rows import (
    WORDS,
    Row,
    dead_letter_key,
    header,
    job_key,
    run_key,
    run_label,
)
from casparian_tui.widgets.jobs_tag_picker import TagPicker

if TYPE_CHECKING:
    from casparian_core.api import Processing, ProcessSummary
    from casparian_core.service import CoreService

COALESCE_SECS = 0.2  # a burst of job changes is applied at once, this long after its first
TICK_SECS = 1.0  # the times of running work on screen move on this often
OTHER_PROCESS = "another process"  # the origin of DataChanged when another connection commits
BACKFILL_ORIGIN = "backfill"  # a backfill moved on (its swap): backfill/run.py
FOLLOW_SECS = 1.0  # a running job's log tail is read again this often
LOG_LINES = 15
NARROW_BELOW = 100  # columns: the detail pane goes under the list
FAILED = frozenset({JobStatus.FAILED, JobStatus.DEAD_LETTER})
FILTERS: dict[str, frozenset[JobStatus] | None] = {
    "all": None,
    "running": frozenset({JobStatus.RUNNING}),
    "failed": FAILED,
    "pending": frozenset({JobStatus.QUEUED}),
}
WHY_FAILED = "Why did this job fail?"
EMPTY_TEXT = (
    "[b]No jobs yet[/b]\n\n"
    "Jobs appear here when the files of a tag are processed by the registered parsers bound to"
    " it: press [b]p[/b] to pick a tag, or run [b]casparian process[/b] in a shell."
)


class JobsHeader(Static):
    """The column titles, over the list's rows (which leave room for its scrollbar)."""

    dead_letters = False

    def render(self) -> Text:
        return header(self.size.width - SCROLLBAR_CELLS, dead_letters=self.dead_letters)


class JobsScreen(ModeScreen):
    MODE = "jobs"
    CSS_PATH = "../styles/jobs.tcss"
    BINDINGS = [  # noqa: RUF012
        # The filter line above the list shows the digits: the footer keeps room for the rest.
        Binding("1", "filter('all')", "All", show=False),
        Binding("2", "filter('running')", "Running", show=False),
        Binding("3", "filter('failed')", "Failed", show=False),
        Binding("4", "filter('pending')", "Pending", show=False),
        Binding("r", "retry", "Retry"),
        Binding("c", "cancel", "Cancel"),
        Binding("d", "dead_letters", "Dead letters"),
        Binding("p", "process", "Process a tag"),
        Binding("a", "ask_assistant", "Ask AI"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter = "all"
        self.dead_letter_view = False
        self.expanded: str | None = None  # the batch id of the run whose jobs are listed
        self._changed: set[str] = set()  # job ids changed since the last applied burst
        self._reread = False  # another process changed the database since then
        self._burst: Timer | None = None
        self._applying = False  # a burst is being applied
        self._follow: Timer | None = None
        self._view: JobView | None = None  # the job shown in the detail pane
        self._select_run: str | None = None  # a run started here: the cursor goes to it
        self._processing: tuple[Processing, asyncio.Future[ProcessSummary]] | None = None
        self._subscriptions: list[Callable[[], None]] = []

    @property
    def service(self) -> CoreService:
        return self.app.service

    def compose_body(self) -> ComposeResult:
        yield Static(id="jobs-filters")
        with Horizontal(id="jobs-body"):
            with Vertical(id="jobs-left"):
                yield JobsHeader(id="jobs-header")
                yield JobsList(self.service.clock, id="jobs-list")
                yield Static(EMPTY_TEXT, id="jobs-empty")
            yield JobDetailPane(id="jobs-detail")

    def on_mount(self) -> None:
        self._subscriptions = [
            self.service.subscribe(self._on_queue_event, JobChanged),
            self.service.subscribe(self._on_queue_event, DataChanged),
        ]
        self.set_interval(TICK_SECS, self._tick)
        self._show_filters({})
        self.load()

    async def on_unmount(self) -> None:
        for unsubscribe in self._subscriptions:
            unsubscribe()
        if self._processing is not None:  # the app quits (it asked first): stop the pool
            processing, running = self._processing
            processing.stop(abandon=True)
            await asyncio.wait([running])  # before the app's unmount closes the database

    def on_screen_resume(self) -> None:
        self.load()

    def on_resize(self, event: Resize) -> None:
        super().on_resize(event)
        self.set_class(event.size.width < NARROW_BELOW, "narrow")

    @property
    def jobs_list(self) -> JobsList:
        return self.query_one(JobsList)

    @property
    def shown_job(self) -> JobRecord | None:
        """The job the detail pane shows, once read."""
        return None if self._view is None else self._view.detail.job

    @property
    def detail_pane(self) -> JobDetailPane:
        return self.query_one(JobDetailPane)

    @property
    def statuses(self) -> frozenset[JobStatus] | None:
        return FILTERS[self.filter]

    # Loading the list.

    def on_show_job(self, message: ShowJob) -> None:
        """Another mode asks for one job (Inspect's producing job): its run, expanded, with the
        cursor on it, whatever filter or view was on."""
        self.reveal(message.job_id)

    @work(exclusive=True, group="jobs-load", exit_on_error=False)
    async def reveal(self, job_id: str) -> None:
        found = await self.service.queue.jobs_by_id([job_id])
        if not found:
            self.notify(f"Job {job_id} is not in the queue", severity="error")
            return
        self.filter, self.dead_letter_view = "all", False
        self.expanded = found[0].batch_id or ""
        await self._load()
        self.jobs_list.move_to(job_key(job_id))
        self.jobs_list.focus()

    @work(exclusive=True, group="jobs-load", exit_on_error=False)
    async def load(self) -> None:
        """Read the list afresh: on opening, on a filter or view change."""
        await self._load()

    async def _load(self) -> None:
        queue = self.service.queue
        if self.dead_letter_view:
            rows = [Row(dead_letter_key(d.id), d) for d in await queue.dead_letters()]
        else:
            runs = await queue.runs(self.statuses)
            if self.expanded is not None and self.expanded not in {r.batch_id for r in runs}:
                self.expanded = None
            rows = await self._rows_of(runs)
        self.jobs_list.set_rows(rows)
        column_titles = self.query_one(JobsHeader)
        column_titles.dead_letters = self.dead_letter_view
        column_titles.refresh()
        if self._select_run is not None and self.jobs_list.get(run_key(self._select_run)):
            self.jobs_list.move_to(run_key(self._select_run))
            self._select_run = None
        self._show_filters(await queue.counts())
        self._show_empty(not rows)

    async def _backfills(self) -> dict[str, BackfillRecord]:
        """The backfills by id: a run whose batch is one shows its swap as its last step."""
        return {record.id: record for record in await self.service.backfill.backfills()}

    async def _rows_of(self, runs: list[RunRecord]) -> list[Row]:
        rows: list[Row] = []
        backfills = await self._backfills()
        for run in runs:
            expanded = run.batch_id == self.expanded
            rows.append(Row(run_key(run.batch_id), run, expanded, backfills.get(run.batch_id)))
            if expanded:
                jobs = await self.service.queue.run_jobs(run.batch_id, self.statuses)
                rows.extend(Row(job_key(job.job_id), job) for job in jobs)
        return rows

    def _show_filters(self, counts: dict[JobStatus, int]) -> None:
        def count(statuses: frozenset[JobStatus] | None) -> int:
            return sum(n for s, n in counts.items() if statuses is None or s in statuses)

        parts = []
        for number, (name, statuses) in enumerate(FILTERS.items(), start=1):
            label = f"{number} {name.capitalize()} {count(statuses):,}"
            chosen = name == self.filter and not self.dead_letter_view
            parts.append(f"[reverse b] {label} [/]" if chosen else f" {label} ")
        letters = " d Dead letters "
        parts.append(f"[reverse b]{letters}[/]" if self.dead_letter_view else letters)
        self.query_one("#jobs-filters", Static).update(" ".join(parts))

    def _show_empty(self, empty: bool) -> None:
        message = self.query_one("#jobs-empty", Static)
        if self.dead_letter_view:
            message.update("[b]No dead letters[/b]\n\nJobs that fail for good land here.")
        elif self.filter != "all":
            message.update(f"[b]No {self.filter} jobs[/b]\n\nPress 1 to list all runs.")
        else:
            message.update(EMPTY_TEXT)
        message.display = empty
        for shown_with_rows in (self.jobs_list, self.query_one(JobsHeader), self.detail_pane):
            shown_with_rows.display = not empty

    # Live updates.

    class QueueEvent(Message, bubble=False):
        """A JobChanged or DataChanged, carried onto the app's loop (DataChanged comes from the
        event bus's coalescing timer thread)."""

        def __init__(self, event: Event) -> None:
            super().__init__()
            self.event = event

    def _on_queue_event(self, event: Event) -> None:
        self.post_message(self.QueueEvent(event))  # thread-safe

    def on_jobs_screen_queue_event(self, message: QueueEvent) -> None:
        event = message.event
        if isinstance(event, JobChanged):
            self._changed.add(event.job_id)
        elif isinstance(event, DataChanged) and (
            OTHER_PROCESS in event.origin or BACKFILL_ORIGIN in event.origin
        ):
            self._reread = True
        else:
            return
        self._schedule()

    def _schedule(self) -> None:
        if self._burst is None and not self._applying:
            self._burst = self.set_timer(COALESCE_SECS, self._apply_burst)

    def _apply_burst(self) -> None:
        self._burst = None
        changed, self._changed = self._changed, set()
        reread, self._reread = self._reread, False
        if self.is_current:  # otherwise the list is read afresh when shown again
            self._applying = True
            self.apply_changes(changed, reread=reread)

    def _tick(self) -> None:
        if self.is_current and any(
            isinstance(row.item, RunRecord) and row.item.running for row in self.jobs_list.rows
        ):
            self.jobs_list.refresh_visible()  # running work's times move on

    @work(group="jobs-live", exit_on_error=False)
    async def apply_changes(self, job_ids: set[str], *, reread: bool = False) -> None:
        """Bring the list up to date after `job_ids` changed, or (`reread`) after another
        process changed the queue: rows whose content changed are replaced by key, redrawn
        only if on screen. Then the changes that came meanwhile, if any, are scheduled."""
        try:
            await self._apply(job_ids, reread)
        finally:
            self._applying = False
            if self._changed or self._reread:
                self._schedule()

    async def _apply(self, job_ids: set[str], reread: bool) -> None:
        queue = self.service.queue
        if self.dead_letter_view:
            letters = await queue.dead_letters()
            self._update(Row(dead_letter_key(d.id), d) for d in letters)
            self._show_filters(await queue.counts())
            return
        runs = await queue.runs(self.statuses)
        listed = [row for row in self.jobs_list.rows if row.key.startswith("run:")]
        if [row.key for row in listed] != [run_key(run.batch_id) for run in runs]:
            self.load()  # a new run, or one moved up (it failed): the list is laid out again
            return
        backfills = await self._backfills()
        for old, run in zip(listed, runs, strict=True):
            backfill = backfills.get(run.batch_id)
            if old.item != run or old.backfill != backfill:
                self.jobs_list.replace(Row(old.key, run, old.expanded, backfill))
                if old.expanded and reread:  # no ids from another process: its unfinished
                    job_ids = job_ids | self._unfinished_listed()
        if self.expanded is not None and job_ids:
            jobs = await queue.jobs_by_id(sorted(job_ids))
            self._update_jobs([job for job in jobs if (job.batch_id or "") == self.expanded])
        self._show_filters(await queue.counts())
        self._show_empty(not self.jobs_list.rows)

    def _update(self, rows: Iterable[Row]) -> None:
        fresh = list(rows)
        if [row.key for row in fresh] != [row.key for row in self.jobs_list.rows]:
            self.jobs_list.set_rows(fresh)
            self._show_empty(not fresh)
            return
        for row in fresh:
            if self.jobs_list.get(row.key) != row:
                self.jobs_list.replace(row)

    def _update_jobs(self, jobs: list[JobRecord]) -> None:
        added: list[Row] = []
        for job in jobs:
            row = Row(job_key(job.job_id), job)
            listed = self.jobs_list.get(row.key)
            if listed is None:
                if self.statuses is None or job.status in self.statuses:
                    added.append(row)
            elif listed != row:
                self.jobs_list.replace(row)
        if added and self.expanded is not None:
            self.jobs_list.insert_after(self._last_of_expanded(), added)

    def _unfinished_listed(self) -> set[str]:
        return {
            row.item.job_id
            for row in self.jobs_list.rows
            if isinstance(row.item, JobRecord) and row.item.status in UNFINISHED
        }

    def _last_of_expanded(self) -> str:
        """The key of the expanded run's last listed job (its own key when none is listed)."""
        assert self.expanded is not None
        rows, last = self.jobs_list.rows, run_key(self.expanded)
        for row in rows[self.jobs_list.index_of(last) + 1 :]:
            if not isinstance(row.item, JobRecord):
                break
            last = row.key
        return last

    # Expanding a run, and the detail pane.

    async def on_jobs_list_selected(self, message: JobsList.Selected) -> None:
        item = message.row.item
        if isinstance(item, RunRecord):
            await self._toggle(item)

    async def _toggle(self, run: RunRecord) -> None:
        jobs_list = self.jobs_list
        if self.expanded is not None:
            jobs_list.remove_rows([r.key for r in jobs_list.rows if r.key.startswith("job:")])
            previous = jobs_list.get(run_key(self.expanded))
            if previous is not None:
                jobs_list.replace(replace(previous, expanded=False))
        if self.expanded == run.batch_id:
            self.expanded = None
            return
        self.expanded = run.batch_id
        key = run_key(run.batch_id)
        jobs = await self.service.queue.run_jobs(run.batch_id, self.statuses)
        listed = jobs_list.get(key)
        jobs_list.replace(Row(key, run, True, None if listed is None else listed.backfill))
        jobs_list.insert_after(key, [Row(job_key(job.job_id), job) for job in jobs])
        if jobs:
            jobs_list.move_to(job_key(jobs[0].job_id))

    def on_jobs_list_highlighted(self, message: JobsList.Highlighted) -> None:
        self.show_detail(message.row)

    @work(exclusive=True, group="jobs-detail", exit_on_error=False)
    async def show_detail(self, row: Row | None) -> None:
        pane = self.detail_pane
        self._view = None
        self._stop_following()
        item = None if row is None else row.item
        if isinstance(item, RunRecord):
            pane.show_run(item, self.service.clock(), row.backfill if row is not None else None)
        elif isinstance(item, DeadLetter):
            pane.show_dead_letter(item)
        elif isinstance(item, JobRecord):
            self._view = await self._read_job(item.job_id)
            pane.show_job(self._view, self.service.clock())
            if self._view.detail.job.status == JobStatus.RUNNING:
                self._follow = self.set_interval(FOLLOW_SECS, self._follow_log)

    async def _read_job(self, job_id: str) -> JobView:
        queue = self.service.queue
        detail = await queue.job(job_id)
        error, files = None, []
        if detail.job.fingerprint is not None:
            error = await queue.error(detail.job.fingerprint)
            files = await queue.error_files(detail.job.fingerprint)
        log_path = await asyncio.to_thread(find_job_log, self.service.settings.logs_dir, job_id)
        tail = [] if log_path is None else await asyncio.to_thread(read_tail, log_path, LOG_LINES)
        return JobView(detail, error, files, log_path, tail)

    def _follow_log(self) -> None:
        self.follow_log()

    @work(exclusive=True, group="jobs-follow", exit_on_error=False)
    async def follow_log(self) -> None:
        """Read the shown running job's log again; redraw the pane only when it changed."""
        shown = self._view
        if shown is None:
            return
        fresh = await self._read_job(shown.detail.job.job_id)
        if self._view is not shown or fresh == shown:
            return
        self._view = fresh
        self.detail_pane.show_job(fresh, self.service.clock())
        if fresh.detail.job.status != JobStatus.RUNNING:
            self._stop_following()

    def _stop_following(self) -> None:
        if self._follow is not None:
            self._follow.stop()
            self._follow = None

    # Filters and views.

    def action_filter(self, name: str) -> None:
        self.filter = name
        self.dead_letter_view = False
        self.load()

    def action_dead_letters(self) -> None:
        self.dead_letter_view = not self.dead_letter_view
        self.load()

    def action_back(self) -> None:
        if self.dead_letter_view:
            self.action_dead_letters()
        elif self.expanded is not None:
            self.collapse()

    @work(exclusive=True, group="jobs-toggle", exit_on_error=False)
    async def collapse(self) -> None:
        row = self.jobs_list.get(run_key(self.expanded or ""))
        if row is not None and isinstance(row.item, RunRecord):
            await self._toggle(row.item)
            self.jobs_list.move_to(row.key)

    # Retry, cancel, replay.

    def action_retry(self) -> None:
        row = self.jobs_list.highlighted
        if row is None:
            self.notify("Nothing to retry here")
            return
        self.retry(row)

    @work(group="jobs-act", exit_on_error=False)
    async def retry(self, row: Row) -> None:
        queue, item = self.service.queue, row.item
        if isinstance(item, DeadLetter):
            await queue.replay(item.job_id)
            self.notify(f"{_name(item.input_path)} is queued again from the dead letters")
        elif isinstance(item, JobRecord):
            await queue.retry(item.job_id)
            self.notify(f"{_name(item.input_path)} is queued again")
        else:
            failed = await queue.run_jobs(item.batch_id, FAILED)
            for job in failed:
                await queue.retry(job.job_id)
            label = run_label(item.batch_id)
            if failed:
                self.notify(f"{_count(len(failed), 'failed job')} of {label} queued again")
            else:
                self.notify(f"{label} has no failed job to retry")

    def action_cancel(self) -> None:
        row = self.jobs_list.highlighted
        if row is None or isinstance(row.item, DeadLetter):
            self.notify("Pick a pending or running job, or a run, to cancel")
            return
        self.cancel(row)

    @work(exclusive=True, group="jobs-cancel", exit_on_error=False)
    async def cancel(self, row: Row) -> None:
        queue, item = self.service.queue, row.item
        if isinstance(item, JobRecord):
            if item.status not in UNFINISHED:
                self.notify("Only a pending or running job can be cancelled")
                return
            targets = [item]
            question = f"Cancel the {_status_word(item.status)} job of {_name(item.input_path)}?"
        else:
            assert isinstance(item, RunRecord)
            targets = await queue.run_jobs(item.batch_id, UNFINISHED)
            if not targets:
                self.notify(f"{run_label(item.batch_id)} has no pending or running job")
                return
            question = (
                f"Cancel the {len(targets):,} pending and running jobs of"
                f" {run_label(item.batch_id)}?"
            )
        question += " A running job's parser is stopped and nothing of it is kept."
        if not await self.app.push_screen_wait(ConfirmPrompt(question, "Stop them")):
            return
        for job in targets:
            await queue.cancel(job.job_id)
        self.notify(f"{_count(len(targets), 'job')} cancelled")

    # Processing a tag's files.

    def action_process(self) -> None:
        self.pick_and_process()

    @work(exclusive=True, group="jobs-pick", exit_on_error=False)
    async def pick_and_process(self) -> None:
        tags = (await self.service.scout.tags()).tags
        if not tags:
            self.notify("No tagged files yet: tag files in Discover (Alt+d) first")
            return
        tag = await self.app.push_screen_wait(TagPicker(tags))
        if tag is not None:
            self.process_tag(tag)

    @work(exclusive=True, group="jobs-process", exit_on_error=False)
    async def process_tag(self, tag: str) -> None:
        processing = self.service.processing(ProcessRequest(tag=tag))
        planned = await processing.prepare()
        if not planned.requests:
            self.notify(
                f"Nothing to process for tag {tag}: no registered parser has it as a topic,"
                " or its files were processed by their parsers' latest versions"
            )
            return
        self.notify(f"Processing {_count(len(planned.requests), 'file')} tagged {tag}")
        self._select_run = planned.batch_id
        self.load()
        running = asyncio.ensure_future(processing.run())
        self._processing = (processing, running)
        try:
            # Shielded: quitting stops the pool (on_unmount: running jobs released, nothing
            # of them kept) rather than abandoning its workers mid-write.
            summary = await asyncio.shield(running)
        finally:
            if running.done():  # else this worker was cancelled: on_unmount stops the pool
                self._processing = None
        counts = summary.counts
        done = ", ".join(f"{n:,} {_status_word(s)}" for s, n in sorted(counts.items()))
        self.notify(
            f"Tag {tag} processed: {done}", severity="error" if summary.failed else "information"
        )

    # The assistant.

    def assistant_context(self) -> AssistantContext:
        """The selected run, job (its error, fingerprint, trace and log tail) or dead letter."""
        row = self.jobs_list.highlighted if self.is_mounted else None
        item = None if row is None else row.item
        if isinstance(item, RunRecord):
            selection = {
                "run": item.batch_id,
                "parser": ",".join(item.parsers),
                "run_status": str(item.status),
                "run_counts": f"{item.done}/{item.total} done, {item.failed} failed",
            }
            return AssistantContext(self.MODE, selection)
        if isinstance(item, DeadLetter):
            selection = {
                "job_id": item.job_id,
                "parser": item.parser_name,
                "file": item.input_path,
                "dead_letter": item.reason,
            }
            return AssistantContext(self.MODE, selection, item.error_message)
        view = self._view
        if isinstance(item, JobRecord) and view is not None:
            return AssistantContext(self.MODE, _job_selection(view), _job_detail(view))
        return AssistantContext(self.MODE)

    async def action_ask_assistant(self) -> None:
        row = self.jobs_list.highlighted
        failed = row is not None and isinstance(row.item, JobRecord) and row.item.status in FAILED
        await self.open_assistant(WHY_FAILED if failed else None)

    # Keys and errors.

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            # Nothing to step back from: Esc falls through to the app's (Home).
            return self.dead_letter_view or self.expanded is not None
        return super().check_action(action, parameters)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR or not event.worker.group.startswith("jobs-"):
            return
        error = event.worker.error
        message = (
            str(error)
            if isinstance(error, CasparianError)
            else f"unexpected error ({type(error).__name__}): {error}"
        )
        self.notify(message, title="Jobs", severity="error", timeout=15)
        self.load()


def _job_selection(view: JobView) -> dict[str, str]:
    job = view.detail.job
    selection = {
        "job_id": job.job_id,
        "parser": job.parser_name,
        "parser_version": job.parser_version,
        "file": job.input_path,
        "job_status": str(job.status),
        "attempts": str(job.attempts),
    }
    if job.batch_id:
        selection["run"] = job.batch_id
    if job.error_code is not None:
        selection["error_code"] = str(job.error_code)
    if job.fingerprint is not None:
        selection["fingerprint"] = job.fingerprint
    return selection


def _job_detail(view: JobView) -> str | None:
    """The job's failure as the model reads it: error, fingerprint's spread, trace, log tail."""
    job, parts = view.detail.job, []
    if job.error_code is not None:
        parts.append(f"Job {job.job_id} failed with {job.error_code}: {job.error_message}")
    if view.error is not None:
        summary = view.error.summary
        files = ", ".join(f.input_path for f in view.error_files[:10])
        parts.append(
            f"Its error fingerprint {summary.fingerprint} occurred {summary.occurrences} times"
            f" across {summary.files} files ({files})"
        )
    if view.detail.traceback:
        parts.append(f"Traceback:\n{view.detail.traceback.rstrip()}")
    if view.log_tail:
        parts.append("The end of its log:\n" + "\n".join(view.log_tail))
    return "\n\n".join(parts) or None


def _name(path: str) -> str:
    return PurePath(path).name


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _status_word(status: str) -> str:
    """A job status as the list words it; another outcome (SKIPPED) in lower case."""
    words: dict[str, str] = {str(s): word for s, word in WORDS.items()}
    return words.get(status, status.lower())
