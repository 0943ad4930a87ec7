"""Keep pandas and numpy out of a process that runs jobs: pyarrow loads them for nothing there.

pyarrow imports numpy (when installed) with itself, and pandas at its first conversion of a
Python value (a validation's `pa.scalar`, a lineage column), only to recognise their objects
among the values. A host never gets one: parsers run in their guests, and their DataFrames and
arrays arrive as Arrow IPC; no host code uses either library. Their imports cost each process
running jobs ~0.2 s (pandas) and ~0.08 s (numpy) of CPU, and delayed its first job ~0.3 s
(2026-12-05, docs/benchmarks.md). Hidden, pyarrow takes them as not installed, for the rest of
the process's life: so only a process that is ours alone hides them (a worker process; the
`process` and `run` commands run as the program), never one a caller shares (a test calling
`casparian_cli.main`, the TUI), where later code may want them.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

UNUSED = ("pandas", "numpy")


class _Hide(importlib.abc.MetaPathFinder):
    """Finds the packages `names` nowhere, as if they were not installed."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None  # any other module: the next finders look for it


def hide_unused_libraries() -> list[str]:
    """Hide pandas and numpy from this process's imports, each unless something loaded it
    already (then it stays usable); returns the names hidden."""
    if any(isinstance(finder, _Hide) for finder in sys.meta_path):
        return []  # hidden already
    names = [name for name in UNUSED if name not in sys.modules]
    if names:
        sys.meta_path.insert(0, _Hide(frozenset(names)))
    return names
