"""The toolbox: one tool per name, so two modules defining one tool fail loudly (a second tool
of a name would otherwise hide the first from the model and from MCP)."""

from __future__ import annotations

import pytest

from casparian_core.ai.tools.all import toolbox
from casparian_core.ai.tools.jobs import TOOLS as JOB_TOOLS
from casparian_core.ai.tools.registry import Toolbox


def test_two_tools_of_one_name_are_refused() -> None:
    with pytest.raises(ValueError, match="Two tools are named list_jobs"):
        Toolbox([*JOB_TOOLS, JOB_TOOLS[1]])


def test_the_assistant_offers_the_prod_tools() -> None:
    names = set(toolbox().names())
    assert {
        "list_runs",
        "list_jobs",
        "job_detail",
        "retry_job",
        "cancel_job",
        "list_error_fingerprints",
        "error_occurrences",
        "list_quarantine",
        "quarantine_row",
        "column_stats",
        "column_histogram",
        "list_registered_parsers",
        "show_parser_version",
        "approve_schemas",
        "list_output_tables",
        "query_output",
    } <= names
    assert "query_outputs" not in names
