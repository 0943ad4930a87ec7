"""The `ctx` a Level 2 parser's `parse(self, ctx)` receives.

Constructed by the guest shim; standard library only, because the guest may run under another
virtual environment's Python where casparian is not installed. Parser authors read about it in
`casparian_core.parsers.sdk`.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass


@dataclass(frozen=True)
class ParserContext:
    path: str  # the input file to parse
    logger: logging.Logger  # records go to the log sideband (the terminal in dev, the job log)
    job_id: str  # recorded in the lineage column _cf_job_id of every output row


def openable_path(path: str) -> str:
    """`path` itself, or, when its name is not valid UTF-8 (it arrives with surrogate escapes,
    which pyarrow and others refuse to encode), a symbolic link to it with a UTF-8 name
    (odd bytes replaced by U+FFFD) in a private temporary folder of this guest."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        pass
    raw = os.path.abspath(os.fsencode(path))
    name = os.path.basename(raw).decode("utf-8", errors="replace")
    link = os.path.join(tempfile.mkdtemp(prefix="cf-input-", dir=_links_folder()), name)
    os.symlink(raw, os.fsencode(link))
    return link


@functools.cache
def _links_folder() -> str:
    folder = tempfile.mkdtemp(prefix="cf-inputs-")
    atexit.register(shutil.rmtree, folder, True)
    return folder
