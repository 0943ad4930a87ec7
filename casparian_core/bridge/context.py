"""The `ctx` a Level 2 parser's `parse(self, ctx)` receives.

Constructed by the guest shim; standard library only, because the guest may run under another
virtual environment's Python where casparian is not installed. Parser authors read about it in
`casparian_core.parsers.sdk`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass


@dataclass(frozen=True)
class ParserContext:
    path: str  # the input file to parse
    logger: logging.Logger  # records go to the log sideband (the terminal in dev, the job log)
    job_id: str  # recorded in the lineage column _cf_job_id of every output row
