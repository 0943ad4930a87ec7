"""Error fingerprints (FS-8): one root cause, seen on many files and runs, is one fingerprint.

A fingerprint is 16 hex digits of a hash of four parts:
- the exception's type (the last line of its traceback: `KeyError`, `pyarrow.lib.ArrowInvalid`;
  empty for a failure the host observed, such as a crash);
- the error code;
- the normalized trace: each frame as `File "name.py", in function` with its source line, the
  folders and line numbers stripped (stable across machines and small edits above the
  failure), the exception's message left out (it carries values), the first 4 KB only (the
  first frames tell where);
- the structure of the error context: its keys and the types of their values, never values.
`cf_errors` (one row per fingerprint) and `cf_error_occurrences` (one per failure) are owned
here.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from casparian_core.errors import ErrorCode

TRACE_LIMIT_BYTES = 4096
FINGERPRINT_HEX = 16
_FRAME = re.compile(r'^\s*File "(?P<path>[^"]*)", line \d+, in (?P<function>.+)$')
_EXCEPTION_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::|$)")


@dataclass(frozen=True)
class ErrorSignature:
    """The four parts of a fingerprint, and the fingerprint."""

    error_type: str
    error_code: ErrorCode
    trace: str
    structure: str

    @property
    def fingerprint(self) -> str:
        parts = "\x1f".join((self.error_type, self.error_code, self.trace, self.structure))
        return hashlib.sha256(parts.encode("utf-8")).hexdigest()[:FINGERPRINT_HEX]


def signature(
    error_code: ErrorCode, traceback: str | None, context: Mapping[str, object]
) -> ErrorSignature:
    return ErrorSignature(
        exception_type(traceback), error_code, normalize_trace(traceback), structure(context)
    )


def exception_type(traceback: str | None) -> str:
    """The exception's type named by the last line of a Python traceback; '' if none."""
    lines = [line for line in (traceback or "").splitlines() if line.strip()]
    if not lines or lines[-1].startswith(" "):
        return ""
    match = _EXCEPTION_LINE.match(lines[-1])
    return match["type"] if match else ""


def normalize_trace(traceback: str | None) -> str:
    """The frames of a traceback without folders, line numbers or messages (see the module's
    docstring), cut to its first 4 KB."""
    kept: list[str] = []
    in_frame = False
    for line in (traceback or "").splitlines():
        frame = _FRAME.match(line)
        if frame:
            name = re.split(r"[\\/]", frame["path"])[-1]
            kept.append(f'File "{name}", in {frame["function"].strip()}')
            in_frame = True
        elif in_frame and line.startswith("    ") and line.strip().strip("^~ "):
            kept.append(line.strip())  # the frame's source line (not the ^^^ markers)
            in_frame = False
        else:
            in_frame = False
    return "\n".join(kept).encode("utf-8")[:TRACE_LIMIT_BYTES].decode("utf-8", "ignore")


def structure(context: Mapping[str, object], prefix: str = "") -> str:
    """The keys of the context and the JSON types of their values, sorted, nested keys dotted:
    `{"column": "amount", "expected": "float"}` -> `column:string,expected:string`."""
    parts: list[str] = []
    for key, value in context.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            parts.append(f"{name}:object")
            nested = structure(value, f"{name}.")
            parts.extend(nested.split(",") if nested else [])
        else:
            parts.append(f"{name}:{_json_type(value)}")
    return ",".join(sorted(parts))


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


# --- cf_errors and cf_error_occurrences ---------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    """Where one failure happened."""

    job_id: str | None
    parser_name: str | None
    parser_version: str | None
    input_path: str | None
    message: str | None


@dataclass(frozen=True)
class ErrorSummary:
    """One fingerprint: how often, on how many files, since when."""

    fingerprint: str
    error_type: str
    error_code: ErrorCode
    message: str | None  # the first occurrence's
    occurrences: int
    files: int
    first_seen: str
    last_seen: str

    def as_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class ErrorDetail:
    """One fingerprint in full: its summary, the trace it stands for, its latest occurrences."""

    summary: ErrorSummary
    trace: str
    structure: str
    recent: list[Occurrence]

    def as_json(self) -> dict[str, object]:
        return {
            **self.summary.as_json(),
            "trace": self.trace,
            "structure": self.structure,
            "recent": [asdict(occurrence) for occurrence in self.recent],
        }


@dataclass(frozen=True)
class ErrorFile:
    """A file a fingerprint occurred on, how often, and when last."""

    input_path: str
    occurrences: int
    last_seen: str


def record(conn: sqlite3.Connection, found: ErrorSignature, where: Occurrence, now: str) -> str:
    """Record one occurrence of `found`; returns its fingerprint."""
    fingerprint = found.fingerprint
    conn.execute(
        "INSERT INTO cf_errors (fingerprint, error_type, error_code, trace, structure, message,"
        " first_seen, last_seen, occurrences) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)"
        " ON CONFLICT (fingerprint) DO UPDATE SET last_seen = excluded.last_seen,"
        " occurrences = occurrences + 1",
        (
            fingerprint,
            found.error_type,
            found.error_code,
            found.trace,
            found.structure,
            where.message,
            now,
            now,
        ),
    )
    conn.execute(
        "INSERT INTO cf_error_occurrences (fingerprint, job_id, parser_name, parser_version,"
        " input_path, message, occurred_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            fingerprint,
            where.job_id,
            where.parser_name,
            where.parser_version,
            where.input_path,
            where.message,
            now,
        ),
    )
    return fingerprint


_SUMMARY = (
    "SELECT e.fingerprint, e.error_type, e.error_code, e.message, e.occurrences,"
    " (SELECT count(DISTINCT input_path) FROM cf_error_occurrences o"
    "  WHERE o.fingerprint = e.fingerprint), e.first_seen, e.last_seen FROM cf_errors e"
)


def _summary(row: Any) -> ErrorSummary:
    fingerprint, error_type, code, message, occurrences, files, first, last = row
    return ErrorSummary(
        fingerprint, error_type, ErrorCode(code), message, occurrences, files, first, last
    )


def summaries(conn: sqlite3.Connection, limit: int = 100) -> list[ErrorSummary]:
    """The fingerprints seen, most frequent first."""
    rows = conn.execute(
        f"{_SUMMARY} ORDER BY e.occurrences DESC, e.last_seen DESC LIMIT ?", (limit,)
    )
    return [_summary(row) for row in rows]


def detail(conn: sqlite3.Connection, fingerprint: str, recent: int = 10) -> ErrorDetail | None:
    row = conn.execute(f"{_SUMMARY} WHERE e.fingerprint = ?", (fingerprint,)).fetchone()
    if row is None:
        return None
    trace, shape = conn.execute(
        "SELECT trace, structure FROM cf_errors WHERE fingerprint = ?", (fingerprint,)
    ).fetchone()
    occurrences = conn.execute(
        "SELECT job_id, parser_name, parser_version, input_path, message"
        " FROM cf_error_occurrences WHERE fingerprint = ? ORDER BY occurred_at DESC, id DESC"
        " LIMIT ?",
        (fingerprint, recent),
    )
    return ErrorDetail(_summary(row), trace, shape, [Occurrence(*o) for o in occurrences])


def files(conn: sqlite3.Connection, fingerprint: str) -> list[ErrorFile]:
    """The files a fingerprint occurred on, most occurrences first."""
    rows = conn.execute(
        "SELECT input_path, count(*), max(occurred_at) FROM cf_error_occurrences"
        " WHERE fingerprint = ? AND input_path IS NOT NULL GROUP BY input_path"
        " ORDER BY count(*) DESC, input_path",
        (fingerprint,),
    )
    return [ErrorFile(*row) for row in rows]
