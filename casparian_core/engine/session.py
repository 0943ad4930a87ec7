"""`ParserSession`: one parser version, one warm guest, one sink; inputs submitted one at a time.

The engine's unit of work (DESIGN §2 rule 6). `casparian run`, Parser Bench and the queue workers
all feed sessions: `submit` an input, read `results()` in submission order, `close()`.

How the work is paced: each `submit` sends the new input's job to the guest at once, then
receives, validates and commits the inputs submitted before it, so the guest always parses the
next input while the host validates and writes the current one. At most two jobs are in the guest
and at most one input's data is in the host between calls (backpressure: `submit` returns when
the older inputs are handed to the sink, whose own commits are bounded). A sink may finish a
commit in the background; an input's result is final, and yielded, once its commit is done.
A guest that dies holding two jobs has the older one run again alone (GuestProcess.finish_job's
`on_retry`). One thread drives a session at a time.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from pathlib import Path

from casparian_core.bridge.host import GuestProcess
from casparian_core.config import Settings
from casparian_core.contracts.errors import ContractError
from casparian_core.engine import errors
from casparian_core.engine.input_run import InputRun
from casparian_core.engine.results import InputItem, RunResult, RunStatus, SessionLogCallback
from casparian_core.engine.suggestions import suggest
from casparian_core.errors import CasparianError
from casparian_core.parsers.metadata import ParserInfo, ParserLoadError, read_parser_info
from casparian_core.sinks import Sink


class ParserSession:
    """Runs one parser on inputs submitted one at a time, with one warm guest and one sink.

    The session owns the sink it is given and closes it. `on_log(job_id, level, text)`
    receives the log lines no input's own `on_log` takes (job_id is None for lines not tied to
    a job, such as the guest's start-up), possibly from another thread. `cancel` stops every
    input (each may also carry its own event). Raises VenvError when `venv` is not one; a
    parser that cannot be loaded fails each submitted input instead.
    """

    def __init__(
        self,
        parser_path: Path,
        settings: Settings,
        sink: Sink,
        *,
        venv: Path | None = None,
        inherit_stdio: bool = False,
        force: bool = False,
        preview_rows: int = 10,
        on_log: SessionLogCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.parser_path = Path(parser_path)
        self.sink = sink
        self._settings = settings
        self._venv = venv
        self._inherit_stdio = inherit_stdio
        self._force = force
        self._preview_rows = preview_rows
        self._on_log = on_log
        self._cancel = cancel
        self._info: ParserInfo | None = None
        self._unusable: CasparianError | None = None
        try:
            self._info = read_parser_info(self.parser_path)
        except (ParserLoadError, ContractError) as exc:
            self._unusable = exc
        check_venv(venv)
        self._guest = self._new_guest()
        self._routes: dict[str, InputRun] = {}  # job id -> its run, for its log lines
        self._pending: deque[InputRun] = deque()  # submitted, not yet finished
        self._finished: deque[InputRun | RunResult] = deque()  # in order, not yet yielded
        self._validation_imported = False
        self._closed = False

    @property
    def info(self) -> ParserInfo | None:
        """The parser's metadata (None when it cannot be loaded)."""
        return self._info

    @property
    def guest_pid(self) -> int | None:
        """The running guest's process id (None before it starts): what a pool measures to
        recycle a guest that grew too big."""
        return self._guest.pid

    def submit(self, item: InputItem) -> None:
        """Send the input's job to the guest, then finish the inputs submitted before it."""
        if self._closed:
            raise RuntimeError("submit() after close()")
        if self._info is None:
            assert self._unusable is not None
            self._finished.append(_unusable_parser(self.parser_path, item.path, self._unusable))
            return
        if self._cancel is not None and item.cancel is None:
            item = InputItem(item.path, item.input_key, item.job_id, item.on_log, self._cancel)
        run = InputRun(
            self._info, item, self.sink, force=self._force, preview_rows=self._preview_rows
        )
        self._routes[run.job_id] = run
        self._pending.append(run)
        self._guest.launch()  # it starts (Python, pyarrow) while the input is hashed
        self._advance(keep=1)
        if not run.cancelled:
            previous = self._pending[-2].part_key if len(self._pending) > 1 else ""
            run.start(self._guest, busy_part_key=previous)

    def results(self, wait: bool = True) -> Iterator[RunResult]:
        """The results of the submitted inputs, in submission order, each once final (its
        commit done). With `wait`, finishes every submitted input and yields all their
        results; without, yields only those already final."""
        if wait:
            self._advance(keep=0)
        while self._finished:
            head = self._finished[0]
            if isinstance(head, InputRun) and not (wait or head.committed()):
                return
            self._finished.popleft()
            if isinstance(head, RunResult):
                yield head
                continue
            self._routes.pop(head.job_id, None)
            yield head.settle()

    def close(self) -> None:
        """Stop the guest and close the sink (finishing the commits handed to it). Inputs not
        finished yet are dropped: call `results()` first to have them all."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._pending:
                self._guest.kill()
            else:
                self._guest.close()
            for run in self._pending:
                run.cancel()
            self._pending.clear()
        finally:
            self.sink.close()

    def __enter__(self) -> ParserSession:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        if exc_type is not None:
            self._guest.kill()  # a job may still be running: waiting for it is wasted
        self.close()

    def _advance(self, keep: int) -> None:
        """Finish the pending inputs but the newest `keep`, oldest first, each one's successor
        started (its job sent) before the oldest's data is received."""
        while len(self._pending) > keep:
            run = self._pending[0]
            successor = self._pending[1] if len(self._pending) > 1 else None
            try:
                self._finish(run, successor)
            except BaseException:
                self._pending.popleft()
                self._abandon_guest()  # Ctrl+C or a bug: the jobs sent ahead are unwanted
                raise
            self._pending.popleft()
            self._finished.append(run)

    def _finish(self, run: InputRun, successor: InputRun | None) -> None:
        if run.cancelled:
            if run.job_sent:
                self._abandon_guest()  # it may already be parsing this input, started early
            run.cancel()
            return
        run.start(self._guest)
        if successor is not None and not successor.cancelled:
            # The guest parses the next input while this one's data is validated and written;
            # its commit may decide whether the next one is skipped.
            successor.start(self._guest, busy_part_key=run.part_key)
        if not self._validation_imported:
            _import_validation()
            self._validation_imported = True
        run.finish(self._guest)

    def _abandon_guest(self) -> None:
        """Kill the guest and start afresh with a new one: the jobs it held are sent again by
        their inputs' `start` (or never, when cancelled)."""
        self._guest.kill()
        self._guest = self._new_guest()
        for run in self._pending:
            run.unsend()

    def _new_guest(self) -> GuestProcess:
        return GuestProcess(
            self._settings,
            venv=self._venv,
            inherit_stdio=self._inherit_stdio,
            on_log=self._route_log,
        )

    def _route_log(self, job_id: str | None, level: int, text: str) -> None:
        """A line goes to its input's callback when it names its job; otherwise to the
        session's, or, without one, to the oldest unfinished input's (a guest that does not
        name jobs yet serves Parser Bench one input at a time)."""
        run = self._routes.get(job_id) if job_id is not None else None
        if run is None and self._on_log is not None:
            self._on_log(job_id, level, text)
            return
        if run is None and self._pending:
            run = self._pending[0]
        if run is not None and run.item.on_log is not None:
            run.item.on_log(level, text)
        elif self._on_log is not None:
            self._on_log(job_id, level, text)


def check_venv(venv: Path | None) -> None:
    if venv is not None and not (venv / "bin" / "python").exists():
        raise errors.VenvError(
            f"{venv} is not a virtual environment (no bin/python): create one with "
            "`python -m venv` and install pyarrow and pyzmq into it"
        )


def _import_validation() -> None:
    """Import what validating a batch needs (pyarrow.compute, the contracts) while the guest
    parses the first input (the host would only wait for its first batch), rather than when that
    batch arrives. Before the job is sent, the host's own work (opening the sink, hashing) is
    what the guest waits for: importing there would delay it. Not pandas, which pyarrow imports
    on its first conversion of a Python value: a batch that arrives in its contract's types
    never converts one (see contracts/lineage.py), and importing it cost ~0.15 s of CPU."""
    from casparian_core.contracts import lineage, validate  # noqa: F401


def _unusable_parser(parser_path: Path, input_path: Path, exc: CasparianError) -> RunResult:
    code = exc.error_code
    return RunResult(
        parser_name=parser_path.stem,
        parser_version="",
        input_path=input_path,
        status=RunStatus.FAILED,
        error_code=code,
        error_message=str(exc),
        suggestion=suggest(code, exc),
    )
