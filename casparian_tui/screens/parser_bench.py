"""Parser Bench: the home's parsers with their health; test one on a file and see what it made.

A test runs through the real engine (`CoreService.bench`) in a worker; its log lines arrive from
the engine's thread as messages. Esc cancels a running test, else goes back to Home (the app's
binding). Watch mode re-runs the last test whenever its parser file is saved.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.worker import Worker, WorkerState

from casparian_core.api import AssistantContext
from casparian_core.errors import CasparianError
from casparian_core.events import Event, RunFinished
from casparian_tui.messages import CoreEvent
from casparian_tui.screens.base import ModeScreen
from casparian_tui.screens.bench_path_picker import PathPickerScreen
from casparian_tui.screens.register_approval import ApprovalScreen
from casparian_tui.widgets.assistant_context import (
    describe_retest,
    describe_test,
    needs_help,
    read_head,
)
from casparian_tui.widgets.bench_parser_list import ParserDetail, ParserList
from casparian_tui.widgets.bench_paths import short_path, shorten_paths
from casparian_tui.widgets.bench_registry import RegistryStatus
from casparian_tui.widgets.bench_result import BenchResult

if TYPE_CHECKING:
    from casparian_core.api import BenchParser, RunResult
    from casparian_core.service import CoreService

WHY_FAILED = "Why did this test fail?"
# Editors save in bursts (write, rename, chmod): wait this long for quiet before re-running.

HINT = (
    "Highlight a parser and press [b]t[/b] (or Enter) to test it on a file.\n"
    "[b]n[/b] tests any .py file · [b]r[/b] re-runs the highlighted parser's last test · "
    "[b]w[/b] re-runs the last test whenever its parser file is saved"
)


def empty_home_hint(parsers_dir: Path) -> str:
    return (
        "[b]No parsers in this home yet[/b]\n\n"
        "Put a parser file (a .py with [b]def parse(path)[/b]) into the home's parsers folder"
        " (symbolic links welcome):\n"
        f"  [b]{short_path(parsers_dir)}[/b]\n\n"
        "or try one on a file from a shell:  [b]casparian run parser.py data.csv[/b]\n"
        "or press [b]n[/b] to test any .py file here."
    )


class ParserBenchScreen(ModeScreen):
    MODE = "parser_bench"
    CSS_PATH = "../styles/parser_bench.tcss"
    BINDINGS = [  # noqa: RUF012
        Binding("t", "test", "Test on a file"),
        Binding("n", "test_any", "Test any .py"),
        Binding("r", "rerun", "Re-run"),
        Binding("w", "toggle_watch", "Watch"),
        Binding("g", "register", "Register"),
        Binding("b", "backfill", "Backfill", show=False),  # offered by the registry lines
        Binding("escape", "cancel_test", "Cancel test"),
        Binding("a", "ask_assistant", "Ask AI"),
    ]

    class LogLine(Message):
        """A log line of test number `run`, posted from the engine's thread."""

        def __init__(self, run: int, level: int, text: str) -> None:
            super().__init__()
            self.run = run
            self.level = level
            self.text = text

    def __init__(self) -> None:
        super().__init__()
        self._last: tuple[Path, Path] | None = None  # (parser, input) of the latest test
        self._cancel: threading.Event | None = None  # set while a test runs
        self._run = 0
        self._engine_call: asyncio.Future[RunResult] | None = None  # the engine's latest test
        self._watching: Path | None = None
        self._tested: tuple[RunResult, str] | None = None  # the latest result, told the assistant

    @property
    def service(self) -> CoreService:
        return self.app.service

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="bench-body"):
            with Vertical(id="bench-left"):
                yield Static("[b]Parsers[/b]", id="bench-parsers-title")
                yield ParserList(id="bench-parsers")
                yield ParserDetail(id="bench-parser-detail")
                yield RegistryStatus(id="bench-registry")
            yield BenchResult(id="bench-result")

    def on_mount(self) -> None:
        self.watch(self.app, "parsers_changed", self._on_parsers_changed, init=False)
        self._unsubscribe = self.service.subscribe(self._on_run_finished, RunFinished)

    def on_unmount(self) -> None:
        self._unsubscribe()

    def _on_parsers_changed(self, _count: int) -> None:
        self.load_parsers()  # a parser file was dropped in, saved or removed

    def on_screen_resume(self) -> None:
        self.load_parsers()  # what changed while we were away (the health after a test too)

    # The parser list.

    @work(exclusive=True, group="bench-list", exit_on_error=False)
    async def load_parsers(self) -> None:
        parsers = await self.service.bench.list_parsers()
        parser_list = self.query_one(ParserList)
        parser_list.show(parsers)
        self.query_one(ParserDetail).show(parser_list.highlighted_parser)
        self.load_registry_status(parser_list.highlighted_parser)
        if self._last is None:
            hint = HINT if parsers else empty_home_hint(self.service.settings.parsers_dir)
            self.query_one(BenchResult).show_hint(hint)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.query_one(ParserDetail).show(self.query_one(ParserList).highlighted_parser)
        self.load_registry_status(self.query_one(ParserList).highlighted_parser)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.action_test()

    # Choosing what to test.

    def action_test(self) -> None:
        parser = self.query_one(ParserList).highlighted_parser
        if parser is None:
            self.notify("No parser to test here: press n to test any .py file")
            return
        self.pick_input_and_test(parser.parser.path)

    def action_test_any(self) -> None:
        self.pick_parser_and_test()

    @work(exclusive=True, group="bench-pick", exit_on_error=False)
    async def pick_input_and_test(self, parser_path: Path) -> None:
        await self._pick_input_and_test(parser_path)

    @work(exclusive=True, group="bench-pick", exit_on_error=False)
    async def pick_parser_and_test(self) -> None:
        title = "[b]Test any parser[/b]: the path of a .py file"
        parser_path = await self.app.push_screen_wait(PathPickerScreen(title, [], suffix=".py"))
        if parser_path is not None:
            await self._pick_input_and_test(parser_path)

    async def _pick_input_and_test(self, parser_path: Path) -> None:
        try:
            candidates = await self.service.bench.candidate_files(parser_path)
        except CasparianError:
            candidates = []  # an unusable parser: its test will say why
        title = f"[b]Test {self._name_of(parser_path)}[/b] on a file"
        input_path = await self.app.push_screen_wait(PathPickerScreen(title, candidates))
        if input_path is not None:
            self.run_test(parser_path, input_path)

    # Running a test.

    @work(exclusive=True, group="bench-test", exit_on_error=False)
    async def run_test(self, parser_path: Path, input_path: Path) -> None:
        self._run += 1
        run, cancel = self._run, threading.Event()
        if self._engine_call is not None:
            # A test this one supersedes was cancelled with its worker, but its engine thread
            # may still be writing the same output: let it stop first.
            if self._cancel is not None:
                self._cancel.set()
            await asyncio.wait([self._engine_call])
        self._last, self._cancel = (parser_path, input_path), cancel
        self.app.running_work.add(cancel)
        if self._watching not in (None, parser_path):
            self._start_watching(parser_path)  # watch follows the parser under test
        self.refresh_bindings()
        view = self.query_one(BenchResult)
        view.show_running(self._name_of(parser_path), input_path)
        self._engine_call = asyncio.ensure_future(
            self.service.bench.test_parser(
                parser_path,
                input_path,
                on_log=lambda level, text: self.post_message(self.LogLine(run, level, text)),
                cancel=cancel,
            )
        )
        try:
            # Shielded: cancelling this worker stops the run through `cancel`, not by
            # abandoning the engine's thread mid-write.
            result = await asyncio.shield(self._engine_call)
        finally:
            cancel.set()
            self.app.running_work.discard(cancel)
            if self._cancel is cancel:
                self._cancel = None
                self.refresh_bindings()
        self._engine_call = None
        await view.show_result(result)
        await self._tell_assistant(result, parser_path)
        self.load_parsers()  # the health icons follow the recorded tests

    def on_parser_bench_screen_log_line(self, message: LogLine) -> None:
        if message.run == self._run:
            self.query_one(BenchResult).add_log(message.level, message.text)

    def action_cancel_test(self) -> None:
        if self._cancel is not None:
            self._cancel.set()

    def action_rerun(self) -> None:
        parser = self.query_one(ParserList).highlighted_parser
        if parser is not None:
            self.rerun_parser(parser)
        elif self._last is not None:  # no parsers listed: the last `n` test
            self.run_test(*self._last)
        else:
            self.notify("Nothing to re-run yet: test a parser with t")

    @work(exclusive=True, group="bench-pick", exit_on_error=False)
    async def rerun_parser(self, parser: BenchParser) -> None:
        """`r`: the highlighted parser's last test (this session's, else the recorded one)."""
        path = parser.parser.path
        if self._last is not None and self._last[0] == path:
            self.run_test(*self._last)
            return
        recorded = await self.service.bench.recent_tests(parser.name, limit=1)
        if not recorded:
            self.notify(f"{parser.name} has no test to re-run yet: press t to test it")
            return
        self.run_test(path, Path(recorded[0].input_path))

    # The registry: registered versions, contract status, registering.

    @work(exclusive=True, group="bench-registry", exit_on_error=False)
    async def load_registry_status(self, parser: BenchParser | None) -> None:
        status = self.query_one(RegistryStatus)
        if parser is None or parser.parser.info is None:
            status.show(None)
            return
        copy = await self.service.registry.working_copy(parser.parser.path, parser.name)
        if not copy.versions:
            status.show(copy)
            return
        backfill = self.service.backfill
        unfinished = await backfill.active(parser.name)
        status.show(copy, None if unfinished else await backfill.plan(parser.name), unfinished)

    def action_backfill(self) -> None:
        parser = self.query_one(ParserList).highlighted_parser
        if parser is None:
            self.notify("Highlight a registered parser to backfill it")
            return
        self.backfill_parser(parser.name)

    @work(exclusive=True, group="bench-backfill", exit_on_error=False)
    async def backfill_parser(self, name: str) -> None:
        """Show the plan; approved, run it (the Jobs screen shows it as a run, its swap last)."""
        backfill = self.service.backfill
        try:
            plan = await backfill.plan(name)
        except CasparianError as error:
            self.notify(str(error), severity="error", timeout=15)
            return
        if plan.refused is not None:
            self.notify(f"Cannot backfill {name}: {plan.refused}", severity="error", timeout=15)
            return
        title = f"[b]Backfill {name} to {plan.version}[/b]: run the files an older version made"
        lines = [shorten_paths(line) for line in plan.lines()]
        if not await self.app.push_screen_wait(ApprovalScreen(title, lines, "Run the backfill")):
            return
        runner = backfill.runner()
        try:
            record = await runner.start(plan)
            self.notify(f"Backfill {record.id[:8]} started: its progress is in Jobs (Alt+J)")
            outcome = await runner.drive(record)
        except CasparianError as error:
            self.notify(str(error), severity="error", timeout=15)
            return
        self.notify(outcome.lines()[0], severity="information" if outcome.done else "warning")
        self.load_registry_status(self.query_one(ParserList).highlighted_parser)

    def action_register(self) -> None:
        parser = self.query_one(ParserList).highlighted_parser
        if parser is None or parser.parser.info is None:
            self.notify("Highlight a usable parser to register it")
            return
        self.register_parser(parser)

    @work(exclusive=True, group="bench-register", exit_on_error=False)
    async def register_parser(self, parser: BenchParser) -> None:
        from casparian_core.api import approval_lines  # loads the contract model

        registry = self.service.registry
        copy = await registry.working_copy(parser.parser.path, parser.name)
        if copy.plan is None:
            self.notify(copy.problem or copy.summary, severity="error", timeout=15)
            return
        plan = copy.plan
        if plan.registered is not None:
            self.notify(f"{plan.name} {plan.version} is registered already: nothing changed")
            return
        title = f"[b]Register {plan.name} {plan.version}[/b]: approve its contracts"
        lines = [shorten_paths(line) for line in approval_lines(plan)]
        if not await self.app.push_screen_wait(ApprovalScreen(title, lines)):
            return
        done = await registry.register(plan)
        # Its venv is built on its first prod run (or now by `casparian parser register`,
        # which shows the build's progress): a build can take minutes.
        self.notify(f"Registered {done.name} {done.version}; its contracts are approved")
        self.load_registry_status(parser)

    # Watch mode.

    def action_toggle_watch(self) -> None:
        if self._watching is not None:
            self.workers.cancel_group(self, "bench-watch")
            self._watching = None
            self.query_one(BenchResult).show_watching(None)
        elif self._last is None:
            self.notify("Test a parser first (t): w then re-runs that test on every save")
        else:
            self._start_watching(self._last[0])

    def _start_watching(self, parser_path: Path) -> None:
        self._watching = parser_path
        self.query_one(BenchResult).show_watching(parser_path)
        self.watch_parser(parser_path)

    @work(exclusive=True, group="bench-watch", exit_on_error=False)
    async def watch_parser(self, parser_path: Path) -> None:
        async for _save in self.service.parser_saves(parser_path):
            if self._last is not None:
                self.run_test(*self._last)

    # The assistant.

    async def _tell_assistant(self, result: RunResult, parser_path: Path) -> None:
        head = await asyncio.to_thread(read_head, result.input_path)
        self._tested = (result, describe_test(result, parser_path, head))

    def assistant_context(self) -> AssistantContext:
        """The parser under test and its latest result, else the highlighted parser."""
        if self._last is not None and self._tested is not None:
            result, detail = self._tested
            selection = {
                "parser": result.parser_name,
                "parser_path": str(self._last[0]),
                "file": str(result.input_path),
                "test_status": str(result.status),
            }
            return AssistantContext(self.MODE, selection, detail)
        parser = self.query_one(ParserList).highlighted_parser
        if parser is None:
            return AssistantContext(self.MODE)
        selection = {"parser": parser.name, "parser_path": str(parser.parser.path)}
        return AssistantContext(self.MODE, selection)

    def _on_run_finished(self, event: Event) -> None:
        """Called as the run is published: one this screen did not start is the assistant's
        re-test after an approved patch (its own is in flight now)."""
        if self._engine_call is None or self._engine_call.done():
            self.post_message(CoreEvent(event))

    def on_core_event(self, message: CoreEvent) -> None:
        event = message.event
        if not isinstance(event, RunFinished) or self._last is None:
            return
        summary = event.summary
        if Path(summary.input_path) == self._last[1] and summary.parser_name == self._name_of(
            self._last[0]
        ):
            self.query_one(BenchResult).show_hint(describe_retest(summary))
            self.load_parsers()

    async def action_ask_assistant(self) -> None:
        """`a`: the chat, with the latest test as context; after a failure, the question too."""
        failed = self._tested is not None and needs_help(self._tested[0])
        await self.open_assistant(WHY_FAILED if failed else None)

    # Keys and errors.

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_test":
            return self._cancel is not None  # otherwise Esc falls through to the app: Home
        return super().check_action(action, parameters)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        if event.worker.group == "bench-watch":
            self._watching = None
            self.query_one(BenchResult).show_watching(None)
        error = event.worker.error
        message = (
            str(error)
            if isinstance(error, CasparianError)
            else f"unexpected error ({type(error).__name__}): {error}"
        )
        self.query_one(BenchResult).show_hint(Text(message, style="red"))

    def _name_of(self, parser_path: Path) -> str:
        listed = self.query_one(ParserList).parsers.get(str(parser_path))
        return listed.name if listed is not None else parser_path.stem
