"""The Textual app: five modes over one CoreService."""

from __future__ import annotations

import gc
import importlib
import threading
from collections.abc import Callable, Iterable
from functools import partial

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from casparian_core.api import AssistantContext, Stats
from casparian_core.errors import CasparianError
from casparian_core.events import (
    AssistantTurnEnded,
    AssistantTurnResumed,
    AssistantTurnStarted,
    DataChanged,
    ParsersChanged,
)
from casparian_core.service import CoreService
from casparian_tui.messages import CoreEvent, ShowJob
from casparian_tui.modes import MODES, Mode
from casparian_tui.screens.help import HelpScreen, describe_bindings
from casparian_tui.screens.prompt import ConfirmPrompt

# Work that quitting would cut short, by worker group: quitting asks first.
UNFINISHED_WORK = {
    "bench-test": "A parser test",
    "bench-backfill": "A backfill",
    "scan": "A scan",
    "jobs-process": "Processing",
}
ASSISTANT_GROUPS = ("assistant", "assistant-decide")


def _mode_bindings() -> list[Binding]:
    bindings: list[Binding] = []
    for mode in MODES:
        action = f"switch_mode('{mode.name}')"
        bindings.append(Binding(mode.alt_key, action, mode.title, show=False))
        bindings.append(Binding(mode.function_key, action, mode.title, show=False))
    return bindings


def _screen_factory(mode: Mode) -> Callable[[], Screen]:
    # Each mode's screen module is imported when first needed (or by the warm-up after the
    # Home Hub has painted), so start-up loads only Home.
    return lambda: mode.load_screen_class()()


class CasparianApp(App[None]):
    CSS_PATH = ["styles/app.tcss", "styles/assistant.tcss"]  # noqa: RUF012
    TITLE = "Casparian Flow"
    MODES = {mode.name: _screen_factory(mode) for mode in MODES}  # noqa: RUF012
    DEFAULT_MODE = "home"
    BINDINGS = [  # noqa: RUF012
        *_mode_bindings(),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("f1", "help", "Help", show=False),
        Binding("alt+a", "toggle_assistant", "Assistant", show=False),
        Binding("f7", "toggle_assistant", "Assistant", show=False),
        Binding("escape", "back", "Back", show=False),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    stats: reactive[Stats | None] = reactive(None)
    parsers_changed: reactive[int] = reactive(
        0
    )  # counts ParsersChanged events: Parser Bench reloads
    assistant_open: reactive[bool] = reactive(False)  # the sidebar, in every mode at once
    assistant_busy = False  # a turn is under way (one an approval started included)

    def __init__(self, service: CoreService, *, watch_sources: bool = True) -> None:
        super().__init__()
        self.service = service
        self.watch_sources = watch_sources  # follow watched folders and parsers/ (off in tests)
        self._unsubscribe: Callable[[], None] | None = None
        # Cancel flags of the scans and parser tests under way: quitting sets them, so the work
        # stops at its next file (keeping what it did) instead of running to its end.
        self.running_work: set[threading.Event] = set()

    async def on_mount(self) -> None:
        await self.service.start(watch=self.watch_sources)
        self._unsubscribe = self.service.subscribe(
            lambda event: self.post_message(CoreEvent(event))
        )
        self.refresh_stats()
        if self.watch_sources:
            self.follow_parsers()
        self.call_after_refresh(self.warm_up_screens)

    @work(group="parsers-watch", exit_on_error=False)
    async def follow_parsers(self) -> None:
        """Parser files dropped into (or saved in) the parsers folder show up by themselves."""
        await self.service.watch_parsers()

    @work(thread=True, group="warm-up", exit_on_error=False)
    def warm_up_screens(self) -> None:
        """Import the other modes' screens while the user reads Home: a first switch stays quick."""
        for mode in MODES:
            mode.load_screen_class()
        importlib.import_module("casparian_tui.widgets.assistant")  # opened on first Alt+a
        gc.freeze()  # the modules just imported live as long as the app: see ModeScreen.on_mount

    async def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        await self.service.stop()
        gc.unfreeze()  # what was frozen can be collected again once it is garbage

    def on_core_event(self, message: CoreEvent) -> None:
        if isinstance(
            message.event, AssistantTurnStarted | AssistantTurnResumed | AssistantTurnEnded
        ):
            self.assistant_busy = not isinstance(message.event, AssistantTurnEnded)
        if isinstance(message.event, ParsersChanged):
            self.parsers_changed += 1  # Parser Bench lists them again
        # Only a change re-reads the numbers: progress and log lines come many a second.
        if isinstance(message.event, DataChanged | ParsersChanged):
            self.refresh_stats()

    @work(exclusive=True, group="stats", exit_on_error=False)
    async def refresh_stats(self) -> None:
        if self.stats is None:  # first paint: the catalogue's numbers at once, tables after
            self.stats = await self.service.stats(count_outputs=False)
        self.stats = await self.service.stats()

    async def action_quit(self) -> None:
        running = sorted(
            {
                UNFINISHED_WORK[w.group]
                for w in self.workers
                if w.is_running and w.group in UNFINISHED_WORK
            }
        )
        if running:
            self._confirm_quit(" and ".join(running))
        else:
            self._stop_and_exit()

    @work(exclusive=True, group="quit", exit_on_error=False)
    async def _confirm_quit(self, running: str) -> None:
        question = f"{running} is still running and would be stopped. Quit anyway?"
        if await self.push_screen_wait(ConfirmPrompt(question, "Quit")):
            self._stop_and_exit()

    def _stop_and_exit(self) -> None:
        for cancel in list(self.running_work):
            cancel.set()
        self.exit()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(describe_bindings(self.screen.active_bindings.values())))

    def on_show_job(self, message: ShowJob) -> None:
        # Not awaited: the Jobs screen mounts on the app's loop, which this handler holds. Its
        # messages wait in its queue until it runs.
        self.switch_mode("jobs")
        self.screen.post_message(ShowJob(message.job_id))

    async def action_back(self) -> None:
        """The last step of the Esc cascade: from any mode back to Home."""
        if self.current_mode != "home":
            await self.switch_mode("home")

    # The assistant: its requests run in app workers, so leaving a mode never cuts one short.

    def action_toggle_assistant(self) -> None:
        self.assistant_open = not self.assistant_open

    @work(group="assistant", exit_on_error=False)
    async def ask_assistant(self, text: str, context: AssistantContext) -> None:
        await self.service.assistant.send(text, context)

    @work(group="assistant", exit_on_error=False)
    async def retry_assistant(self) -> None:
        await self.service.assistant.retry()

    @work(group="assistant-decide", exit_on_error=False)
    async def decide_action(self, action_id: str, approve: bool) -> None:
        # Approving a parser patch re-runs its test and goes on talking: one worker for all.
        await self.service.assistant.decide(action_id, approve)

    def stop_assistant(self) -> None:
        # The core stops the stream; a decision being applied (a file written) is never cut.
        self.service.assistant.cancel()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The assistant reports its failures as events; what raises is a refusal (busy).
        if event.worker.group in ASSISTANT_GROUPS and event.state == WorkerState.ERROR:
            error = event.worker.error
            message = str(error) if isinstance(error, CasparianError) else repr(error)
            self.notify(message, title="Assistant", severity="error")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Assistant: open or close",
            "The AI chat at the right (Alt+a, F7)",
            self.action_toggle_assistant,
        )
        for mode in MODES:
            yield SystemCommand(
                f"Go to {mode.title}", mode.purpose, partial(self.switch_mode, mode.name)
            )
