"""Messages that carry the core's events into the Textual message queue."""

from __future__ import annotations

from textual.message import Message

from casparian_core.events import Event


class CoreEvent(Message):
    """An event published by CoreService, delivered on the app's loop."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event
