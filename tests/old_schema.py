"""A control database as an older release left it, for the tests of the migrations after."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from casparian_core.db.connection import connect
from casparian_core.db.schema import MIGRATIONS


def connect_at_version(path: Path, version: int) -> sqlite3.Connection:
    """A connection to `path` created or migrated up to schema `version` and no further; the
    next `connect` runs the migrations after it."""
    with pytest.MonkeyPatch.context() as old_release:
        old_release.setattr("casparian_core.db.connection.MIGRATIONS", MIGRATIONS[:version])
        old_release.setattr("casparian_core.db.connection.LATEST_VERSION", version)
        return connect(path)
