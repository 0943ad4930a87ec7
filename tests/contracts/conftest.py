"""Contracts tests that call `casparian run` in this process (to inject a fault) leave the
garbage collector as the command leaves it for its own short process: frozen. Later tests in
the same worker must find it as a fresh process does."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _garbage_collector_unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()
