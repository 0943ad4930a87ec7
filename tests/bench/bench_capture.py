"""The quarantine capture before a run (inspect/settling.py) against a sink of thousands of
quarantine parts.

A Parquet folder and a SQLite file, each holding PARTS inputs' quarantine parts (5 rows each,
committed by the real sinks) made by `sales_csv` 2.0.0; version 3.0.0 is about to re-run some
of them. Measured through `settling.capture` (what a pool does before it starts: find the
outdated parts, read their rows, write the pending snapshot), for 10 inputs and for 1,000,
beside what capturing did before, on every batch that queued jobs whatever it queued: read
every quarantine part of the sink, and every part's footer of every sink to name them (the
catalogue's count).

Run: .venv/bin/python -m tests.bench.bench_capture
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from casparian_core.config import Settings, load_settings
from casparian_core.db.gateway import Gateway
from casparian_core.engine.inputs import part_key
from casparian_core.home import prepare_home
from casparian_core.inspect.catalog import count_tables
from casparian_core.inspect.locations import output_locations, record_locations
from casparian_core.inspect.quarantine_parts import store_for
from casparian_core.inspect.settling import Rerun, capture
from casparian_core.sinks import PartInfo, open_sink
from tests.inspect.sinks_support import rejected

PARTS = 5_000
ROWS = 5  # quarantined rows per input
COMMIT_EVERY = 500  # parts committed together while the sink is filled
RUNS = 3


def fill(db: Gateway, uri: str) -> str:
    """PARTS inputs' quarantine parts in the sink, where it is recorded as jobs record it (so
    the catalogue names its tables); its URI as it states it."""
    sink = open_sink(uri)
    try:
        for start in range(0, PARTS, COMMIT_EVERY):
            writers = []
            for number in range(start, min(start + COMMIT_EVERY, PARTS)):
                key = f"shop/f{number}.csv"
                table = rejected(ROWS, f"{number:032x}")
                info = PartInfo(key, "5e" * 32, "2.0.0")
                writer = sink.begin("sales_quarantine", part_key(key), table.schema, info)
                writer.write(table)
                writers.append(writer)
            sink.commit_together(writers).result()
        with db.writing() as conn:
            record_locations(conn, {sink.location("sales_quarantine"): "0" * 32}, "now")
        return sink.uri
    finally:
        sink.close()


def reruns(count: int) -> list[Rerun]:
    step = PARTS // count
    return [Rerun("sales_csv", "3.0.0", part_key(f"shop/f{n}.csv")) for n in range(0, PARTS, step)]


def timed(work: Callable[[], object]) -> str:
    secs = []
    for _ in range(RUNS):
        started = time.perf_counter()
        work()
        secs.append(time.perf_counter() - started)
    return f"median {statistics.median(secs) * 1000:,.0f} ms (of {', '.join(_ms(s) for s in secs)})"


def _ms(secs: float) -> str:
    return f"{secs * 1000:,.0f}"


def measure(settings: Settings, db: Gateway, name: str, uri: str) -> None:
    started = time.perf_counter()
    uri = fill(db, uri)
    print(f"{name}: {PARTS:,} quarantine parts written in {time.perf_counter() - started:.1f} s")
    with db.reading() as conn:
        known = output_locations(conn)

    def every_part() -> None:  # what capturing did: read them all, count the catalogue's rows
        sum(1 for _ in store_for(uri).parts())
        count_tables(settings, known)

    print(f"  every part read (capturing before): {timed(every_part)}")
    for count in (10, 1_000):
        wanted = reruns(count)
        took = timed(lambda wanted=wanted: capture(db, settings, uri, wanted, "bench", "now"))
        found = len(capture(db, settings, uri, wanted, "bench", "now"))
        print(f"  capture of {count:,} re-run inputs ({found:,} parts found): {took}")


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(env={}, home=Path(folder) / "home")
        prepare_home(settings)
        db = Gateway(settings.database_path)
        db.open()
        try:
            measure(settings, db, "Parquet folder", f"parquet://{settings.output_dir}")
            sqlite = settings.home / "warehouse.db"
            measure(settings, db, "SQLite file", f"sqlite:///{sqlite}")
        finally:
            db.close()


if __name__ == "__main__":
    main()
