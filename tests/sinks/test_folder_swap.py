"""The backfill's folder swap against a writer that commits during it: nothing committed is lost."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from casparian_core.sinks import folder_swap


def write_part(folder: Path, key: str, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"n": [n]}), folder / f"part-{key}.parquet")


def test_a_part_committed_between_the_links_and_the_exchange_is_kept(tmp_path: Path) -> None:
    live_root = tmp_path / "out"
    write_part(live_root / "rows", "old-a", 1)  # an input the backfill does not run again
    write_part(live_root / "rows", "rerun", 2)  # the input it runs again (its old part)
    staged = folder_swap.staged_root(live_root, "b1")
    write_part(staged / "rows", "rerun", 20)  # the new version's part

    def another_writer_commits(output: str) -> None:  # after the links, before the exchange
        write_part(live_root / output, "late", 3)

    swapped = folder_swap.swap(live_root, staged, "b1", ["rerun"], another_writer_commits)

    assert swapped == ["rows"]
    names = sorted(p.name for p in (live_root / "rows").glob("*.parquet"))
    assert names == ["part-late.parquet", "part-old-a.parquet", "part-rerun.parquet"]
    assert pq.read_table(live_root / "rows" / "part-rerun.parquet")["n"].to_pylist() == [20]
    assert not (staged / "rows").exists()  # the old folder is gone, the late part moved out
