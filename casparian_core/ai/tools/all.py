"""Every tool the assistant offers, in the order the model is shown them."""

from __future__ import annotations

from casparian_core.ai.tools import (
    catalogue,
    changes,
    errors,
    jobs,
    outputs,
    parsers,
    pipeline,
    quarantine,
    stats,
    versions,
)
from casparian_core.ai.tools.registry import Toolbox


def toolbox() -> Toolbox:
    return Toolbox(
        [
            *catalogue.TOOLS,
            *parsers.TOOLS,
            *outputs.TOOLS,
            *changes.TOOLS,
            *jobs.TOOLS,
            *errors.TOOLS,
            *quarantine.TOOLS,
            *stats.TOOLS,
            *versions.TOOLS,
            *pipeline.TOOLS,
        ]
    )
