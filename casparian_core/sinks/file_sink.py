"""Folder sinks: one file per part, `DIR/{output}/part-{key}.{parquet|arrow}`, or, for the
small new parts of Parquet sinks, one bundle per output and commit pass (sinks/parquet_bundle.py).

A part is written as `DIR/.staging/{pid}-{sink id}-{n}.{suffix}` and published with one
`os.replace` after an fsync of the file, so readers (and a crash) see the old file or the new
one, never half of either; then the folder it was renamed into is fsynced, and only then is the
commit done (a job is recorded complete only once its output is durable). Staging files of
processes that died are removed when the sink is opened. Each part file records the `PartInfo`
it was begun with in its schema metadata (the Parquet footer, the Arrow IPC schema), so what a
part is of is published with it in the same rename.

`commit_together` finishes encoding an input's parts at once, then leaves the fsyncs and renames
to a background thread (`_GroupCommitter`), so the engine goes on with the next input meanwhile.
That thread commits the inputs handed to it since its previous pass together: their files are
fsynced, renamed, then each folder they changed is fsynced once for them all; each input stays
all-or-nothing (an input whose file fails is published in no folder, the others are).
A part small enough to be encoded in memory is also created and written by that thread, in the
same open as its fsync: creating a file costs the engine's thread up to a millisecond here, more
while the disk is busy with the fsyncs. The small new Parquet parts of a pass are not encoded
one by one at all: the thread encodes them into one bundle per output, published in one rename
(a bundle that cannot be written is tried again as one bundle per input, so a full disk fails
only the inputs that do not fit).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import itertools
import os
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

from casparian_core import stage_times
from casparian_core.outputs import QUARANTINE_SUFFIX
from casparian_core.processes import left_by_dead_process
from casparian_core.sinks import parquet_bundle
from casparian_core.sinks.base import (
    PartInfo,
    PartWriter,
    SinkError,
    check_part_names,
    os_error_to_sink_error,
    schema_changed_error,
)
from casparian_core.sinks.bundle_index import BundleIndex, log_path, record
from casparian_core.sinks.synced_write import write_synced

if TYPE_CHECKING:
    import pyarrow as pa

STAGING_DIR = ".staging"
PART_INFO_KEY = b"casparian.part"  # schema metadata: the part's PartInfo as JSON
IDLE_EXIT_SECS = 1.0
# A pass gathers the inputs handed over within this long of the first (or PASS_GROUPS of them),
# so that their folders are fsynced once for many and their small parts share a bundle: the
# engine does not wait for the commit thread meanwhile, so the delay costs it nothing (50 ms
# against 20: bundles of ~30 small inputs, not ~12, and 5% less CPU on issue 16's benchmark).
GATHER_SECS = 0.05
PASS_GROUPS = 64
# Small parts wait in memory for the commit thread to write them; past this many bytes the
# engine waits for it, so a slow disk cannot make the host's memory grow with the input count.
MAX_UNWRITTEN_BYTES = 64 << 20
# A pass's files are written and fsynced by this many threads at once: the filesystem's journal
# then commits them together (ext4 here: 2,000 small files 0.2-0.5 ms each, against 3-6 ms
# each one after the other).
FSYNC_THREADS = 8
# An input's part smaller than this (in memory, unencoded) goes into its commit pass's bundle
# (sinks/parquet_bundle.py) rather than a file of its own.
BUNDLE_PART_BYTES = 1 << 20
BUNDLE_LOCK = "bundles.lock"  # in the staging folder: held while a bundle is rewritten


class _TableFileWriter(Protocol):
    def write_table(self, table: pa.Table) -> None: ...

    def close(self) -> pa.Buffer | None:
        """Finish the file: None when it is complete on disk, or the whole file's bytes when
        the writer kept them in memory (the caller writes them)."""

    def abort(self) -> None:
        """Stop writing without finishing the file (the caller removes it); never raises."""


class _RowsInMemory(Protocol):
    """A writer that holds a small part's rows unencoded until it is closed, so they can go
    into a bundle instead: the writer of a format that `bundles` (Parquet)."""

    @property
    def bytes_in_memory(self) -> int | None:
        """The size of the rows written when all are still in memory; None otherwise."""

    def take_rows(self) -> pa.Table:
        """The rows written, unencoded, instead of closing the file (none was created)."""


@dataclass(frozen=True)
class FileFormat:
    scheme: str
    suffix: str
    # (where, the rows' schema, the schema its file records: made only when a file is written)
    open_writer: Callable[[Path, pa.Schema, Callable[[], pa.Schema]], _TableFileWriter]
    read_schema: Callable[[Path], pa.Schema]  # from the file's footer, without its rows
    bundles: bool = False  # small parts may share a file (sinks/parquet_bundle.py)


def _open_parquet(
    path: Path, schema: pa.Schema, file_schema: Callable[[], pa.Schema]
) -> _TableFileWriter:
    # pyarrow is imported by the first part, not by opening the sink: `run_parser` opens the
    # sink before sending the first job, which the guest waits for.
    from casparian_core.sinks.parquet_part import ParquetPartFile

    return ParquetPartFile(path, schema, file_schema)


def _parquet_schema(path: Path) -> pa.Schema:
    import pyarrow.parquet as pq

    return pq.read_schema(path)


def _arrow_ipc_schema(path: Path) -> pa.Schema:
    import pyarrow as pa

    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).schema


class _ArrowIpcFile:
    """An Arrow IPC file, written batch by batch as the engine streams them."""

    def __init__(self, path: Path, schema: pa.Schema, file_schema: Callable[[], pa.Schema]) -> None:
        import pyarrow as pa

        self._writer = pa.ipc.new_file(path, file_schema())

    def write_table(self, table: pa.Table) -> None:
        self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()

    def abort(self) -> None:
        import pyarrow as pa

        with contextlib.suppress(OSError, pa.ArrowException):
            self._writer.close()


PARQUET = FileFormat("parquet", ".parquet", _open_parquet, _parquet_schema, bundles=True)
ARROW_IPC = FileFormat("arrow", ".arrow", _ArrowIpcFile, _arrow_ipc_schema)


class FileSink:
    def __init__(self, root: Path, file_format: FileFormat) -> None:
        self.root = root
        self.format = file_format
        self.uri = f"{file_format.scheme}://{root}"
        self.staging = root / STAGING_DIR
        self._output_folders: dict[str, Path] = {}  # a path per output, not per part
        self._made_folders: set[Path] = set()  # exist already: no mkdir per part
        self._bundle_indexes: dict[str, BundleIndex] = {}  # per output
        self._id = uuid.uuid4().hex[:12]  # staging names: unique with the pid and a count
        self._staged = itertools.count()
        # Per output, a part file and its schema, which every other part must match.
        self._reference: dict[str, tuple[Path, pa.Schema] | None] = {}
        self._committer = _GroupCommitter(self.uri)
        _remove_dead_staging(self.staging)

    def part_path(self, output: str, part_key: str) -> Path:
        folder = self._output_folders.get(output)
        if folder is None:
            folder = self._output_folders[output] = self.root / output
        return folder / f"part-{part_key}{self.format.suffix}"

    def has_part(self, output: str, part_key: str) -> bool:
        return (
            self._existing_part(output, part_key) is not None
            or self._bundled(output, part_key) is not None
        )

    def committed(self, output: str, part_key: str) -> PartInfo | None:
        path = self._existing_part(output, part_key)
        if path is None:
            found = self._bundled(output, part_key)
            return None if found is None else found[1].info
        try:
            metadata = self.format.read_schema(path).metadata or {}
        except (OSError, ValueError):  # unreadable: not skipped, the rerun replaces it
            return None
        raw = metadata.get(PART_INFO_KEY)
        return None if raw is None else PartInfo.from_json(raw)

    def begin(
        self, output: str, part_key: str, schema: pa.Schema, info: PartInfo
    ) -> FilePartWriter:
        check_part_names(output, part_key)
        destination = self.part_path(output, part_key)
        self._check_schema(output, destination, schema)
        try:
            self._make_folder(self.staging)
        except OSError as error:
            raise os_error_to_sink_error(error, self.uri) from error
        staged = self.staging_path(self.format.suffix)
        writer = FilePartWriter(self, staged, output, destination, schema, part_key, info)
        writer.open(self.format, schema, functools.partial(_file_schema, schema, info))
        return writer

    def staging_path(self, suffix: str) -> Path:
        """A new file name in the staging folder, naming this process (a random name per part
        cost a system call for its randomness)."""
        return self.staging / f"{os.getpid()}-{self._id}-{next(self._staged)}{suffix}"

    def begin_removal(self, output: str, part_key: str) -> FilePartWriter:
        check_part_names(output, part_key)
        destination = self.part_path(output, part_key)
        return FilePartWriter(self, None, output, destination, None, part_key, None)

    def commit_together(self, parts: Sequence[PartWriter]) -> Future[None]:
        """Finish encoding every part now (or keep their rows for a bundle, when all are small
        and new), then write (the small ones), fsync and publish them in the background. Any
        failure (a full disk) fails the returned future and publishes none of the parts."""
        writers = [part for part in parts if isinstance(part, FilePartWriter)]
        if len(writers) != len(parts):
            raise TypeError("commit_together() takes parts begun by this sink")
        for writer in writers:
            found = self._bundled(writer.output, writer.key)
            writer.evicts = None if found is None else found[0]
        bundle = bool(writers) and all(self._can_bundle(writer) for writer in writers)
        try:
            for writer in writers:
                writer.seal(bundle)
        except BaseException:
            for writer in writers:
                writer.abort()
            raise
        for writer in writers:
            if writer.schema is not None and self._reference.get(writer.output) is None:
                self._reference[writer.output] = (writer.destination, writer.schema)
        return self._committer.submit(writers)

    def location(self, output: str) -> str:
        return str(self.root / output)

    def close(self) -> None:
        """Finish the commits in progress (each durable once done)."""
        self._committer.stop()

    def publish(self, staged: Path, destination: Path) -> None:
        """Move a complete, fsynced staging file over `destination` in one atomic step (durable
        once its folder is fsynced)."""
        self._make_folder(destination.parent)
        os.replace(staged, destination)

    def _bundled(
        self, output: str, part_key: str
    ) -> tuple[Path, parquet_bundle.BundledPart] | None:
        """The bundle holding the output's part with this key, if one does (never a quarantine
        part: see _can_bundle)."""
        if not self.format.bundles or output.endswith(QUARANTINE_SUFFIX):
            return None
        index = self._bundle_indexes.get(output)
        if index is None:
            index = BundleIndex(self.staging, self.root / output)
            self._bundle_indexes[output] = index
        return index.find(part_key)

    def _can_bundle(self, writer: FilePartWriter) -> bool:
        """Whether a part may go into a bundle: small rows in memory, of an output that is not
        a quarantine (Inspect reads those part by part), and whose key has no file of its own
        (a rerun of such an input replaces the file; anything else in the way fails it)."""
        size = writer.bytes_in_memory
        return (
            size is not None
            and size < BUNDLE_PART_BYTES
            and not writer.output.endswith(QUARANTINE_SUFFIX)
            and not writer.destination.exists()
        )

    def _existing_part(self, output: str, part_key: str) -> Path | None:
        check_part_names(output, part_key)
        path = self.part_path(output, part_key)
        self._committer.wait_for(path)  # a part being committed is about to exist
        return path if path.is_file() else None

    def _check_schema(self, output: str, destination: Path, schema: pa.Schema) -> None:
        """Refuse a part whose columns differ from those of the output's other parts (its own
        earlier part, which it replaces, does not count)."""
        reference = self._reference.get(output)
        if reference is None or reference[0] == destination:
            reference = self._reference[output] = self._other_part(output, destination)
        if reference is not None and not reference[1].equals(schema, check_metadata=False):
            raise schema_changed_error(self.uri, output, _columns(reference[1]), _columns(schema))

    def _other_part(self, output: str, own: Path) -> tuple[Path, pa.Schema] | None:
        folder = self.root / output
        if not folder.is_dir():
            return None
        for path in folder.glob(f"*{self.format.suffix}"):  # parts and bundles
            if path != own and path.is_file():
                try:
                    return path, self.format.read_schema(path)
                except (OSError, ValueError):  # unreadable: another part tells the schema
                    continue
        return None

    def remove(self, destination: Path) -> None:
        """Remove a published part (durable, as a publish, once its folder is fsynced)."""
        destination.unlink(missing_ok=True)

    def _make_folder(self, folder: Path) -> None:
        if folder not in self._made_folders:
            folder.mkdir(parents=True, exist_ok=True)
            self._made_folders.add(folder)


class FilePartWriter:
    """A part file staged then renamed over its destination; without a staging file (from
    `begin_removal`), a commit that removes the destination. Sealed for a bundle, the part
    keeps its rows (`rows`) for the commit thread to bundle. A part whose key a bundle holds
    (`evicts`) takes it out of that bundle when it is published."""

    def __init__(
        self,
        sink: FileSink,
        staged: Path | None,
        output: str,
        destination: Path,
        schema: pa.Schema | None,
        key: str,
        info: PartInfo | None,
    ) -> None:
        self.sink = sink
        self.staged = staged
        self.destination = destination
        self.output = output
        self.schema = schema
        self.key = key
        self.info = info
        self.evicts: Path | None = None
        self.rows: pa.Table | None = None
        self._row_bytes = 0  # the size of `rows`, as the writer counted it
        self._writer: _TableFileWriter | None = None
        self._unwritten: pa.Buffer | None = None  # sealed in memory: `sync` writes the file
        self._removal_pending = staged is None

    def open(
        self, file_format: FileFormat, schema: pa.Schema, file_schema: Callable[[], pa.Schema]
    ) -> None:
        assert self.staged is not None
        try:
            self._writer = file_format.open_writer(self.staged, schema, file_schema)
        except OSError as error:
            raise self._aborted(error) from error

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            raise RuntimeError("write() after commit() or abort()")
        try:
            self._writer.write_table(table)
        except OSError as error:
            raise self._aborted(error) from error

    def commit(self) -> None:
        self.seal(bundle=False)
        try:
            self.sync()
            self.publish()
        except OSError as error:
            raise self._aborted(error) from error
        try:
            _fsync_folder(self.destination.parent)
        except OSError as error:
            raise os_error_to_sink_error(error, self.sink.uri) from error

    def seal(self, bundle: bool) -> None:
        """Finish encoding the part (or, for a bundle, take its rows); what is left is `sync`
        then `publish`."""
        if self.staged is None:
            if not self._removal_pending:
                raise RuntimeError("commit() after commit() or abort()")
            return
        if self._writer is None:
            raise RuntimeError("commit() after commit() or abort()")
        writer, self._writer = self._writer, None
        try:
            if bundle and self._keeps_rows:
                in_memory = cast(_RowsInMemory, writer)
                self._row_bytes = in_memory.bytes_in_memory or 0
                self.rows = in_memory.take_rows()
            else:
                self._unwritten = writer.close()
        except OSError as error:
            raise self._aborted(error) from error

    @property
    def bytes_in_memory(self) -> int | None:
        """The size of the part's rows while all are in memory and unencoded; None otherwise."""
        if self._writer is None or not self._keeps_rows:
            return None
        return cast(_RowsInMemory, self._writer).bytes_in_memory

    @property
    def _keeps_rows(self) -> bool:
        """Whether its writer is a _RowsInMemory: known from the format (an isinstance check
        on the Protocol took ~50 us a part)."""
        return self.sink.format.bundles

    @property
    def unwritten_bytes(self) -> int:
        """The size of the sealed part while `sync` (or its bundle) has yet to write it."""
        if self.rows is not None:
            return self._row_bytes
        return 0 if self._unwritten is None else self._unwritten.size

    def sync(self) -> None:
        """Put the sealed part on disk: a rename of an unsynced file can publish an empty part
        after a crash. A bundled part is written with its bundle."""
        if self.staged is None or self.rows is not None:
            return
        if self._unwritten is None:
            _fsync_path(self.staged)
            return
        content, self._unwritten = self._unwritten, None
        write_synced(self.staged, content)

    def publish(self) -> None:
        if self.rows is not None:
            return  # published by its bundle's rename
        if self.staged is None:
            if self._removal_pending:
                self._removal_pending = False
                self.sink.remove(self.destination)
            return
        self.sink.publish(self.staged, self.destination)

    def abort(self) -> None:
        writer, self._writer, self._unwritten, self.rows = self._writer, None, None, None
        self._removal_pending = False
        if writer is not None:
            writer.abort()
        if self.staged is not None:
            with contextlib.suppress(OSError):
                self.staged.unlink(missing_ok=True)

    def _aborted(self, error: OSError) -> SinkError:
        """Abort the part after `error`; the error as the user should read it (a generator
        context manager around each write cost ~3 us a part)."""
        self.abort()
        return os_error_to_sink_error(error, self.sink.uri)


class _Outcome(Future[None]):
    """A group's commit, done once it is published (or failed). Whoever waits for it wants it
    now: its pass starts without gathering more groups (the engine waits only when it has no
    more input to hand over, at the end of a run)."""

    def __init__(self, hurry: Callable[[], None]) -> None:
        super().__init__()
        self._hurry = hurry

    def result(self, timeout: float | None = None) -> None:
        if not self.done():
            self._hurry()
        return super().result(timeout)


@dataclass
class _Group:
    """One input's sealed parts, published all or none."""

    parts: list[FilePartWriter]
    done: Future[None]
    error: Exception | None = None
    unwritten_bytes: int = 0  # of its parts, when it was queued

    @property
    def bundled(self) -> bool:
        return bool(self.parts) and all(part.rows is not None for part in self.parts)

    def fail(self, error: Exception | None) -> None:
        """Record the group's first error, if `error` is one."""
        if self.error is None:
            self.error = error


@dataclass
class _Bundle:
    """One output's bundled parts of a pass, written to the first part's staging file, named
    in the output's bundle log (sinks/bundle_index.py), then renamed into the output folder."""

    parts: list[FilePartWriter]
    name: str = field(default_factory=parquet_bundle.new_name)

    def write(self) -> None:
        rows = []
        for part in self.parts:
            assert part.rows is not None and part.info is not None  # sealed for a bundle
            rows.append(parquet_bundle.PartRows(part.key, part.info, part.rows))
        first = self.parts[0]
        assert first.staged is not None
        write_synced(first.staged, parquet_bundle.encode(rows))
        log = log_path(first.sink.staging, first.output)
        record(log, [(part.key, self.name) for part in self.parts])

    def publish(self) -> None:
        first = self.parts[0]
        assert first.staged is not None
        first.sink.publish(first.staged, first.destination.parent / self.name)


class _GroupCommitter:
    """A thread that fsyncs, then publishes, every group queued since its previous pass, then
    fsyncs each folder the pass changed once, and only then resolves the groups' futures.

    A pass's files are written and fsynced by FSYNC_THREADS threads at once, which costs the
    disk far less than one fsync after another (the journal is committed once for several
    files), and the engine's thread does not wait for the disk at all. Groups are published
    in the order they came. A group whose file fails is published nowhere and fails alone; a
    folder whose fsync fails fails the groups published into it (their parts are in place, not
    durable: a rerun replaces them).
    The thread ends after IDLE_EXIT_SECS without work, so an unclosed sink never holds the
    interpreter open, and `submit` starts a new one when needed.
    """

    def __init__(self, target: str) -> None:
        self._target = target
        self._changed = threading.Condition()
        self._queue: list[_Group] = []
        self._pending: Counter[Path] = Counter()  # destinations of queued or running groups
        self._unwritten = 0  # bytes of queued or running groups still in memory
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._blocked = 0  # submitters waiting for memory: a pass starts at once for them
        self._hurried = False  # someone waits for a queued group: its pass starts at once

    def submit(self, parts: list[FilePartWriter]) -> Future[None]:
        group = _Group(
            parts,
            _Outcome(self._hurry),
            unwritten_bytes=sum(part.unwritten_bytes for part in parts),
        )
        with self._changed:
            while self._unwritten and self._unwritten + group.unwritten_bytes > MAX_UNWRITTEN_BYTES:
                self._blocked += 1
                self._changed.notify_all()
                self._changed.wait()
                self._blocked -= 1
            self._unwritten += group.unwritten_bytes
            self._queue.append(group)
            self._pending.update(part.destination for part in parts)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="casparian-commit")
                self._thread.start()
            self._changed.notify_all()
        return group.done

    def _hurry(self) -> None:
        with self._changed:
            self._hurried = True
            self._changed.notify_all()

    def wait_for(self, destination: Path) -> None:
        """Return once no queued or running group will publish `destination`."""
        with self._changed:
            while self._pending[destination]:
                self._blocked += 1
                self._changed.notify_all()
                self._changed.wait()
                self._blocked -= 1

    def stop(self) -> None:
        """Return once everything queued is published and the thread has ended."""
        with self._changed:
            thread, self._stopping = self._thread, True
            self._changed.notify_all()
        if thread is not None:
            thread.join()
        with self._changed:
            self._stopping = False

    def _run(self) -> None:
        with ThreadPoolExecutor(FSYNC_THREADS, thread_name_prefix="casparian-fsync") as syncing:
            while self._pass(syncing):
                pass

    def _pass(self, syncing: ThreadPoolExecutor) -> bool:
        """Sync, then publish, the groups queued; False when there were none for a while."""
        with self._changed:
            self._changed.wait_for(lambda: self._queue or self._stopping, IDLE_EXIT_SECS)
            self._changed.wait_for(self._pass_due, GATHER_SECS)
            groups, self._queue, self._hurried = self._queue, [], False
            if not groups:
                self._thread = None
                return False
        try:
            _commit(groups, syncing)
        except Exception as error:  # a bug, or a lock file that cannot be made: fail, not hang
            for group in groups:
                group.fail(error)
                for part in group.parts:
                    part.abort()
        with self._changed:
            for group in groups:
                self._unwritten -= group.unwritten_bytes
                for part in group.parts:
                    self._pending[part.destination] -= 1
                    if not self._pending[part.destination]:
                        del self._pending[part.destination]  # a long run keeps none
            self._changed.notify_all()
        for group in groups:
            self._resolve(group)
        return True

    def _pass_due(self) -> bool:
        """Whether a pass should start without gathering more groups."""
        return (
            len(self._queue) >= PASS_GROUPS or self._stopping or self._blocked > 0 or self._hurried
        )

    def _resolve(self, group: _Group) -> None:
        if group.error is None:
            group.done.set_result(None)
        elif isinstance(group.error, OSError):
            group.done.set_exception(os_error_to_sink_error(group.error, self._target))
        else:
            group.done.set_exception(group.error)


def _file_schema(schema: pa.Schema, info: PartInfo) -> pa.Schema:
    """The schema a part's own file records: its columns, and what the part is of (its
    PartInfo, read back by `committed`). A bundled part's is never made: the bundle's footer
    records its parts."""
    return schema.with_metadata({**(schema.metadata or {}), PART_INFO_KEY: info.to_json().encode()})


def _columns(schema: pa.Schema) -> list[tuple[str, str]]:
    return [(field.name, str(field.type)) for field in schema]


def _first_error(steps: Iterable[Callable[[], None]]) -> Exception | None:
    """Run the steps in order until one fails; its error (a bug must not end the thread,
    which would leave the engine waiting for a commit that never finishes)."""
    try:
        for step in steps:
            step()
    except Exception as error:
        return error
    return None


def _commit(groups: list[_Group], syncing: ThreadPoolExecutor) -> None:
    """One pass: write and fsync the groups' files and bundles, take replaced parts out of
    their old bundles, publish, then fsync the folders; each group's error is recorded."""
    plain = [group for group in groups if not group.bundled]
    with stage_times.stage("fsync (commit thread, per pass)"):
        for group, error in zip(plain, syncing.map(_sync, plain), strict=True):
            group.error = error
        bundle_sets = _write_bundles([group for group in groups if group.bundled], syncing)
    with stage_times.stage("bundle rewrites (commit thread, per pass)"):
        _take_out_of_bundles([group for group in groups if group.error is None])
        for together, _ in bundle_sets:
            _fail_together(together, *(group.error for group in together))
    with stage_times.stage("rename (commit thread, per pass)"):
        for group in plain:
            if group.error is None:
                group.error = _first_error(part.publish for part in group.parts)
        for together, bundles in bundle_sets:
            if together[0].error is None:
                _fail_together(together, _first_error(bundle.publish for bundle in bundles))
        for group in groups:
            if group.error is not None:
                for part in group.parts:
                    part.abort()  # removes the staged files not yet published
    with stage_times.stage("folder fsync (commit thread, per pass)"):
        _sync_folders([group for group in groups if group.error is None], syncing)


def _bundles_of(groups: list[_Group]) -> list[_Bundle]:
    """The bundles of a pass's bundled groups: one per output folder, parts in group order."""
    by_folder: dict[Path, list[FilePartWriter]] = {}
    for group in groups:
        for part in group.parts:
            by_folder.setdefault(part.destination.parent, []).append(part)
    return [_Bundle(parts) for parts in by_folder.values()]


def _write_bundles(
    bundled: list[_Group], syncing: ThreadPoolExecutor
) -> list[tuple[list[_Group], list[_Bundle]]]:
    """Write (and fsync) the bundles of a pass's bundled groups: one per output for them all,
    or, when one of those cannot be written (a full disk), one per output for each group, so
    that as many inputs as fit are committed and the others fail alone. Returns the groups
    that stand or fall together, each set with its bundles."""
    if not bundled:
        return []
    shared = _bundles_of(bundled)
    error = _first(syncing.map(_write_all, ([bundle] for bundle in shared)))
    if error is None or len(bundled) == 1:
        _fail_together(bundled, error)
        return [(bundled, shared)]
    alone = [([group], _bundles_of([group])) for group in bundled]
    failures = syncing.map(_write_all, (bundles for _, bundles in alone))
    for (together, _), failure in zip(alone, failures, strict=True):
        _fail_together(together, failure)
    return alone


def _write_all(bundles: list[_Bundle]) -> Exception | None:
    return _first_error(bundle.write for bundle in bundles)


def _first(errors: Iterable[Exception | None]) -> Exception | None:
    return next((error for error in errors if error is not None), None)


def _fail_together(groups: list[_Group], *errors: Exception | None) -> None:
    """Groups that share bundles: the first error fails them all."""
    error = _first(errors)
    for group in groups:
        group.fail(error)


def _take_out_of_bundles(groups: list[_Group]) -> None:
    """Take the old rows of the parts these groups replace out of the bundles holding them,
    before anything of the groups is published: an input is then briefly absent, never twice
    present (a crash in between leaves its job unfinished, so it runs again). Rewrites are
    done under the sink's bundle lock, each bundle once for all its keys; a failed rewrite
    fails the groups that needed it."""
    wanted: dict[Path, dict[str, list[_Group]]] = {}
    for group in groups:
        for part in group.parts:
            if part.evicts is not None:
                wanted.setdefault(part.evicts, {}).setdefault(part.key, []).append(group)
    if not wanted:
        return
    sink = next(part for group in groups for part in group.parts if part.evicts).sink
    with _bundle_lock(sink.staging):
        for bundle, keys in wanted.items():
            error = _first_error([functools.partial(_rewrite_without, bundle, keys, sink)])
            for waiting in keys.values():
                for group in waiting:
                    group.fail(error)


@contextlib.contextmanager
def _bundle_lock(staging: Path) -> Iterator[None]:
    """Held while bundles are read and rewritten: two processes taking different parts out of
    one bundle would otherwise each write it back with the other's part still in."""
    staging.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(staging / BUNDLE_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _rewrite_without(bundle: Path, keys: Collection[str], sink: FileSink) -> None:
    """Replace the bundle by a copy without the parts `keys` (remove it when none is left)."""
    try:
        index = parquet_bundle.read_index(bundle)
    except FileNotFoundError:
        return  # removed already: it holds nothing
    if not index.keys() & set(keys):
        return
    scratch = sink.staging_path(parquet_bundle.SUFFIX)
    if not parquet_bundle.write_without(bundle, index, keys, bundle, scratch):
        bundle.unlink(missing_ok=True)


def _sync(group: _Group) -> Exception | None:
    """Put one input's parts on disk; the error that stops it, if any."""
    return _first_error(part.sync for part in group.parts)


def _sync_folders(groups: list[_Group], syncing: ThreadPoolExecutor) -> None:
    """Make the published groups durable: fsync each folder they changed, once for them all;
    a folder that fails fails every group published into it."""
    folders = sorted({part.destination.parent for group in groups for part in group.parts})
    errors = dict(zip(folders, syncing.map(_folder_error, folders), strict=True))
    for group in groups:
        group.error = next(
            (error for part in group.parts if (error := errors[part.destination.parent])), None
        )


def _folder_error(folder: Path) -> OSError | None:
    try:
        _fsync_folder(folder)
    except OSError as error:
        return error
    return None


def _fsync_folder(folder: Path) -> None:
    """Make a folder's entries durable; a folder that does not exist holds nothing to keep (a
    removal of a part never written)."""
    with contextlib.suppress(FileNotFoundError):
        _fsync_path(folder)


def _fsync_path(path: Path) -> None:
    """Flush a file's data, or a folder's entries, to disk before depending on them."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _remove_dead_staging(staging_root: Path) -> None:
    """Staging entries are named `{pid}-...`; those whose process is gone are litter."""
    if not staging_root.is_dir():
        return
    for entry in staging_root.iterdir():
        if left_by_dead_process(entry.name):
            entry.unlink(missing_ok=True)
