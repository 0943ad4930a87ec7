"""Fixtures for the assistant's tests: the fake Messages API, and a service whose assistant
reaches it through ANTHROPIC_BASE_URL with its key in ANTHROPIC_API_KEY."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from casparian_core.config import Settings
from casparian_core.events import Event
from casparian_core.service import CoreService
from tests.conftest import fixed_clock
from tests.fake_anthropic import FakeAnthropic


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", server.key)
        yield server


@pytest.fixture
async def ai_service(settings: Settings, fake: FakeAnthropic) -> AsyncIterator[CoreService]:
    async with CoreService(settings, clock=fixed_clock) as started:
        yield started


@pytest.fixture
def published(ai_service: CoreService) -> list[Event]:
    """Every event the service publishes from now on, in order."""
    seen: list[Event] = []
    ai_service.subscribe(seen.append)
    return seen
