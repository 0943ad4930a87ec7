"""A home for the backfill tests: the `prices` parser (a real project locked by uv, registered,
its venv built offline) over a scanned source of three CSVs, processed by the prod loop with
version 1.0.0, then a newer version registered.

SAME (2.0.0) keeps the contracts; WIDER (2.0.0) changes it: `amount`
becomes float64 and a `note` column is added, so its rows cannot sit beside 1.0.0's in one
output. A file whose first data line is `BROKEN` makes every 2.0.0 fail on it; a version built
with `pause=True` waits at the start of each parse until `<file>.release` exists.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from casparian_core.jobs.plan import ProcessRequest
from casparian_core.service import CoreService
from tests.inspect.replay_support import SOURCE, TOPIC, Home, register
from tests.registry.test_envs import Fixture

PARSER = """\
import threading
import time
from pathlib import Path


class Prices:
    name = "prices"
    version = "{version}"
    topics = ["prices_csv"]
    outputs = {{
        "prices": {{"id": {{"type": "int64", "nullable": False}}, {columns}}},
        "totals": {{"rows": {{"type": "int64", "nullable": False}}}},
    }}

    def parse(self, ctx):
        path = str(ctx.path)
        lines = Path(path).read_text().splitlines()[1:]
        if lines and lines[0] == "BROKEN" and "{version}" != "1.0.0":
            raise ValueError("this file breaks the new version")
{pause}        rows = []
        for line in lines:
            key, amount = line.split(",")
            value = 0 if amount == "n/a" else int(amount) if amount.isdigit() else None
            rows.append({{"id": int(key), "amount": {amount}{note}}})
        yield "prices", rows
        yield "totals", [{{"rows": len(rows)}}]
"""

NARROW = '"amount": {"type": "int64", "nullable": True}'
WIDE = '"amount": {"type": "float64", "nullable": True}, "note": "string"'
PAUSE = (
    "        ctx.logger.info('waiting for %s.release', path)\n"
    "        while not Path(path + '.release').exists():\n"
    "            time.sleep(0.05)  # the test releases the file: the guest waits for it\n"
)


def version(number: str, *, wide: bool = False, pause: bool = False) -> str:
    return PARSER.format(
        version=number,
        columns=WIDE if wide else NARROW,
        pause=PAUSE if pause else "",
        amount="float(value) if value is not None else None" if wide else "value",
        note=f', "note": "v{number}"' if wide else "",
    )


FIRST = version("1.0.0")
SAME = version("2.0.0")
WIDER = version("2.0.0", wide=True)

FILES = {"a.csv": ["1,10", "2,n/a"], "b.csv": ["1,5", "2,6"], "c.csv": ["1,n/a"]}


async def processed_home(
    locked: Fixture, files: dict[str, list[str]] | None = None, sink_uri: str | None = None
) -> Home:
    """FILES (or `files`) in source "shop", version 1.0.0 registered, every file run by the
    prod loop (into `sink_uri`, by default the home's output folder)."""
    home = Home(locked.settings, locked.project.folder.parent / SOURCE, locked.project.folder)
    home.data.mkdir(parents=True)
    write(home.data, files or FILES)
    await register(home, FIRST)
    async with CoreService(home.settings) as service:
        await service.scout.scan(home.data, name=SOURCE, tag=TOPIC)
        processing = service.processing(ProcessRequest(workers=1, offline=True, sink_uri=sink_uri))
        await processing.prepare()
        summary = await processing.run()
    assert not summary.failed, summary.as_json()
    return home


def cli(
    home: Home, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "casparian_cli", "backfill", *args],
        env={**os.environ, "CASPARIAN_HOME": str(home.settings.home), **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )


def cli_json(home: Home, *args: str) -> dict[str, object]:
    done = cli(home, *args, "--json")
    assert done.stdout, done.stderr
    found: dict[str, object] = json.loads(done.stdout)
    return found


def write(data: Path, files: dict[str, list[str]]) -> None:
    for name, lines in files.items():
        (data / name).write_text("\n".join(["id,amount", *lines]) + "\n")
