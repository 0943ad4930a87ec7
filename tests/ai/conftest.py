"""Fixtures for the assistant's tests: the fake Messages API, and a service whose assistant
reaches it through ANTHROPIC_BASE_URL with its key in ANTHROPIC_API_KEY."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from casparian_core.config import Settings
from casparian_core.events import Event
from casparian_core.service import CoreService
from tests.ai.prod_home import ProdHome, copy_of
from tests.ai.prod_home import build as build_prod_home
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


SHOP_FILES = {
    "orders_jan.csv": "order_id,region,amount\n1,NORTH,10.50\n2,SOUTH,7.25\n",
    "orders_feb.csv": "order_id,region,amount\n3,EAST,1.00\n4,WEST,2.00\n5,EAST,3.00\n",
    "notes/readme.txt": "Monthly order exports from the shops.\n",
}


@pytest.fixture
async def shop(ai_service: CoreService, tmp_path: Path) -> Path:
    """A source "shop" of two CSV exports and a note, scanned into the catalogue."""
    folder = tmp_path / "shop"
    for name, text in SHOP_FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    await ai_service.scout.scan(folder, name="shop")
    return folder


async def file_id(service: CoreService, rel_path: str) -> int:
    """The catalogue id of the shop file at `rel_path`."""
    page = await service.scout.files_page(limit=100)
    return next(row.id for row in page.rows if row.rel_path == rel_path)


@pytest.fixture(scope="session")
def built_prod_home(tmp_path_factory: pytest.TempPathFactory) -> ProdHome:
    """A home after a real prod run (tests/ai/prod_home.py), built once."""
    return build_prod_home(tmp_path_factory.mktemp("prod"))


@pytest.fixture
def prod(built_prod_home: ProdHome, tmp_path: Path) -> ProdHome:
    """This test's own copy of the prod home."""
    return copy_of(built_prod_home, tmp_path)


@pytest.fixture
async def prod_service(prod: ProdHome) -> AsyncIterator[CoreService]:
    async with CoreService(prod.settings, clock=fixed_clock) as started:
        yield started
