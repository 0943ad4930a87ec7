"""A folder sink's commit thread commits the inputs handed to it together: their files fsynced,
renamed, then each folder fsynced once; each input all-or-nothing, and each commit done only
once its output is durable."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

import pytest

from casparian_core.sinks import PartInfo, SinkError, file_sink
from tests.output_parts import part_rows

from .conftest import SinkCase, make_case, numbers


def begin(case: SinkCase, key: str, start: int) -> list[file_sink.FilePartWriter]:
    writer = case.sink.begin("sales", key, numbers(0, 0).schema, PartInfo(key, "hash", "1"))
    writer.write(numbers(start, start + 2))
    assert isinstance(writer, file_sink.FilePartWriter)
    return [writer]


def part_keys(case: SinkCase) -> set[str]:
    """The keys of the parts published in the output `sales` (in files or bundles)."""
    folder = case.root / "out" / "sales"
    if case.kind == "parquet":
        return set(part_rows(folder))
    return {path.stem.removeprefix("part-") for path in folder.glob("part-*.arrow")}


@pytest.mark.parametrize("kind", ["parquet", "arrow"])
def test_a_commit_is_done_only_after_the_folder_it_was_renamed_into_is_fsynced(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = make_case(kind, tmp_path)
    pending: list[Future[None]] = []
    folder_syncs: list[tuple[Path, list[bool], bool]] = []  # folder, futures done, parts there
    fsync_path = file_sink._fsync_path

    def watched(path: Path) -> None:
        if path.is_dir():
            present = part_keys(case) >= {f"in{n}" for n in range(len(pending))}
            folder_syncs.append((path, [done.done() for done in pending], present))
        fsync_path(path)

    monkeypatch.setattr(file_sink, "_fsync_path", watched)
    pending.extend(case.sink.commit_together(begin(case, f"in{n}", 10 * n)) for n in range(5))
    for done in pending:
        done.result()

    sales = case.root / "out" / "sales"
    syncs_of_sales = [(done, present) for folder, done, present in folder_syncs if folder == sales]
    assert syncs_of_sales, "the output folder was never fsynced"
    last_done, all_present = syncs_of_sales[-1]
    assert all_present  # fsynced after the last rename
    assert not any(last_done)  # and before any commit was reported done
    assert [row["n"] for row in case.read("sales")] == [0, 1, 10, 11, 20, 21, 30, 31, 40, 41]
    case.sink.close()
    assert case.leftovers() == []


@pytest.mark.parametrize("kind", ["parquet", "arrow"])
def test_an_input_that_fails_in_a_group_is_published_nowhere_and_the_others_are(
    kind: str, tmp_path: Path
) -> None:
    case = make_case(kind, tmp_path)
    # The second input's part cannot be renamed into place: a folder holds its name.
    case.sink.part_path("sales", "in1").mkdir(parents=True)
    first_quarantine = case.sink.begin(
        "sales_quarantine", "in1", numbers(0, 0).schema, PartInfo("in1", "hash", "1")
    )
    first_quarantine.write(numbers(100, 101))

    pending = [
        case.sink.commit_together(begin(case, "in0", 0)),
        case.sink.commit_together([*begin(case, "in1", 10), first_quarantine]),
        case.sink.commit_together(begin(case, "in2", 20)),
    ]

    pending[0].result()
    pending[2].result()
    with pytest.raises(SinkError):
        pending[1].result()
    case.sink.part_path("sales", "in1").rmdir()  # empty: nothing of the input went in
    assert [row["n"] for row in case.read("sales")] == [0, 1, 20, 21]
    assert case.read("sales_quarantine") == []  # the failed input's other part: nowhere
    case.sink.close()
    assert case.leftovers() == []


def test_a_part_committed_alone_is_durable_when_commit_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = make_case("parquet", tmp_path)
    synced: list[Path] = []
    fsync_path = file_sink._fsync_path

    def watched(path: Path) -> None:
        synced.append(path)
        fsync_path(path)

    monkeypatch.setattr(file_sink, "_fsync_path", watched)
    (writer,) = begin(case, "in0", 0)
    writer.commit()

    assert synced[-1] == case.root / "out" / "sales"
    case.sink.close()


def test_waiting_for_a_commit_starts_its_pass_without_gathering_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Passes gather inputs for GATHER_SECS; an hour here: only the wait itself can start it.
    monkeypatch.setattr(file_sink, "GATHER_SECS", 3600.0)
    case = make_case("parquet", tmp_path)
    try:
        first = case.sink.commit_together(begin(case, "in0", 0))
        second = case.sink.commit_together(begin(case, "in1", 10))

        second.result(timeout=60)

        assert first.done()  # in the same pass
        assert part_keys(case) == {"in0", "in1"}
    finally:
        case.sink.close()  # a pass starts at once when the sink closes: never an hour
