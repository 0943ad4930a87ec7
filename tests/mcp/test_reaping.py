"""The server reaps its parser guests when its client goes away: stdin closed (the server
exits by itself, code 0) or the client killed with SIGKILL (nothing closes the server's
stdin but the kernel). The official client kills the server's tree itself when it shuts down
cleanly, so the first case speaks the protocol over a plain pipe to see the server's own
exit."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import IO, Any

import psutil

from tests.mcp.support import TIMEOUT_SECS

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "pipe", "version": "0"},
    },
}
POLL_SECS = 0.05


def send(pipe: IO[str], message: dict[str, Any]) -> None:
    pipe.write(json.dumps(message) + "\n")
    pipe.flush()


def answer(pipe: IO[str], request_id: int) -> dict[str, Any]:
    """The response to `request_id` (notifications skipped), within TIMEOUT_SECS."""
    deadline = time.monotonic() + TIMEOUT_SECS
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([pipe], [], [], left)
        if ready:
            message = json.loads(pipe.readline())
            if message.get("id") == request_id:
                return message
    raise AssertionError(f"no answer to request {request_id} in {TIMEOUT_SECS} s")


def call_tool(pipe_in: IO[str], pipe_out: IO[str], request_id: int, name: str, **args: Any) -> Any:
    params = {"name": name, "arguments": args}
    send(pipe_in, {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params})
    result = answer(pipe_out, request_id)["result"]
    assert not result.get("isError"), result
    return result["structuredContent"]["result"]


def gone(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those of `processes` still running (zombies count as gone) after TIMEOUT_SECS at most."""
    deadline = time.monotonic() + TIMEOUT_SECS
    while True:
        alive = [p for p in processes if _running(p)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(POLL_SECS)  # polling for an exit: no event tells another process's end


def _running(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_closing_stdin_ends_the_server_and_its_guests(home: Path, data: Path) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "casparian_cli", "mcp"],
        env={**os.environ, "CASPARIAN_HOME": str(home)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdin is not None and server.stdout is not None
    send(server.stdin, INITIALIZE)
    assert answer(server.stdout, 0)["result"]["serverInfo"]["name"] == "casparian"
    send(server.stdin, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    files = call_tool(server.stdin, server.stdout, 1, "list_files", source="events", limit=1)
    tested = call_tool(
        server.stdin,
        server.stdout,
        2,
        "run_parser_test",
        parser="events",
        file_id=files["files"][0][0],
    )
    assert tested["status"] == "COMPLETED"
    guests = psutil.Process(server.pid).children(recursive=True)
    assert guests  # the warm guest Parser Bench keeps for the next test

    server.stdin.close()

    assert server.wait(timeout=TIMEOUT_SECS) == 0
    assert gone(guests) == []


# A client that starts the server and calls tools, then waits: `idle` tests a file (the guest
# stays warm) and prints "ready"; `backtest` runs a backtest that never ends by itself.
CLIENT = textwrap.dedent(
    """
    import sys, anyio
    from mcp import ClientSession, StdioServerParameters, stdio_client

    async def main(home, mode):
        server = StdioServerParameters(
            command=sys.executable,
            args=["-m", "casparian_cli", "mcp"],
            env={"CASPARIAN_HOME": home},
        )
        async with stdio_client(server) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                if mode == "backtest":
                    await session.call_tool("run_backtest", {"parser": "slow"})
                files = await session.call_tool("list_files", {"source": "events", "limit": 1})
                file_id = files.structured_content["result"]["files"][0][0]
                await session.call_tool("run_parser_test", {"parser": "events", "file_id": file_id})
                print("ready", flush=True)
                await anyio.sleep_forever()

    anyio.run(main, *sys.argv[1:])
    """
)


def test_a_client_killed_leaves_no_server_and_no_guest(home: Path, data: Path) -> None:
    client = subprocess.Popen(
        [sys.executable, "-c", CLIENT, str(home), "idle"], stdout=subprocess.PIPE, text=True
    )
    assert client.stdout is not None
    ready, _, _ = select.select([client.stdout], [], [], TIMEOUT_SECS)
    assert ready and client.stdout.readline() == "ready\n"
    [server] = psutil.Process(client.pid).children()
    guests = server.children(recursive=True)
    assert guests

    os.kill(client.pid, signal.SIGKILL)
    client.wait()

    assert gone([server, *guests]) == []


SLOW_PARSER = """\
import time


class Slow:
    name = "slow"
    version = "1.0.0"
    topics = ["app_events"]

    def parse(self, ctx):
        time.sleep(600)
        yield "slow", [{"a": 1}]
"""


def test_a_client_killed_mid_backtest_stops_the_running_guest(home: Path, data: Path) -> None:
    (home / "parsers" / "slow.py").write_text(SLOW_PARSER)
    client = subprocess.Popen([sys.executable, "-c", CLIENT, str(home), "backtest"])
    guests = _guests_of_the_server_of(client)

    os.kill(client.pid, signal.SIGKILL)
    client.wait()

    assert gone(guests) == []  # the guest sleeps for ten minutes unless it is stopped


def _guests_of_the_server_of(client: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """The server's processes once its backtest's guest has started (within TIMEOUT_SECS)."""
    deadline = time.monotonic() + TIMEOUT_SECS
    while time.monotonic() < deadline:
        for server in psutil.Process(client.pid).children():
            below = server.children(recursive=True)
            if below:
                return [server, *below]
        time.sleep(POLL_SECS)  # polling for another process's child: no event tells it
    raise AssertionError(f"no guest started in {TIMEOUT_SECS} s")
