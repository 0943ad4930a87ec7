"""Keep the objects a job-running process holds for life out of the garbage collector's walks.

Everything alive once a process's first job is done (the modules of pyarrow, pydantic and the
service, the session and its guest's sockets) lives until the process ends. A full collection
walks them all (~60 ms with pyarrow and pandas loaded), once every few hundred small jobs; and
Python's shutdown collects them once more (~0.3 s), although the operating system frees a
process's memory at once. Frozen (`gc.freeze`), they are left out of both.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import TypeVar

_T = TypeVar("_T")


def frozen_after_first(callback: Callable[[_T], object] | None) -> Callable[[_T], None]:
    """`callback` (or nothing), the first call of which freezes every object alive first."""
    frozen = False  # a flag: gc.get_freeze_count() would walk every frozen object

    def call(value: _T) -> None:
        nonlocal frozen
        if not frozen:
            gc.freeze()
            frozen = True
        if callback is not None:
            callback(value)

    return call


def freeze_for_exit() -> None:
    """The process ends with the caller: its objects are left to the operating system."""
    gc.freeze()
