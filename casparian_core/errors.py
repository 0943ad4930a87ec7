"""Typed errors that reach the user.

Every error a user can cause or fix is a `CasparianError` whose message is one sentence naming the
file involved and what to do. Entry points print the message and exit with `exit_code`; they never
decide what went wrong by reading message text.
"""

from __future__ import annotations


class CasparianError(Exception):
    """An error with a message meant for the user, and the exit code the CLI should use."""

    exit_code = 2


class ConfigError(CasparianError):
    """A setting (environment variable or config.toml) has a value we cannot use."""

    error_code = "CONFIG_ERROR"


class HomeNotWritableError(CasparianError):
    """CASPARIAN_HOME cannot be created or written to."""

    error_code = "HOME_NOT_WRITABLE"


class HomeNotFoundError(CasparianError):
    """A command that only reads was pointed at a folder that is not a home (a mistyped path)."""

    error_code = "HOME_NOT_FOUND"


class DatabaseLostError(CasparianError):
    """The home holds outputs or parsers but its control database is missing or empty."""

    error_code = "DATABASE_LOST"


class DatabaseLockedError(CasparianError):
    """Another process held the control database's write lock for longer than we wait."""

    error_code = "DATABASE_LOCKED"


class DatabaseWriteError(CasparianError):
    """The control database could not be written: the disk is full or a size limit was hit."""

    error_code = "DATABASE_WRITE_FAILED"


class DatabaseCorruptError(CasparianError):
    """The control-plane database file is not a readable SQLite database."""

    error_code = "DATABASE_CORRUPT"


class SchemaTooNewError(CasparianError):
    """The database was written by a newer Casparian Flow than this one."""

    error_code = "SCHEMA_TOO_NEW"
