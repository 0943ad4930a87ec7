"""The guest shim: runs a user's parser in this subprocess and streams its results to the host.

Started by the host as `python .../casparian_core/bridge/guest.py --endpoint tcp://127.0.0.1:PORT`
(`python -m casparian_core.bridge.guest` works too). It imports only the standard library,
pyarrow, pyzmq, its sibling modules and the parser, so it also runs under another virtual
environment's Python that has pyarrow and pyzmq but not casparian.

The guest says HELLO, then serves JOB after JOB until SHUTDOWN. For each job it runs the parser,
converts every result with safe_to_arrow, streams it as Arrow IPC data messages (blocking when the
host falls behind: that is the backpressure), and ends with DONE carrying the error code and exit
class. A separate thread heartbeats on its own socket, so a busy parser still looks alive and a
frozen process does not.
"""

from __future__ import annotations

import argparse
import collections.abc
import contextlib
import faulthandler
import importlib.util
import json
import logging
import os
import resource
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import zmq

if TYPE_CHECKING or __package__:  # mypy reads the package imports
    from . import confine, protocol
    from .context import ParserContext, openable_path
    from .convert import UnsupportedTypeError, estimate_nbytes, safe_to_arrow
else:  # run by file path: this folder is sys.path[0]
    import confine
    import protocol
    from context import ParserContext, openable_path
    from convert import UnsupportedTypeError, estimate_nbytes, safe_to_arrow

    # Hide this folder and our module names from the parser, so its own `protocol.py` imports.
    sys.path.pop(0)
    for _module in ("confine", "protocol", "context", "convert"):
        sys.modules.pop(_module)

# Few messages in flight: with ~8 MiB messages the host never holds more than a few dozen MiB.
SEND_HWM = 4
MESSAGE_TARGET_BYTES = 8 * 1024 * 1024
# ZeroMQ copies smaller frames anyway: smaller pieces of a stream are joined into one frame.
OWN_FRAME_BYTES = zmq.COPY_THRESHOLD
RECEIVE_POLL_MS = 100
# A job's end is marked in stdout/stderr only once the guest has waited this long for the next
# job: the host sends jobs ahead, so the next one most often comes first, and its own mark ends
# the previous job's lines. That spares two writes here and two wake-ups of the host's readers
# per job (on 2,000 small files, 2.5% of the run's CPU). A line a parser's thread prints within
# it after its job ended counts as that job's.
END_MARK_GRACE_MS = 20
CPU_GRACE_SECS = 5  # between SIGXCPU (soft limit) and SIGKILL (hard limit)
OOM_FACTOR = 3  # converting and sending a result needs about three times its size
# Results needing less than this are not checked: reading /proc costs ~0.5 ms per chunk (most of
# a small file's job), and a guest without 16 MiB to spare fails its next allocation anyway,
# as MEMORY_ERROR.
OOM_CHECK_FLOOR = 16 * 1024 * 1024
BRIDGE_DIR = str(Path(__file__).resolve().parent)


class GuestError(Exception):
    """A failure the shim itself detected; `code` is its protocol.ErrorCode."""

    code = protocol.ErrorCode.UNKNOWN_ERROR


class ParserLoadFailure(GuestError):
    code = protocol.ErrorCode.PARSER_LOAD_ERROR


class InconsistentSchemaError(GuestError):
    code = protocol.ErrorCode.INCONSISTENT_SCHEMA


class OomRiskError(GuestError):
    code = protocol.ErrorCode.OOM_RISK


# Order matters: a subclass comes before its base (UnicodeDecodeError is a ValueError).
ERROR_CODES: tuple[tuple[type[BaseException], str], ...] = (
    (UnsupportedTypeError, protocol.ErrorCode.UNSUPPORTED_TYPE),
    (KeyError, protocol.ErrorCode.SCHEMA_MISMATCH),
    (FileNotFoundError, protocol.ErrorCode.FILE_NOT_FOUND),
    (PermissionError, protocol.ErrorCode.PERMISSION_ERROR),
    (UnicodeDecodeError, protocol.ErrorCode.ENCODING_ERROR),
    (MemoryError, protocol.ErrorCode.MEMORY_ERROR),
    (ValueError, protocol.ErrorCode.INVALID_DATA),
)
TRANSIENT_CODES = frozenset({protocol.ErrorCode.MEMORY_ERROR})


def classify(exc: BaseException) -> tuple[str, int]:
    """The (error code, exit class) DESIGN.md section 6 assigns to an exception."""
    code = exc.code if isinstance(exc, GuestError) else protocol.ErrorCode.UNKNOWN_ERROR
    for kind, mapped in ERROR_CODES:
        if isinstance(exc, kind):
            code = mapped
            break
    if code in TRANSIENT_CODES:
        return code, protocol.ExitClass.TRANSIENT
    return code, protocol.ExitClass.PERMANENT


def user_traceback(exc: BaseException) -> str:
    """The traceback without the shim's and importlib's frames: only the parser's lines."""
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not frame.filename.startswith((BRIDGE_DIR, "<frozen"))
    ]
    head = "Traceback (most recent call last):\n" if frames else ""
    body = "".join(traceback.format_list(frames))
    return head + body + "".join(traceback.format_exception_only(type(exc), exc))


def available_memory() -> int | None:
    """Bytes this process can still allocate: free RAM, capped by the RLIMIT_AS headroom."""
    meminfo = _proc_fields("/proc/meminfo")
    if "MemAvailable" in meminfo:
        available = meminfo["MemAvailable"]
    else:
        try:
            import psutil
        except ImportError:
            return None
        available = psutil.virtual_memory().available
    limit, _ = resource.getrlimit(resource.RLIMIT_AS)
    used = _proc_fields("/proc/self/status").get("VmSize")
    if limit != resource.RLIM_INFINITY and used is not None:
        available = min(available, limit - used)
    return available


def _proc_fields(path: str) -> dict[str, int]:
    """`Name:  123 kB` lines of a /proc file, in bytes; empty where /proc does not exist."""
    try:
        with open(path) as handle:
            lines = handle.read().splitlines()
    except OSError:
        return {}
    fields = {}
    for line in lines:
        name, _, value = line.partition(":")
        parts = value.split()
        if len(parts) == 2 and parts[1] == "kB" and parts[0].isdigit():
            fields[name] = int(parts[0]) * 1024
    return fields


def check_memory(data: Any) -> None:
    """Raise OomRiskError when converting `data` could exhaust memory."""
    # For Arrow data, counting whole buffers bounds the size from above for free (exact nbytes
    # costs ~20 us a call): a small chunk needs no closer look.
    arrow = isinstance(data, (pa.Table, pa.RecordBatch))
    if arrow and OOM_FACTOR * data.get_total_buffer_size() < OOM_CHECK_FLOOR:
        return
    needed = OOM_FACTOR * estimate_nbytes(data)
    if needed < OOM_CHECK_FLOOR:
        return
    available = available_memory()
    if available is not None and available < needed:
        mib = 1024 * 1024
        raise OomRiskError(
            f"the parser produced about {needed // OOM_FACTOR // mib} MiB at once and only "
            f"{max(available, 0) // mib} MiB of memory is available: yield the data in smaller "
            "chunks (e.g. one per 100,000 rows) instead of returning it all at once"
        )


def ipc_messages(table: pa.Table, output: str) -> Iterator[list[Any]]:
    """`table` as Arrow IPC streams of about MESSAGE_TARGET_BYTES each, named after `output`,
    each as the list of its parts (see IpcParts)."""
    table = table.replace_schema_metadata({protocol.OUTPUT_METADATA_KEY: output.encode()})
    size = table.nbytes
    if size < OWN_FRAME_BYTES:
        # One part anyway: pyarrow writes it into one buffer without calls back into Python
        # (a fifth of the time, for a small file's table).
        stream = pa.BufferOutputStream()
        with pa.ipc.new_stream(stream, table.schema) as writer:
            writer.write_table(table)
        yield [stream.getvalue()]
        return
    rows = table.num_rows
    step = max(1, rows * MESSAGE_TARGET_BYTES // size)
    for start in range(0, rows, step):
        parts = IpcParts()
        with pa.ipc.new_stream(pa.PythonFile(parts, mode="w"), table.schema) as writer:
            writer.write_table(table.slice(start, step))
        yield parts.finish()


class IpcParts:
    """A write-only file that keeps what pyarrow's IPC writer writes, without copying the data:
    the writer hands over a table's body buffers as pyarrow Buffers, kept as parts of their
    own and sent by ZeroMQ from where they lie; the small pieces in between (metadata,
    padding) are joined into parts.

    A record batch's body must be contiguous for the host to use it where it arrives. A body
    of one large buffer (one column without nulls) is; one of several large buffers would have
    to be joined by the host, the busier side (it validates and writes), so `finish` joins the
    stream here instead, in one copy."""

    closed = False

    def __init__(self) -> None:
        self._parts: list[Any] = []
        self._small = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        size = memoryview(data).nbytes
        if size < OWN_FRAME_BYTES:
            self._small += data
        else:
            self._flush_small()
            self._parts.append(data)
        return size

    def flush(self) -> None:
        """Nothing to flush: the parts are sent by the caller."""

    def finish(self) -> list[Any]:
        self._flush_small()
        if sum(memoryview(part).nbytes >= OWN_FRAME_BYTES for part in self._parts) <= 1:
            return self._parts
        return [_joined(self._parts)]

    def _flush_small(self) -> None:
        if self._small:
            self._parts.append(bytes(self._small))
            self._small.clear()


def _joined(parts: list[Any]) -> pa.Buffer:
    joined = pa.allocate_buffer(sum(memoryview(part).nbytes for part in parts))
    target = memoryview(joined).cast("B")
    offset = 0
    for part in parts:
        piece = memoryview(part).cast("B")
        target[offset : offset + piece.nbytes] = piece
        offset += piece.nbytes
    return joined


def _compatible(first: pa.Schema, later: pa.Schema) -> bool:
    """Same columns in the same order; an all-null chunk's null type matches any type."""
    if first.equals(later):
        return True  # the usual case, answered without a Python loop over the fields
    if first.names != later.names:
        return False
    return all(
        a.type == b.type or pa.types.is_null(a.type) or pa.types.is_null(b.type)
        for a, b in zip(first, later, strict=True)
    )


def _describe(schema: pa.Schema) -> str:
    return ", ".join(f"{field.name} {field.type}" for field in schema)


class ParserCache:
    """Loaded parser modules, kept per (path, mtime, size) so an edited file is reloaded."""

    def __init__(self) -> None:
        self._modules: dict[tuple[str, int, int], Any] = {}

    def load(self, path: str) -> Any:
        try:
            stat = os.stat(path)
        except OSError as exc:
            raise ParserLoadFailure(f"cannot read the parser {path}: {exc.strerror}") from None
        key = (path, stat.st_mtime_ns, stat.st_size)
        if key not in self._modules:
            self._modules[key] = self._import(path, f"cf_parser_{len(self._modules)}")
        return self._modules[key]

    @staticmethod
    def _import(path: str, module_name: str) -> Any:
        folder = str(Path(path).resolve().parent)
        if folder not in sys.path:
            sys.path.insert(0, folder)  # a parser may import helper modules beside it
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ParserLoadFailure(f"{path} is not a Python file")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise ParserLoadFailure(
                f"{path} failed to import: {type(exc).__name__}: {exc}"
            ) from exc
        return module


class SidebandHandler(logging.Handler):
    """Sends log records to the host over the guest's main socket."""

    def __init__(self, guest: Guest) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        self._guest = guest

    def emit(self, record: logging.LogRecord) -> None:
        try:
            frames = protocol.encode_log(record.levelno, self.format(record), self._guest.job_id)
            self._guest.send(frames)
        except Exception:
            self.handleError(record)


def _flush_output() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a parser may have closed or replaced it
            stream.flush()


def read_link(fd: int) -> dict[str, str]:
    """What the host handed over through the inherited pipe `fd` (casparian_core/bridge/
    auth.py): the routing ids of this guest's two sockets and its credentials."""
    with os.fdopen(fd, "rb") as pipe:
        link = json.loads(pipe.read())
    if not isinstance(link, dict) or not all(isinstance(v, str) for v in link.values()):
        raise protocol.ProtocolError("the host's credentials are not a JSON object of strings")
    return link


def secure(socket: zmq.Socket[Any], link: dict[str, str], routing_id: str) -> None:
    """Set up a socket (before it connects) to reach only the host, with the credentials it
    gave this guest."""
    socket.setsockopt(zmq.ROUTING_ID, routing_id.encode())
    # Never reconnect: the host's socket lives as long as this guest; the port of a dead host
    # may be bound by anyone.
    socket.setsockopt(zmq.RECONNECT_IVL, -1)
    if "server_key" in link:  # CURVE: the host proves it holds its key, we prove ours
        socket.curve_serverkey = link["server_key"].encode()
        socket.curve_publickey = link["public_key"].encode()
        socket.curve_secretkey = link["secret_key"].encode()
    else:
        socket.plain_username = b"guest"
        socket.plain_password = link["password"].encode()


class Guest:
    def __init__(
        self, endpoint: str, heartbeat_secs: float, link: dict[str, str], job_marks: bool = False
    ) -> None:
        self.job_id: str | None = None  # of the job running, for its log lines
        self._job_marks = job_marks
        self._end_unmarked = False  # a job ended and no mark said so yet
        self._link = link
        self._context = zmq.Context()
        self._socket = self._context.socket(zmq.DEALER)
        secure(self._socket, link, link["main_id"])
        self._socket.setsockopt(zmq.SNDHWM, SEND_HWM)
        self._socket.connect(endpoint)
        # zmq sockets are not thread-safe: log records from parser threads share this lock.
        self._lock = threading.Lock()
        self._parsers = ParserCache()
        threading.Thread(
            target=self._heartbeat, args=(endpoint, heartbeat_secs), daemon=True
        ).start()

    def send(self, frames: list[Any], copy: bool = True) -> None:
        with self._lock:
            self._socket.send_multipart(frames, copy=copy)

    def serve(self) -> int:
        root = logging.getLogger()
        root.addHandler(SidebandHandler(self))
        root.setLevel(logging.INFO)
        logging.captureWarnings(True)
        hello = protocol.Hello(os.getpid(), sys.version, protocol.PROTOCOL_VERSION)
        self.send(protocol.encode_control(protocol.HELLO, hello))
        while True:
            message = protocol.decode(self._receive())
            if not isinstance(message, protocol.ControlMessage):
                raise protocol.ProtocolError("the host sent a data or log message")
            if message.signal == protocol.SHUTDOWN:
                return protocol.ExitClass.SUCCESS
            if message.signal != protocol.JOB:
                raise protocol.ProtocolError(f"the host sent signal 0x{message.signal:08X}")
            job = protocol.parse_body(protocol.Job, message.body)
            with self._running(job.job_id):
                done, last = self.run_job(job)
            if last is None:
                self.send(protocol.encode_control(protocol.DONE, done))
            else:  # one message where there would be two (see protocol.py)
                self.send(protocol.encode_last_data(last, done), copy=False)

    @contextlib.contextmanager
    def _running(self, job_id: str) -> Iterator[None]:
        """Log lines and, with job marks, output lines name `job_id` while it runs. The mark
        that ends it is left to `_receive`: a next job arriving within END_MARK_GRACE_MS marks
        the end itself."""
        self.job_id = job_id
        self._mark_output(job_id)
        try:
            yield
        finally:
            _flush_output()  # the job's lines reach the host before its DONE
            self._end_unmarked = self._job_marks
            self.job_id = None

    def _mark_output(self, job_id: str) -> None:
        if not self._job_marks:
            return
        _flush_output()
        mark = f"{protocol.JOB_MARK}{job_id}\n".encode()
        for fd in (1, 2):
            with contextlib.suppress(OSError):
                os.write(fd, mark)

    def _receive(self) -> list[bytes]:
        # Poll in short slices and release the lock in between, so parser threads can still log.
        while True:
            with self._lock:
                if self._socket.poll(END_MARK_GRACE_MS if self._end_unmarked else RECEIVE_POLL_MS):
                    return self._socket.recv_multipart()
            if self._end_unmarked:  # idle: what the guest prints now is no job's
                self._mark_output("")
                self._end_unmarked = False

    def run_job(self, job: protocol.Job) -> tuple[protocol.Done, list[Any] | None]:
        """Run the job, sending its data; its DONE, and the parts of its last data message,
        which is sent with it (each message is sent once the next one exists)."""
        sent = 0
        last: list[Any] | None = None
        schemas: dict[str, pa.Schema] = {}
        try:
            for output, data in self._results(job):
                check_memory(data)
                table = safe_to_arrow(data)
                if table.num_columns == 0:
                    continue  # e.g. [] for an empty input: nothing to send, not even a schema
                first = schemas.setdefault(output, table.schema)
                if not _compatible(first, table.schema):
                    raise InconsistentSchemaError(
                        f"output {output!r}: a chunk has columns ({_describe(table.schema)}) "
                        f"unlike the first chunk ({_describe(first)}); yield the same columns "
                        "with the same types in every chunk"
                    )
                for parts in ipc_messages(table, output):
                    if last is not None:
                        self.send(protocol.encode_data(last), copy=False)
                        sent += 1
                    last = parts
        except (Exception, SystemExit) as exc:
            if last is not None:  # what the parser made before it failed, as it streamed
                self.send(protocol.encode_data(last), copy=False)
                sent += 1
            code, exit_class = classify(exc)
            # The shim's own findings need no traceback: the message says it all.
            detected = isinstance(exc, (GuestError, UnsupportedTypeError))
            return protocol.Done(
                exit_code=exit_class,
                error_code=code,
                message=f"{type(exc).__name__}: {exc}",
                traceback=None if detected else user_traceback(exc),
                data_messages=sent,
            ), None
        if last is not None:
            sent += 1  # with the DONE
        return protocol.Done(exit_code=protocol.ExitClass.SUCCESS, data_messages=sent), last

    def _results(self, job: protocol.Job) -> Iterator[tuple[str, Any]]:
        module = self._parsers.load(job.parser_path)
        if job.class_name is None:
            parse = getattr(module, "parse", None)
            if not callable(parse):
                raise ParserLoadFailure(f"{job.parser_path} has no function parse(path)")
            result = parse(openable_path(job.input_path))
            chunks = result if isinstance(result, collections.abc.Iterator) else [result]
            for data in chunks:
                yield job.output_name, data
            return
        parser_class = getattr(module, job.class_name, None)
        if not isinstance(parser_class, type):
            raise ParserLoadFailure(f"{job.parser_path} has no class {job.class_name}")
        logger = logging.getLogger(f"parser.{job.output_name}")
        context = ParserContext(openable_path(job.input_path), logger, job.job_id)
        result = parser_class().parse(context)
        if not isinstance(result, collections.abc.Iterable):
            raise UnsupportedTypeError(
                f"{job.class_name}.parse returned a {type(result).__name__}; "
                "it must yield (output_name, data) pairs"
            )
        for item in result:
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
                raise UnsupportedTypeError(
                    f"{job.class_name}.parse yielded a {type(item).__name__}; "
                    "it must yield (output_name, data) pairs"
                )
            yield item

    def _heartbeat(self, endpoint: str, interval: float) -> None:
        socket = self._context.socket(zmq.DEALER)
        secure(socket, self._link, self._link["heartbeat_id"])
        socket.setsockopt(zmq.LINGER, 0)
        socket.connect(endpoint)
        beat = protocol.encode_control(protocol.HEARTBEAT)
        while True:
            # A full queue means the host is busy reading our data: it knows we are alive.
            with contextlib.suppress(zmq.Again):
                socket.send_multipart(beat, flags=zmq.NOBLOCK)
            time.sleep(interval)


def apply_limits(max_memory_mb: int, max_cpu_secs: int, max_open_files: int) -> None:
    """Resource limits, set by the guest itself (not by preexec_fn, which is unsafe when the
    host has threads). Hard limits never rise above what this process already has."""
    _set_limit(resource.RLIMIT_AS, max_memory_mb * 1024 * 1024, max_memory_mb * 1024 * 1024)
    _set_limit(resource.RLIMIT_CPU, max_cpu_secs, max_cpu_secs + CPU_GRACE_SECS)
    _set_limit(resource.RLIMIT_NOFILE, max_open_files, max_open_files)


def _set_limit(kind: int, soft: int, hard: int) -> None:
    _, current_hard = resource.getrlimit(kind)
    if current_hard != resource.RLIM_INFINITY:
        hard = min(hard, current_hard)
        soft = min(soft, hard)
    resource.setrlimit(kind, (soft, hard))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Casparian Flow guest shim (started by the host)")
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--heartbeat-secs", type=float, default=1.0)
    parser.add_argument("--max-memory-mb", type=int, required=True)
    parser.add_argument("--max-cpu-secs", type=int, required=True)
    parser.add_argument("--max-open-files", type=int, required=True)
    parser.add_argument("--host-pid", type=int, required=True)
    parser.add_argument("--private-dir", help="the only folder the parser may write (Landlock)")
    parser.add_argument("--job-marks", action="store_true", help="mark jobs in stdout/stderr")
    parser.add_argument("--link-fd", type=int, required=True, help="the host's credentials")
    args = parser.parse_args(argv)
    link = read_link(args.link_fd)  # first: no parser code has run yet
    start_confined(args)
    return Guest(args.endpoint, args.heartbeat_secs, link, args.job_marks).serve()


def start_confined(args: argparse.Namespace) -> None:
    """Confine this process before the parser can run, and before any thread of ours starts
    (a thread started before Landlock would stay free to write)."""
    # The host may have ended while we imported pyarrow: then nobody would ever end us.
    confine.die_with_parent(args.host_pid)
    faulthandler.enable()  # a segfaulting parser leaves its Python traceback on stderr
    apply_limits(args.max_memory_mb, args.max_cpu_secs, args.max_open_files)
    if args.private_dir is not None:
        confine.restrict_writes(args.private_dir)
    confine.watch_parent(args.host_pid, args.heartbeat_secs)


if __name__ == "__main__":
    sys.exit(main())
