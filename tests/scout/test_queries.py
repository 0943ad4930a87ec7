"""Paged listings, filters and counts: what Discover and `casparian files` read."""

from __future__ import annotations

from pathlib import Path

from casparian_core.scout import queries
from casparian_core.scout.queries import UNTAGGED, FileQuery
from casparian_core.service import CoreService
from tests.scout.conftest import write_tree


async def _catalogue_of_25(service: CoreService, data: Path) -> int:
    write_tree(data, {f"d{i % 3}/file_{i:02d}.{'csv' if i % 2 else 'log'}": "x" for i in range(25)})
    await service.scout.scan(data)
    await service.scout.add_rule("*.csv", "sales")
    return (await service.scout.sources())[0].id


async def test_pages_walk_the_whole_listing_in_path_order(service: CoreService, data: Path) -> None:
    await _catalogue_of_25(service, data)
    seen: list[str] = []
    offset = 0
    while True:
        page = await service.scout.files_page(offset=offset, limit=10)
        seen += [row.rel_path for row in page.rows]
        offset += len(page.rows)
        if not page.has_more:
            break

    assert len(seen) == 25
    assert seen == sorted(seen)
    assert await service.scout.count_files() == 25


async def test_filters_by_source_tag_untagged_substring_and_glob(
    service: CoreService, data: Path, tmp_path: Path
) -> None:
    source_id = await _catalogue_of_25(service, data)
    write_tree(tmp_path / "elsewhere", {"file_99.csv": "x"})
    await service.scout.scan(tmp_path / "elsewhere")

    async def count(**filters: object) -> int:
        query = FileQuery(**filters)  # type: ignore[arg-type]
        total = await service.scout.count_files(query)
        page = await service.scout.files_page(query, limit=1000)
        assert len(page.rows) == total
        return total

    assert await count() == 26
    assert await count(source_id=source_id) == 25
    assert await count(tag="sales") == 13
    assert await count(tag="sales", source_id=source_id) == 12
    assert await count(tag=UNTAGGED) == 13
    assert await count(text="FILE_0") == 10  # substring, any case
    assert await count(text="d1/*.csv") == 4  # glob: '*' crosses folders
    assert await count(text="*_2?.log") == 3
    assert await count(text="100%") == 0  # LIKE wildcards are taken literally


async def test_missing_files_are_hidden_unless_asked_for(service: CoreService, data: Path) -> None:
    write_tree(data, {"a.csv": "x", "b.csv": "x", "c.txt": "x"})
    await service.scout.scan(data)
    await service.scout.add_rule("*.csv", "sales")
    (data / "a.csv").unlink()
    await service.scout.scan(data)

    counts = await service.scout.tags()
    assert (counts.tags, counts.untagged, counts.total) == ([("sales", 1)], 1, 2)
    assert await service.scout.count_files(FileQuery(tag="sales")) == 1
    assert await service.scout.count_files(FileQuery(include_missing=True)) == 3
    [source] = await service.scout.sources()
    assert (source.files, source.missing) == (2, 1)


async def test_bulk_tagging_the_filtered_files(service: CoreService, data: Path) -> None:
    await _catalogue_of_25(service, data)
    query = FileQuery(text="d2/")

    tagged = await service.scout.tag_files(query, "batch2")

    assert tagged == await service.scout.count_files(FileQuery(tag="batch2")) == 8
    counts = await service.scout.tags()
    assert dict(counts.tags) == {"batch2": 8, "sales": 8}
    assert counts.untagged == 9


async def test_tagged_paths_among_many_keeps_order_and_limit(
    service: CoreService, data: Path
) -> None:
    await _catalogue_of_25(service, data)
    csv = sorted(str(p) for p in data.rglob("*.csv"))
    # More paths than one statement takes, most of them not catalogued at all.
    among = [f"/nowhere/{n}" for n in range(2000)] + csv[::-1] + [str(data / "d0/file_00.log")]
    found = await service.db.read(queries.tagged_paths, ["sales"], 5, among=among)
    assert found == csv[:5]
    assert await service.db.read(queries.tagged_paths, ["sales"], 100) == csv
    others = await service.db.read(queries.other_paths, ["sales"], 100)
    assert sorted(others) == sorted(str(p) for p in data.rglob("*.log"))
