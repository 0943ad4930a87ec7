"""Keep pandas out of a process that runs jobs: pyarrow loads it for nothing there.

pyarrow imports pandas, when it is installed, at its first conversion of a Python value (a
validation's `pa.scalar`, a lineage column), only to recognise pandas objects among the values.
A host never gets one: parsers run in their guests, and their DataFrames arrive as Arrow IPC.
That import cost each process running jobs ~0.2 s of CPU and delayed its first job ~0.3 s
(2026-12-05, docs/benchmarks.md). Hidden, pyarrow takes pandas as not installed, for the rest of
the process's life: so only a process that is ours alone hides it (a worker process; the
`process` and `run` commands run as the program), never one a caller shares (a test calling
`casparian_cli.main`, the TUI), where later code may want pandas.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

HIDDEN = "pandas"


class _HidePandas(importlib.abc.MetaPathFinder):
    """Finds pandas nowhere, as if it were not installed."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] == HIDDEN:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None  # any other module: the next finders look for it


def hide_pandas() -> bool:
    """Hide pandas from the imports of this process, unless something loaded it already;
    returns whether it is hidden."""
    if HIDDEN in sys.modules:
        return False
    if not any(isinstance(finder, _HidePandas) for finder in sys.meta_path):
        sys.meta_path.insert(0, _HidePandas())
    return True
