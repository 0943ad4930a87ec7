"""The database gateway: opened once, one writer, query-only readers, never blocking the loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from casparian_core.config import Settings
from casparian_core.db import gateway as gateway_module
from casparian_core.db.gateway import Gateway
from casparian_core.home import prepare_home
from casparian_core.service import CoreService


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Gateway]:
    prepare_home(settings)
    gateway = Gateway(settings.database_path)
    gateway.open()
    yield gateway
    gateway.close()


def add_source(conn: sqlite3.Connection, name: str) -> None:
    conn.execute(
        "INSERT INTO scout_sources (name, path, created_at) VALUES (?, ?, 't')", (name, f"/{name}")
    )


def source_count(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT count(*) FROM scout_sources").fetchone()[0]


async def test_writes_are_seen_by_readers_and_readers_cannot_write(db: Gateway) -> None:
    await db.write(add_source, "a")
    assert await db.read(source_count) == 1
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        await db.read(add_source, "b")
    assert await db.read(source_count) == 1


async def test_many_writes_at_once_all_land(db: Gateway) -> None:
    await asyncio.gather(*(db.write(add_source, f"s{n}") for n in range(40)))
    assert await db.read(source_count) == 40


async def test_a_busy_writer_leaves_the_loop_and_the_readers_free(db: Gateway) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow_write(conn: sqlite3.Connection) -> None:
        add_source(conn, "slow")
        entered.set()
        release.wait()

    writing = asyncio.create_task(db.write(slow_write))
    try:
        await asyncio.to_thread(entered.wait)
        second = asyncio.create_task(db.write(add_source, "second"))
        # The writer is busy in its thread: the loop still runs, a reader still answers (the
        # autocommitted insert is in), and the second write waits its turn.
        assert await db.read(source_count) == 1
        assert not second.done()
    finally:
        release.set()
    await writing
    await second
    assert await db.read(source_count) == 2


async def test_data_version_moves_when_another_connection_commits(db: Gateway) -> None:
    before = await db.data_version()
    other = sqlite3.connect(db.path)
    add_source(other, "elsewhere")
    other.commit()
    other.close()
    assert await db.data_version() != before


async def test_a_gateway_that_is_not_open_says_so(settings: Settings) -> None:
    with pytest.raises(RuntimeError, match="not open"):
        await Gateway(settings.database_path).read(source_count)


async def test_the_service_opens_and_migrates_the_database_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    opened: list[bool] = []
    real_connect = gateway_module.connect

    def counting_connect(path: Path, *, migrating: bool = True) -> sqlite3.Connection:
        opened.append(migrating)
        return real_connect(path, migrating=migrating)

    monkeypatch.setattr(gateway_module, "connect", counting_connect)
    parser = settings.parsers_dir / "p.py"
    async with CoreService(settings) as service:
        parser.write_text("def parse(path):\n    return []\n")
        for _ in range(5):  # Parser Bench used to open and migrate a connection per query
            await service.stats()
            await service.bench.list_parsers()
            await service.bench.recent_tests("p")
            await service.scout.sources()
        await service.scout.add_rule("*.csv", "sales")
        await service.scout.scan(tmp_path)
    assert opened.count(True) == 1
    assert len(opened) <= 6  # the writer, a few readers, the watcher, the scan's own
