"""The public types (and the few helpers) the faces may import, besides the service, config,
errors and events: results, statuses, options, catalogue queries, previews, report helpers.

A face imports from here, never from a subsystem module (tests/core/test_import_boundary.py
checks it), so a subsystem can move its code without touching the faces. Each name loads its
module on first use, as the faces' own lazy imports did: `casparian status` must not load the
engine, nor the TUI's first paint pyarrow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from casparian_core.ai.conversation import ActionEntry as ActionEntry
    from casparian_core.ai.conversation import ActionKind as ActionKind
    from casparian_core.ai.conversation import ActionStatus as ActionStatus
    from casparian_core.ai.conversation import AssistantContext as AssistantContext
    from casparian_core.ai.conversation import AssistantFailure as AssistantFailure
    from casparian_core.ai.conversation import AssistantStatus as AssistantStatus
    from casparian_core.ai.conversation import ErrorEntry as ErrorEntry
    from casparian_core.ai.conversation import FailureKind as FailureKind
    from casparian_core.ai.conversation import NoteEntry as NoteEntry
    from casparian_core.ai.conversation import PendingAction as PendingAction
    from casparian_core.ai.conversation import TextEntry as TextEntry
    from casparian_core.ai.conversation import ToolCallEntry as ToolCallEntry
    from casparian_core.ai.conversation import TranscriptEntry as TranscriptEntry
    from casparian_core.ai.conversation import UserEntry as UserEntry
    from casparian_core.ai.request_log import AiRequest as AiRequest
    from casparian_core.backfill.diff import OutputDiff as OutputDiff
    from casparian_core.backfill.plan import BackfillFile as BackfillFile
    from casparian_core.backfill.plan import BackfillPlan as BackfillPlan
    from casparian_core.backfill.plan import VersionCount as VersionCount
    from casparian_core.backfill.plan import VersionDiff as VersionDiff
    from casparian_core.backfill.run import BackfillOutcome as BackfillOutcome
    from casparian_core.backfill.run import BackfillRun as BackfillRun
    from casparian_core.backfill.run import FailedFile as FailedFile
    from casparian_core.backfill.store import BackfillRecord as BackfillRecord
    from casparian_core.backfill.store import BackfillStatus as BackfillStatus
    from casparian_core.engine.bench import BenchParser as BenchParser
    from casparian_core.engine.bench import Candidate as Candidate
    from casparian_core.engine.inputs import expand_inputs as expand_inputs
    from casparian_core.engine.inputs import input_root as input_root
    from casparian_core.engine.parser_tests import ParserTest as ParserTest
    from casparian_core.engine.plan import RunPlan as RunPlan
    from casparian_core.engine.plan import plan_run as plan_run
    from casparian_core.engine.report import NULL_CELL as NULL_CELL
    from casparian_core.engine.report import RATE_MIN_BYTES as RATE_MIN_BYTES
    from casparian_core.engine.report import SHOWN_CELL_CHARS as SHOWN_CELL_CHARS
    from casparian_core.engine.report import preview_table as preview_table
    from casparian_core.engine.report import rates as rates
    from casparian_core.engine.report import top_reasons as top_reasons
    from casparian_core.engine.results import SUCCESSFUL_RUN_STATUSES as SUCCESSFUL_RUN_STATUSES
    from casparian_core.engine.results import OutputResult as OutputResult
    from casparian_core.engine.results import RunOptions as RunOptions
    from casparian_core.engine.results import RunResult as RunResult
    from casparian_core.engine.results import RunStatus as RunStatus
    from casparian_core.home import prepare_home as prepare_home
    from casparian_core.home import verify_home as verify_home
    from casparian_core.inspect.catalog import BrokenPart as BrokenPart
    from casparian_core.inspect.catalog import CatalogTable as CatalogTable
    from casparian_core.inspect.catalog import ColumnInfo as ColumnInfo
    from casparian_core.inspect.catalog import SinkKind as SinkKind
    from casparian_core.inspect.errors import ExportFailedError as ExportFailedError
    from casparian_core.inspect.errors import QueryFailedError as QueryFailedError
    from casparian_core.inspect.errors import QueryRefusedError as QueryRefusedError
    from casparian_core.inspect.errors import TableNotFoundError as TableNotFoundError
    from casparian_core.inspect.export import ExportFormat as ExportFormat
    from casparian_core.inspect.export import ExportResult as ExportResult
    from casparian_core.inspect.quarantine import QuarantineEntry as QuarantineEntry
    from casparian_core.inspect.quarantine import QuarantinePage as QuarantinePage
    from casparian_core.inspect.quarantine import QuarantineRow as QuarantineRow
    from casparian_core.inspect.quarantine import QuarantineState as QuarantineState
    from casparian_core.inspect.query import QueryResult as QueryResult
    from casparian_core.inspect.replay import ReplayFailure as ReplayFailure
    from casparian_core.inspect.replay import ReplayFile as ReplayFile
    from casparian_core.inspect.replay import ReplayOutcome as ReplayOutcome
    from casparian_core.inspect.replay import ReplayParser as ReplayParser
    from casparian_core.inspect.replay import ReplayPlan as ReplayPlan
    from casparian_core.inspect.stats import OTHERS_LABEL as OTHERS_LABEL
    from casparian_core.inspect.stats import ColumnStats as ColumnStats
    from casparian_core.inspect.stats import Distribution as Distribution
    from casparian_core.inspect.stats import DistributionKind as DistributionKind
    from casparian_core.jobs.daemon import DaemonRequest as DaemonRequest
    from casparian_core.jobs.daemon_lock import DaemonRunningError as DaemonRunningError
    from casparian_core.jobs.daemon_lock import DaemonState as DaemonState
    from casparian_core.jobs.daemon_lock import daemon_state as daemon_state
    from casparian_core.jobs.dask.state import ClusterState as ClusterState
    from casparian_core.jobs.dask.state import cluster_state as cluster_state
    from casparian_core.jobs.executor import JobReport as JobReport
    from casparian_core.jobs.fingerprint import ErrorDetail as ErrorDetail
    from casparian_core.jobs.fingerprint import ErrorFile as ErrorFile
    from casparian_core.jobs.fingerprint import ErrorSummary as ErrorSummary
    from casparian_core.jobs.log_tail import find_job_log as find_job_log
    from casparian_core.jobs.log_tail import read_tail as read_tail
    from casparian_core.jobs.long_lived import freeze_for_exit as freeze_for_exit
    from casparian_core.jobs.long_lived import frozen_after_first as frozen_after_first
    from casparian_core.jobs.model import ClaimedJob as ClaimedJob
    from casparian_core.jobs.model import DeadLetter as DeadLetter
    from casparian_core.jobs.model import Enqueued as Enqueued
    from casparian_core.jobs.model import FailOutcome as FailOutcome
    from casparian_core.jobs.model import JobDetail as JobDetail
    from casparian_core.jobs.model import JobFailure as JobFailure
    from casparian_core.jobs.model import JobQuery as JobQuery
    from casparian_core.jobs.model import JobRecord as JobRecord
    from casparian_core.jobs.model import JobRequest as JobRequest
    from casparian_core.jobs.model import JobSuccess as JobSuccess
    from casparian_core.jobs.model import ParserHealth as ParserHealth
    from casparian_core.jobs.model import RunRecord as RunRecord
    from casparian_core.jobs.plan import ProcessRequest as ProcessRequest
    from casparian_core.jobs.process import Processing as Processing
    from casparian_core.jobs.process import ProcessSummary as ProcessSummary
    from casparian_core.jobs.status import UNFINISHED as UNFINISHED
    from casparian_core.jobs.status import JobStatus as JobStatus
    from casparian_core.jobs.unused_libraries import hide_unused_libraries as hide_unused_libraries
    from casparian_core.jobs.worker_start import EarlyWorkers as EarlyWorkers
    from casparian_core.outputs import OutputTable as OutputTable
    from casparian_core.parsers.discovery import DiscoveredParser as DiscoveredParser
    from casparian_core.parsers.metadata import ParserLoadError as ParserLoadError
    from casparian_core.registry.contracts import ApprovedContract as ApprovedContract
    from casparian_core.registry.describe import approval_lines as approval_lines
    from casparian_core.registry.describe import modes_text as modes_text
    from casparian_core.registry.describe import schema_lines as schema_lines
    from casparian_core.registry.errors import ApprovalRequiredError as ApprovalRequiredError
    from casparian_core.registry.facade import ParserDetail as ParserDetail
    from casparian_core.registry.facade import WorkingCopy as WorkingCopy
    from casparian_core.registry.materialize import RunnableParser as RunnableParser
    from casparian_core.registry.register import RegistrationPlan as RegistrationPlan
    from casparian_core.registry.store import RegisteredParser as RegisteredParser
    from casparian_core.registry.vendor import VendorReport as VendorReport
    from casparian_core.scout.errors import NoMatchingFilesError as NoMatchingFilesError
    from casparian_core.scout.errors import PatternWithoutTagError as PatternWithoutTagError
    from casparian_core.scout.names import display_text as display_text
    from casparian_core.scout.preview import Preview as Preview
    from casparian_core.scout.preview import PreviewMode as PreviewMode
    from casparian_core.scout.queries import UNTAGGED as UNTAGGED
    from casparian_core.scout.queries import CatalogCounts as CatalogCounts
    from casparian_core.scout.queries import FilePage as FilePage
    from casparian_core.scout.queries import FileQuery as FileQuery
    from casparian_core.scout.queries import FileRow as FileRow
    from casparian_core.scout.queries import TagCounts as TagCounts
    from casparian_core.scout.queries import Untagged as Untagged
    from casparian_core.scout.queries import has_glob as has_glob
    from casparian_core.scout.rules import RuleInfo as RuleInfo
    from casparian_core.scout.scanner import ScanSummary as ScanSummary
    from casparian_core.scout.sources import SourceInfo as SourceInfo
    from casparian_core.scout.sources import SourceRecord as SourceRecord
    from casparian_core.stats import Stats as Stats
    from casparian_core.stats import compact as compact
    from casparian_core.units import format_bytes as format_bytes
    from casparian_core.units import format_duration as format_duration
    from casparian_core.units import plural as plural

# Where each public name lives.
HOMES = {
    "casparian_core.ai.conversation": (
        "ActionEntry",
        "ActionKind",
        "ActionStatus",
        "AssistantContext",
        "AssistantFailure",
        "AssistantStatus",
        "ErrorEntry",
        "FailureKind",
        "NoteEntry",
        "PendingAction",
        "TextEntry",
        "ToolCallEntry",
        "TranscriptEntry",
        "UserEntry",
    ),
    "casparian_core.ai.request_log": ("AiRequest",),
    "casparian_core.backfill.diff": ("OutputDiff",),
    "casparian_core.backfill.plan": ("BackfillFile", "BackfillPlan", "VersionCount", "VersionDiff"),
    "casparian_core.backfill.run": ("BackfillOutcome", "BackfillRun", "FailedFile"),
    "casparian_core.backfill.store": ("BackfillRecord", "BackfillStatus"),
    "casparian_core.engine.bench": ("BenchParser", "Candidate"),
    "casparian_core.engine.inputs": ("expand_inputs", "input_root"),
    "casparian_core.engine.parser_tests": ("ParserTest",),
    "casparian_core.engine.plan": ("RunPlan", "plan_run"),
    "casparian_core.engine.report": (
        "NULL_CELL",
        "RATE_MIN_BYTES",
        "SHOWN_CELL_CHARS",
        "preview_table",
        "rates",
        "top_reasons",
    ),
    "casparian_core.engine.results": (
        "OutputResult",
        "RunOptions",
        "RunResult",
        "RunStatus",
        "SUCCESSFUL_RUN_STATUSES",
    ),
    "casparian_core.home": ("prepare_home", "verify_home"),
    "casparian_core.inspect.catalog": ("BrokenPart", "CatalogTable", "ColumnInfo", "SinkKind"),
    "casparian_core.inspect.errors": (
        "ExportFailedError",
        "QueryFailedError",
        "QueryRefusedError",
        "TableNotFoundError",
    ),
    "casparian_core.inspect.export": ("ExportFormat", "ExportResult"),
    "casparian_core.inspect.quarantine": (
        "QuarantineEntry",
        "QuarantinePage",
        "QuarantineRow",
        "QuarantineState",
    ),
    "casparian_core.inspect.replay": (
        "ReplayFailure",
        "ReplayFile",
        "ReplayOutcome",
        "ReplayParser",
        "ReplayPlan",
    ),
    "casparian_core.inspect.query": ("QueryResult",),
    "casparian_core.inspect.stats": (
        "OTHERS_LABEL",
        "ColumnStats",
        "Distribution",
        "DistributionKind",
    ),
    "casparian_core.jobs.fingerprint": ("ErrorDetail", "ErrorFile", "ErrorSummary"),
    "casparian_core.jobs.model": (
        "ClaimedJob",
        "DeadLetter",
        "Enqueued",
        "FailOutcome",
        "JobDetail",
        "JobFailure",
        "JobQuery",
        "JobRecord",
        "JobRequest",
        "JobSuccess",
        "ParserHealth",
        "RunRecord",
    ),
    "casparian_core.jobs.executor": ("JobReport",),
    "casparian_core.jobs.daemon": ("DaemonRequest",),
    "casparian_core.jobs.dask.state": ("ClusterState", "cluster_state"),
    "casparian_core.jobs.daemon_lock": ("DaemonRunningError", "DaemonState", "daemon_state"),
    "casparian_core.jobs.unused_libraries": ("hide_unused_libraries",),
    "casparian_core.jobs.long_lived": ("freeze_for_exit", "frozen_after_first"),
    "casparian_core.jobs.plan": ("ProcessRequest",),
    "casparian_core.jobs.worker_start": ("EarlyWorkers",),
    "casparian_core.jobs.log_tail": ("find_job_log", "read_tail"),
    "casparian_core.jobs.process": ("Processing", "ProcessSummary"),
    "casparian_core.jobs.status": ("JobStatus", "UNFINISHED"),
    "casparian_core.outputs": ("OutputTable",),
    "casparian_core.parsers.discovery": ("DiscoveredParser",),
    "casparian_core.parsers.metadata": ("ParserLoadError",),
    "casparian_core.registry.contracts": ("ApprovedContract",),
    "casparian_core.registry.describe": ("approval_lines", "modes_text", "schema_lines"),
    "casparian_core.registry.errors": ("ApprovalRequiredError",),
    "casparian_core.registry.facade": ("ParserDetail", "WorkingCopy"),
    "casparian_core.registry.materialize": ("RunnableParser",),
    "casparian_core.registry.register": ("RegistrationPlan",),
    "casparian_core.registry.store": ("RegisteredParser",),
    "casparian_core.registry.vendor": ("VendorReport",),
    "casparian_core.scout.errors": ("NoMatchingFilesError", "PatternWithoutTagError"),
    "casparian_core.scout.names": ("display_text",),
    "casparian_core.scout.preview": ("Preview", "PreviewMode"),
    "casparian_core.scout.queries": (
        "UNTAGGED",
        "CatalogCounts",
        "FilePage",
        "FileQuery",
        "FileRow",
        "TagCounts",
        "Untagged",
        "has_glob",
    ),
    "casparian_core.scout.rules": ("RuleInfo",),
    "casparian_core.scout.scanner": ("ScanSummary",),
    "casparian_core.scout.sources": ("SourceInfo", "SourceRecord"),
    "casparian_core.stats": ("Stats", "compact"),
    "casparian_core.units": ("format_bytes", "format_duration", "plural"),
}
HOMES_OF = {name: module for module, names in HOMES.items() for name in names}
__all__ = sorted(HOMES_OF)


def __getattr__(name: str) -> object:
    module = HOMES_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value
