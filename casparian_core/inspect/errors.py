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
