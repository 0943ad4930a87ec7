"""InputKeys: the key naming each claimed job's rows, a batch's files read in one query."""

from __future__ import annotations

from pathlib import Path

from casparian_core.jobs.input_keys import InputKeys
from casparian_core.jobs.model import ClaimedJob
from casparian_core.service import CoreService


def claimed(path: Path | str, file_id: int | None, input_key: str | None = None) -> ClaimedJob:
    return ClaimedJob("j" * 32, "p", "1.0.0", str(path), file_id, None, 1, None, input_key)


async def ids_by_rel_path(service: CoreService) -> dict[str, int]:
    page = await service.scout.files_page(limit=100)
    return {row.rel_path: row.id for row in page.rows}


async def test_a_batch_gets_each_jobs_key_in_order(service: CoreService, tmp_path: Path) -> None:
    for name in ("shop", "bank"):
        (tmp_path / name / "sub").mkdir(parents=True)
        (tmp_path / name / "sub" / "a.csv").write_text("x\n")
    await service.scout.scan(tmp_path / "shop", name="shop")
    keys = InputKeys(service.db)
    [shop_a] = (await ids_by_rel_path(service)).values()
    assert keys.of(claimed(tmp_path / "shop/sub/a.csv", shop_a)) == "shop/sub/a.csv"

    # A source scanned after the first batch is named too (its name is read again).
    await service.scout.scan(tmp_path / "bank", name="bank")
    ids = await ids_by_rel_path(service)
    bank_a = next(file_id for file_id in ids.values() if file_id != shop_a)
    batch = [
        claimed(tmp_path / "bank/sub/a.csv", bank_a),
        claimed("/gone/b.csv", 10_000),  # no longer catalogued: its path
        claimed("/loose/c.csv", None),  # never catalogued: its path
        claimed(tmp_path / "shop/sub/a.csv", shop_a, input_key="replayed/key"),
        claimed(tmp_path / "shop/sub/a.csv", shop_a),
    ]
    assert keys.of_all(batch) == [
        "bank/sub/a.csv",
        "/gone/b.csv",
        "/loose/c.csv",
        "replayed/key",
        "shop/sub/a.csv",
    ]
    assert keys.of_all([]) == []
