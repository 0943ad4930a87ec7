"""Preparing CASPARIAN_HOME: its folders, a write check, and an up-to-date database."""

from __future__ import annotations

import os
import tempfile

from casparian_core.config import Settings
from casparian_core.db.connection import connect
from casparian_core.errors import HomeNotWritableError


def prepare_home(settings: Settings) -> None:
    """Create the home's folders and migrate its database, or raise a typed error.

    Nothing existing is overwritten: a corrupt or newer database stays exactly as it was.
    """
    home = settings.home
    try:
        for folder in (home, settings.parsers_dir, settings.output_dir, settings.logs_dir):
            folder.mkdir(parents=True, exist_ok=True)
        # mkdir succeeds on an existing read-only folder; only a real write proves we can write.
        fd, probe = tempfile.mkstemp(prefix=".write-check-", dir=home)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise HomeNotWritableError(
            f"Cannot write to CASPARIAN_HOME {home} ({exc.strerror or exc}): fix its "
            "permissions or set CASPARIAN_HOME to a folder you can write."
        ) from None
    connect(settings.database_path).close()
