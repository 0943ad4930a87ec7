"""Bridge transport: Arrow IPC from a guest to the host over ZeroMQ, through the real shim.

A warm guest yields the same 64 MiB table 16 times (1 GiB); the shim cuts it into ~8 MiB IPC
messages, the host rebuilds each Table and touches every buffer; once as configured by default
(authenticated), once encrypted too (guest_encrypt_bridge). Baselines in the same run: bare
ZeroMQ between two processes (8 MiB frames, same socket types and high-water marks, no Arrow),
and Arrow IPC serialize + deserialize in one process. Target: >= 1.5 GB/s.
"""

from __future__ import annotations

import multiprocessing
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import zmq

from casparian_core.bridge.host import GuestProcess
from casparian_core.bridge.protocol import Job
from casparian_core.config import load_settings

CHUNK_ROWS = 8 * 1024 * 1024  # 8 M int64 = 64 MiB
CHUNKS = 16
RUNS = 3
# The table is built when the warm guest first imports the parser: jobs time transport only.
PARSER = f"""
import pyarrow as pa
import pyarrow.compute as pc
TABLE = pa.table({{"x": pc.random({CHUNK_ROWS})}})
def parse(path):
    for _ in range({CHUNKS}):
        yield TABLE
"""


def run_bridge(guest: GuestProcess, parser: Path) -> tuple[float, int]:
    received = 0

    def consume(output: str, table: pa.Table) -> None:
        nonlocal received
        for column in table.columns:
            for chunk in column.chunks:
                received += sum(buffer.size for buffer in chunk.buffers() if buffer is not None)

    start = time.perf_counter()
    outcome = guest.run_job(Job("bench", str(parser), "/dev/null", "out", None), consume)
    elapsed = time.perf_counter() - start
    assert outcome.ok, outcome
    return elapsed, received


def _raw_sender(endpoint: str, frames: int, size: int) -> None:
    context = zmq.Context()
    socket = context.socket(zmq.DEALER)
    socket.setsockopt(zmq.SNDHWM, 4)
    socket.connect(endpoint)
    payload = b"\0" * size
    for _ in range(frames):
        socket.send_multipart([b"data", payload], copy=False)
    socket.send_multipart([b"end", b""])
    socket.close(linger=-1)
    context.term()


def raw_zmq(total: int) -> float:
    """Bytes/s of bare ZeroMQ frames from a child process, as the bridge's sockets are set up."""
    size = 8 * 1024 * 1024
    socket = zmq.Context.instance().socket(zmq.ROUTER)
    socket.setsockopt(zmq.RCVHWM, 4)
    socket.bind("tcp://127.0.0.1:*")
    endpoint = socket.getsockopt_string(zmq.LAST_ENDPOINT)
    spawn = multiprocessing.get_context("spawn")  # a forked child must not inherit our zmq context
    sender = spawn.Process(target=_raw_sender, args=(endpoint, total // size + 1, size))
    sender.start()
    socket.recv_multipart(copy=False)  # the first frame starts the clock
    start = time.perf_counter()
    while socket.recv_multipart(copy=False)[1].bytes != b"end":
        pass
    elapsed = time.perf_counter() - start
    sender.join()
    socket.close()
    return total / elapsed


def in_process_round_trip() -> float:
    import pyarrow.compute as pc

    table = pa.table({"x": pc.random(CHUNK_ROWS)})
    start = time.perf_counter()
    for _ in range(CHUNKS):
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        pa.ipc.open_stream(sink.getvalue()).read_all()
    return time.perf_counter() - start


def bridge_rate(folder: Path, encrypt: bool) -> tuple[float, int]:
    """Bytes/s through a warm guest (median of RUNS jobs), and the bytes of one job."""
    parser = folder / "blob.py"
    parser.write_text(PARSER)
    settings = load_settings(env={}, home=folder / "home")
    settings = settings.model_copy(update={"guest_encrypt_bridge": encrypt})
    with GuestProcess(settings) as guest:
        run_bridge(guest, parser)  # warm up: spawn, import, first allocations
        times = []
        for _ in range(RUNS):
            elapsed, received = run_bridge(guest, parser)
            times.append(elapsed)
    return received / statistics.median(times), received


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        bridge, received = bridge_rate(Path(folder), encrypt=False)
        encrypted, _ = bridge_rate(Path(folder), encrypt=True)
    bridge, encrypted = bridge / 1e9, encrypted / 1e9
    raw = raw_zmq(received) / 1e9
    baseline = received / in_process_round_trip() / 1e9
    size = f"median of {RUNS} x {received / 2**30:.1f} GiB"
    print(f"bridge, guest -> host (tcp, Arrow IPC, checked frames): {bridge:.2f} GB/s ({size})")
    print(f"the same, encrypted (guest_encrypt_bridge, CURVE):      {encrypted:.2f} GB/s")
    print(f"bare ZeroMQ, same sockets and HWMs, no Arrow, no auth:   {raw:.2f} GB/s")
    print(f"Arrow IPC serialize + deserialize in one process:        {baseline:.2f} GB/s")
    print(f"bridge / bare ZeroMQ: {bridge / raw:.2f}")
    print(
        f"target >= 1.5 GB/s: {'met' if bridge >= 1.5 else 'NOT met'} (encrypted: "
        f"{'met' if encrypted >= 1.5 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
