"""A table cut into IPC parts by the guest and read back by the host, without copying its data."""

from __future__ import annotations

import pyarrow as pa
import pytest

from casparian_core.bridge.guest import IpcParts, ipc_messages
from casparian_core.bridge.host import GuestFailure, IpcPartsReader, read_table
from casparian_core.bridge.protocol import ErrorCode


def read(parts: list[object]) -> pa.Table:
    views = tuple(memoryview(part) for part in parts)
    return pa.ipc.open_stream(pa.PythonFile(IpcPartsReader(views), mode="r")).read_all()


def write(table: pa.Table) -> list[object]:
    parts = IpcParts()
    with pa.ipc.new_stream(pa.PythonFile(parts, mode="w"), table.schema) as writer:
        writer.write_table(table)
    return parts.finish()


def test_a_large_buffer_is_its_own_part_and_is_read_where_it_lies() -> None:
    values = pa.array(range(100_000), pa.int64())  # 800 kB: above ZeroMQ's copy threshold
    parts = write(pa.table({"x": values}))

    [big] = [part for part in parts if memoryview(part).nbytes >= 800_000]
    assert big.address == values.buffers()[1].address  # type: ignore[attr-defined]
    table = read(parts)
    assert table.column("x").chunks[0].buffers()[1].address == values.buffers()[1].address
    assert table.column("x").equals(pa.chunked_array([values]))


def test_small_pieces_are_joined_into_one_part() -> None:
    table = pa.table({"x": pa.array(range(100_000), pa.int64())}, metadata={"k": "v" * 100})
    parts = write(table)
    # schema message | the body | end of stream: no part per 4-byte prefix or padding write
    assert [memoryview(part).nbytes < 65_536 for part in parts] == [True, False, True]


def test_a_body_of_several_large_buffers_is_joined_by_the_guest() -> None:
    table = pa.table(
        {
            "s": pa.array(["a", None, "ccc"] * 30_000),
            "n": pa.array([1.5, None, 3.0] * 30_000),
            "d": pa.array(["x", "y", "x"] * 30_000).dictionary_encode(),
            "l": pa.array([[1, 2], None, []] * 30_000),
        }
    ).slice(7)  # an offset: the writer rebases offsets and bitmaps

    parts = write(table)

    assert len(parts) == 1
    assert read(parts).equals(table)


@pytest.mark.parametrize("cut", [1, 3, 7, 8, 50])
def test_parts_cut_anywhere_read_back_the_same_table(cut: int) -> None:
    table = pa.table({"x": list(range(1_000)), "s": [str(n) for n in range(1_000)]})
    stream = b"".join(bytes(memoryview(part)) for part in write(table))
    pieces = [stream[start : start + cut] for start in range(0, len(stream), cut)]
    assert read(pieces).equals(table)


def test_messages_name_their_output_and_split_a_large_table() -> None:
    table = pa.table({"x": pa.array(range(3_000_000), pa.int64())})  # 24 MB: three messages

    messages = list(ipc_messages(table, "sales"))

    assert len(messages) == 3
    tables = [read_table(tuple(memoryview(part) for part in parts)) for parts in messages]
    assert {output for output, _ in tables} == {"sales"}
    assert pa.concat_tables(piece for _, piece in tables).equals(table)


@pytest.mark.parametrize("frames", [1, 2])
def test_a_cut_short_stream_is_a_protocol_error_in_one_frame_or_several(frames: int) -> None:
    [parts] = ipc_messages(pa.table({"s": ["a", "b", "c"]}), "sales")
    stream = b"".join(bytes(memoryview(part)) for part in parts)
    truncated = stream[: len(stream) // 2]
    half = len(truncated) // frames
    views = tuple(memoryview(truncated[n * half : (n + 1) * half]) for n in range(frames))

    with pytest.raises(GuestFailure) as failure:
        read_table(views)
    assert failure.value.code == ErrorCode.PROTOCOL_ERROR


def test_a_small_table_arrives_in_one_frame_and_reads_back_with_its_output() -> None:
    table = pa.table({"n": [1, 2, None], "s": ["a", None, "c"]})
    [parts] = ipc_messages(table, "sales")
    assert len(parts) == 1
    output, received = read_table((memoryview(parts[0]),))
    assert output == "sales" and received.equals(table)
