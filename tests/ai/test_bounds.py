"""Tool results stay under their byte caps however large the data: a 1 GB file, a source of
100,000 files, a parser that fails with a megabyte of error text."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from casparian_core.ai.actions import ActionStore
from casparian_core.ai.tools.all import toolbox
from casparian_core.ai.tools.base import DEFAULT_CAP_BYTES, ToolEnv, ToolOutput, bounded
from casparian_core.service import CoreService

GB = 1024**3
CAPS = {tool["name"]: DEFAULT_CAP_BYTES for tool in toolbox().definitions()} | {
    "read_parser": 48 * 1024
}


async def call(service: CoreService, tmp_path: Path, name: str, **arguments: Any) -> ToolOutput:
    env = ToolEnv(service, ActionStore(service.db, service.clock), tmp_path)
    output = await toolbox().call(env, name, arguments)
    assert len(output.content.encode()) <= CAPS[name], name
    return output


async def file_id_of(service: CoreService, rel_path: str) -> int:
    page = await service.scout.files_page(limit=10)
    return next(row.id for row in page.rows if row.rel_path == rel_path)


def test_the_central_cap_cuts_with_a_note_on_a_character_boundary() -> None:
    text = "é" * 20_000  # two bytes each
    cut = bounded(text, 1000)
    assert len(cut.encode()) <= 1000
    assert cut.startswith("éé") and "of 40000 bytes shown" in cut
    assert bounded("short", 1000) == "short"


async def test_a_1_gb_file_gives_bounded_heads_previews_and_inferences(
    service: CoreService, tmp_path: Path
) -> None:
    folder = tmp_path / "big"
    folder.mkdir()
    path = folder / "huge.csv"
    with path.open("wb") as handle:
        handle.write(
            b"id,name,amount\n" + b"".join(b"%d,n%d,%d.5\n" % (i, i, i) for i in range(50_000))
        )
        handle.truncate(GB)  # the rest is a hole: 1 GB on the catalogue, little on the disk
    await service.scout.scan(folder, name="big", hash_files=False)
    huge = await file_id_of(service, "huge.csv")

    head = json.loads(
        (await call(service, tmp_path, "file_head", file_id=huge, max_bytes=12 * 1024)).content
    )
    assert head["head"].startswith("id,name,amount\n") and "only the first" in head["note"]
    preview = json.loads(
        (await call(service, tmp_path, "preview_file", file_id=huge, rows=50)).content
    )
    assert preview["header"] == ["id", "name", "amount"] and len(preview["rows"]) == 50
    inferred = json.loads(
        (await call(service, tmp_path, "discover_schemas", file_ids=[huge])).content
    )
    [sample] = inferred["samples"]
    assert sample["outputs"]["huge"]["amount"] == {"nullable": True, "type": "float64"}
    assert sample["note"] == "inferred from the first megabyte only"
    files = json.loads((await call(service, tmp_path, "list_files", source="big")).content)
    assert files["files"][0][files["columns"].index("size")] == GB


async def test_a_source_of_100_000_files_gives_bounded_lists_and_proposals(
    service: CoreService, tmp_path: Path
) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for index in range(100_000):
        os.close(os.open(f"{folder}/{index:06d}.log", os.O_CREAT | os.O_WRONLY, 0o644))
    await service.scout.scan(folder, name="many", hash_files=False)

    page = json.loads(
        (await call(service, tmp_path, "list_files", source="many", limit=200)).content
    )
    assert len(page["files"]) == 200 and page["next_offset"] == 200
    assert page["matching"] == "100000"
    await call(service, tmp_path, "list_sources")
    await call(service, tmp_path, "list_tags")
    tagging = await call(service, tmp_path, "apply_scope", tag="logs", source="many")
    assert tagging.action is not None and "... and 99980 more" in tagging.action.effect
    rule = await call(service, tmp_path, "apply_scope", glob="*.log", tag="logs", as_rule=True)
    assert rule.action is not None and "matches 100000 files now" in rule.action.effect


async def test_a_megabyte_of_error_text_stays_under_the_cap(
    service: CoreService, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("x\n")
    await service.scout.scan(folder, name="in", hash_files=False)
    (service.settings.parsers_dir / "loud.py").write_text(
        "def parse(path):\n    raise ValueError('x' * 1_000_000)\n"
    )
    result = await call(
        service,
        tmp_path,
        "run_parser_test",
        parser="loud",
        file_id=await file_id_of(service, "a.txt"),
    )
    assert result.summary.startswith("FAILED") and "[cut:" in result.content


async def test_a_huge_parser_source_is_cut(service: CoreService, tmp_path: Path) -> None:
    (service.settings.parsers_dir / "big.py").write_text(
        "def parse(path):\n    return []\n" + "# padding\n" * 20_000
    )
    output = await call(service, tmp_path, "read_parser", parser="big")
    assert "[cut:" in output.content


async def test_a_page_of_long_paths_is_cut_to_whole_rows_and_the_next_page_follows_on(
    service: CoreService, tmp_path: Path
) -> None:
    folder = tmp_path / "long"
    folder.mkdir()
    for index in range(200):
        (folder / f"{index:03d}_{'x' * 200}.txt").touch()
    await service.scout.scan(folder, name="long", hash_files=False)

    first = json.loads((await call(service, tmp_path, "list_files", limit=200)).content)
    shown = len(first["files"])
    assert 0 < shown < 200 and first["next_offset"] == shown and "page cut" in first["note"]
    second = await call(service, tmp_path, "list_files", limit=200, offset=shown)
    following = json.loads(second.content)["files"][0][1]
    assert following.startswith(f"{shown:03d}_")
