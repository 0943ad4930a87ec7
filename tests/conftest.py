"""Fixtures every test can use: an isolated home, settings on it, a started CoreService."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_textual_snapshot
from syrupy.location import PyTestLocation

from casparian_core.config import Settings, load_settings
from casparian_core.service import CoreService

# A suite started in the background by a shell without job control inherits SIGINT ignored,
# and so would every `casparian` child it starts (Python installs no KeyboardInterrupt handler
# then): the Ctrl+C tests would wait for a run that never hears them. A handled signal is reset
# to its default in a child, so handling it here gives every child a live Ctrl+C.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXED_NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)


def fixed_clock() -> datetime:
    return FIXED_NOW


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty CASPARIAN_HOME of this test's own."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def settings(home: Path) -> Settings:
    """Settings on the test's home, read as the CLI reads them (no inherited CASPARIAN_* vars)."""
    return load_settings(env={}, home=home)


@pytest.fixture
async def service(settings: Settings) -> AsyncIterator[CoreService]:
    async with CoreService(settings, clock=fixed_clock) as started:
        yield started


@pytest.fixture(scope="session")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder shared by every test of this run, in every xdist worker (under the run's
    base temp folder, so removed with it)."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "shared"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(autouse=True)
def _isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, run_folder: Path
) -> None:
    """No test reads or writes the developer's real home or API keys. uv's cache is the run's
    own, one for all tests: venvs built from the same wheels share its files (hard links)."""
    for name in ("CASPARIAN_HOME", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))
    monkeypatch.setenv("UV_CACHE_DIR", str(run_folder / "uv-cache"))


class _SnapshotsInRepo(pytest_textual_snapshot.SVGImageExtension):
    """Keep snapshot SVGs in the top-level snapshots/ folder, one subfolder per test module."""

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        return str(REPO_ROOT / "snapshots" / test_location.basename)


pytest_textual_snapshot.SVGImageExtension = _SnapshotsInRepo
