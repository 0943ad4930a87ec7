"""Objects alive once the first job is done are frozen out of the garbage collector's walks."""

from __future__ import annotations

import subprocess
import sys

# In a process of its own: freezing is for the rest of a process's life.
PROBE = """
import gc
from casparian_core.jobs.long_lived import frozen_after_first
seen = []
call = frozen_after_first(seen.append)
assert gc.get_freeze_count() == 0
call(1)
frozen = gc.get_freeze_count()
kept = [object() for _ in range(1000)]  # made after the first call: not frozen
call(2)
print(frozen > 0, gc.get_freeze_count() == frozen, seen)
frozen_after_first(None)("no callback")
"""


def test_the_first_call_freezes_what_is_alive_and_every_call_goes_through() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["True", "True", "[1,", "2]"]
