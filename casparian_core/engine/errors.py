"""Errors the engine raises besides those the guest reports."""

from __future__ import annotations

from casparian_core.errors import CasparianError, ErrorCode


class UndeclaredOutputError(CasparianError):
    """A Level 2 parser yielded an output its `outputs` contract does not declare."""

    error_code = ErrorCode.SCHEMA_MISMATCH


class QuarantineLimitError(CasparianError):
    """An output quarantined more rows than its `_max_quarantine_pct` allows."""

    error_code = ErrorCode.QUARANTINE_LIMIT


class InputChangedError(CasparianError):
    """The input file changed while it was parsed: its rows and its recorded content hash
    might not match. Transient: a retry reads it again."""

    error_code = ErrorCode.INPUT_CHANGED


class InputNotFoundError(CasparianError):
    """An input argument names no file, folder or glob match."""

    error_code = ErrorCode.INPUT_NOT_FOUND


class VenvError(CasparianError):
    """--venv does not point at a virtual environment."""

    error_code = ErrorCode.VENV_ERROR
