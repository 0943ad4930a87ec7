"""The wire protocol: encode/decode round trips, and garbage always raising ProtocolError."""

from __future__ import annotations

import pyarrow as pa
import pytest

from casparian_core.bridge import protocol


def ipc_stream(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def test_data_message_round_trip_keeps_the_arrow_payload() -> None:
    table = pa.table({"a": [1, 2, 3]})
    stream = ipc_stream(table)

    message = protocol.decode(protocol.encode_data([pa.py_buffer(stream)]))

    assert isinstance(message, protocol.DataMessage)
    [part] = message.parts
    assert pa.ipc.open_stream(pa.py_buffer(part)).read_all().equals(table)


def test_a_data_message_may_span_several_frames() -> None:
    stream = ipc_stream(pa.table({"a": [1, 2, 3]}))
    pieces = [stream[:5], stream[5:100], b"", stream[100:]]

    frames = protocol.encode_data(pieces)

    assert frames[0] == protocol.HEADER.pack(len(stream))
    message = protocol.decode(frames)
    assert isinstance(message, protocol.DataMessage)
    assert b"".join(bytes(part) for part in message.parts) == stream


def test_a_jobs_last_data_message_carries_its_done() -> None:
    stream = ipc_stream(pa.table({"a": [1, 2, 3]}))
    done = protocol.Done(protocol.ExitClass.SUCCESS, data_messages=1)

    message = protocol.decode(protocol.encode_last_data([stream[:7], stream[7:]], done))

    assert isinstance(message, protocol.DataMessage)
    assert b"".join(bytes(part) for part in message.parts) == stream
    assert message.done == protocol.ControlMessage(
        protocol.DONE,
        {
            "exit_code": 0,
            "error_code": None,
            "message": None,
            "traceback": None,
            "data_messages": 1,
        },
    )


@pytest.mark.parametrize(
    "trailer",
    [
        [protocol.HEADER.pack(protocol.JOB), b"{}"],  # not a DONE
        [protocol.HEADER.pack(protocol.DONE), b"not json"],
        [protocol.HEADER.pack(protocol.DONE)],  # no payload frame
        [b"\x00\x00", b"{}"],  # not a header
    ],
)
def test_what_follows_a_data_message_is_its_done_or_nothing(trailer: list[bytes]) -> None:
    stream = ipc_stream(pa.table({"a": [1]}))
    with pytest.raises(protocol.ProtocolError):
        protocol.decode([*protocol.encode_data([stream]), *trailer])


def test_an_empty_data_message_cannot_be_encoded() -> None:
    with pytest.raises(protocol.ProtocolError):
        protocol.encode_data([])


def test_log_message_round_trip_names_its_job() -> None:
    message = protocol.decode(protocol.encode_log(30, "disk nearly full: ünïcode", "a1" * 16))
    assert message == protocol.LogMessage(30, "disk nearly full: ünïcode", "a1" * 16)


def test_a_log_line_of_no_job() -> None:
    assert protocol.decode(protocol.encode_log(20, "started", None)) == (
        protocol.LogMessage(20, "started", None)
    )


def test_a_protocol_1_log_line_is_read_as_of_no_job() -> None:
    text = b"old guest"
    frames = [
        protocol.HEADER.pack(protocol.LOG_SIGNAL),
        protocol.LOG_PREFIX.pack(20, len(text)) + text,
    ]
    assert protocol.decode(frames) == protocol.LogMessage(20, "old guest", None)


def test_a_protocol_1_hello_says_no_version() -> None:
    hello = protocol.parse_body(protocol.Hello, {"pid": 7, "python": "3.12"})
    assert hello == protocol.Hello(7, "3.12", protocol=1)


def test_control_message_round_trip_through_a_dataclass() -> None:
    job = protocol.Job("j1", "/p.py", "/in.csv", "out", None)
    message = protocol.decode(protocol.encode_control(protocol.JOB, job))
    assert isinstance(message, protocol.ControlMessage)
    assert message.signal == protocol.JOB
    assert protocol.parse_body(protocol.Job, message.body) == job


def test_heartbeat_has_an_empty_body() -> None:
    assert protocol.decode(protocol.encode_control(protocol.HEARTBEAT)) == (
        protocol.ControlMessage(protocol.HEARTBEAT, {})
    )


@pytest.mark.parametrize(
    "frames",
    [
        [b"\x00\x00\x00\x03abc"],  # one frame
        [b"\x00\x00\x03", b"abc"],  # short header
        [b"\x00\x00\x00\x05", b"abc"],  # announced length differs
        [b"\x00\x00\x00\x05", b"ab", b"c"],  # parts add up to less than announced
        [b"\x00\x00\x00\x02", b"ab", b"c"],  # parts add up to more than announced
        [protocol.HEADER.pack(protocol.DONE), b"{}", b"{}"],  # control payload in two frames
        [protocol.HEADER.pack(protocol.LOG_SIGNAL), b"\x14\x00\x00", b"\x00\x00"],
        [b"\xff\xff\xff\xfa", b""],  # unknown reserved value
        [protocol.HEADER.pack(protocol.DONE), b"{not json"],
        [protocol.HEADER.pack(protocol.DONE), b"[1, 2]"],
        [protocol.HEADER.pack(protocol.LOG_SIGNAL), b"\x14\x00"],  # prefix cut short
        [protocol.HEADER.pack(protocol.LOG_SIGNAL), b"\x14\x00\x00\x00\x09abc"],
        [protocol.HEADER.pack(protocol.JOB_LOG_SIGNAL), b"\x14\x02\x00\x00"],  # cut short
        [protocol.HEADER.pack(protocol.JOB_LOG_SIGNAL), b"\x14\x02\x00\x00\x00\x01j1"],
        [protocol.HEADER.pack(protocol.JOB_LOG_SIGNAL), b"\x14\x09\x00\x00\x00\x00j1"],
        [b"", b"", b""],
        [protocol.HEADER.pack(3)],  # a header without its payload
    ],
)
def test_garbage_raises_protocol_error(frames: list[bytes]) -> None:
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(frames)


@pytest.mark.parametrize(
    "body",
    [
        {"exit_code": "0"},  # wrong type
        {"exit_code": True},  # a bool is not an exit code
        {"exit_code": 0, "surprise": 1},  # unknown field
        {"error_code": "X"},  # missing required field
    ],
)
def test_parse_body_rejects_malformed_results(body: dict[str, object]) -> None:
    with pytest.raises(protocol.ProtocolError):
        protocol.parse_body(protocol.Done, body)


def test_parse_body_fills_defaults() -> None:
    assert protocol.parse_body(protocol.Done, {"exit_code": 0}) == protocol.Done(0)
