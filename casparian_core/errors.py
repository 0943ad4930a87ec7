"""Typed errors that reach the user.

Every error a user can cause or fix is a `CasparianError` whose message is one sentence naming the
file involved and what to do. Entry points print the message and exit with `exit_code`; they never
decide what went wrong by reading message text.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class ErrorCode(StrEnum):
    """Every error code the product reports: a job's (in a RunResult, the queue, the JSON
    output) and a CasparianError's. Values are the text stored and printed.

    The guest cannot import this (it may run an older Python without StrEnum):
    `bridge/protocol.py` keeps a stdlib mirror of the codes a guest or the bridge reports, and
    a test checks the two agree.
    """

    # Reported by the guest for an exception in the parser (DESIGN §6).
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
    # Detected by the host: the guest died, hung, sent garbage, or the run was cancelled.
    CRASHED = "CRASHED"
    TIMEOUT = "TIMEOUT"
    PROTOCOL_ERROR = "PROTOCOL_ERROR"
    CANCELLED = "CANCELLED"
    GUEST_START_FAILED = "GUEST_START_FAILED"  # the guest ended before it was ready: setup
    # Detected by the engine around the guest.
    SINK_ERROR = "SINK_ERROR"
    CONTRACT_ERROR = "CONTRACT_ERROR"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    QUARANTINE_LIMIT = "QUARANTINE_LIMIT"
    INPUT_ERROR = "INPUT_ERROR"
    INPUT_CHANGED = "INPUT_CHANGED"  # the file changed while it was parsed (transient)
    OUTPUT_SCHEMA_CHANGED = "OUTPUT_SCHEMA_CHANGED"  # rows with other columns than the output's
    INPUT_NOT_FOUND = "INPUT_NOT_FOUND"
    VENV_ERROR = "VENV_ERROR"
    # The home and its control database.
    CONFIG_ERROR = "CONFIG_ERROR"
    HOME_NOT_WRITABLE = "HOME_NOT_WRITABLE"
    HOME_NOT_FOUND = "HOME_NOT_FOUND"
    DATABASE_LOST = "DATABASE_LOST"
    DATABASE_LOCKED = "DATABASE_LOCKED"
    DATABASE_WRITE_FAILED = "DATABASE_WRITE_FAILED"
    DATABASE_CORRUPT = "DATABASE_CORRUPT"
    SCHEMA_TOO_NEW = "SCHEMA_TOO_NEW"
    # Scout: scanning, sources, tags and rules.
    SCAN_PATH_NOT_FOUND = "SCAN_PATH_NOT_FOUND"
    NOT_A_FOLDER = "NOT_A_FOLDER"
    NON_UTF8_SOURCE_PATH = "NON_UTF8_SOURCE_PATH"
    SOURCE_NOT_FOUND = "SOURCE_NOT_FOUND"
    SOURCE_NAME_TAKEN = "SOURCE_NAME_TAKEN"
    SOURCE_ALREADY_REGISTERED = "SOURCE_ALREADY_REGISTERED"
    SOURCE_REMOVED_DURING_SCAN = "SOURCE_REMOVED_DURING_SCAN"
    SCAN_WORKER_DIED = "SCAN_WORKER_DIED"
    RULE_NOT_FOUND = "RULE_NOT_FOUND"
    INVALID_TAG = "INVALID_TAG"
    EMPTY_PATTERN = "EMPTY_PATTERN"
    PATTERN_WITHOUT_TAG = "PATTERN_WITHOUT_TAG"
    NO_MATCHING_FILES = "NO_MATCHING_FILES"
    FILE_NOT_CATALOGUED = "FILE_NOT_CATALOGUED"
    FILE_UNREADABLE = "FILE_UNREADABLE"
    # The AI assistant.
    ASSISTANT_BUSY = "ASSISTANT_BUSY"
    ACTION_NOT_FOUND = "ACTION_NOT_FOUND"
    # Inspect: read-only SQL over the outputs.
    QUERY_REFUSED = "QUERY_REFUSED"
    QUERY_FAILED = "QUERY_FAILED"
    TABLE_NOT_FOUND = "TABLE_NOT_FOUND"
    EXPORT_FAILED = "EXPORT_FAILED"
    QUARANTINE_ENTRY_NOT_FOUND = "QUARANTINE_ENTRY_NOT_FOUND"
    # Managed environments: building a parser's venv from its lock, vendoring its wheels.
    VENV_BUILD_FAILED = "VENV_BUILD_FAILED"
    WHEELS_MISSING = "WHEELS_MISSING"
    VENDOR_FAILED = "VENDOR_FAILED"
    # The parser registry.
    GATEKEEPER_BLOCKED = "GATEKEEPER_BLOCKED"
    LOCK_MISSING = "LOCK_MISSING"
    LOCK_MISMATCH = "LOCK_MISMATCH"
    PROJECT_FILE_INVALID = "PROJECT_FILE_INVALID"
    BUNDLE_TOO_LARGE = "BUNDLE_TOO_LARGE"
    BUNDLE_UNSAFE_LINK = "BUNDLE_UNSAFE_LINK"
    BUNDLE_NOT_UTF8 = "BUNDLE_NOT_UTF8"
    VERSION_EXISTS = "VERSION_EXISTS"
    APPROVAL_REQUIRED = "APPROVAL_REQUIRED"
    PARSER_NOT_REGISTERED = "PARSER_NOT_REGISTERED"
    ARTIFACT_CORRUPT = "ARTIFACT_CORRUPT"
    UNSAFE_ARCHIVE = "UNSAFE_ARCHIVE"
    EXPORT_TARGET_NOT_EMPTY = "EXPORT_TARGET_NOT_EMPTY"
    # The job queue.
    WORKER_LOST = "WORKER_LOST"  # a running job's worker stopped heartbeating, or ended
    JOB_NOT_FOUND = "JOB_NOT_FOUND"
    JOB_STATE_CONFLICT = "JOB_STATE_CONFLICT"  # e.g. cancelling a job that already finished
    JOB_ALREADY_QUEUED = "JOB_ALREADY_QUEUED"
    ERROR_NOT_FOUND = "ERROR_NOT_FOUND"  # no error has this fingerprint
    # The daemon.
    DAEMON_RUNNING = "DAEMON_RUNNING"  # another daemon holds the home's lock
    DAEMON_LOCK_UNSAFE = "DAEMON_LOCK_UNSAFE"  # the lock file is not a private file of ours
    # Backfill.
    BACKFILL_ACTIVE = "BACKFILL_ACTIVE"  # the parser has an unfinished backfill, or it runs
    BACKFILL_NOT_FOUND = "BACKFILL_NOT_FOUND"
    BACKFILL_REFUSED = "BACKFILL_REFUSED"  # it would leave an output with two schemas
    BACKFILL_STATE = "BACKFILL_STATE"  # e.g. resuming one that is done
    # The Dask executor.
    DASK_MISSING = "DASK_MISSING"  # the [dask] extra is not installed
    CLUSTER_UNAVAILABLE = "CLUSTER_UNAVAILABLE"  # unreachable, went away, or re-runs tasks
    SHARED_STORAGE = "SHARED_STORAGE"  # a worker cannot read the inputs or write the output


class CasparianError(Exception):
    """An error with a message meant for the user, and the exit code the CLI should use.

    Every subclass declares its `error_code` (a test walks them all), so nothing needs to
    guess what went wrong from the class or the message."""

    exit_code = 2
    error_code: ClassVar[ErrorCode]


class ConfigError(CasparianError):
    """A setting (environment variable or config.toml) has a value we cannot use."""

    error_code = ErrorCode.CONFIG_ERROR


class HomeNotWritableError(CasparianError):
    """CASPARIAN_HOME cannot be created or written to."""

    error_code = ErrorCode.HOME_NOT_WRITABLE


class HomeNotFoundError(CasparianError):
    """A command that only reads was pointed at a folder that is not a home (a mistyped path)."""

    error_code = ErrorCode.HOME_NOT_FOUND


class DatabaseLostError(CasparianError):
    """The home holds outputs or parsers but its control database is missing or empty."""

    error_code = ErrorCode.DATABASE_LOST


class DatabaseLockedError(CasparianError):
    """Another process held the control database's write lock for longer than we wait."""

    error_code = ErrorCode.DATABASE_LOCKED


class DatabaseWriteError(CasparianError):
    """The control database could not be written: the disk is full or a size limit was hit."""

    error_code = ErrorCode.DATABASE_WRITE_FAILED


class DatabaseCorruptError(CasparianError):
    """The control-plane database file is not a readable SQLite database."""

    error_code = ErrorCode.DATABASE_CORRUPT


class SchemaTooNewError(CasparianError):
    """The database was written by a newer Casparian Flow than this one."""

    error_code = ErrorCode.SCHEMA_TOO_NEW


class AssistantBusyError(CasparianError):
    """A message was sent while the assistant was still answering the previous one."""

    error_code = ErrorCode.ASSISTANT_BUSY


class ActionNotFoundError(CasparianError):
    """A pending action id names no action, or one already decided."""

    error_code = ErrorCode.ACTION_NOT_FOUND
