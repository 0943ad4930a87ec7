"""What every mode screen shares: a title bar, the footer, and an empty state."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Horizontal, Middle, Vertical
from textual.events import Resize, ScreenResume
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Static

from casparian_core.api import AssistantContext
from casparian_tui.modes import MODES_BY_NAME

COMPACT_FOOTER_BELOW = 100  # columns
# Narrower than this, the open assistant takes the whole width: a third of 80 columns is too
# little to read an answer, and the rest too little for the mode.
FULL_WIDTH_ASSISTANT_BELOW = 100  # columns

if TYPE_CHECKING:
    from textual import getters

    from casparian_tui.app import CasparianApp
    from casparian_tui.widgets.assistant import AssistantSidebar


class TitleBar(Static):
    """One line: the product, the mode, and the keys that reach it."""

    def __init__(self, mode_name: str) -> None:
        mode = MODES_BY_NAME[mode_name]
        super().__init__(f"[b]Casparian Flow[/b] › {mode.title}   [dim]{mode.keys_label}[/dim]")


class ModeFooter(Footer):
    """Textual's footer, composed again only when the keys it shows change. Textual composes
    it again on every change of the bindings, so on every move of the focus (into the chat and
    back), mounting and styling each key anew even when the same keys show."""

    _shown: tuple[object, ...] | None = None

    def bindings_changed(self, screen: Screen[None]) -> None:
        shown = self._keys_shown(screen)
        if self._bindings_ready and shown == self._shown:
            return
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self._shown = shown  # what the footer composes now
        super().bindings_changed(screen)

    def _keys_shown(self, screen: Screen[None]) -> tuple[object, ...]:
        active = screen.active_bindings
        palette = active.get(self.app.COMMAND_PALETTE_BINDING)
        return (
            *((b, enabled, tooltip) for _, b, enabled, tooltip in active.values() if b.show),
            palette[1:] if palette is not None and self.show_command_palette else None,
            self.compact,
        )


class EmptyState(Static):
    """A centred message telling the user how to fill an empty screen."""


class ModeScreen(Screen[None]):
    """Base of the mode screens. Subclasses set MODE and compose their body; the assistant
    sidebar sits at the right of every mode (open or closed in all of them at once)."""

    MODE = "home"
    # Textual's default ("*") would focus the closed chat's input: it checks visibility, not
    # display.
    AUTO_FOCUS = "#mode-content *"
    _content_focus: Widget | None = None  # what had the focus before the chat took it
    _sidebar: AssistantSidebar | None = None
    BINDINGS = [  # noqa: RUF012
        Binding("tab", "switch_focus", "Next field; with the chat open: chat ⇄ screen", show=False),
    ]

    if TYPE_CHECKING:  # the mode screens run in CasparianApp, whose `service` they use
        app = getters.app(CasparianApp)

    def compose(self) -> ComposeResult:
        yield TitleBar(self.MODE)
        with Horizontal(id="mode-row"), Vertical(id="mode-content"):
            yield from self.compose_body()
        yield ModeFooter()

    def on_resize(self, event: Resize) -> None:
        # A narrow terminal gets the compact footer and no palette hint (Ctrl+p still works,
        # `?` lists it): every key of the screen stays on the line.
        footer = self.query_one(Footer)
        footer.compact = event.size.width < COMPACT_FOOTER_BELOW
        footer.show_command_palette = event.size.width >= COMPACT_FOOTER_BELOW
        self.set_class(event.size.width < FULL_WIDTH_ASSISTANT_BELOW, "assistant-full")
        self._show_content()

    def compose_body(self) -> ComposeResult:
        yield from ()

    # The assistant.

    def assistant_context(self) -> AssistantContext:
        """What the user is looking at, sent with each question; modes add their selection."""
        return AssistantContext(mode=self.MODE)

    @property
    def sidebar(self) -> AssistantSidebar | None:
        """The chat, once it was first opened in this mode (mounted then, drawn from the
        conversation so far: a mode that never shows it pays nothing for it)."""
        return self._sidebar

    async def mount_sidebar(self) -> AssistantSidebar:
        if self._sidebar is None:
            # Imported here: Home paints sooner (the app's warm-up thread imports it early).
            from casparian_tui.widgets.assistant import AssistantSidebar

            self._sidebar = AssistantSidebar(self.MODE, id="assistant")
            await self.query_one("#mode-row").mount(self._sidebar)
        return self._sidebar

    def on_mount(self) -> None:
        self.watch(self.app, "assistant_open", self._show_assistant, init=False)
        # What exists once a mode has painted (modules, the service, the mode screens) lives
        # as long as the app: frozen, the collector's full passes stop walking it. Each such
        # pass took 100-500 ms of the loop, a key or the sidebar's opening waiting on it.
        self.call_after_refresh(gc.freeze)

    # Opening and closing set `display` on the chat and the content, never a class on the
    # screen: a screen's class restyles every widget in it (a 200-row table included), which
    # was most of what opening cost.

    @on(ScreenResume)
    async def _catch_up_chat(self) -> None:
        # A decorated handler: the modes keep their own on_screen_resume. A screen first
        # opened (or come back to) while the chat is open keeps its own focus.
        if self._sidebar is not None:
            await self._sidebar.catch_up()
        await self._follow_assistant(self.app.assistant_open)

    async def _show_assistant(self, shown: bool) -> None:
        if not self.is_current:
            return  # the other modes follow the open or closed state when they come back
        await self._follow_assistant(shown)
        if shown:
            self.focus_chat()

    async def _follow_assistant(self, shown: bool) -> None:
        """Show or hide the chat (mounted the first time it is shown)."""
        if shown:
            await self.mount_sidebar()
        self._show_content()  # first: closing a full-width chat gives the focus back to it
        if self._sidebar is not None:
            if not shown and self._chat_has_focus():
                self.focus_content()
            self._sidebar.display = shown

    def _show_content(self) -> None:
        """The mode's content is hidden only under a full-width chat."""
        shown = self.app.assistant_open and self._sidebar is not None
        self.query_one("#mode-content").display = not (shown and self.has_class("assistant-full"))

    async def open_assistant(self, prefill: str | None = None) -> None:
        """Open the chat with `prefill` in its input (sent with Enter, after any edits)."""
        sidebar = await self.mount_sidebar()
        self.app.assistant_open = True
        if prefill is not None:
            sidebar.prefill(prefill)

    def _chat_has_focus(self) -> bool:
        return self._sidebar is not None and self._sidebar.has_focus_within

    def focus_chat(self) -> None:
        if self._sidebar is None:
            return
        if not self._sidebar.has_focus_within:
            self._content_focus = self.focused
        self._sidebar.focus_chat()

    def focus_content(self) -> None:
        previous = self._content_focus
        if previous is not None and previous in self.focus_chain:
            previous.focus()
            return
        outside = [w for w in self.focus_chain if not self._in_chat(w)]
        if outside:
            outside[0].focus()
        else:
            self.set_focus(None)

    def _in_chat(self, widget: Widget) -> bool:
        return self._sidebar is not None and self._sidebar in widget.ancestors

    def action_switch_focus(self) -> None:
        if not self.app.assistant_open:
            self.focus_next()  # Tab as everywhere: the next field of the screen
        elif not self._chat_has_focus():
            self.focus_chat()
        elif self.has_class("assistant-full"):
            self.app.assistant_open = False  # the screen is under the chat: close it
        else:
            self.focus_content()

    def on_assistant_sidebar_left(self, _message: Message) -> None:
        self.action_switch_focus()


class EmptyModeScreen(ModeScreen):
    """A mode whose content has not been built yet shows how to get data into it."""

    EMPTY_TEXT = ""

    def compose_body(self) -> ComposeResult:
        with Middle(), Center():
            yield EmptyState(self.EMPTY_TEXT, classes="empty-state")
