"""Bundles: the small parts of a Parquet sink's commit pass share one file, and each input in it
stays a part of its own: committed, replaced, removed and kept by a backfill one by one, and
never held twice (casparian_core/sinks/parquet_bundle.py)."""

from __future__ import annotations

import errno
from concurrent.futures import Future
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from casparian_core.sinks import (
    PartInfo,
    SinkError,
    bundle_index,
    file_sink,
    folder_swap,
    parquet_bundle,
)
from casparian_core.sinks.file_sink import FileSink
from tests.output_parts import part_rows

from .conftest import SinkCase, make_case, numbers

SCHEMA = numbers(0, 0).schema


def info(key: str, version: str = "1") -> PartInfo:
    return PartInfo(key, f"hash-{key}", version)


def commit(sink: FileSink, key: str, rows: pa.Table, version: str = "1") -> Future[None]:
    part = sink.begin("sales", key, SCHEMA, info(key, version))
    part.write(rows)
    return sink.commit_together([part])


def commit_all(case: SinkCase, tables: dict[str, pa.Table], version: str = "1") -> None:
    sink = case.sink
    assert isinstance(sink, FileSink)
    for done in [commit(sink, key, rows, version) for key, rows in tables.items()]:
        done.result()


def files(case: SinkCase) -> list[str]:
    return sorted(path.name for path in (case.root / "out" / "sales").iterdir())


@pytest.fixture
def parquet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SinkCase:
    monkeypatch.setattr(file_sink, "GATHER_SECS", 0.3)  # every commit of a test: one pass
    return make_case("parquet", tmp_path)


def test_small_new_parts_share_one_bundle_and_each_is_committed(parquet: SinkCase) -> None:
    commit_all(parquet, {f"in{n}": numbers(10 * n, 10 * n + 3) for n in range(3)})

    [name] = files(parquet)
    assert parquet_bundle.is_bundle(name)
    assert part_rows(parquet.root / "out" / "sales") == {"in0": 3, "in1": 3, "in2": 3}
    assert [row["n"] for row in parquet.read("sales")] == [0, 1, 2, 10, 11, 12, 20, 21, 22]
    another_process = make_case("parquet", parquet.root).sink  # reads the footers afresh
    for key in ("in0", "in1", "in2"):
        assert parquet.sink.committed("sales", key) == info(key)
        assert another_process.committed("sales", key) == info(key)
        assert another_process.has_part("sales", key)
    assert another_process.committed("sales", "in3") is None
    assert parquet.leftovers() == []


def test_a_rerun_replaces_only_its_own_rows_in_the_bundle(parquet: SinkCase) -> None:
    commit_all(parquet, {f"in{n}": numbers(10 * n, 10 * n + 2) for n in range(3)})

    commit_all(parquet, {"in1": numbers(100, 105)}, version="2")

    assert part_rows(parquet.root / "out" / "sales") == {"in0": 2, "in1": 5, "in2": 2}
    assert [row["n"] for row in parquet.read("sales")] == [0, 1, 20, 21, 100, 101, 102, 103, 104]
    assert parquet.sink.committed("sales", "in1") == info("in1", "2")
    assert make_case("parquet", parquet.root).sink.committed("sales", "in1") == info("in1", "2")
    assert len(files(parquet)) == 2  # the old bundle rewritten without in1, in1's new one
    assert parquet.leftovers() == []


def test_a_removal_takes_the_part_out_and_the_last_one_removes_the_bundle(
    parquet: SinkCase,
) -> None:
    commit_all(parquet, {"in0": numbers(0, 2), "in1": numbers(10, 12)})
    sink = parquet.sink

    sink.commit_together([sink.begin_removal("sales", "in0")]).result()
    assert part_rows(parquet.root / "out" / "sales") == {"in1": 2}
    assert not sink.has_part("sales", "in0")

    sink.commit_together([sink.begin_removal("sales", "in1")]).result()
    assert files(parquet) == []
    assert parquet.read("sales") == []


def test_large_parts_and_quarantine_parts_get_files_of_their_own(
    parquet: SinkCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = parquet.sink
    quarantine = sink.begin("sales_quarantine", "in0", SCHEMA, info("in0"))
    quarantine.write(numbers(0, 1))
    sales = sink.begin("sales", "in0", SCHEMA, info("in0"))
    sales.write(numbers(0, 2))
    sink.commit_together([sales, quarantine]).result()  # one input: no part of it bundled
    monkeypatch.setattr(file_sink, "BUNDLE_PART_BYTES", 1)
    commit_all(parquet, {"in1": numbers(10, 12)})

    assert files(parquet) == ["part-in0.parquet", "part-in1.parquet"]
    quarantined = parquet.root / "out" / "sales_quarantine"
    assert [p.name for p in quarantined.iterdir()] == ["part-in0.parquet"]


def test_an_input_with_a_file_of_its_own_keeps_it_when_run_again(parquet: SinkCase) -> None:
    folder = parquet.root / "out" / "sales"
    folder.mkdir(parents=True)
    meta = {file_sink.PART_INFO_KEY: info("in0").to_json().encode()}
    pq.write_table(numbers(0, 4).replace_schema_metadata(meta), folder / "part-in0.parquet")

    commit_all(parquet, {"in0": numbers(50, 51), "in1": numbers(60, 61)}, version="2")

    assert part_rows(folder) == {"in0": 1, "in1": 1}
    assert "part-in0.parquet" in files(parquet)
    assert [row["n"] for row in parquet.read("sales")] == [50, 60]


def test_a_sink_sees_the_bundles_another_process_commits_after_it_looked(
    parquet: SinkCase,
) -> None:
    other = make_case("parquet", parquet.root).sink
    assert other.committed("sales", "in0") is None  # looked: nothing yet

    commit_all(parquet, {"in0": numbers(0, 1)})
    assert other.committed("sales", "in0") == info("in0")

    commit_all(parquet, {"in0": numbers(0, 1)}, version="2")  # rewritten, then bundled anew
    assert other.committed("sales", "in0") == info("in0", "2")


def test_a_bundle_that_cannot_be_written_fails_only_the_inputs_that_do_not_fit(
    parquet: SinkCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The disk holds no bundle with in1 in it: the pass's shared bundle fails, then each input
    # gets a bundle of its own, and only in1 fails.
    commit_all(parquet, {"in1": numbers(0, 2)})
    encode = parquet_bundle.encode

    def full_for_in1(parts: list[parquet_bundle.PartRows]) -> pa.Buffer:
        if any(part.key == "in1" for part in parts):
            raise OSError(errno.ENOSPC, "No space left on device")
        return encode(parts)

    monkeypatch.setattr(parquet_bundle, "encode", full_for_in1)
    sink = parquet.sink
    assert isinstance(sink, FileSink)
    pending = {key: commit(sink, key, numbers(5, 6), "2") for key in ("in0", "in1", "in2")}

    pending["in0"].result()
    pending["in2"].result()
    with pytest.raises(SinkError, match="the disk is full"):
        pending["in1"].result()
    assert part_rows(parquet.root / "out" / "sales") == {"in0": 1, "in1": 2, "in2": 1}
    assert sink.committed("sales", "in1") == info("in1")  # its old rows, whole
    assert parquet.leftovers() == []  # no staged bundle left behind


def test_a_failed_rewrite_leaves_the_old_bundle_whole(
    parquet: SinkCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit_all(parquet, {"in0": numbers(0, 2), "in1": numbers(10, 12)})
    before = {name: (parquet.root / "out" / "sales" / name).read_bytes() for name in files(parquet)}

    def full(*args: object) -> pa.Buffer:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(parquet_bundle, "without", full)
    sink = parquet.sink
    assert isinstance(sink, FileSink)
    with pytest.raises(SinkError, match="the disk is full"):
        commit(sink, "in0", numbers(7, 8), "2").result()

    after = {name: (parquet.root / "out" / "sales" / name).read_bytes() for name in files(parquet)}
    assert after == before
    assert sink.committed("sales", "in0") == info("in0")


def test_a_backfill_keeps_the_bundled_parts_it_does_not_run_again(tmp_path: Path) -> None:
    live = make_case("parquet", tmp_path / "live")
    commit_all(live, {"keep": numbers(0, 2), "rerun": numbers(10, 12)})
    live_root = tmp_path / "live" / "out"
    staged = folder_swap.staged_root(live_root, "b1")
    backfill = FileSink(staged, file_sink.PARQUET)
    commit(backfill, "rerun", numbers(100, 101), "2").result()
    backfill.close()

    def another_writer_commits(output: str) -> None:  # after the links, before the exchange
        commit(FileSink(live_root, file_sink.PARQUET), "late", numbers(50, 51)).result()

    folder_swap.swap(live_root, staged, "b1", ["rerun"], another_writer_commits)

    assert part_rows(live_root / "sales") == {"keep": 2, "rerun": 1, "late": 1}
    assert sorted(row["n"] for row in live.read("sales")) == [0, 1, 50, 100]
    assert FileSink(live_root, file_sink.PARQUET).committed("sales", "rerun") == info("rerun", "2")


def test_a_missing_bundle_log_is_written_again_from_the_folder(parquet: SinkCase) -> None:
    commit_all(parquet, {"in0": numbers(0, 2), "in1": numbers(10, 12)})
    log = bundle_index.log_path(parquet.root / "out" / ".staging", "sales")
    log.unlink()  # `.staging` removed by hand, or a folder copied without it

    again = make_case("parquet", parquet.root).sink
    assert again.committed("sales", "in1") == info("in1")
    assert sorted(line.split()[0] for line in log.read_text().splitlines()) == ["in0", "in1"]


def test_log_lines_of_bundles_never_published_are_ignored(parquet: SinkCase) -> None:
    # A crash between naming a bundle in the log and renaming it into place.
    commit_all(parquet, {"in0": numbers(0, 2)})
    log = bundle_index.log_path(parquet.root / "out" / ".staging", "sales")
    bundle_index.record(log, [("in0", parquet_bundle.new_name()), ("in9", "bundle-gone.parquet")])

    again = make_case("parquet", parquet.root).sink
    assert again.committed("sales", "in0") == info("in0")
    assert again.committed("sales", "in9") is None
    commit_all(parquet, {"in9": numbers(90, 91)})
    assert again.committed("sales", "in9") == info("in9")


def test_an_input_that_outgrows_bundles_moves_to_a_file_of_its_own(
    parquet: SinkCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit_all(parquet, {"in0": numbers(0, 2), "in1": numbers(10, 12)})
    monkeypatch.setattr(file_sink, "BUNDLE_PART_BYTES", 1)  # in0's rerun is too big to bundle

    commit_all(parquet, {"in0": numbers(100, 103)}, version="2")

    assert part_rows(parquet.root / "out" / "sales") == {"in0": 3, "in1": 2}  # once each
    assert "part-in0.parquet" in files(parquet)
    assert parquet.sink.committed("sales", "in0") == info("in0", "2")


def test_an_input_run_again_and_again_is_found_in_its_latest_bundle(parquet: SinkCase) -> None:
    other = make_case("parquet", parquet.root).sink  # reads every line the runs log
    for version in range(1, 13):
        commit_all(
            parquet, {"in0": numbers(version, version + 1), "in1": numbers(0, 1)}, str(version)
        )
        assert other.committed("sales", "in0") == info("in0", str(version))

    assert part_rows(parquet.root / "out" / "sales") == {"in0": 1, "in1": 1}
    assert [row["n"] for row in parquet.read("sales")] == [0, 12]
