"""A short hint for a failed run: what the user could try next."""

from __future__ import annotations

from casparian_core.contracts.errors import SchemaMismatchError
from casparian_core.errors import ErrorCode

HINTS: dict[ErrorCode, str] = {
    ErrorCode.SCHEMA_MISMATCH: "the parser looked up a key that is not there: check the column "
    "or field names it reads against the input",
    ErrorCode.FILE_NOT_FOUND: "check that the input path exists and the parser opens the path "
    "it was given",
    ErrorCode.PERMISSION_ERROR: "make the input readable by the user running casparian",
    ErrorCode.ENCODING_ERROR: "the input is not in the encoding the parser assumes: open it with "
    "the right one, e.g. open(path, encoding='latin-1'), or check it is text at all",
    ErrorCode.MEMORY_ERROR: "yield the data in chunks instead of building it all in memory, or "
    "raise guest_max_memory_mb",
    ErrorCode.OOM_RISK: "yield the data in chunks (e.g. 100,000 rows each) instead of returning "
    "it all at once",
    ErrorCode.INVALID_DATA: "the parser rejected a value: look at the traceback's last line "
    "for the value and the line of the parser",
    ErrorCode.UNSUPPORTED_TYPE: "return or yield a pyarrow Table, a pandas or polars DataFrame, "
    "or a list of dicts",
    ErrorCode.INCONSISTENT_SCHEMA: "yield chunks with the same columns and types; cast a column "
    "explicitly when its type depends on the values",
    ErrorCode.PARSER_LOAD_ERROR: "fix the parser file: the message gives the file and line",
    ErrorCode.CRASHED: "the parser's process died: run it with `casparian run` to see its "
    "output, and look for native code (ctypes, C extensions) or os._exit calls",
    ErrorCode.TIMEOUT: "look for an endless loop or a blocking read in the parser",
    ErrorCode.GUEST_START_FAILED: "the parser never ran: fix the Python environment (--venv) or "
    "the guest limits the message names, then run again",
    ErrorCode.PROTOCOL_ERROR: "the parser must not write to the bridge's sockets; this may also "
    "be a bug in Casparian",
    ErrorCode.SINK_ERROR: "choose a --sink location that is writable and has free space",
    ErrorCode.CONTRACT_ERROR: "fix the `outputs` literal in the parser: the message names the "
    "output and column",
    ErrorCode.QUARANTINE_LIMIT: "look at the top quarantine reasons: the parser or the contract "
    "needs fixing, or raise _max_quarantine_pct",
}


def suggest(error_code: ErrorCode | None, exc: BaseException | None = None) -> str | None:
    """The most specific hint we have: a near-miss column name, else one per error code."""
    if isinstance(exc, SchemaMismatchError):
        guesses = [
            f"column '{column.name}' not found; did you mean '{column.suggestion}'?"
            for column in exc.missing
            if column.suggestion is not None
        ]
        if guesses:
            return " ".join(guesses)
        return "rename the parser's columns or change its `outputs` contract to match"
    return None if error_code is None else HINTS.get(error_code)
