"""Each MCP test gets a home of its own with the event logs and the parser (support.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from casparian_core.config import Settings
from tests.mcp.support import prepare_home


@pytest.fixture
async def data(settings: Settings, tmp_path: Path) -> Path:
    """The source folder of the prepared home (the `home` fixture's)."""
    folder = tmp_path / "events"
    await prepare_home(settings, folder)
    return folder
