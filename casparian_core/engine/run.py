"""run_parser: one parser over one or more inputs, through the bridge, validation and a sink.

For each input: hash it, skip it when its output exists (unless forced), send the job to the
guest, validate every batch as it arrives, stream valid rows (with lineage) and quarantined rows
into sink parts, and commit those parts only when the guest reports success. Any failure aborts
every part of that input, so no partial output is ever committed. The next input's job is sent
right after the current one's, so the warm guest parses it while the host validates and writes
the current one; a sink may finish a commit in the background, and an input's result is
reported once its commit is done.
"""

from __future__ import annotations

import functools
import gc
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from casparian_core.bridge import protocol
from casparian_core.bridge.host import GuestProcess, JobOutcome, LogCallback
from casparian_core.config import Settings
from casparian_core.contracts.errors import ContractError
from casparian_core.contracts.model import QUARANTINE_SUFFIX, OutputSpec
from casparian_core.engine import errors
from casparian_core.engine.inputs import hash_file, part_key
from casparian_core.engine.results import OutputResult, RunOptions, RunResult, RunStatus
from casparian_core.engine.suggestions import suggest
from casparian_core.errors import CasparianError
from casparian_core.parsers.metadata import ParserInfo, ParserLoadError, read_parser_info
from casparian_core.scout.names import display_text
from casparian_core.sinks import PartWriter, Sink, open_sink

if TYPE_CHECKING:
    import pyarrow as pa

    from casparian_core.contracts.lineage import ConstantColumns

ResultCallback = Callable[[RunResult], None]
DEV_OUTPUT_DIR = "output"  # the default sink: parquet://<current folder>/output


def run_parser(
    parser_path: Path,
    inputs: Sequence[Path],
    settings: Settings,
    options: RunOptions,
    *,
    on_log: LogCallback | None = None,
    on_result: ResultCallback | None = None,
    cancel: threading.Event | None = None,
) -> list[RunResult]:
    """Run the parser at `parser_path` on each input, in order, with one guest for all of them.

    Returns one RunResult per input that was attempted (a cancelled run stops early); each is
    also passed to `on_result`, in input order, as soon as it is final (its commit done).
    `on_log(level, text)` receives the parser's log lines (and, when stdio is piped, its
    prints), possibly from another thread.
    Raises a CasparianError only for problems with the options (a bad --sink URI or --venv).
    """
    parser_path = Path(parser_path)
    try:
        info = read_parser_info(parser_path)
    except (ParserLoadError, ContractError) as exc:
        results = [_unusable_parser(parser_path, Path(path), exc) for path in inputs]
        for result in results:
            if on_result is not None:
                on_result(result)
        return results
    check_venv(options.venv)
    guest = GuestProcess(
        settings, venv=options.venv, inherit_stdio=options.inherit_stdio, on_log=on_log
    )
    if inputs:
        guest.launch()  # it starts (Python, pyarrow) while the sink opens and the input is hashed
    try:
        sink = open_sink(options.sink_uri, Path.cwd() / DEV_OUTPUT_DIR)
    except BaseException:
        guest.kill()
        raise
    results = []
    runs = [InputRun(info, Path(path), sink, guest, options) for path in inputs]
    unreported: deque[InputRun] = deque()  # finished, in input order; commits may be pending

    def report(wait: bool) -> None:
        while unreported and (wait or unreported[0].committed()):
            result = unreported.popleft().settle()
            results.append(result)
            if on_result is not None:
                on_result(result)

    try:
        with guest:
            for index, run in enumerate(runs):
                report(wait=False)
                if cancel is not None and cancel.is_set():
                    guest.kill()  # it may already be parsing this input, started early
                    break
                run.start(cancel)
                if index + 1 < len(runs):
                    # The guest parses the next input while this one's data is validated
                    # and written; its commit may decide whether the next one is skipped.
                    runs[index + 1].start(cancel, busy_part_key=run.part_key)
                if index == 0:
                    _import_validation()
                    # Every object alive now (the modules of pyarrow, pandas ...) outlives the
                    # run: full collections that walk them all cost ~60 ms each, once every few
                    # hundred small inputs. They are left out until the run ends.
                    gc.freeze()
                unreported.append(run)
                if run.finish(cancel).status == RunStatus.CANCELLED:
                    break
        report(wait=True)
    finally:
        gc.unfreeze()
        sink.close()  # finishes the commits of finished inputs, even after Ctrl+C
    return results


def _import_validation() -> None:
    """Import what validating a batch needs while the guest parses the first input (the host
    would only wait for its first batch), rather than when that batch arrives: pyarrow.compute,
    the contracts, and pandas, which pyarrow imports on its first conversion of a Python value
    (validation's pa.scalar), ~0.3 s on its own. Before the job is sent, the host's own work
    (opening the sink, hashing) is what the guest waits for: importing there would delay it."""
    import pyarrow as pa

    from casparian_core.contracts import lineage, validate  # noqa: F401

    pa.scalar(0)


def _unusable_parser(parser_path: Path, input_path: Path, exc: CasparianError) -> RunResult:
    code = errors.error_code_of(exc)
    return RunResult(
        parser_name=parser_path.stem,
        parser_version="",
        input_path=input_path,
        status=RunStatus.FAILED,
        error_code=code,
        error_message=str(exc),
        suggestion=suggest(code, exc),
    )


def check_venv(venv: Path | None) -> None:
    if venv is not None and not (venv / "bin" / "python").exists():
        raise errors.VenvError(
            f"{venv} is not a virtual environment (no bin/python): create one with "
            "`python -m venv` and install pyarrow and pyzmq into it"
        )


@dataclass
class _OutputState:
    """One output of the input being run: its contract, open parts and running totals."""

    spec: OutputSpec
    writer: PartWriter
    result: OutputResult
    quarantine: PartWriter | None = None
    row_offset: int = 0
    preview: list[pa.Table] = field(default_factory=list)
    preview_rows: int = 0


class InputRun:
    """One parser on one input: the job, the streaming validation and the atomic commit.

    `start` hashes the input and sends its job; `finish` receives the data and commits. While
    one input is received and committed, the next one's job is already started, so the guest
    parses it meanwhile.
    """

    def __init__(
        self, info: ParserInfo, path: Path, sink: Sink, guest: GuestProcess, options: RunOptions
    ) -> None:
        self._info = info
        self._path = path
        self._sink = sink
        self._guest = guest
        self._options = options
        self._job_id = options.job_id or uuid.uuid4().hex
        self._source_hash = ""
        self._part_key = ""
        self._states: dict[str, _OutputState] = {}
        self._result = RunResult(info.name, info.version, path, RunStatus.FAILED, self._job_id)
        self._started_at: float | None = None
        self._job_sent = False
        self._settled = False  # known without a job: unreadable or skipped
        self._commit_done: Future[None] | None = None

    def start(self, cancel: threading.Event | None, busy_part_key: str = "") -> None:
        """Hash the input and send its job, unless the input is unreadable or already done.
        Does nothing when called again, or when the part key is `busy_part_key` (whether this
        input is already done depends on the commit of that part, still in progress)."""
        if self._started_at is None:
            self._started_at = time.perf_counter()
            try:
                self._result.input_bytes = self._path.stat().st_size
                self._source_hash = hash_file(self._path)
            except OSError as exc:
                code = _input_error_code(exc)
                self._fail(code, f"{self._path}: cannot read the input ({exc.strerror})")
                self._settled = True
                return
            self._part_key = part_key(self._source_hash, self._info.version)
        if self._job_sent or self._settled or self._part_key == busy_part_key:
            return
        declared = self._info.declared_outputs
        if declared and not self._options.force and self._all_parts_exist(declared):
            self._result.status = RunStatus.SKIPPED
            self._result.outputs = [
                OutputResult(name, self._sink.location(name), skipped=True) for name in declared
            ]
            self._settled = True
            return
        job = protocol.Job(
            self._job_id,
            str(self._info.path),
            str(self._path),
            self._info.default_output,
            self._info.class_name,
        )
        self._guest.start_job(job, cancel)
        self._job_sent = True

    def finish(self, cancel: threading.Event | None) -> RunResult:
        """Receive the job's data and hand its parts to the sink to commit. A started job that
        is never finished is killed with the guest (GuestProcess.__exit__ after an exception,
        or a cancelled run). The result is final once `settle` returns it."""
        try:
            if self._job_sent:
                self._receive_and_commit(cancel)
        finally:
            assert self._started_at is not None
            self._result.duration_s = time.perf_counter() - self._started_at
        return self._result

    def _receive_and_commit(self, cancel: threading.Event | None) -> None:
        result = self._result
        declared = self._info.declared_outputs
        try:
            outcome = self._guest.finish_job(self._on_data, cancel, self._forget_received)
            if outcome.ok:
                self._check_quarantine_limits()
                self._commit()
        except CasparianError as exc:
            self._abort()
            code = errors.error_code_of(exc)
            self._fail(code, str(exc), suggestion=suggest(code, exc))
        except BaseException:
            self._abort()  # Ctrl+C or a bug: still, nothing half-written is left behind
            raise
        else:
            if outcome.ok:
                warned = any(state.result.quarantined for state in self._states.values())
                result.status = RunStatus.COMPLETED_WITH_WARNINGS if warned else RunStatus.COMPLETED
            else:
                self._abort()
                self._fail_from_outcome(outcome)
        result.outputs = self._output_results(declared)

    @property
    def part_key(self) -> str:
        """Names this input's parts: its content hash and the parser version ("" before
        `start`, or when the input cannot be read)."""
        return self._part_key

    def committed(self) -> bool:
        """Whether `settle` would return without waiting."""
        return self._commit_done is None or self._commit_done.done()

    def settle(self) -> RunResult:
        """The final result: waits for the sink to finish this input's commit."""
        if self._commit_done is not None:
            try:
                self._commit_done.result()
            except CasparianError as exc:
                code = errors.error_code_of(exc)
                self._fail(code, str(exc), suggestion=suggest(code, exc))
        return self._result

    def _all_parts_exist(self, outputs: list[str]) -> bool:
        return all(self._sink.has_part(name, self._part_key) for name in outputs)

    def _on_data(self, output: str, table: pa.Table) -> None:
        from casparian_core.contracts.validate import validate_batch

        state = self._states.get(output) or self._open_output(output, table)
        checked = validate_batch(table, state.spec, state.row_offset)
        state.row_offset += table.num_rows
        if checked.valid.num_rows:
            state.writer.write(self._lineage.append_to(checked.valid))
            self._keep_preview(state, checked.valid)
        if checked.quarantined.num_rows:
            if state.quarantine is None:
                state.quarantine = self._begin_quarantine(output)
            state.quarantine.write(self._quarantine_context.append_to(checked.quarantined))
        state.result.rows += checked.valid.num_rows
        state.result.quarantined += checked.quarantined.num_rows
        state.result.reasons.update(checked.reasons)

    def _open_output(self, output: str, first: pa.Table) -> _OutputState:
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
        writer = self._sink.begin(output, self._part_key, self._lineage_schema(spec))
        location = self._sink.location(output)
        state = _OutputState(spec, writer, OutputResult(output, location, spec=spec))
        state.result.inferred = inferred
        self._states[output] = state
        return state

    @functools.cached_property
    def _lineage(self) -> ConstantColumns:
        from casparian_core.contracts.lineage import lineage

        info = self._info
        return lineage(
            source_hash=self._source_hash,
            job_id=self._job_id,
            parser=info.name,
            parser_version=info.version,
        )

    @functools.cached_property
    def _quarantine_context(self) -> ConstantColumns:
        from casparian_core.contracts.lineage import quarantine_context

        info = self._info
        return quarantine_context(
            source_path=display_text(str(self._path)),  # \xNN for bytes not UTF-8
            job_id=self._job_id,
            parser=info.name,
            parser_version=info.version,
        )

    def _lineage_schema(self, spec: OutputSpec) -> pa.Schema:
        from casparian_core.contracts.validate import valid_schema

        return self._lineage.schema_for(valid_schema(spec))

    def _begin_quarantine(self, output: str) -> PartWriter:
        from casparian_core.contracts.validate import QUARANTINE_SCHEMA

        schema = self._quarantine_context.schema_for(QUARANTINE_SCHEMA)
        return self._sink.begin(output + QUARANTINE_SUFFIX, self._part_key, schema)

    def _keep_preview(self, state: _OutputState, valid: pa.Table) -> None:
        wanted = self._options.preview_rows - state.preview_rows
        if wanted > 0:
            piece = valid.slice(0, wanted)
            state.preview.append(piece)
            state.preview_rows += piece.num_rows

    def _check_quarantine_limits(self) -> None:
        for name, state in self._states.items():
            limit = state.spec.max_quarantine_pct
            total = state.result.rows + state.result.quarantined
            if limit is None or not total:
                continue
            share = 100 * state.result.quarantined / total
            if share > limit:
                raise errors.QuarantineLimitError(
                    f"{self._path}: output '{name}' quarantined {share:.1f}% of its rows "
                    f"({state.result.quarantined} of {total}), above its limit of {limit:g}% "
                    "(_max_quarantine_pct); nothing was written"
                )

    def _commit(self) -> None:
        """Hand every part of this input to the sink to publish together. A rerun must replace
        what an earlier run wrote, so outputs that got no rows this time still replace their
        old part with an empty one."""
        parts: list[PartWriter] = []
        try:
            for name, spec in (self._info.outputs or {}).items():
                if name not in self._states and self._sink.has_part(name, self._part_key):
                    schema = self._lineage_schema(spec)
                    parts.append(self._sink.begin(name, self._part_key, schema))
            for name, state in self._states.items():
                if state.quarantine is None and self._sink.has_part(
                    name + QUARANTINE_SUFFIX, self._part_key
                ):
                    state.quarantine = self._begin_quarantine(name)
                parts.append(state.writer)
                if state.quarantine is not None:
                    parts.append(state.quarantine)
        except BaseException:
            for part in parts:
                part.abort()  # the empty replacements; the outputs' own parts are aborted too
            raise
        self._commit_done = self._sink.commit_together(parts)

    def _forget_received(self) -> None:
        """The job runs again from its start (see GuestProcess.finish_job): drop its data."""
        self._abort()
        self._states.clear()

    def _abort(self) -> None:
        for state in self._states.values():
            state.writer.abort()
            if state.quarantine is not None:
                state.quarantine.abort()

    def _output_results(self, declared: list[str]) -> list[OutputResult]:
        import pyarrow as pa

        results = []
        for state in self._states.values():
            if state.preview:
                state.result.preview = pa.concat_tables(state.preview)
            results.append(state.result)
        specs = self._info.outputs or {}
        for name in declared:
            if name not in self._states:
                results.append(OutputResult(name, self._sink.location(name), spec=specs.get(name)))
        return results

    def _fail(self, code: str, message: str, suggestion: str | None = None) -> None:
        result = self._result
        result.status = RunStatus.FAILED
        result.error_code = code
        result.error_message = message
        result.suggestion = suggestion or suggest(code)

    def _fail_from_outcome(self, outcome: JobOutcome) -> None:
        result = self._result
        self._fail(outcome.error_code or "", outcome.message or "the parser failed")
        result.traceback = outcome.traceback
        if outcome.error_code == protocol.ErrorCode.CANCELLED:
            result.status = RunStatus.CANCELLED
            result.suggestion = None


def _input_error_code(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return protocol.ErrorCode.FILE_NOT_FOUND
    if isinstance(exc, PermissionError):
        return protocol.ErrorCode.PERMISSION_ERROR
    return errors.INPUT_ERROR
