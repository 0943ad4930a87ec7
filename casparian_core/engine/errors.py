"""Errors and error codes the engine adds to those the guest reports (protocol.ErrorCode)."""

from __future__ import annotations

from casparian_core.contracts.errors import ContractError
from casparian_core.errors import CasparianError
from casparian_core.sinks import SinkError

SINK_ERROR = "SINK_ERROR"
CONTRACT_ERROR = "CONTRACT_ERROR"
QUARANTINE_LIMIT = "QUARANTINE_LIMIT"
INPUT_ERROR = "INPUT_ERROR"
INPUT_CHANGED = "INPUT_CHANGED"


class UndeclaredOutputError(CasparianError):
    """A Level 2 parser yielded an output its `outputs` contract does not declare."""

    error_code = "SCHEMA_MISMATCH"


class QuarantineLimitError(CasparianError):
    """An output quarantined more rows than its `_max_quarantine_pct` allows."""

    error_code = QUARANTINE_LIMIT


class InputNotFoundError(CasparianError):
    """An input argument names no file, folder or glob match."""


class VenvError(CasparianError):
    """--venv does not point at a virtual environment."""


def error_code_of(exc: CasparianError) -> str:
    code = getattr(exc, "error_code", None)
    if code is not None:
        return str(code)
    if isinstance(exc, SinkError):
        return SINK_ERROR
    if isinstance(exc, ContractError):
        return CONTRACT_ERROR
    return INPUT_ERROR
