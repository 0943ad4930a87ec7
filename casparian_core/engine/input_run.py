"""`InputRun`: one parser on one input — its job, its outputs' writers and its atomic commit.

`start` hashes the input and sends its job to the guest; `finish` receives the job's data,
handing each table to the output's `OutputWriter`, and gives every part to the sink to commit
together; `settle` waits for that commit. A failure anywhere aborts every part of the input, so
nothing partial is ever published.
"""

from __future__ import annotations

import dataclasses
import functools
import time
import uuid
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING

from casparian_core import stage_times
from casparian_core.bridge import protocol
from casparian_core.bridge.host import GuestProcess, JobOutcome
from casparian_core.engine import errors
from casparian_core.engine.inputs import hash_file, part_key
from casparian_core.engine.output_writer import InputParts, OutputWriter
from casparian_core.engine.results import InputItem, OutputResult, RunResult, RunStatus
from casparian_core.engine.suggestions import suggest
from casparian_core.errors import CasparianError, ErrorCode
from casparian_core.parsers.metadata import ParserInfo
from casparian_core.scout.names import display_text
from casparian_core.sinks import PartInfo, PartWriter, Sink

if TYPE_CHECKING:
    import pyarrow as pa


class InputRun:
    def __init__(
        self, info: ParserInfo, item: InputItem, sink: Sink, *, force: bool, preview_rows: int
    ) -> None:
        self.item = item
        self.job_id = item.job_id or uuid.uuid4().hex
        self._info = info
        self._sink = sink
        self._force = force
        self._preview_rows = preview_rows
        self._part_key = part_key(item.input_key)
        self._part_info = PartInfo(item.input_key, "", info.version)  # hash known at start
        self._writers: dict[str, OutputWriter] = {}
        self._result = RunResult(info.name, info.version, item.path, RunStatus.FAILED, self.job_id)
        self._started_at: float | None = None
        self._file_state: tuple[int, ...] = ()  # before hashing; compared after the job
        self.job_sent = False
        self._settled = False  # known without a job: unreadable, skipped or cancelled
        self._commit_done: Future[None] | None = None
        self._data_secs = 0.0  # in `_on_data`: what the guest's round trip does not count

    @property
    def part_key(self) -> str:
        """Names this input's parts in every output (from its input key)."""
        return self._part_key

    @property
    def cancelled(self) -> bool:
        return self.item.cancel is not None and self.item.cancel.is_set()

    def start(self, guest: GuestProcess, busy_part_key: str = "") -> None:
        """Hash the input and send its job, unless the input is unreadable or already done.
        Does nothing when called again, or when the part key is `busy_part_key` (whether this
        input is already done depends on the commit of that part, still in progress)."""
        if self._started_at is None:
            self._started_at = time.perf_counter()
            try:
                self._file_state = _file_state(self.item.path)
                self._result.input_bytes = self._file_state[0]
                with stage_times.stage("hash"):
                    source_hash = hash_file(self.item.path)
            except OSError as exc:
                code = _input_error_code(exc)
                self._fail(code, f"{self.item.path}: cannot read the input ({exc.strerror})")
                self._settled = True
                return
            self._part_info = dataclasses.replace(self._part_info, source_hash=source_hash)
        if self.job_sent or self._settled or self._part_key == busy_part_key:
            return
        declared = self._info.declared_outputs
        if declared and not self._force and self._already_done(declared):
            self._result.status = RunStatus.SKIPPED
            self._result.outputs = [
                OutputResult(name, self._sink.location(name), skipped=True) for name in declared
            ]
            self._settled = True
            return
        job = protocol.Job(
            self.job_id,
            str(self._info.path),
            str(self.item.path),
            self._info.default_output,
            self._info.class_name,
            self._info.timeout_secs,
        )
        guest.start_job(job, self.item.cancel)
        self.job_sent = True

    def unsend(self) -> None:
        """The guest holding this run's job was abandoned: `start` sends it again."""
        self.job_sent = False

    def cancel(self) -> None:
        """Settle as cancelled without running (or after abandoning the guest that ran it)."""
        self._abort()
        self._result.status = RunStatus.CANCELLED
        self._result.outputs = []
        self._settled = True
        self.job_sent = False

    def finish(self, guest: GuestProcess) -> RunResult:
        """Receive the job's data and hand its parts to the sink to commit. The result is final
        once `settle` returns it."""
        try:
            if self.job_sent:
                self._receive_and_commit(guest)
        finally:
            if self._started_at is not None:
                self._result.duration_s = time.perf_counter() - self._started_at
        return self._result

    def committed(self) -> bool:
        """Whether `settle` would return without waiting."""
        return self._commit_done is None or self._commit_done.done()

    def settle(self) -> RunResult:
        """The final result: waits for the sink to finish this input's commit."""
        if self._commit_done is not None:
            try:
                self._commit_done.result()
            except CasparianError as exc:
                code = exc.error_code
                self._fail(code, str(exc), suggestion=suggest(code, exc))
        return self._result

    def _receive_and_commit(self, guest: GuestProcess) -> None:
        result = self._result
        try:
            received = time.perf_counter()
            outcome = guest.finish_job(self._on_data, self.item.cancel, self._forget_received)
            stage_times.add("guest round trip", time.perf_counter() - received - self._data_secs)
            if outcome.ok:
                self._check_unchanged()
                for writer in self._writers.values():
                    writer.check_quarantine_limit(self.item.path)
                self._commit()
        except CasparianError as exc:
            self._abort()
            code = exc.error_code
            self._fail(code, str(exc), suggestion=suggest(code, exc))
            result.transient = isinstance(exc, errors.InputChangedError)
        except BaseException:
            self._abort()  # Ctrl+C or a bug: still, nothing half-written is left behind
            raise
        else:
            if outcome.ok:
                warned = any(writer.result.quarantined for writer in self._writers.values())
                result.status = RunStatus.COMPLETED_WITH_WARNINGS if warned else RunStatus.COMPLETED
            else:
                self._abort()
                self._fail_from_outcome(outcome)
        result.outputs = self._output_results()
        if not result.ok:
            for output in result.outputs:
                output.roll_back()

    def _check_unchanged(self) -> None:
        """The rows were parsed from the file whose hash the lineage records only if the file
        did not change between the hash and the end of the parse."""
        try:
            now = _file_state(self.item.path)
        except OSError:
            now = ()
        if now != self._file_state:
            raise errors.InputChangedError(
                f"{self.item.path}: the file changed while it was parsed, so its rows may not "
                "match its recorded content; nothing was written, run it again"
            )

    def _already_done(self, outputs: list[str]) -> bool:
        """Whether every output holds this input's part from the same content and parser
        version (a part of another content or version is replaced by this run)."""
        return all(
            self._sink.committed(name, self._part_key) == self._part_info for name in outputs
        )

    def _on_data(self, output: str, table: pa.Table) -> None:
        start = time.perf_counter()
        writer = self._writers.get(output) or self._open_output(output, table)
        writer.write(table)
        self._data_secs += time.perf_counter() - start

    def _open_output(self, output: str, first: pa.Table) -> OutputWriter:
        from casparian_core.contracts.validate import infer_spec

        if self._info.outputs is None:
            spec, inferred = infer_spec(first, output), True
        elif output in self._info.outputs:
            spec, inferred = self._info.outputs[output], False
        else:
            raise errors.UndeclaredOutputError(
                f"{self._info.path}: parse yielded output '{output}', which `outputs` does not "
                f"declare (declared: {', '.join(self._info.outputs)}); declare it or rename it"
            )
        writer = OutputWriter.open(output, spec, inferred, self._parts, self._preview_rows)
        self._writers[output] = writer
        return writer

    @functools.cached_property
    def _parts(self) -> InputParts:
        from casparian_core.contracts.lineage import lineage, quarantine_context

        info = self._info
        return InputParts(
            self._sink,
            self._part_key,
            self._part_info,
            lineage(
                source_hash=self._part_info.source_hash,
                job_id=self.job_id,
                parser=info.name,
                parser_version=info.version,
            ),
            quarantine_context(
                source_path=display_text(str(self.item.path)),  # \xNN: bytes not UTF-8
                job_id=self.job_id,
                parser=info.name,
                parser_version=info.version,
            ),
        )

    def _commit(self) -> None:
        """Hand every part of this input to the sink to publish together. A rerun must replace
        what an earlier run wrote, so each declared output that got no rows this time gets an
        empty part (which also marks the input done), or, when its schema is not known (an
        inferred output), loses its old part."""
        parts: list[PartWriter] = []
        specs = self._info.outputs or {}
        try:
            for name in self._info.declared_outputs:
                if name in self._writers:
                    continue
                if name in specs:
                    parts.append(self._parts.begin(name, specs[name]))
                elif self._parts.has_part(name):
                    parts.append(self._sink.begin_removal(name, self._part_key))
            for writer in self._writers.values():
                parts.extend(writer.parts_to_commit())
        except BaseException:
            for part in parts:
                part.abort()  # the empty replacements; the outputs' own parts are aborted too
            raise
        with stage_times.stage("encode and hand to the sink"):
            self._commit_done = self._sink.commit_together(parts)

    def _forget_received(self) -> None:
        """The job runs again from its start (see GuestProcess.finish_job): drop its data."""
        self._abort()
        self._writers.clear()

    def _abort(self) -> None:
        for writer in self._writers.values():
            writer.abort()

    def _output_results(self) -> list[OutputResult]:
        results = [writer.final_result() for writer in self._writers.values()]
        specs = self._info.outputs or {}
        for name in self._info.declared_outputs:
            if name not in self._writers:
                results.append(OutputResult(name, self._sink.location(name), spec=specs.get(name)))
        return results

    def _fail(self, code: ErrorCode, message: str, suggestion: str | None = None) -> None:
        """The input failed: nothing of it is committed, so its counts move to rolled back."""
        result = self._result
        result.status = RunStatus.FAILED
        result.error_code = code
        result.error_message = message
        result.suggestion = suggestion or suggest(code)
        for output in result.outputs:
            output.roll_back()

    def _fail_from_outcome(self, outcome: JobOutcome) -> None:
        result = self._result
        assert outcome.error_code is not None  # the outcome is a failure
        self._fail(outcome.error_code, outcome.message or "the parser failed")
        result.traceback = outcome.traceback
        if outcome.error_code == ErrorCode.CANCELLED:
            result.status = RunStatus.CANCELLED
            result.suggestion = None
        else:
            result.transient = outcome.exit_code == protocol.ExitClass.TRANSIENT


def _file_state(path: Path) -> tuple[int, ...]:
    """What changes when a file is written or replaced: size, modification time, identity."""
    stat = path.stat()
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev)


def _input_error_code(exc: OSError) -> ErrorCode:
    if isinstance(exc, FileNotFoundError):
        return ErrorCode.FILE_NOT_FOUND
    if isinstance(exc, PermissionError):
        return ErrorCode.PERMISSION_ERROR
    return ErrorCode.INPUT_ERROR
