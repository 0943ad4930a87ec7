"""Running a command's work on a started service of the home."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from casparian_core.config import Settings
    from casparian_core.service import CoreService

T = TypeVar("T")


def with_service(settings: Settings, work: Callable[[CoreService], Awaitable[T]]) -> T:
    """`work(service)` on a started service of the home, to its end."""
    from casparian_core.service import CoreService  # loaded by the commands that use it

    async def run() -> T:
        async with CoreService(settings) as service:
            return await work(service)

    return asyncio.run(run())
