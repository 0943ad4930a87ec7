"""A hostile local process attacking a host's bridge socket (run as its own process by tests).

    python hostile_peer.py ENDPOINT READY_FILE STOP_FILE REPORT_FILE [ROUTING_ID ...]

It connects one DEALER per routing id it tries (b"main", b"heartbeat", and any given, e.g. the
real guest's, as if guessed) and per security mechanism (none, PLAIN with a guessed password,
CURVE with keys of its own), waits until each has reached the port, then sends well-formed
protocol messages over and over, as a replay of captured ones would: HELLO, a data message of
injected rows, a forged DONE, a log line and a heartbeat. It writes READY_FILE after its first
round, stops when STOP_FILE exists, and writes REPORT_FILE: how many messages it received (the
host must send it none).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import zmq

from casparian_core.bridge import protocol

INJECTED = "INJECTED by a hostile peer"
INJECTED_ID = 666
CONNECT_SECS = 30


def forged_messages() -> list[list[Any]]:
    table = pa.table({"id": [INJECTED_ID], "note": [INJECTED]}).replace_schema_metadata(
        {protocol.OUTPUT_METADATA_KEY: b"sales"}
    )
    stream = pa.BufferOutputStream()
    with pa.ipc.new_stream(stream, table.schema) as writer:
        writer.write_table(table)
    return [
        protocol.encode_control(protocol.HELLO, protocol.Hello(os.getpid(), "3", 2)),
        protocol.encode_data([stream.getvalue()]),
        protocol.encode_control(protocol.DONE, protocol.Done(0, data_messages=1)),
        protocol.encode_log(40, INJECTED, None),
        protocol.encode_control(protocol.HEARTBEAT),
    ]


def dealer(context: zmq.Context[Any], routing_id: bytes, mechanism: str) -> zmq.Socket[Any]:
    socket = context.socket(zmq.DEALER)
    socket.setsockopt(zmq.ROUTING_ID, routing_id)
    socket.setsockopt(zmq.LINGER, 0)
    if mechanism == "plain":
        socket.plain_username = b"guest"
        socket.plain_password = b"0" * 64
    elif mechanism == "curve":
        server_key, _ = zmq.curve_keypair()
        socket.curve_serverkey = server_key
        socket.curve_publickey, socket.curve_secretkey = zmq.curve_keypair()
    return socket


def connect_all(sockets: list[zmq.Socket[Any]], endpoint: str) -> None:
    """Connect every socket and wait until each has reached the port (TCP connected)."""
    monitors = [socket.get_monitor_socket(zmq.EVENT_CONNECTED) for socket in sockets]
    for socket in sockets:
        socket.connect(endpoint)
    deadline = time.monotonic() + CONNECT_SECS
    for monitor in monitors:
        if not monitor.poll(max(0, int((deadline - time.monotonic()) * 1000))):
            raise SystemExit("a hostile socket never reached the port")


def main(argv: list[str]) -> int:
    endpoint, ready, stop, report, *guessed = argv
    context: zmq.Context[Any] = zmq.Context()
    routing_ids = [b"main", b"heartbeat", *(routing_id.encode() for routing_id in guessed)]
    sockets = [
        dealer(context, routing_id, mechanism)
        for routing_id in routing_ids
        for mechanism in ("none", "plain", "curve")
    ]
    connect_all(sockets, endpoint)
    messages = forged_messages()
    received = rounds = 0
    while not Path(stop).exists():
        for socket in sockets:
            for frames in messages:
                with contextlib.suppress(zmq.Again):  # no peer took it: the queue is full
                    socket.send_multipart(frames, flags=zmq.NOBLOCK)
            while socket.poll(0):
                socket.recv_multipart()
                received += 1
        rounds += 1
        if rounds == 1:
            Path(ready).touch()
        time.sleep(0.01)  # pacing only: a flood would just slow the machine down
    Path(report).write_text(json.dumps({"received": received, "rounds": rounds}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
