"""The assistant sidebar while an answer streams: does the rest of the app stay quick?

The real app (headless Textual at 120x36, composing and rendering every frame) and the real
Anthropic SDK, talking HTTP to the local fake of the Messages API (tests/fake_anthropic.py)
that streams 2,000 tokens (4 characters each) at 200 tokens/s: a 10 s answer. The fake server
runs in a process of its own, as the real API runs on another machine: in this process its
thread would wait for the GIL the app holds while it draws, and pace the stream slower than the
app could take it.

Measured, each as latency from the key event posted to its effect:
- keystrokes in Discover's file list (Down/Up: the cursor moved), beside
  the open sidebar, with no answer streaming (the baseline) and while one streams;
- the sidebar opening (Alt+a until it is laid out at its width with the focus in its input):
  the first time (mounted then),
  again (a toggle), and the first time in another mode after the 2,000-token answer (mounted
  and drawn from the whole conversation);
- how far the drawn answer lags the stream when the server sends its last fragment.

Run: .venv/bin/python -m tests.bench.bench_assistant
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from textual.events import Key

from casparian_core.api import AssistantContext
from casparian_core.config import load_settings
from casparian_core.home import prepare_home
from casparian_core.service import CoreService
from casparian_tui.app import CasparianApp
from casparian_tui.widgets.assistant import AssistantSidebar
from casparian_tui.widgets.assistant_entries import AnswerBlock
from casparian_tui.widgets.file_table import FileTable
from tests.fake_anthropic import FakeAnthropic, text_reply

TOKENS = 2_000
TOKENS_PER_SEC = 200
CHARS_PER_TOKEN = 4
KEY_EVERY_SECS = 0.15
FILES = 500
POLL_SECS = 0.0005
DEADLINE_SECS = 60.0


def answer_text() -> str:
    """2,000 four-character tokens of Markdown as answers come: paragraphs of 60 tokens, a
    short list after every third, inline code now and then."""
    words = []
    for n in range(1, TOKENS + 1):
        if n % 180 == 0:
            words.append("\n- x")  # a list item ends the paragraph before it
        elif n % 60 == 0:
            words.append(". \n\n")  # a new paragraph
        elif n % 37 == 0:
            words.append("`cd`")
        else:
            words.append("wxy ")
    text = "".join(words)
    assert len(text) == TOKENS * CHARS_PER_TOKEN
    return text


async def until(condition: Callable[[], bool]) -> float:
    """Seconds until `condition` holds, polling the app's loop."""
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > DEADLINE_SECS:
            raise RuntimeError("gave up waiting")
        await asyncio.sleep(POLL_SECS)
    return time.perf_counter() - start


async def keystroke(app: CasparianApp, key: str) -> float:
    table = app.screen.query_one("#files", FileTable)
    before = table.cursor_row
    start = time.perf_counter()
    app.post_message(Key(key, None))
    await until(lambda: table.cursor_row != before)
    return time.perf_counter() - start


async def keystrokes(app: CasparianApp, seconds: float) -> list[float]:
    """Down then Up, one key every KEY_EVERY_SECS, for `seconds`."""
    times = []
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        times.append(await keystroke(app, "down" if n % 2 == 0 else "up"))
        n += 1
        await asyncio.sleep(KEY_EVERY_SECS)
    return times


async def open_sidebar(app: CasparianApp) -> float:
    start = time.perf_counter()
    app.post_message(Key("alt+a", None))

    def ready() -> bool:  # laid out at its width, the input taking the keys
        found = app.screen.query(AssistantSidebar)
        if not (app.assistant_open and found):
            return False
        sidebar = found.first()
        return sidebar.size.width > 0 and sidebar.has_focus_within

    await until(ready)
    return time.perf_counter() - start


async def toggles(app: CasparianApp, times: int = 10) -> list[float]:
    opened = []
    for _ in range(times):
        opened.append(await open_sidebar(app))
        await close_sidebar(app)
    return opened


async def close_sidebar(app: CasparianApp) -> None:
    app.post_message(Key("alt+a", None))
    sidebar = app.screen.query_one(AssistantSidebar)
    await until(lambda: not app.assistant_open and not sidebar.has_focus_within)
    await until(lambda: sidebar.size.width == 0)


def answer_length(app: CasparianApp) -> int:
    blocks = app.screen.query(AnswerBlock)
    return len(blocks.last().source) if blocks else 0


def make_home(root: Path) -> Path:
    home = root / "home"
    prepare_home(load_settings(env={}, home=home))
    data = root / "data"
    data.mkdir()
    for n in range(FILES):
        (data / f"file_{n:04d}.csv").write_text("a,b\n1,2\n")
    return home


def ms(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[max(0, round(len(values) * 0.95) - 1)]
    return (
        f"median {statistics.median(values) * 1000:6.1f} ms, p95 {p95 * 1000:6.1f} ms,"
        f" max {values[-1] * 1000:6.1f} ms (n={len(values)})"
    )


async def measure(home: Path) -> None:
    settings = load_settings(env={}, home=home)
    app = CasparianApp(CoreService(settings), watch_sources=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.service.scout.scan(home.parent / "data")
        await pilot.pause()
        first_open = await open_sidebar(app)  # on the Home Hub
        await close_sidebar(app)
        home_toggles = await toggles(app)
        await pilot.press("alt+d")
        await app.workers.wait_for_complete()
        await pilot.pause()
        discover_toggles = await toggles(app)
        await open_sidebar(app)
        await pilot.press("tab")  # the focus back to the file list, the chat open beside it

        quiet = await keystrokes(app, 3.0)

        text = answer_text()
        sidebar = app.screen.query_one(AssistantSidebar)
        app.ask_assistant("Tell me a long story", sidebar.context())
        await until(lambda: answer_length(app) > 0)
        stream_start = time.perf_counter()
        streaming = await keystrokes(app, TOKENS / TOKENS_PER_SEC - 1.5)
        await until(lambda: not app.assistant_busy)
        ended = time.perf_counter()
        lag = await until(lambda: answer_length(app) == len(text))
        stream_secs = ended - stream_start

        await pilot.press("alt+p")  # Parser Bench: its chat is mounted and drawn on entry
        await app.workers.wait_for_complete()
        await close_sidebar(app)
        await pilot.press("alt+j")
        await pilot.pause()
        long_open = await open_sidebar(app)

    print(f"sidebar, first open (mounted), Home:    {first_open * 1000:6.1f} ms")
    print(f"sidebar, open again, Home:              {ms(home_toggles)}")
    print(f"sidebar, open again, Discover (200 rows): {ms(discover_toggles)}")
    print(f"sidebar, first open after the answer:   {long_open * 1000:6.1f} ms")
    print(f"keystrokes, nothing streaming:          {ms(quiet)}")
    print(f"keystrokes, 200 tokens/s streaming:     {ms(streaming)}")
    print(f"stream: {TOKENS} tokens drawn over {stream_secs:.1f} s; last drawn {lag * 1000:.0f} ms")
    print("  after the turn ended (target: keystrokes and opening < 100 ms)")


async def baseline(home: Path) -> None:
    """The same answer with no app: the fake server, the SDK and the core alone."""
    async with CoreService(load_settings(env={}, home=home)) as service:
        start = time.perf_counter()
        await service.assistant.send("Tell me a long story", AssistantContext(mode="home"))
        seconds = time.perf_counter() - start
    print(f"baseline, the same answer with no app:  {seconds:.1f} s")


def serve() -> None:
    """The fake server, in this child process: two long answers queued (the baseline's and the
    app's), its address and key printed, served until the bench closes stdin."""
    with FakeAnthropic() as fake:
        reply = text_reply(
            answer_text(), chunk_chars=CHARS_PER_TOKEN, delay_secs=1 / TOKENS_PER_SEC
        )
        fake.script(reply, reply)
        print(fake.base_url, fake.key, flush=True)
        sys.stdin.read()


def main() -> None:
    if sys.argv[1:] == ["--serve"]:
        return serve()
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.bench_assistant", "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stdin is not None
    try:
        base_url, key = server.stdout.readline().split()
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["ANTHROPIC_BASE_URL"] = base_url
            os.environ["ANTHROPIC_API_KEY"] = key
            os.environ["CASPARIAN_HOME"] = str(Path(tmp) / "home")
            home = make_home(Path(tmp))
            asyncio.run(baseline(home))
            asyncio.run(measure(home))
    finally:
        server.stdin.close()
        server.wait()


if __name__ == "__main__":
    main()
