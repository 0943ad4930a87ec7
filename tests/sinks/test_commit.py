"""Every sink: streamed parts commit atomically, reruns replace, aborts leave no trace."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pyarrow as pa
import pytest

from casparian_core.errors import ErrorCode
from casparian_core.sinks import OutputSchemaError, PartInfo, PartWriter, file_sink
from tests.output_parts import part_rows

from .conftest import INFO, SinkCase, make_case, numbers

SCHEMA = numbers(0, 0).schema


def write_part(case: SinkCase, output: str, key: str, *tables: pa.Table) -> None:
    writer = case.sink.begin(output, key, SCHEMA, INFO)
    for table in tables:
        writer.write(table)
    writer.commit()


def test_a_part_streamed_in_batches_reads_back_whole(case: SinkCase) -> None:
    assert not case.sink.has_part("sales", "in1-v1")

    write_part(case, "sales", "in1-v1", numbers(0, 3), numbers(3, 5))

    assert case.sink.has_part("sales", "in1-v1")
    assert [row["n"] for row in case.read("sales")] == [0, 1, 2, 3, 4]
    assert case.leftovers() == []


def test_parts_of_several_outputs_in_one_session_then_close(case: SinkCase) -> None:
    # Folder sinks share one staging folder per session and fsync folders only at close.
    for number in range(3):
        write_part(case, "sales", f"in{number}-v1", numbers(number, number + 1))
        write_part(case, "sales_quarantine", f"in{number}-v1", numbers(0, 0))

    case.sink.close()

    assert [row["n"] for row in case.read("sales")] == [0, 1, 2]
    assert case.read("sales_quarantine") == []
    assert all(case.sink.has_part("sales", f"in{number}-v1") for number in range(3))
    assert case.leftovers() == []


def begin_input(case: SinkCase, key: str, start: int) -> list[PartWriter]:
    """One input's parts: rows in its output, one row in its quarantine."""
    valid = case.sink.begin("sales", key, SCHEMA, INFO)
    valid.write(numbers(start, start + 2))
    quarantine = case.sink.begin("sales_quarantine", key, SCHEMA, INFO)
    quarantine.write(numbers(start, start + 1, "bad"))
    return [valid, quarantine]


def test_inputs_committed_together_are_all_published(case: SinkCase) -> None:
    pending = [case.sink.commit_together(begin_input(case, f"in{n}-v1", 10 * n)) for n in range(3)]

    # has_part answers for a commit still finishing in the background
    assert all(case.sink.has_part("sales_quarantine", f"in{n}-v1") for n in range(3))
    for done in pending:
        done.result()
    assert [row["n"] for row in case.read("sales")] == [0, 1, 10, 11, 20, 21]
    assert [row["n"] for row in case.read("sales_quarantine")] == [0, 10, 20]
    case.sink.close()
    assert case.leftovers() == []


def test_rerunning_a_part_replaces_it_and_leaves_other_parts(case: SinkCase) -> None:
    write_part(case, "sales", "in1-v1", numbers(0, 3, "old"))
    write_part(case, "sales", "in2-v1", numbers(10, 12, "other"))

    write_part(case, "sales", "in1-v1", numbers(0, 2, "new"))

    rows = case.read("sales")
    assert [(row["n"], row["tag"]) for row in rows] == [
        (0, "new"),
        (1, "new"),
        (10, "other"),
        (11, "other"),
    ]


def test_abort_leaves_the_old_part_untouched_and_no_trace(case: SinkCase) -> None:
    write_part(case, "sales", "in1-v1", numbers(0, 2, "old"))

    writer = case.sink.begin("sales", "in1-v1", SCHEMA, INFO)
    writer.write(numbers(0, 100, "new"))
    writer.abort()
    writer.abort()  # idempotent: the engine may abort twice on nested errors

    assert [row["tag"] for row in case.read("sales")] == ["old", "old"]
    assert case.leftovers() == []


def test_an_aborted_first_part_creates_no_table(case: SinkCase) -> None:
    writer = case.sink.begin("sales", "in1-v1", SCHEMA, INFO)
    writer.write(numbers(0, 3))
    writer.abort()

    assert case.read("sales") == []
    assert not case.sink.has_part("sales", "in1-v1")


def test_an_empty_part_replaces_old_rows(case: SinkCase) -> None:
    write_part(case, "sales", "in1-v1", numbers(0, 3))

    write_part(case, "sales", "in1-v1")

    assert case.read("sales") == []
    assert case.sink.committed("sales", "in1-v1") == INFO  # it records the input as done


def test_a_committed_part_records_what_it_is_of(case: SinkCase) -> None:
    assert case.sink.committed("sales", "in1-v1") is None
    write_part(case, "sales", "in1-v1", numbers(0, 2))
    case.sink.close()

    reopened = make_case(case.kind, case.root)
    assert reopened.sink.committed("sales", "in1-v1") == INFO
    assert reopened.sink.committed("sales", "in2-v1") is None
    changed = PartInfo("in1.csv", "another hash", "2")
    writer = reopened.sink.begin("sales", "in1-v1", SCHEMA, changed)
    writer.write(numbers(5, 6))
    writer.commit()
    assert reopened.sink.committed("sales", "in1-v1") == changed
    assert [row["n"] for row in reopened.read("sales")] == [5]


def test_a_removal_takes_the_part_away_and_leaves_the_others(case: SinkCase) -> None:
    write_part(case, "sales", "in1-v1", numbers(0, 2))
    write_part(case, "sales", "in2-v1", numbers(2, 3))

    case.sink.commit_together([case.sink.begin_removal("sales", "in1-v1")]).result()

    assert [row["n"] for row in case.read("sales")] == [2]
    assert not case.sink.has_part("sales", "in1-v1") and case.sink.has_part("sales", "in2-v1")


def test_output_and_quarantine_writers_can_be_open_together(case: SinkCase) -> None:
    valid = case.sink.begin("sales", "k", SCHEMA, INFO)
    quarantine = case.sink.begin("sales_quarantine", "k", SCHEMA, INFO)
    valid.write(numbers(0, 2))
    quarantine.write(numbers(5, 6))
    quarantine.commit()
    valid.commit()

    assert [row["n"] for row in case.read("sales")] == [0, 1]
    assert [row["n"] for row in case.read("sales_quarantine")] == [5]


def test_write_after_commit_is_a_programming_error(case: SinkCase) -> None:
    writer = case.sink.begin("sales", "k", SCHEMA, INFO)
    writer.commit()

    with pytest.raises(RuntimeError):
        writer.write(numbers(0, 1))


@pytest.mark.parametrize(("output", "key"), [("../escape", "k"), ("sales", "a/b"), ("sales", "")])
def test_path_like_names_are_refused(case: SinkCase, output: str, key: str) -> None:
    with pytest.raises(ValueError, match="may hold only"):
        case.sink.begin(output, key, SCHEMA, INFO)


def test_an_output_keeps_one_schema(case: SinkCase) -> None:
    write_part(case, "sales", "k1", numbers(0, 1))
    other = pa.schema([("n", pa.int64()), ("label", pa.string())])

    with pytest.raises(OutputSchemaError, match=r"keeps one schema.*backfill") as refused:
        case.sink.begin("sales", "k2", other, INFO)
    assert refused.value.error_code == ErrorCode.OUTPUT_SCHEMA_CHANGED
    assert "label" in str(refused.value)

    # The output's only part may change its columns: no two schemas are ever side by side.
    writer = case.sink.begin("sales", "k1", other, INFO)
    writer.write(pa.table({"n": [7], "label": ["x"]}, schema=other))
    writer.commit()
    assert [(row["n"], row["label"]) for row in case.read("sales")] == [(7, "x")]


def test_location_names_where_the_user_finds_the_output(case: SinkCase) -> None:
    location = case.sink.location("sales")

    if case.kind in ("parquet", "arrow"):
        assert location.endswith("/out/sales")
    else:
        assert location.endswith(f"out.{case.kind} (table sales)")


def test_small_parts_waiting_for_the_disk_hold_at_most_the_memory_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With a budget smaller than one part, each commit waits until the one before is written
    # and published: parts never pile up in memory behind a slow disk.
    monkeypatch.setattr(file_sink, "MAX_UNWRITTEN_BYTES", 1)
    case = make_case("parquet", tmp_path)
    sink = case.sink
    assert isinstance(sink, file_sink.FileSink)
    for number in range(4):
        part = sink.begin("sales", f"in{number}-v1", SCHEMA, INFO)
        part.write(numbers(number * 100, (number + 1) * 100))
        sink.commit_together([part])
        published = part_rows(case.root / "out" / "sales") if number else {}
        assert set(published) == {f"in{n}-v1" for n in range(number)}
    sink.close()
    assert [row["n"] for row in case.read("sales")] == list(range(400))


def test_a_part_info_reads_back_with_every_field() -> None:
    # to_json lists the fields by hand (dataclasses.asdict was slow): a field added to PartInfo
    # must be added there too, or parts would lose it.
    info = PartInfo(input_key="k", source_hash="h", parser_version="1.2.3")
    assert info.as_dict() == dataclasses.asdict(info)
    assert PartInfo.from_json(info.to_json()) == info
