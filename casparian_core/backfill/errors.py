"""What a backfill refuses, and why, with what to do next."""

from __future__ import annotations

from casparian_core.errors import CasparianError, ErrorCode


class BackfillActiveError(CasparianError):
    """The parser has an unfinished backfill (one at a time per parser), or another process
    runs this one."""

    error_code = ErrorCode.BACKFILL_ACTIVE


class BackfillNotFoundError(CasparianError):
    error_code = ErrorCode.BACKFILL_NOT_FOUND

    def __init__(self, backfill_id: str) -> None:
        super().__init__(
            f"no backfill has the id {backfill_id!r}; `casparian backfill --list` lists them"
        )


class BackfillRefusedError(CasparianError):
    """Running it, or swapping it in, would leave an output holding two schemas."""

    error_code = ErrorCode.BACKFILL_REFUSED


class BackfillStateError(CasparianError):
    """The backfill is done, abandoned, or past the point where it can be abandoned."""

    error_code = ErrorCode.BACKFILL_STATE
