"""What each command needs of the home, checked before it runs: a mistyped `--home` must not
silently become a new, empty home."""

from __future__ import annotations

import sys
from enum import StrEnum

from casparian_core.config import Settings


class HomeUse(StrEnum):
    NONE = "none"  # `run`: dev mode, no database
    EXISTING = "existing"  # reads and changes to what exists: a missing home is exit 2
    VERIFY = "verify"  # `status`: as EXISTING, and the database passes an integrity check
    CREATE = "create"  # `tui`, `scan`, `rule add`: created when missing, and said so


def open_home(settings: Settings, use: HomeUse) -> None:
    from casparian_core.api import prepare_home, verify_home

    if use is HomeUse.EXISTING:
        prepare_home(settings, create=False)
    elif use is HomeUse.VERIFY:
        verify_home(settings)
    elif use is HomeUse.CREATE and prepare_home(settings):
        print(f"Created a new home at {settings.home}.", file=sys.stderr)
