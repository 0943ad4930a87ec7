"""A small, fixed catalogue for Discover tests: real files, scanned by the real scanner."""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import sqlite3
from pathlib import Path

from casparian_core.config import Settings
from casparian_core.service import CoreService
from tests.conftest import FIXED_NOW, fixed_clock

FIXED_MTIME = FIXED_NOW.timestamp() - 86_400  # a day before the frozen clock

WAREHOUSE_FILES = {
    "sales/2026-q1.csv": "id,region,amount\n1,NORTH,10.5\n2,SOUTH,7.25\n3,EAST,-1\n",
    "sales/2026-q2.csv": "id,region,amount\n4,WEST,3\n5,NORTH,12\n",
    "sales/notes.txt": "Quarterly exports from the ERP. Amounts in EUR.\n",
    "exports/accounts.json": '{"accounts": [{"id": 1, "name": "Ada"}, {"id": 2}]}',
    "exports/blob.csv": "\x00\x01\x02 not really a csv \xff\xfe",
}
LOG_FILES = {
    "2026-11/auth.log": "Nov  1 13:21:45 web-02 sshd[3587]: Accepted publickey for root\n",
    "2026-11/app.log": "INFO started\nWARN slow request\n",
    "2026-12/auth.log": "Dec  1 08:00:00 web-01 sshd[1]: Failed password for admin\n",
}


FIXED_ROOT = Path("/tmp/casparian-tui-tests")
_held: dict[str, int] = {}  # folder name -> its lock, held until the test ends


def fixed_folder(name: str) -> Path:
    """A folder whose path is the same in every run, so snapshots can show it.

    Held under a lock until the test ends (`release_fixed_folders`): another checkout running
    the same test at the same time waits, instead of emptying the folder under this one."""
    FIXED_ROOT.mkdir(exist_ok=True)
    if name not in _held:
        lock = os.open(FIXED_ROOT / f"{name}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(lock, fcntl.LOCK_EX)
        _held[name] = lock
    folder = FIXED_ROOT / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    return folder


def release_fixed_folders() -> None:
    while _held:
        os.close(_held.popitem()[1])  # closing the file releases its lock


def write_tree(root: Path, files: dict[str, str]) -> None:
    for rel_path, content in files.items():
        path = root / rel_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("latin-1"))
        os.utime(path, (FIXED_MTIME, FIXED_MTIME))


def seed_discover(settings: Settings, name: str) -> tuple[Path, Path]:
    """Two sources (warehouse, logs-2026), a rule tagging CSVs as sales, a manual tag."""
    base = fixed_folder(name)
    warehouse, logs = base / "warehouse", base / "logs-2026"
    write_tree(warehouse, WAREHOUSE_FILES)
    write_tree(logs, LOG_FILES)

    async def scan() -> None:
        async with CoreService(settings, clock=fixed_clock) as service:
            await service.scout.add_rule("sales/*.csv", "sales", priority=10)
            await service.scout.add_rule("*.log", "logs")
            await service.scout.scan(warehouse)
            await service.scout.scan(logs)

    asyncio.run(scan())
    conn = sqlite3.connect(settings.database_path)
    conn.execute("UPDATE scout_sources SET last_scan_at = '2026-11-27T11:00:00.000000Z'")
    conn.commit()
    conn.close()
    return warehouse, logs
