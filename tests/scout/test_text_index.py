"""The trigram index behind substring and glob filters: same answers as a full scan."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from casparian_core.config import Settings
from casparian_core.scout.queries import FileQuery
from casparian_core.scout.text_index import longest_literal, rare_candidates
from casparian_core.service import CoreService
from tests.scout.conftest import write_tree

NAMES = {f"logs/Day_{i:02d}/run.{'csv' if i % 3 else 'log'}": "x" for i in range(30)}


async def _matches(service: CoreService, query: FileQuery) -> list[str]:
    page = await service.scout.files_page(query, limit=1000)
    assert await service.scout.count_files(query) == len(page.rows)
    return [row.rel_path for row in page.rows]


async def test_rare_filters_go_through_the_index_and_match_exactly(
    service: CoreService, settings: Settings, data: Path
) -> None:
    write_tree(data, NAMES)
    await service.scout.scan(data)
    with sqlite3.connect(settings.database_path) as conn:
        assert rare_candidates(conn, "day_1") is not None
        assert rare_candidates(conn, "da") is None  # too short for a trigram

    assert await _matches(service, FileQuery(text="DAY_1")) == [
        f"logs/Day_{i}/run.{'csv' if i % 3 else 'log'}" for i in range(10, 20)
    ]
    assert await _matches(service, FileQuery(text="*Day_2?/*.log")) == [
        "logs/Day_21/run.log",
        "logs/Day_24/run.log",
        "logs/Day_27/run.log",
    ]
    assert await _matches(service, FileQuery(text="*day_2?/*.log")) == []  # GLOB keeps case
    assert await _matches(service, FileQuery(glob="*/Day_0[0-2]/*")) == [
        "logs/Day_00/run.log",
        "logs/Day_01/run.csv",
        "logs/Day_02/run.csv",
    ]


async def test_rows_not_indexed_yet_are_still_found(
    service: CoreService, settings: Settings, data: Path
) -> None:
    write_tree(data, NAMES)
    await service.scout.scan(data)
    with sqlite3.connect(settings.database_path) as conn:
        # As during a scan: the rows are in the catalogue, the index has not caught up.
        conn.execute("INSERT INTO scout_files_text (scout_files_text) VALUES ('delete-all')")
        conn.execute("UPDATE scout_files_text_mark SET indexed_upto = 0")

    assert len(await _matches(service, FileQuery(text="Day_1"))) == 10


async def test_a_removed_source_leaves_nothing_behind_in_the_index(
    service: CoreService, data: Path, tmp_path: Path
) -> None:
    write_tree(data, NAMES)
    await service.scout.scan(data, name="first")
    await service.scout.remove_source("first")
    write_tree(tmp_path / "second", {"other/Day_10.txt": "x", "zz.txt": "x"})
    await service.scout.scan(tmp_path / "second")  # may reuse the removed rows' ids

    assert await _matches(service, FileQuery(text="Day_1")) == ["other/Day_10.txt"]
    assert await _matches(service, FileQuery(text="run.")) == []


async def test_a_capped_count_stops_past_the_cap(service: CoreService, data: Path) -> None:
    write_tree(data, NAMES)
    await service.scout.scan(data)

    assert await service.scout.count_files(FileQuery(text="Day_"), at_most=10) == 11
    assert await service.scout.count_files(FileQuery(text="Day_1"), at_most=10) == 10
    assert await service.scout.count_files(FileQuery(text="Day_1"), at_most=100) == 10


def test_the_longest_literal_run_of_a_glob() -> None:
    assert longest_literal("*.log") == ".log"
    assert longest_literal("logs/*/day_??.csv") == "logs/"
    assert longest_literal("a[bcdefgh]cd*xyzw") == "xyzw"
    assert longest_literal("[]abcdef]x") == "x"  # ']' first in a class is a member
    assert longest_literal("*") == ""
