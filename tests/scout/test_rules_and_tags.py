"""Tagging rules (priority, ties, scope, re-application) and manual tags."""

from __future__ import annotations

from pathlib import Path

import pytest

from casparian_core.scout.errors import EmptyPatternError, InvalidTagError, RuleNotFoundError
from casparian_core.scout.queries import UNTAGGED, FileQuery
from casparian_core.service import CoreService
from tests.scout.conftest import write_tree


async def tags_by_path(service: CoreService) -> dict[str, tuple[str | None, str | None]]:
    page = await service.scout.files_page(FileQuery(include_missing=True), limit=1000)
    return {row.rel_path: (row.tag, row.tag_source) for row in page.rows}


async def test_highest_priority_wins_and_ties_go_to_the_oldest_rule(
    service: CoreService, data: Path
) -> None:
    write_tree(data, {"sales/2024.csv": "x", "sales/notes.txt": "x", "other.csv": "x"})
    await service.scout.scan(data)

    first = await service.scout.add_rule("*.csv", "csv_any", priority=1)
    await service.scout.add_rule("sales/*", "sales", priority=5)
    await service.scout.add_rule("*.csv", "csv_tie", priority=1)

    assert await tags_by_path(service) == {
        "other.csv": ("csv_any", "rule"),
        "sales/2024.csv": ("sales", "rule"),
        "sales/notes.txt": ("sales", "rule"),
    }
    rules = await service.scout.rules()
    assert [r.tag for r in rules] == ["sales", "csv_any", "csv_tie"]
    assert {r.tag: r.files for r in rules} == {"sales": 2, "csv_any": 1, "csv_tie": 0}
    page = await service.scout.files_page(FileQuery(tag="csv_any"))
    assert page.rows[0].rule_id == first


async def test_rules_apply_to_files_found_by_later_scans(service: CoreService, data: Path) -> None:
    await service.scout.add_rule("*.log", "logs")
    write_tree(data, {"a/b/app.log": "x", "readme.md": "x"})

    await service.scout.scan(data)

    assert await tags_by_path(service) == {
        "a/b/app.log": ("logs", "rule"),
        "readme.md": (None, None),
    }


async def test_manual_tags_survive_rules_and_rescans(service: CoreService, data: Path) -> None:
    write_tree(data, {"a.csv": "x", "b.csv": "x"})
    await service.scout.scan(data)
    assert await service.scout.tag_files(FileQuery(glob="a.csv"), "special") == 1

    await service.scout.add_rule("*.csv", "sales", priority=100)
    (data / "a.csv").write_text("changed content")
    await service.scout.scan(data)

    assert await tags_by_path(service) == {
        "a.csv": ("special", "manual"),
        "b.csv": ("sales", "rule"),
    }


async def test_untag_is_a_manual_no_tag_that_rules_respect(
    service: CoreService, data: Path
) -> None:
    write_tree(data, {"a.csv": "x", "b.csv": "x"})
    await service.scout.scan(data)
    rule = await service.scout.add_rule("*.csv", "sales")

    assert await service.scout.untag_files(FileQuery(glob="a.csv")) == 1
    await service.scout.set_rule_enabled(rule, False)
    await service.scout.set_rule_enabled(rule, True)

    assert await tags_by_path(service) == {"a.csv": (None, "manual"), "b.csv": ("sales", "rule")}
    assert (await service.scout.tags()).untagged == 1


async def test_disabling_editing_and_removing_rules_retags(
    service: CoreService, data: Path
) -> None:
    write_tree(data, {"x.csv": "x"})
    await service.scout.scan(data)
    low = await service.scout.add_rule("*", "anything", priority=0)
    high = await service.scout.add_rule("*.csv", "csv", priority=9)

    await service.scout.set_rule_enabled(high, False)
    assert await tags_by_path(service) == {"x.csv": ("anything", "rule")}

    await service.scout.set_rule_enabled(high, True)
    await service.scout.update_rule(high, pattern="*.csv", tag="tables", priority=9)
    assert await tags_by_path(service) == {"x.csv": ("tables", "rule")}

    await service.scout.remove_rule(high)
    assert await tags_by_path(service) == {"x.csv": ("anything", "rule")}
    await service.scout.remove_rule(low)
    assert await tags_by_path(service) == {"x.csv": (None, None)}


async def test_a_rule_scoped_to_a_source_leaves_other_sources_alone(
    service: CoreService, tmp_path: Path
) -> None:
    write_tree(tmp_path / "one", {"f.csv": "1"})
    write_tree(tmp_path / "two", {"f.csv": "2"})
    await service.scout.scan(tmp_path / "one")
    await service.scout.scan(tmp_path / "two")

    await service.scout.add_rule("*.csv", "mine", source="two")

    one, two = await service.scout.sources()
    assert (await service.scout.tags(one.id)).tags == []
    assert (await service.scout.tags(two.id)).tags == [("mine", 1)]


async def test_scan_tag_with_patterns_tags_only_matching_files(
    service: CoreService, data: Path
) -> None:
    write_tree(data, {"a.csv": "x", "deep/b.csv": "x", "c.txt": "x"})

    await service.scout.scan(data, patterns=["*.csv"], tag="sales")

    assert await tags_by_path(service) == {
        "a.csv": ("sales", "manual"),
        "c.txt": (None, None),
        "deep/b.csv": ("sales", "manual"),
    }
    untagged = await service.scout.files_page(FileQuery(tag=UNTAGGED))
    assert [row.rel_path for row in untagged.rows] == ["c.txt"]


async def test_bad_tags_patterns_and_rule_ids_are_typed_errors(
    service: CoreService, data: Path
) -> None:
    with pytest.raises(InvalidTagError):
        await service.scout.add_rule("*.csv", "two words")
    with pytest.raises(EmptyPatternError):
        await service.scout.add_rule("  ", "ok")
    with pytest.raises(RuleNotFoundError):
        await service.scout.remove_rule(42)
    with pytest.raises(InvalidTagError):
        await service.scout.scan(data, tag="-bad")
    assert await service.scout.rules() == []
