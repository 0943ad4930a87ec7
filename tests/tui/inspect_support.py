"""A home with fixed output tables for Inspect's tests and pictures: `orders` (numbers, text,
timestamps, nulls, the engine's lineage columns) with its quarantine companion as the engine
writes it, and `events`, a table whose rows all passed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq

from casparian_core.config import Settings
from casparian_core.home import prepare_home

ORDERS = 400
JOB_A = "a1" * 16
JOB_B = "b2" * 16
REGIONS = ("north", "north", "south", "east", "north", "west", "south")
LONG_QUERY = "SELECT count(*) FROM range(100000000000) AS t(n) WHERE n % 7 = 3"


def orders() -> pa.Table:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return pa.table(
        {
            "order_id": pa.array(range(1000, 1000 + ORDERS), pa.int64()),
            "amount": pa.array(
                [None if i % 25 == 0 else round((i * 37 % 1000) / 4, 2) for i in range(ORDERS)],
                pa.float64(),
            ),
            "region": pa.array([REGIONS[i % len(REGIONS)] for i in range(ORDERS)]),
            "ordered_at": pa.array(
                [start + timedelta(days=i * 13 % 180, hours=i % 24) for i in range(ORDERS)],
                pa.timestamp("us", tz="UTC"),
            ),
            "_cf_source_hash": pa.array(["5e" * 32] * ORDERS),
            "_cf_job_id": pa.array([JOB_A if i < ORDERS // 2 else JOB_B for i in range(ORDERS)]),
            "_cf_parser": pa.array(["orders_csv"] * ORDERS),
            "_cf_parser_version": pa.array(["1.2.0"] * ORDERS),
        }
    )


def orders_quarantine() -> pa.Table:
    bad = [
        (3, "amount", "min", "value -12.5 is below min 0", '{"amount": -12.5}'),
        (
            17,
            "region",
            "allowed",
            "'CENTRAL' is not one of: 'north', 'south', 'east', 'west'",
            "{}",
        ),
        (42, "ordered_at", "format", "'2026-13-45' does not match format '%Y-%m-%d'", "{}"),
    ]
    return pa.table(
        {
            "row_index": pa.array([row for row, *_ in bad], pa.int64()),
            "column": [column for _, column, *_ in bad],
            "rule": [rule for _, _, rule, *_ in bad],
            "reason": [reason for *_, reason, _ in bad],
            "row_json": [row for *_, row in bad],
            "source_path": ["/data/in/orders-2026-01.csv"] * len(bad),
            "parser": ["orders_csv"] * len(bad),
            "parser_version": ["1.2.0"] * len(bad),
            "job_id": [JOB_B] * len(bad),
        }
    )


def events() -> pa.Table:
    return pa.table(
        {
            "kind": pa.array(["login", "logout", "login", "error"] * 5),
            "ok": pa.array([True, True, True, False] * 5),
        }
    )


def seed_inspect(settings: Settings) -> Settings:
    prepare_home(settings)
    for name, table in (
        ("orders", orders()),
        ("orders_quarantine", orders_quarantine()),
        ("events", events()),
    ):
        folder = settings.output_dir / name
        folder.mkdir(parents=True)
        pq.write_table(table, folder / "part-0.parquet")
    return settings
