"""Errors of read-only SQL over the outputs."""

from __future__ import annotations

from casparian_core.errors import CasparianError, ErrorCode


class QueryRefusedError(CasparianError):
    """The SQL is not one read-only SELECT: it is refused before it runs."""

    error_code = ErrorCode.QUERY_REFUSED


class QueryFailedError(CasparianError):
    """DuckDB could not run the query (a syntax error, an unknown column, a denied file, the
    time limit)."""

    error_code = ErrorCode.QUERY_FAILED


class TableNotFoundError(CasparianError):
    """No output table has this name."""

    error_code = ErrorCode.TABLE_NOT_FOUND


class ExportFailedError(CasparianError):
    """An export could not be written (a folder that is not writable, a full disk)."""

    error_code = ErrorCode.EXPORT_FAILED


class QuarantineEntryNotFoundError(CasparianError):
    """No quarantined row has this id."""

    error_code = ErrorCode.QUARANTINE_ENTRY_NOT_FOUND


class QuarantineUnreadableError(CasparianError):
    """A sink's quarantined rows cannot be read for a replay (its database file is missing or
    corrupt, its quarantine table has other columns): nothing is replayed from it."""

    error_code = ErrorCode.SINK_ERROR
