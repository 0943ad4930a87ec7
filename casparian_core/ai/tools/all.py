"""Every tool the assistant offers, in the order the model is shown them."""

from __future__ import annotations

from casparian_core.ai.tools import catalogue, changes, outputs, parsers, pipeline
from casparian_core.ai.tools.registry import Toolbox


def toolbox() -> Toolbox:
    return Toolbox(
        [*catalogue.TOOLS, *parsers.TOOLS, *outputs.TOOLS, *changes.TOOLS, *pipeline.TOOLS]
    )
