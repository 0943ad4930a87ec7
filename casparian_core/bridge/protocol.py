"""The bridge wire protocol, shared by the host and the guest shim.

Every message is a 4-byte big-endian header frame followed by its payload.
- A header N <= MAX_DATA_LENGTH is a data message: the payload is an Arrow IPC stream of exactly
  N bytes whose schema metadata names the output (key OUTPUT_METADATA_KEY). It may span several
  frames, which together (in order) are the stream: so the guest can send a table's buffers
  from where they lie instead of copying them into one.
- JOB_LOG_SIGNAL (protocol 2): the payload is `[LEVEL:1][ID_LENGTH:1][LENGTH:4][JOB_ID][MESSAGE]`,
  the log sideband: LEVEL is the `logging` level number, JOB_ID (ASCII, possibly empty) names the
  job the line belongs to (empty for lines of no job, e.g. the guest's start-up), MESSAGE UTF-8.
- LOG_SIGNAL (protocol 1, still accepted): `[LEVEL:1][LENGTH:4][MESSAGE]`, a line of no known job.
- The other reserved values are control messages whose payload is a JSON object (empty for
  HEARTBEAT and SHUTDOWN).
Log and control payloads are one frame. The header travels in its own frame so Arrow data is sent
without being copied. The guest's HELLO names the protocol version it speaks (absent: 1).

A job's last data message may carry its DONE (protocol 3): the DONE's header and payload frames
follow the Arrow frames (which add up to the length the data header announces). A small input's
job is then one message instead of two: one send, one receive and one wake-up less on each side
(1% of a run on 2,000 small files).

When the host reads the guest's stdout and stderr (not in the terminal), a protocol 2 guest started
with `--job-marks` writes `JOB_MARK + job_id + newline` to both before each job and `JOB_MARK +
newline` after it, so the lines in between (prints, and what a parser's own children write) are
attributed to their job.

This module is imported by the guest, which may run under another virtual environment's Python:
it uses the standard library only (no pydantic, no casparian imports) and is importable on its own.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import struct
from dataclasses import dataclass
from typing import Any, Union

# 2: log lines name their job (JOB_LOG_SIGNAL). 3: a data message may end with its job's DONE.
# The host accepts guests of versions 1 to this.
PROTOCOL_VERSION = 3

HEADER = struct.Struct(">I")
LOG_PREFIX = struct.Struct(">BI")  # protocol 1
JOB_LOG_PREFIX = struct.Struct(">BBI")

MAX_DATA_LENGTH = 0xFFFFFFEF
HELLO = 0xFFFFFFF0  # guest -> host, once: the guest is ready
JOB = 0xFFFFFFF1  # host -> guest: run a parser on one input
DONE = 0xFFFFFFF2  # guest -> host: the job's result, after its last data message
HEARTBEAT = 0xFFFFFFF3  # guest -> host, from its own thread, every guest_heartbeat_secs
SHUTDOWN = 0xFFFFFFF4  # host -> guest: exit now
JOB_LOG_SIGNAL = 0xFFFFFFFD
LOG_SIGNAL = 0xFFFFFFFE

JOB_MARK = "\x1e\x1ecf-job:"  # see the module's docstring

CONTROL_SIGNALS = frozenset({HELLO, JOB, DONE, HEARTBEAT, SHUTDOWN})
OUTPUT_METADATA_KEY = b"cf_output"


class ErrorCode:
    """Error codes of a job. The guest reports the first group; the host detects the second.

    The guest's stdlib mirror of `casparian_core.errors.ErrorCode` (a StrEnum the guest cannot
    import): host code uses that one; tests/core/test_vocabulary.py checks the two agree."""

    SCHEMA_MISMATCH = "SCHEMA_MISMATCH"
    FILE_NOT_FOUND = "FILE_NOT_FOUND"
    PERMISSION_ERROR = "PERMISSION_ERROR"
    ENCODING_ERROR = "ENCODING_ERROR"
    MEMORY_ERROR = "MEMORY_ERROR"
    INVALID_DATA = "INVALID_DATA"
    UNKNOWN_ERROR = "UNKNOWN_ERROR"
    UNSUPPORTED_TYPE = "UNSUPPORTED_TYPE"
    INCONSISTENT_SCHEMA = "INCONSISTENT_SCHEMA"
    PARSER_LOAD_ERROR = "PARSER_LOAD_ERROR"
    OOM_RISK = "OOM_RISK"

    CRASHED = "CRASHED"
    TIMEOUT = "TIMEOUT"
    PROTOCOL_ERROR = "PROTOCOL_ERROR"
    CANCELLED = "CANCELLED"
    GUEST_START_FAILED = "GUEST_START_FAILED"


class ExitClass:
    """How a job ended, as the shim's exit codes in DESIGN.md: retry only TRANSIENT."""

    SUCCESS = 0
    PERMANENT = 1
    TRANSIENT = 2


class ProtocolError(Exception):
    """Bytes that do not follow this protocol arrived."""


@dataclass(frozen=True)
class DataMessage:
    parts: tuple[memoryview, ...]  # one Arrow IPC stream, cut into frames
    done: ControlMessage | None = None  # the job's DONE, when this is its last data message


@dataclass(frozen=True)
class LogMessage:
    level: int
    text: str
    job_id: str | None = None  # None: a line of no job, or from a protocol 1 guest


@dataclass(frozen=True)
class ControlMessage:
    signal: int
    body: dict[str, Any]


Message = Union[DataMessage, LogMessage, ControlMessage]  # noqa: UP007 (guest may run 3.9)


@dataclass(frozen=True)
class Hello:
    pid: int
    python: str
    protocol: int = 1  # the version the guest speaks; protocol 1 guests did not say


@dataclass(frozen=True)
class Job:
    job_id: str
    parser_path: str
    input_path: str
    output_name: str  # the single output of a Level 1 parser
    class_name: str | None  # the parser class of a Level 2 parser, None for Level 1
    timeout_secs: int | None = None  # the parser's own wall-clock limit per input (the host's)


@dataclass(frozen=True)
class Done:
    exit_code: int
    error_code: str | None = None
    message: str | None = None
    traceback: str | None = None
    data_messages: int = 0  # how many data messages the job sent, so the host can check


def encode_data(ipc_parts: list[Any]) -> list[Any]:
    """Frames of a data message: `ipc_parts` are buffers (e.g. pyarrow.Buffer, not copied) that
    together, in order, are one Arrow IPC stream."""
    if not ipc_parts:
        raise ProtocolError("a data message needs at least one part")
    length = sum(memoryview(part).nbytes for part in ipc_parts)
    if length > MAX_DATA_LENGTH:
        raise ProtocolError(f"an Arrow IPC stream of {length} bytes is too large for one message")
    return [HEADER.pack(length), *ipc_parts]


def encode_last_data(ipc_parts: list[Any], done: Done) -> list[Any]:
    """Frames of a job's last data message, carrying its DONE."""
    return [*encode_data(ipc_parts), *encode_control(DONE, done)]


def encode_log(level: int, text: str, job_id: str | None) -> list[bytes]:
    """Frames of a log line of the job `job_id` (None: of no job)."""
    name = (job_id or "").encode("ascii", errors="replace")[:255]
    message = text.encode("utf-8", errors="replace")
    prefix = JOB_LOG_PREFIX.pack(level & 0xFF, len(name), len(message))
    return [HEADER.pack(JOB_LOG_SIGNAL), prefix + name + message]


def encode_control(signal: int, body: Any = None) -> list[bytes]:
    """Frames of a control message; `body` is a dataclass of this module, a dict or None."""
    if dataclasses.is_dataclass(body):
        # The messages are flat: a dict of the fields (asdict copies recursively, 2x slower).
        body = {field.name: getattr(body, field.name) for field in dataclasses.fields(body)}
    payload = b"" if body is None else json.dumps(body).encode("utf-8")
    return [HEADER.pack(signal), payload]


def decode(frames: list[Any]) -> Message:
    """Decode the frames of one message (bytes or zmq.Frame); garbage raises ProtocolError."""
    if len(frames) < 2:
        raise ProtocolError(f"expected a header and a payload, got {len(frames)} frame(s)")
    header, *parts = (memoryview(getattr(frame, "buffer", frame)) for frame in frames)
    if header.nbytes != HEADER.size:
        raise ProtocolError(f"header of {header.nbytes} bytes, expected {HEADER.size}")
    (value,) = HEADER.unpack(header)
    if value <= MAX_DATA_LENGTH:
        return _decode_data(value, parts)
    if len(parts) != 1:
        raise ProtocolError(f"a log or control message has 1 payload frame, got {len(parts)}")
    (payload,) = parts
    if value == JOB_LOG_SIGNAL:
        return _decode_job_log(payload)
    if value == LOG_SIGNAL:
        return _decode_log(payload)
    if value in CONTROL_SIGNALS:
        return ControlMessage(value, _decode_body(payload))
    raise ProtocolError(f"unknown reserved header value 0x{value:08X}")


def _decode_data(length: int, parts: list[memoryview]) -> DataMessage:
    """The Arrow frames add up to `length`; after them, the job's DONE may follow."""
    total = sum(part.nbytes for part in parts)
    if total == length:
        return DataMessage(tuple(parts))
    if len(parts) >= 3 and parts[-2].nbytes == HEADER.size:
        *arrow, header, payload = parts
        if HEADER.unpack(header)[0] == DONE and total - header.nbytes - payload.nbytes == length:
            return DataMessage(tuple(arrow), ControlMessage(DONE, _decode_body(payload)))
    raise ProtocolError(f"header announces {length} bytes, payload has {total}")


def _decode_job_log(payload: memoryview) -> LogMessage:
    if payload.nbytes < JOB_LOG_PREFIX.size:
        raise ProtocolError("log message shorter than its [LEVEL][ID_LENGTH][LENGTH] prefix")
    level, id_length, length = JOB_LOG_PREFIX.unpack(payload[: JOB_LOG_PREFIX.size])
    rest = payload[JOB_LOG_PREFIX.size :]
    if rest.nbytes != id_length + length:
        raise ProtocolError(
            f"log message announces {id_length} + {length} bytes, has {rest.nbytes}"
        )
    job_id = bytes(rest[:id_length]).decode("ascii", errors="replace") or None
    return LogMessage(level, bytes(rest[id_length:]).decode("utf-8", errors="replace"), job_id)


def _decode_log(payload: memoryview) -> LogMessage:
    """A protocol 1 log line: it names no job."""
    if payload.nbytes < LOG_PREFIX.size:
        raise ProtocolError("log message shorter than its [LEVEL][LENGTH] prefix")
    level, length = LOG_PREFIX.unpack(payload[: LOG_PREFIX.size])
    text = payload[LOG_PREFIX.size :]
    if text.nbytes != length:
        raise ProtocolError(f"log message announces {length} bytes, has {text.nbytes}")
    return LogMessage(level, bytes(text).decode("utf-8", errors="replace"))


def _decode_body(payload: memoryview) -> dict[str, Any]:
    if payload.nbytes == 0:
        return {}
    try:
        body = json.loads(bytes(payload))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"control payload is not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise ProtocolError("control payload is not a JSON object")
    return body


def parse_body(cls: type, body: dict[str, Any]) -> Any:
    """Build the dataclass `cls` from a control body, checking names and value types."""
    fields = _field_types(cls)
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise ProtocolError(f"{cls.__name__}: unexpected fields {unknown}")
    for name, (allowed, required) in fields.items():
        if name not in body:
            if required:
                raise ProtocolError(f"{cls.__name__}: missing field {name!r}")
            continue
        value = body[name]
        # bool is an int subclass; a JSON true is never a valid count or exit code.
        if not isinstance(value, allowed) or isinstance(value, bool):
            names = " | ".join(kind.__name__ for kind in allowed)
            raise ProtocolError(f"{cls.__name__}.{name}: {value!r} is not {names}")
    return cls(**body)


_TYPES = {"int": int, "str": str, "None": type(None)}


@functools.cache
def _field_types(cls: type) -> dict[str, tuple[tuple[type, ...], bool]]:
    """Each field's allowed value types (from its annotation) and whether it is required."""
    return {
        field.name: (
            tuple(_TYPES[part.strip()] for part in str(field.type).split("|")),
            field.default is dataclasses.MISSING,
        )
        for field in dataclasses.fields(cls)
    }
