"""Messages that carry the core's events into the Textual message queue."""

from __future__ import annotations

from textual.message import Message

from casparian_core.events import Event


class CoreEvent(Message):
    """An event published by CoreService, delivered on the app's loop."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class ShowJob(Message, bubble=False):  # the Jobs screen's copy must not come back to the app
    """Open the Jobs mode on one job (Inspect's "producing job" key). Posted to the app, which
    switches to Jobs and posts a new ShowJob to the Jobs screen."""

    def __init__(self, job_id: str) -> None:
        super().__init__()
        self.job_id = job_id  # 32-char uuid4 hex
