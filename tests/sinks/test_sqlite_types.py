"""The documented SQLite type mapping, read back with sqlite3."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from casparian_core.contracts.lineage import lineage
from casparian_core.sinks import SinkError, open_sink
from tests.sinks.conftest import INFO


def test_every_contract_type_is_stored_in_its_documented_form(tmp_path: Path) -> None:
    table = pa.table(
        {
            "n": pa.array([7], pa.int64()),
            "s": ["text"],
            "b": [True],
            "f": [1.5],
            "d": pa.array([Decimal("12.50")], pa.decimal128(10, 2)),
            "day": [date(2026, 11, 27)],
            "clock": pa.array([time(10, 15)], pa.time64("us")),
            "naive": pa.array([datetime(2026, 11, 27, 10, 15)], pa.timestamp("us")),
            "zoned": pa.array(
                [datetime(2026, 11, 27, 10, 15, tzinfo=timezone(timedelta(hours=1)))],
                pa.timestamp("us", tz="Europe/Paris"),
            ),
            "wait": pa.array([timedelta(seconds=90)], pa.duration("s")),
            "blob": [b"\x00\xff"],
        }
    )
    table = lineage(source_hash="h", job_id="j", parser="p", parser_version="1").append_to(table)
    sink = open_sink(f"sqlite:///{tmp_path / 'out.db'}")
    writer = sink.begin("things", "k", table.schema, INFO)
    writer.write(table)
    writer.commit()

    with sqlite3.connect(tmp_path / "out.db") as connection:
        declared = {row[1]: row[2] for row in connection.execute("PRAGMA table_info(things)")}
        row = connection.execute("SELECT * FROM things").fetchone()

    assert declared == {
        "n": "INTEGER",
        "s": "TEXT",
        "b": "INTEGER",
        "f": "REAL",
        "d": "TEXT",
        "day": "TEXT",
        "clock": "TEXT",
        "naive": "TEXT",
        "zoned": "TEXT",
        "wait": "INTEGER",
        "blob": "BLOB",
        "_cf_source_hash": "TEXT",
        "_cf_job_id": "TEXT",
        "_cf_parser": "TEXT",
        "_cf_parser_version": "TEXT",
        "_cf_part": "TEXT",
    }
    assert row == (
        7,
        "text",
        1,
        1.5,
        "12.50",
        "2026-11-27",
        "10:15:00.000000",
        "2026-11-27 10:15:00.000000",
        "2026-11-27 09:15:00.000000Z",
        90,
        b"\x00\xff",
        "h",
        "j",
        "p",
        "1",
        "k",
    )


def test_a_uint64_above_sqlite_integers_fails_and_leaves_nothing(tmp_path: Path) -> None:
    table = pa.table({"n": pa.array([2**64 - 1], pa.uint64())})
    sink = open_sink(f"sqlite:///{tmp_path / 'out.db'}")
    writer = sink.begin("big", "k", table.schema, INFO)

    with pytest.raises(SinkError, match="too large for an SQLite INTEGER"):
        writer.write(table)

    assert not sink.has_part("big", "k")


def test_types_sqlite_cannot_hold_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    schema = pa.schema([("tags", pa.map_(pa.string(), pa.string()))])  # lists: JSON text
    sink = open_sink(f"sqlite:///{tmp_path / 'out.db'}")

    with pytest.raises(SinkError, match="column 'tags' has type map<string, string>"):
        sink.begin("things", "k", schema, INFO)
