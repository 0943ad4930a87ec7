"""A home for the replay tests: the `prices` parser (a real project locked by uv, registered,
its venv built offline) over a scanned source of CSVs whose `amount` column is sometimes not a
number, so its contract (amount: int64, not nullable) quarantines rows.

Version 1.0.0 reads only digits; FIXED (2.0.0) also reads "n/a" as 0, so only "bad" stays
quarantined; RAISING (2.0.0) raises on every file; HANGING (2.0.0) is FIXED but, before
parsing, logs "hanging in guest <pid>" and blocks until `<file>.release` exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from casparian_core.config import Settings
from casparian_core.service import CoreService
from tests.registry.test_envs import Fixture

TOPIC = "prices_csv"
SOURCE = "shop"

PARSER = """\
import os
import threading
from pathlib import Path


class Prices:
    name = "prices"
    version = "{version}"
    topics = ["prices_csv"]
    outputs = {{
        "prices": {{
            "id": {{"type": "int64", "nullable": False}},
            "amount": {{"type": "int64", "nullable": False}},
        }}
    }}

    def parse(self, ctx):
        path = str(ctx.path)
{before}        rows = []
        for line in Path(path).read_text().splitlines()[1:]:
            key, amount = line.split(",")
            rows.append({{"id": int(key), "amount": {amount}}})
        yield "prices", rows
"""

ONLY_DIGITS = "int(amount) if amount.isdigit() else None"
NA_AS_ZERO = "0 if amount == 'n/a' else int(amount) if amount.isdigit() else None"
RAISE = '        raise ValueError("this version breaks on every file")\n'
HANG = (
    "        if not Path(path + '.release').exists():\n"
    "            ctx.logger.info('hanging in guest %d', os.getpid())\n"
    "            threading.Event().wait()\n"
)

FIRST = PARSER.format(version="1.0.0", before="", amount=ONLY_DIGITS)
FIXED = PARSER.format(version="2.0.0", before="", amount=NA_AS_ZERO)
RAISING = PARSER.format(version="2.0.0", before=RAISE, amount=NA_AS_ZERO)
HANGING = PARSER.format(version="2.0.0", before=HANG, amount=NA_AS_ZERO)

# a.csv: 2 quarantined by 1.0.0 ("n/a" at row 1, "bad" at row 2), 1 by 2.0.0 ("bad").
# b.csv: none. c.csv: 1 by 1.0.0 ("n/a" at row 0), none by 2.0.0.
FILES = {
    "a.csv": ["1,10", "2,n/a", "3,bad", "4,40"],
    "b.csv": ["1,5", "2,6"],
    "c.csv": ["1,n/a"],
}


@dataclass(frozen=True)
class Home:
    settings: Settings  # with the wheels folder the venvs are built from, offline
    data: Path  # the source's folder
    project: Path  # the parser project's folder


def write_files(data: Path) -> None:
    data.mkdir(parents=True, exist_ok=True)
    for name, lines in FILES.items():
        (data / name).write_text("\n".join(["id,amount", *lines]) + "\n")


async def register(home: Home, source: str) -> None:
    """Register `source` as the next version of the parser, its venv built offline."""
    (home.project / "prices.py").write_text(source)
    async with CoreService(home.settings) as service:
        await service.registry.register(await service.registry.prepare(home.project))
        await service.registry.runnable("prices", offline=True)


async def prepare(locked: Fixture, *, registered: bool = True, scanned: bool = True) -> Home:
    """The data folder, and unless told otherwise version 1.0.0 registered and the folder
    scanned as source "shop" with the parser's topic."""
    home = Home(locked.settings, locked.project.folder.parent / SOURCE, locked.project.folder)
    write_files(home.data)
    if registered:
        await register(home, FIRST)
    if scanned:
        async with CoreService(home.settings) as service:
            await service.scout.scan(home.data, name=SOURCE, tag=TOPIC)
    return home
