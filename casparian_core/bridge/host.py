"""The host end of the bridge: spawns a guest, sends it jobs, receives its data as it streams.

A `GuestProcess` is one guest slot: it spawns the guest on the first job, keeps it warm for the
next ones, and respawns it after a failure killed it. Whatever the guest does — crash, hang, send
garbage — `run_job` returns a `JobOutcome` with an error code and the host carries on. Exceptions
raised by the `on_data` callback (validation, sinks) or a Ctrl+C kill the guest and propagate.
"""

from __future__ import annotations

import collections
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import zmq

from casparian_core import children
from casparian_core.bridge import auth, confine, protocol
from casparian_core.bridge.protocol import ExitClass
from casparian_core.config import Settings
from casparian_core.errors import ErrorCode

if TYPE_CHECKING:
    import pyarrow as pa

GUEST_SCRIPT = Path(__file__).with_name("guest.py")
# Variables a parser may legitimately need; everything else (API keys, CASPARIAN_*, the database
# path) stays in the host.
GUEST_ENV_NAMES = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "TERM")
# OpenBLAS, loaded with numpy (which pyarrow imports), starts a thread per core that spins on
# start-up: a guest gets one unless the host's environment asks for more. Workers run one guest
# each, one per core: more threads would only take CPU from the other workers.
BLAS_THREADS = "OPENBLAS_NUM_THREADS"
RECEIVE_HWM = 4
POLL_MS = 100
SHUTDOWN_GRACE_SECS = 2.0
DRAIN_SECS = 0.2  # after the guest exits, how long its last messages may take to arrive
STDERR_TAIL_LINES = 40  # faulthandler's report of a crash names each of the guest's threads

# (job id, or None for a line of no job such as the guest's start-up; logging level; text).
# What it returns is ignored.
LogCallback = Callable[[str | None, int, str], object]
DataCallback = Callable[[str, "pa.Table"], None]


@dataclass(frozen=True)
class JobOutcome:
    """How a job ended, as the guest reported it or as the host observed it."""

    exit_code: int
    error_code: ErrorCode | None = None
    message: str | None = None
    traceback: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_code is None

    @classmethod
    def reported(cls, done: protocol.Done) -> JobOutcome:
        """The outcome the guest reported, its code (text on the wire) decoded here, at the
        boundary. A code this host does not know (a newer guest's) becomes UNKNOWN_ERROR, the
        guest's code kept in the message; the guest's exit class still decides a retry."""
        code, message = done.error_code, done.message
        if code is None:
            return cls(done.exit_code, None, message, done.traceback)
        try:
            known = ErrorCode(code)
        except ValueError:
            known = ErrorCode.UNKNOWN_ERROR
            message = (
                f"{message or 'the parser failed'} (the guest reported the error code {code!r}, "
                "which this version of Casparian does not know)"
            )
        return cls(done.exit_code, known, message, done.traceback)


@dataclass
class _StartedJob:
    """A job passed to `start_job` and not yet finished."""

    job: protocol.Job
    guest: children.Child | None = None  # the process it was sent to, if any
    failure: GuestFailure | None = None  # sending it failed: this is its outcome
    sent_at: float = 0.0  # time.monotonic() when it was sent


class GuestFailure(Exception):
    """The guest died, hung, or broke the protocol; it has been killed."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        detail: str | None = None,
        exit_class: int = ExitClass.TRANSIENT,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.detail = detail
        self.exit_class = exit_class  # a setup problem or a job over its time: PERMANENT


class GuestUnreachable(GuestFailure):
    """A message could not be sent: the guest's connection is gone."""


def guest_environment(source: Mapping[str, str], venv: Path | None = None) -> dict[str, str]:
    """The minimal environment of a guest: a few harmless variables, never host secrets."""
    env = {name: source[name] for name in GUEST_ENV_NAMES if name in source}
    env["PYTHONUNBUFFERED"] = "1"  # so print() output reaches the log as it happens
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ left beside the user's parsers
    env[BLAS_THREADS] = source.get(BLAS_THREADS, "1")
    if venv is not None:
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = os.pathsep.join(filter(None, (str(venv / "bin"), env.get("PATH"))))
    return env


def guest_python(venv: Path | None) -> str:
    return sys.executable if venv is None else str(venv / "bin" / "python")


class GuestProcess:
    """A guest slot. Not thread-safe: one thread drives it (the engine's)."""

    def __init__(
        self,
        settings: Settings,
        *,
        venv: Path | None = None,
        inherit_stdio: bool = False,
        on_log: LogCallback | None = None,
    ) -> None:
        self._settings = settings
        self._venv = venv
        self._inherit_stdio = inherit_stdio
        self._on_log = on_log
        self._log_lock = threading.Lock()
        self._context: zmq.Context[Any] = zmq.Context.instance()
        self._process: children.Child | None = None
        self._socket: zmq.Socket[Any] | None = None
        self._gate: auth.Gate | None = None  # who may use the socket: the running guest only
        self._link_fd: int | None = None  # the guest's credentials, until it has started
        self._readers: list[threading.Thread] = []
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self._last_seen = 0.0
        self._started: collections.deque[_StartedJob] = collections.deque()  # not finished
        self._ready = False  # the running guest said HELLO
        self._private_dir: str | None = None  # the only folder the running guest may write
        self._idle_since = 0.0  # when the running guest's last result arrived
        self._job_deadline: tuple[float, GuestFailure] | None = None  # the awaited job's
        self.jobs_served = 0  # by the current process; a respawn starts again at 0

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def private_dir(self) -> str | None:
        """The running guest's temporary folder (its TMPDIR), the only one it may write."""
        return self._private_dir

    def run_job(
        self,
        job: protocol.Job,
        on_data: DataCallback,
        cancel: threading.Event | None = None,
    ) -> JobOutcome:
        """Run one job, calling `on_data(output, table)` for each table as it arrives."""
        self.start_job(job, cancel)
        return self.finish_job(on_data, cancel)

    def start_job(self, job: protocol.Job, cancel: threading.Event | None = None) -> None:
        """Send a job without waiting for it: the guest works on it while the caller does
        something else. Jobs may be started ahead: the guest serves them in order, so it parses
        the next input while the host validates and writes the current one's data. Each
        started job gets one `finish_job`, in the order they were started."""
        self._started.append(_StartedJob(job))
        self._send_started(cancel)

    def finish_job(
        self,
        on_data: DataCallback,
        cancel: threading.Event | None = None,
        on_retry: Callable[[], None] | None = None,
    ) -> JobOutcome:
        """Receive the oldest started job's data, calling `on_data(output, table)` for each
        table as it arrives, until its result.

        A guest that dies while it holds this job and a later one may have died in either: a
        crash can lose the last messages of a job that had finished. With `on_retry`, such a
        job runs again, alone on a new guest, after `on_retry()` (which drops what it had
        delivered); without, the failure is reported as this job's."""
        try:
            try:
                done = self._await_oldest(on_data, cancel, alone=False)
            except GuestFailure as failure:
                if on_retry is None or not self._died_holding_more(failure):
                    raise
                self.kill()
                on_retry()
                done = self._await_oldest(on_data, cancel, alone=True)
        except GuestFailure as failure:
            self.kill()
            return JobOutcome(failure.exit_class, failure.code, str(failure), failure.detail)
        except BaseException:
            self.kill()  # Ctrl+C, or validation/sink failed: the rest of this job is unwanted
            raise
        finally:
            self._started.popleft()
        self.jobs_served += 1
        return JobOutcome.reported(done)

    def _await_oldest(
        self, on_data: DataCallback, cancel: threading.Event | None, alone: bool
    ) -> protocol.Done:
        started = self._started[0]
        if started.guest is None and started.failure is None:
            self._send_started(cancel, only_oldest=alone)  # its guest was killed: resend
        if started.failure is not None:
            raise started.failure
        return self._await_done(on_data, cancel)

    def _died_holding_more(self, failure: GuestFailure) -> bool:
        """Whether the guest that failed the oldest job had been sent a later one too."""
        guest = self._started[0].guest
        later = itertools.islice(self._started, 1, None)
        return (
            failure.code != ErrorCode.CANCELLED
            # A permanent failure (the job's own time limit) is surely the oldest job's.
            and failure.exit_class != ExitClass.PERMANENT
            and guest is not None
            and any(started.guest is guest for started in later)
        )

    def _send_started(
        self, cancel: threading.Event | None, only_oldest: bool = False, relaunched: bool = False
    ) -> None:
        """Send the started jobs the running guest does not have, in order (or only the oldest
        of them), launching a guest if none runs. A guest that died holding jobs is left for
        the oldest one's `finish_job` to report; the jobs after it are sent to the next guest."""
        if self._process is not None and self._process.poll() is not None:
            if self._holds_jobs():
                return
            self.kill()  # it died since its last job (or since it was launched)
        unsent = [job for job in self._started if job.guest is None and job.failure is None]
        if only_oldest:
            unsent = unsent[:1]
        try:
            self.launch()
            if not self._ready:
                check_hello(self._receive_until(protocol.HELLO, None, cancel))
                self._ready = True
            for started in unsent:
                self._send(protocol.encode_control(protocol.JOB, started.job))
                started.guest = self._process
                started.sent_at = time.monotonic()
        except GuestFailure as failure:
            if self._holds_jobs():
                return  # it died holding jobs: the oldest one's finish_job reports how
            self.kill()
            if isinstance(failure, GuestUnreachable) and not relaunched:
                # It died idle, after its HELLO: no input is to blame, a new guest takes them.
                self._send_started(cancel, only_oldest, relaunched=True)
                return
            unsent[0].failure = failure  # reported as that job's outcome by its finish_job
        except BaseException:
            self.kill()
            raise

    def _holds_jobs(self) -> bool:
        """Whether the running (or dead, not yet reaped) guest was sent unfinished jobs."""
        return self._process is not None and any(
            started.guest is self._process for started in self._started
        )

    def close(self) -> None:
        """Ask the guest to exit, and kill it if it does not within a grace period."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            try:
                self._send(protocol.encode_control(protocol.SHUTDOWN))
                process.wait(SHUTDOWN_GRACE_SECS)
            except (GuestFailure, subprocess.TimeoutExpired):
                pass  # it is dead or deaf: killed below
        self.kill()

    def kill(self) -> None:
        """Kill the guest and every process it started, and forget it."""
        process, self._process = self._process, None
        if process is not None:
            process.stop()
        if self._private_dir is not None:
            confine.remove_private_dir(self._private_dir)
            self._private_dir = None
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None
            self._close_gate()
        for reader in self._readers:
            reader.join()
        self._readers = []
        self._ready = False
        self._idle_since = 0.0
        self.jobs_served = 0
        for started in self._started:
            started.guest = None  # each unfinished job goes to the next guest, or is dropped

    def __enter__(self) -> GuestProcess:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        if exc_type is None and not self._started:
            self.close()
        else:
            self.kill()  # a job may still be running: waiting for it to see SHUTDOWN is wasted
        self._started.clear()  # jobs of a cancelled run are never sent to a later guest

    def launch(self) -> None:
        """Start the guest process unless one is running, without waiting for it to be ready:
        it imports pyarrow and says HELLO while the caller does other work (opens the sink,
        hashes the input). The first job waits for the HELLO."""
        if self._process is not None:
            return
        python = guest_python(self._venv)
        socket = self._context.socket(zmq.ROUTER)
        link_fd = self._open_gate(socket)
        socket.setsockopt(zmq.RCVHWM, RECEIVE_HWM)
        socket.setsockopt(zmq.ROUTER_MANDATORY, 1)
        socket.bind("tcp://127.0.0.1:*")
        self._socket = socket
        endpoint = socket.getsockopt_string(zmq.LAST_ENDPOINT)
        limits = self._settings
        command = [
            python,
            str(GUEST_SCRIPT),
            f"--endpoint={endpoint}",
            f"--heartbeat-secs={limits.guest_heartbeat_secs}",
            f"--max-memory-mb={limits.guest_max_memory_mb}",
            f"--max-cpu-secs={limits.guest_max_cpu_secs}",
            f"--max-open-files={limits.guest_max_open_files}",
        ]
        if not self._inherit_stdio:
            command.append("--job-marks")  # its output comes to us: attribute lines to jobs
        command.append(f"--link-fd={link_fd}")
        self._stderr_tail.clear()
        self._process = self._spawn(command, pass_fds=(link_fd,))
        self._close_link()  # the guest has its own copy
        if not self._inherit_stdio:
            self._start_reader(self._process.stdout, 20, keep_tail=False)
            self._start_reader(self._process.stderr, 30, keep_tail=True)
        self._last_seen = time.monotonic()

    def _spawn(self, command: list[str], pass_fds: tuple[int, ...]) -> children.Child:
        """Start the guest confined (see confine.py and children.py): it ends with this host,
        its descendants with it, and it writes only a private folder of its own, its TMPDIR."""
        self._private_dir = confine.new_private_dir()
        command = [*command, f"--host-pid={os.getpid()}", f"--private-dir={self._private_dir}"]
        env = guest_environment(os.environ, self._venv)
        env["TMPDIR"] = self._private_dir
        piped = None if self._inherit_stdio else subprocess.PIPE
        return children.start(
            command,
            env=env,
            stdin=None if self._inherit_stdio else subprocess.DEVNULL,
            stdout=piped,
            stderr=piped,
            pass_fds=pass_fds,
        )

    def _open_gate(self, socket: zmq.Socket[Any]) -> int:
        """Make `socket` admit only the guest about to be launched; returns the read end of
        the pipe that hands it its credentials (see auth.py)."""
        self._close_link()  # left by a launch that failed to start its guest
        self._gate = auth.Gate(self._context, encrypt=self._settings.guest_encrypt_bridge)
        self._gate.secure(socket)
        self._link_fd = self._gate.hand_over()
        return self._link_fd

    def _close_link(self) -> None:
        if self._link_fd is not None:
            os.close(self._link_fd)
            self._link_fd = None

    def _close_gate(self) -> None:
        if self._gate is not None:
            self._gate.close()
            self._gate = None

    def _start_reader(self, stream: IO[bytes] | None, level: int, keep_tail: bool) -> None:
        """Forward the guest's stdout/stderr lines to the log (piped mode), each with the job
        its guest's last job mark names (protocol.JOB_MARK)."""

        def forward() -> None:
            assert stream is not None
            job_id: str | None = None
            for raw in stream:
                line = raw.decode("utf-8", errors="replace").rstrip("\n")
                text, marked, mark = line.partition(protocol.JOB_MARK)
                if text or not marked:  # a mark may end a line the parser left unfinished
                    if keep_tail:
                        self._stderr_tail.append(text)
                    self._log(job_id, level, text)
                if marked:
                    job_id = mark or None
            stream.close()

        reader = threading.Thread(target=forward, daemon=True, name="guest-output")
        reader.start()
        self._readers.append(reader)

    def _send(self, frames: list[bytes]) -> None:
        """Send to the guest; a guest that cannot take it is failing (GuestFailure). The host
        sends only a job or two ahead and a shutdown, far below the guest's high-water mark: a
        send that would block means the guest's connection is gone, so none ever waits."""
        assert self._socket is not None and self._gate is not None
        try:
            # Only ever to the guest's own routing id, which only it can hold (see auth.py).
            self._socket.send_multipart([self._gate.main_id, *frames], flags=zmq.DONTWAIT)
        except zmq.ZMQError as exc:  # EHOSTUNREACH: it disconnected (ROUTER_MANDATORY)
            raise self._unreachable(exc) from None

    def _unreachable(self, exc: zmq.ZMQError) -> GuestUnreachable:
        """The guest's connection is gone, so the guest is dying: wait for its end (which says
        why, e.g. its exit code), ending it if it lingers, disconnected and useless."""
        assert self._process is not None
        try:
            returncode = self._process.wait(SHUTDOWN_GRACE_SECS)
        except subprocess.TimeoutExpired:
            self._process.stop()
            message = f"the guest dropped its connection ({exc.strerror}) and has been killed"
            return GuestUnreachable(
                ErrorCode.CRASHED, message, "\n".join(self._stderr_tail) or None
            )
        death = self._death(returncode)
        return GuestUnreachable(death.code, str(death), death.detail)

    def _await_done(self, on_data: DataCallback, cancel: threading.Event | None) -> protocol.Done:
        received = 0

        def count_data(output: str, table: pa.Table) -> None:
            nonlocal received
            received += 1
            on_data(output, table)

        self._job_deadline = self._deadline(self._started[0])
        try:
            body = self._receive_until(protocol.DONE, count_data, cancel)
        finally:
            self._job_deadline = None
        self._idle_since = time.monotonic()  # the guest starts its next job now
        try:
            done = protocol.parse_body(protocol.Done, body)
        except protocol.ProtocolError as exc:
            raise GuestFailure(
                ErrorCode.PROTOCOL_ERROR, f"the guest's result is invalid: {exc}"
            ) from None
        if done.data_messages != received:
            raise GuestFailure(
                ErrorCode.PROTOCOL_ERROR,
                f"the guest sent {done.data_messages} data messages, {received} arrived",
            )
        return done

    def _deadline(self, started: _StartedJob) -> tuple[float, GuestFailure]:
        """When the job must be done by (its wall-clock limit from when the guest started
        it: when it was sent, or when the job before it ended), and its failure if not."""
        limit: float
        if started.job.timeout_secs is not None:
            limit, where = started.job.timeout_secs, "`timeout_secs` in the parser"
        else:
            limit = self._settings.guest_job_timeout_secs
            where = "guest_job_timeout_secs (config.toml or CASPARIAN_GUEST_JOB_TIMEOUT_SECS)"
        failure = GuestFailure(
            ErrorCode.TIMEOUT,
            f"the parser spent more than {limit:g} s on this input (the limit set by {where}) "
            f"and was stopped; look for a sleep or a blocking read, or raise {where} if the "
            "input needs longer",
            exit_class=ExitClass.PERMANENT,
        )
        return max(started.sent_at, self._idle_since) + limit, failure

    def _receive_until(
        self, signal_wanted: int, on_data: DataCallback | None, cancel: threading.Event | None
    ) -> dict[str, Any]:
        """Handle messages until the control message `signal_wanted` arrives; return its body."""
        assert self._process is not None and self._socket is not None
        while True:
            if self._socket.poll(POLL_MS):
                body = self._handle(self._socket.recv_multipart(copy=False), signal_wanted, on_data)
                if body is not None:
                    return body
            if cancel is not None and cancel.is_set():
                raise GuestFailure(ErrorCode.CANCELLED, "the run was cancelled")
            if self._job_deadline is not None and time.monotonic() > self._job_deadline[0]:
                raise self._job_deadline[1]
            returncode = self._process.poll()
            if returncode is not None:
                # Its last messages may still be in flight: a result means it did finish.
                while self._socket.poll(int(DRAIN_SECS * 1000)):
                    body = self._handle(self._socket.recv_multipart(), signal_wanted, on_data)
                    if body is not None:
                        return body
                raise self._death(returncode)
            silent = time.monotonic() - self._last_seen
            if silent > self._settings.guest_timeout_secs:
                raise GuestFailure(
                    ErrorCode.TIMEOUT,
                    f"the guest sent no heartbeat for {silent:.1f} s (guest_timeout_secs = "
                    f"{self._settings.guest_timeout_secs:g}); it was frozen and has been killed",
                )

    def _handle(
        self, frames: list[Any], signal_wanted: int, on_data: DataCallback | None
    ) -> dict[str, Any] | None:
        """Act on one message from the guest (its frames, the first its routing id)."""
        assert self._gate is not None
        sender = getattr(frames[0], "bytes", frames[0])
        if sender not in (self._gate.main_id, self._gate.heartbeat_id):
            return None  # not our guest's (the ZAP handler admits no other peer): never counts
        self._last_seen = time.monotonic()
        message = _decode(frames[1:])
        if sender == self._gate.heartbeat_id:
            if message != _HEARTBEAT:
                raise GuestFailure(ErrorCode.PROTOCOL_ERROR, "the guest's heartbeat is garbled")
        elif isinstance(message, protocol.DataMessage):
            if on_data is None:
                raise GuestFailure(ErrorCode.PROTOCOL_ERROR, "the guest sent data outside a job")
            on_data(*read_table(message.parts))
            if message.done is not None:  # the job's last data message
                return self._control(message.done, signal_wanted)
        elif isinstance(message, protocol.LogMessage):
            self._log(message.job_id, message.level, message.text)
        else:
            return self._control(message, signal_wanted)
        return None

    @staticmethod
    def _control(message: protocol.ControlMessage, signal_wanted: int) -> dict[str, Any] | None:
        """The body of the control message awaited; None for a heartbeat."""
        if message.signal == signal_wanted:
            return message.body
        if message.signal != protocol.HEARTBEAT:
            raise GuestFailure(
                ErrorCode.PROTOCOL_ERROR,
                f"the guest sent signal 0x{message.signal:08X} out of turn",
            )
        return None

    def _death(self, returncode: int) -> GuestFailure:
        """How the guest that exited with `returncode` failed, with the tail of its stderr."""
        assert self._process is not None
        # Its descendants may hold its stdout and stderr open: they end with it.
        self._process.stop()
        for reader in self._readers:
            reader.join()  # so the crash report has all of stderr
        detail = "\n".join(self._stderr_tail) or None
        if not self._ready and returncode != -signal.SIGKILL:  # SIGKILL came from outside
            return self._start_failure(returncode, detail)
        if returncode < 0:
            name = signal.Signals(-returncode).name
            if -returncode == signal.SIGXCPU:
                return GuestFailure(
                    ErrorCode.TIMEOUT,
                    f"the parser used more than {self._settings.guest_max_cpu_secs} s of CPU "
                    f"time (guest_max_cpu_secs) and was stopped with {name}; check for an "
                    "endless loop, or raise the limit",
                    detail,
                )
            return GuestFailure(
                ErrorCode.CRASHED, f"the guest process died with {name} (a crash)", detail
            )
        return GuestFailure(
            ErrorCode.CRASHED,
            f"the guest process exited with code {returncode} without reporting a result",
            detail,
        )

    def _start_failure(self, returncode: int, detail: str | None) -> GuestFailure:
        """A guest that ended before its HELLO never ran a parser: its Python, its packages or
        its limits are at fault, and running the input again would fail the same way."""
        if returncode < 0:
            how = f"died with {signal.Signals(-returncode).name}"
        else:
            how = f"exited with code {returncode}"
        last = next((line.strip() for line in reversed(self._stderr_tail) if line.strip()), "")
        said = f" ({last})" if last else ""
        return GuestFailure(
            ErrorCode.GUEST_START_FAILED,
            f"the guest process {how} before it was ready{said}: check that "
            f"{guest_python(self._venv)} has pyarrow and pyzmq installed, and that "
            "guest_max_memory_mb and guest_max_open_files leave it room to start",
            detail,
            exit_class=ExitClass.PERMANENT,
        )

    def _log(self, job_id: str | None, level: int, text: str) -> None:
        if self._on_log is not None:
            with self._log_lock:  # the output readers call this from their own threads
                self._on_log(job_id, level, text)


_HEARTBEAT = protocol.ControlMessage(protocol.HEARTBEAT, {})


def check_hello(body: dict[str, Any]) -> protocol.Hello:
    """The guest's HELLO, if it speaks a protocol version this host reads."""
    try:
        hello: protocol.Hello = protocol.parse_body(protocol.Hello, body)
    except protocol.ProtocolError as exc:
        raise GuestFailure(
            ErrorCode.PROTOCOL_ERROR, f"the guest's HELLO is invalid: {exc}"
        ) from None
    if not 1 <= hello.protocol <= protocol.PROTOCOL_VERSION:
        raise GuestFailure(
            ErrorCode.PROTOCOL_ERROR,
            f"the guest speaks protocol {hello.protocol}; this host reads versions 1 to "
            f"{protocol.PROTOCOL_VERSION}",
        )
    return hello


def _decode(frames: list[Any]) -> protocol.Message:
    try:
        return protocol.decode(frames)
    except protocol.ProtocolError as exc:
        message = f"the guest broke the protocol: {exc}"
        raise GuestFailure(ErrorCode.PROTOCOL_ERROR, message) from None


def read_table(parts: tuple[memoryview, ...]) -> tuple[str, pa.Table]:
    """The output name and table of a data message. Buffers that arrived as frames of their
    own are used where they lie (see IpcPartsReader); a message of one frame (a small table) is
    read by pyarrow without calls back into Python."""
    import pyarrow as pa

    if len(parts) == 1:
        source: pa.Buffer | pa.PythonFile = pa.py_buffer(parts[0])
    else:
        source = pa.PythonFile(IpcPartsReader(parts), mode="r")
    try:
        table = pa.ipc.open_stream(source).read_all()
    except (pa.ArrowInvalid, OSError) as exc:
        raise GuestFailure(
            ErrorCode.PROTOCOL_ERROR, f"a data message is not an Arrow IPC stream ({exc})"
        ) from None
    output = (table.schema.metadata or {}).get(protocol.OUTPUT_METADATA_KEY)
    if not output:
        raise GuestFailure(ErrorCode.PROTOCOL_ERROR, "a data message does not name its output")
    return output.decode("utf-8", errors="replace"), table.replace_schema_metadata(None)


class IpcPartsReader:
    """A read-only file over the parts of one Arrow IPC stream, for pyarrow's IPC reader. A read
    within one part is a slice of it (no copy): a body made of one buffer, sent as its own
    frame, is used where it arrived. A read across parts joins them in one copy; the guest
    avoids sending such cuts (see guest.IpcParts), but any cut of a valid stream reads back."""

    closed = False

    def __init__(self, parts: tuple[memoryview, ...]) -> None:
        self._parts = collections.deque(part.cast("B") for part in parts if part.nbytes)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> memoryview | pa.Buffer:
        import pyarrow as pa

        if size < 0:
            size = sum(part.nbytes for part in self._parts)
        if self._parts and size <= self._parts[0].nbytes:
            return self._take(size)
        joined = pa.allocate_buffer(size)  # from pyarrow's pool: its pages are reused, not new
        target = memoryview(joined).cast("B")
        filled = 0
        while self._parts and filled < size:
            piece = self._take(min(size - filled, self._parts[0].nbytes))
            target[filled : filled + piece.nbytes] = piece
            filled += piece.nbytes
        return joined.slice(0, filled)  # shorter than asked when the stream is cut short

    def _take(self, size: int) -> memoryview:
        head = self._parts[0]
        if size == head.nbytes:
            self._parts.popleft()
        else:
            self._parts[0] = head[size:]
        return head[:size]
