"""A local fake of the Anthropic Messages API, for tests: a real HTTP server on 127.0.0.1 in a
thread, answering `POST /v1/messages` with scripted replies streamed as server-sent events, so
the real SDK (pointed at it through ANTHROPIC_BASE_URL or `base_url`) does real HTTP.

Use:

    with FakeAnthropic() as fake:                      # starts on a free port; stops at exit
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", fake.key)
        fake.script(
            tool_reply(tool_call("list_files", {"limit": 5}), text="Let me look."),
            text_reply("There are 3 files."),
        )
        ... drive the assistant ...
        fake.requests[1].tool_results()                # what the model was sent back

Each request takes the next scripted reply, in order; with none left it gets a 500 saying so.
Replies:
- `text_reply(text, chunk_chars=8, delay_secs=0.0)`: text streamed in fragments (a delay between
  fragments paces it, e.g. for 200 tokens/s), stop_reason `end_turn`.
- `tool_reply(*calls, text=None)`: optional text, then each `tool_call(name, input)` as a
  `tool_use` block whose input arrives as `input_json_delta` fragments; stop_reason `tool_use`.
- `error_reply(status, message, error_type=..., headers=...)`, and `rate_limited(retry_after)`
  (a 429 with `retry-after`), `server_error()` (a 500).
- `cut_reply(reply, after_events)`: the reply's first events, then the connection closes.
- `malformed_reply()`: a stream whose second event's data is not JSON.
- `hang_reply()`: accepts the request and answers nothing until the server stops (a timeout).

The key is accepted from `x-api-key` or `Authorization: Bearer ...`; another key gets a 401.
`fake.requests` holds every request received (headers and JSON body), `fake.raw_bodies` the
bytes as they arrived; `fake.wait_for_requests(n)` blocks until n have arrived (from async code:
`await asyncio.to_thread(fake.wait_for_requests, n)`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_KEY = "sk-ant-fake-test-key-0123456789"
SseEvent = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class ToolCall:
    name: str
    input: dict[str, Any]
    id: str = ""


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a stream of events, or an HTTP error."""

    events: tuple[SseEvent, ...] = ()
    status: int = 200
    body: dict[str, Any] | None = None  # an error's JSON body
    headers: tuple[tuple[str, str], ...] = ()
    delay_secs: float = 0.0  # between text fragments
    cut_after: int | None = None  # close the connection after this many events
    malformed: bool = False
    hang: bool = False


@dataclass
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    def tool_results(self) -> list[dict[str, Any]]:
        """The tool_result blocks of the last message (what the tools returned)."""
        content = self.body["messages"][-1]["content"]
        if not isinstance(content, list):
            return []
        return [block for block in content if block.get("type") == "tool_result"]

    def system_text(self) -> str:
        system = self.body.get("system", "")
        if isinstance(system, str):
            return system
        return "\n".join(block["text"] for block in system)


def tool_call(name: str, input: dict[str, Any], call_id: str | None = None) -> ToolCall:
    return ToolCall(name, input, call_id or "")


def _fragments(text: str, size: int) -> Iterator[str]:
    for start in range(0, len(text), size):
        yield text[start : start + size]


def _event(name: str, **fields: Any) -> SseEvent:
    return name, {"type": name, **fields}


def _message_start() -> SseEvent:
    message = {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": "fake-model",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 0, "output_tokens": 1},
    }
    return _event("message_start", message=message)


def _block(index: int, start: dict[str, Any], deltas: list[dict[str, Any]]) -> list[SseEvent]:
    return [
        _event("content_block_start", index=index, content_block=start),
        *(_event("content_block_delta", index=index, delta=delta) for delta in deltas),
        _event("content_block_stop", index=index),
    ]


def _text_block(index: int, text: str, chunk_chars: int) -> list[SseEvent]:
    deltas = [{"type": "text_delta", "text": f} for f in _fragments(text, chunk_chars)]
    return _block(index, {"type": "text", "text": ""}, deltas)


def _tool_block(index: int, call: ToolCall, number: int) -> list[SseEvent]:
    start = {"type": "tool_use", "id": call.id or f"toolu_{number:04d}", "name": call.name}
    deltas = [
        {"type": "input_json_delta", "partial_json": f}
        for f in _fragments(json.dumps(call.input), 7)
    ]
    return _block(index, {**start, "input": {}}, deltas)


def _end(stop_reason: str, output_tokens: int) -> list[SseEvent]:
    return [
        _event(
            "message_delta",
            delta={"stop_reason": stop_reason, "stop_sequence": None},
            usage={"output_tokens": output_tokens},
        ),
        _event("message_stop"),
    ]


_call_numbers = iter(range(1, 1_000_000))


def text_reply(text: str, chunk_chars: int = 8, delay_secs: float = 0.0) -> Reply:
    events = [
        _message_start(),
        *_text_block(0, text, chunk_chars),
        *_end("end_turn", len(text) // 4 + 1),
    ]
    return Reply(tuple(events), delay_secs=delay_secs)


def tool_reply(*calls: ToolCall, text: str | None = None) -> Reply:
    events = [_message_start()]
    index = 0
    if text:
        events += _text_block(0, text, 8)
        index = 1
    for offset, call in enumerate(calls):
        events += _tool_block(index + offset, call, next(_call_numbers))
    events += _end("tool_use", 20)
    return Reply(tuple(events))


def error_reply(
    status: int,
    message: str,
    error_type: str = "api_error",
    headers: tuple[tuple[str, str], ...] = (),
) -> Reply:
    body = {"type": "error", "error": {"type": error_type, "message": message}}
    return Reply(status=status, body=body, headers=headers)


def rate_limited(retry_after: float) -> Reply:
    return error_reply(
        429,
        "Number of request tokens has exceeded your per-minute rate limit",
        "rate_limit_error",
        (("retry-after", f"{retry_after:g}"),),
    )


def server_error() -> Reply:
    return error_reply(500, "Internal server error")


def cut_reply(reply: Reply, after_events: int) -> Reply:
    return Reply(reply.events, cut_after=after_events)


def malformed_reply() -> Reply:
    return Reply((_message_start(),), malformed=True)


def hang_reply() -> Reply:
    return Reply(hang=True)


@dataclass
class _State:
    key: str
    replies: list[Reply] = field(default_factory=list)
    requests: list[ReceivedRequest] = field(default_factory=list)
    raw_bodies: list[bytes] = field(default_factory=list)
    lock: threading.Condition = field(default_factory=threading.Condition)
    stopping: threading.Event = field(default_factory=threading.Event)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request a connection; a stream ends when it closes
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # quiet in test output
        pass

    def do_POST(self) -> None:
        state = self.server.state
        raw = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {name.lower(): value for name, value in self.headers.items()}
        with state.lock:
            state.raw_bodies.append(raw)
            state.requests.append(ReceivedRequest(self.path, headers, json.loads(raw or b"{}")))
            reply = state.replies.pop(0) if state.replies else None
            state.lock.notify_all()
        if not self._authorised(headers, state.key):
            self._error(error_reply(401, "invalid x-api-key", "authentication_error"))
        elif not self.path.startswith("/v1/messages"):
            self._error(error_reply(404, f"no route {self.path}", "not_found_error"))
        elif reply is None:
            self._error(server_error_no_script())
        elif reply.hang:
            state.stopping.wait()
        elif reply.status != 200:
            self._error(reply)
        else:
            self._stream(reply, len(raw))

    @staticmethod
    def _authorised(headers: dict[str, str], key: str) -> bool:
        bearer = headers.get("authorization", "")
        return headers.get("x-api-key") == key or bearer == f"Bearer {key}"

    def _error(self, reply: Reply) -> None:
        body = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, reply: Reply, request_bytes: int) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.end_headers()
        for number, (name, data) in enumerate(reply.events):
            if reply.cut_after is not None and number >= reply.cut_after:
                return  # the connection closes mid-answer
            if name == "message_start":
                data["message"]["usage"]["input_tokens"] = request_bytes // 4
            self._send_event(name, json.dumps(data))
            if reply.delay_secs and name == "content_block_delta":
                time.sleep(reply.delay_secs)  # pacing a stream, not synchronising a test
        if reply.malformed:
            self._send_event("content_block_start", '{"type": "content_block_start", "index": 0,')
            self._send_event("message_stop", '{"type": "message_stop"}')

    def _send_event(self, name: str, data: str) -> None:
        self.wfile.write(f"event: {name}\ndata: {data}\n\n".encode())
        self.wfile.flush()


def server_error_no_script() -> Reply:
    return error_reply(500, "fake server: no scripted reply left for this request")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: _State) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


class FakeAnthropic:
    """The fake server; see the module docstring."""

    def __init__(self, key: str = DEFAULT_KEY) -> None:
        self.key = key
        self._state = _State(key)
        self._server = _Server(self._state)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._state.lock:
            return list(self._state.requests)

    @property
    def raw_bodies(self) -> list[bytes]:
        with self._state.lock:
            return list(self._state.raw_bodies)

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next requests, in order."""
        with self._state.lock:
            self._state.replies.extend(replies)

    def wait_for_requests(self, count: int, timeout_secs: float = 60.0) -> None:
        """Block until `count` requests have arrived (call it through asyncio.to_thread from
        async code); AssertionError after `timeout_secs`, a bound that is never reached."""
        with self._state.lock:
            arrived = self._state.lock.wait_for(
                lambda: len(self._state.requests) >= count, timeout_secs
            )
        assert arrived, f"{len(self.requests)} requests arrived, not {count}"

    def unused_replies(self) -> int:
        with self._state.lock:
            return len(self._state.replies)

    def start(self) -> FakeAnthropic:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._state.stopping.set()  # hanging requests return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
