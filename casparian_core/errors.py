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


class HomeNotWritableError(CasparianError):
    """CASPARIAN_HOME cannot be created or written to."""


class DatabaseCorruptError(CasparianError):
    """The control-plane database file is not a readable SQLite database."""


class SchemaTooNewError(CasparianError):
    """The database was written by a newer Casparian Flow than this one."""
