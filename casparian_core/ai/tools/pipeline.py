"""The product spec's pipeline tools (5.2), shared by the sidebar's model and MCP clients: look
at a folder, scope files with a tag, discover schemas, backtest a parser, execute the pipeline
in the production queue; plus action_status, for a client to follow what it proposed. The
state-changing ones (apply_scope, execute_pipeline) propose a pending action and change
nothing. The spec's other two live beside their kin: approve_schemas in versions.py,
query_output in outputs.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from casparian_core.ai.apply import pipeline_request
from casparian_core.ai.conversation import ActionKind
from casparian_core.ai.tools.base import (
    DEFAULT_CAP_BYTES,
    Params,
    Tool,
    ToolEnv,
    ToolInputError,
    ToolOutput,
    as_json,
    fitting,
)
from casparian_core.ai.tools.changes import AddRule, TagFiles, add_rule, propose, tag_files
from casparian_core.ai.tools.confine import confined_folder
from casparian_core.ai.tools.parsers import find_parser
from casparian_core.engine.results import RunResult
from casparian_core.scout.queries import FileQuery

EXTENSIONS_SHOWN = 30
SCAN_FILES_MAX = 1_000_000
BACKTEST_FILES_MAX = 500
REASONS_SHOWN = 5
FILES_SHOWN = 20
ROOM_FOR_THE_REST = 2048  # a capped list's other fields and notes


class QuickScan(Params):
    path: str = Field(
        description="absolute path of a folder inside one of the home's sources or the "
        "mcp_scan_roots of config.toml"
    )
    max_files: int = Field(
        100_000, ge=1, le=SCAN_FILES_MAX, description="stop after this many files"
    )


async def quick_scan(env: ToolEnv, params: QuickScan) -> ToolOutput:
    sources = [Path(s.path) for s in await env.service.scout.sources()]
    roots = [*sources, *env.service.settings.mcp_scan_roots]
    folder = confined_folder(params.path, roots)
    survey = await env.service.survey(folder, params.max_files)
    extensions = survey.by_extension.most_common(EXTENSIONS_SHOWN)
    result: dict[str, object] = {
        "folder": str(survey.folder),
        "files": survey.files,
        "bytes": survey.bytes,
        "by_extension": [
            {
                "extension": ext,
                "files": n,
                "bytes": survey.bytes_by_extension[ext],
                "samples": survey.samples[ext],
            }
            for ext, n in extensions
        ],
        "by_kind": dict(survey.by_kind.most_common()),
        "skipped": dict(survey.skipped),
        "largest": None if survey.largest is None else list(survey.largest),
        "catalogued": any(folder.is_relative_to(s.resolve()) for s in sources),
    }
    notes = []
    if len(survey.by_extension) > len(extensions):
        notes.append(f"the {len(extensions)} commonest of {len(survey.by_extension)} extensions")
    if survey.files > sum(survey.by_kind.values()):
        notes.append(f"kinds sniffed for the first {sum(survey.by_kind.values())} files")
    if survey.stopped_at is not None:
        notes.append(f"stopped after {survey.stopped_at} files: there are more")
    if notes:
        result["note"] = "; ".join(notes)
    return ToolOutput(as_json(result), f"{survey.files} files, {len(survey.by_extension)} kinds")


class ApplyScope(Params):
    tag: str = Field(description="the tag to give the files")
    glob: str | None = Field(None, description="a glob over the path inside a source")
    source: str | None = Field(None, description="only files of the source with this name")
    untagged: bool = Field(True, description="only files without a tag (false: retag too)")
    as_rule: bool = Field(
        False,
        description="keep it as a tagging rule (it also tags files found later) instead of "
        "tagging the files there now; needs `glob`",
    )
    priority: int = Field(0, description="a rule's priority: higher wins when rules overlap")


async def apply_scope(env: ToolEnv, params: ApplyScope) -> ToolOutput:
    if not params.as_rule:
        scope = TagFiles(
            tag=params.tag, source=params.source, glob=params.glob, untagged=params.untagged
        )
        return await tag_files(env, scope)
    if params.glob is None:
        raise ToolInputError("A rule needs a `glob` (e.g. **/*.csv).")
    rule = AddRule(
        pattern=params.glob, tag=params.tag, source=params.source, priority=params.priority
    )
    return await add_rule(env, rule)


class DiscoverSchemas(Params):
    file_ids: list[int] | None = Field(
        None, min_length=1, max_length=5, description="sample files (from list_files)"
    )
    tag: str | None = Field(None, description="instead of file_ids: sample files of this tag")
    samples: int = Field(3, ge=1, le=5, description="with `tag`: how many of its files")


async def discover_schemas(env: ToolEnv, params: DiscoverSchemas) -> ToolOutput:
    from casparian_core.ai.tools.sampling import infer_contract

    if (params.file_ids is None) == (params.tag is None):
        raise ToolInputError("Give either `file_ids` or `tag`.")
    if params.tag is not None:
        page = await env.service.scout.files_page(FileQuery(tag=params.tag), limit=params.samples)
        if not page.rows:
            raise ToolInputError(f"No file is tagged {params.tag!r}: see list_tags.")
        files = [(row.id, Path(row.path)) for row in page.rows]
    else:
        files = [(i, await env.service.scout.file_path(i)) for i in params.file_ids or ()]
    results = [
        {"file_id": file_id, "path": path.name, **await infer_contract(path)}
        for file_id, path in files
    ]
    inferred = sum(1 for r in results if "outputs" in r)
    return ToolOutput(as_json({"samples": results}), f"{inferred} of {len(results)} inferred")


class RunBacktest(Params):
    parser: str = Field(description="a parser in the home's parsers/ (from list_parsers)")
    file_ids: list[int] | None = Field(
        None, min_length=1, max_length=BACKTEST_FILES_MAX, description="the files to run on"
    )
    tag: str | None = Field(
        None,
        description="instead of file_ids: the files of this tag (default: the parser's topics)",
    )
    stop_at_failure_rate: float = Field(
        0.5, ge=0, le=1, description="stop once more than this share of the files run failed"
    )
    max_files: int = Field(100, ge=1, le=BACKTEST_FILES_MAX, description="run at most this many")


async def run_backtest(env: ToolEnv, params: RunBacktest) -> ToolOutput:
    found = await find_parser(env, params.parser)
    topics = found.parser.info.topics if found.parser.info else ()
    paths = await _backtest_files(env, params, topics)
    if not paths:
        raise ToolInputError("No file to run on: tag some files, or give `file_ids`.")
    run = await env.service.backtest(
        found.parser.path, found.name, paths, params.stop_at_failure_rate
    )
    failed = sum(1 for r in run.results if not r.ok)
    outcomes = [_outcome(r, r.input_path in run.failed_before) for r in run.results]
    shown = fitting(outcomes, DEFAULT_CAP_BYTES - ROOM_FOR_THE_REST)
    result: dict[str, object] = {
        "parser": found.name,
        "files_planned": run.planned,
        "files_run": len(run.results),
        "failed": failed,
        "failure_rate": round(failed / len(run.results), 3) if run.results else 0.0,
        "stopped_early": run.stopped_early,
        "rows": sum(r.rows for r in run.results),
        "quarantined": sum(r.quarantined for r in run.results),
        "outcomes": shown,
    }
    notes = ["files that failed before ran first; output went to a scratch folder"]
    if run.stopped_early:
        notes.append(f"stopped: more than {params.stop_at_failure_rate:.0%} of the files failed")
    if len(shown) < len(outcomes):
        notes.append(f"outcomes of the first {len(shown)} files shown (cut to fit)")
    result["note"] = "; ".join(notes)
    return ToolOutput(
        as_json(result), f"{len(run.results)} of {run.planned} files, {failed} failed"
    )


async def _backtest_files(env: ToolEnv, params: RunBacktest, topics: tuple[str, ...]) -> list[Path]:
    if params.file_ids is not None and params.tag is not None:
        raise ToolInputError("Give `file_ids` or `tag`, not both.")
    if params.file_ids is not None:
        ids = params.file_ids[: params.max_files]
        return [await env.service.scout.file_path(i) for i in ids]
    paths: list[Path] = []
    for tag in [params.tag] if params.tag is not None else topics:
        left = params.max_files - len(paths)
        if left > 0:
            page = await env.service.scout.files_page(FileQuery(tag=tag), limit=left)
            paths += [Path(row.path) for row in page.rows]
    return paths


def _outcome(result: RunResult, failed_before: bool) -> dict[str, Any]:
    outcome: dict[str, Any] = {
        "file": str(result.input_path),
        "status": result.status,
        "rows": result.rows,
        "quarantined": result.quarantined,
    }
    if failed_before:
        outcome["failed_before"] = True
    if result.error_code:
        outcome["error"] = f"{result.error_code}: {result.error_message}"
    reasons = {f"{o.name}: {reason}": n for o in result.outputs for reason, n in o.reasons.items()}
    if reasons:
        top = sorted(reasons.items(), key=lambda item: -item[1])[:REASONS_SHOWN]
        outcome["quarantine_reasons"] = dict(top)
    return outcome


class ExecutePipeline(Params):
    parser: str | None = Field(None, description="a registered parser (its latest version)")
    tag: str | None = Field(None, description="only files of this tag (one of parsers' topics)")
    source: str | None = Field(None, description="only files of this source")
    limit: int | None = Field(None, ge=1, description="enqueue at most this many jobs")


async def execute_pipeline(env: ToolEnv, params: ExecutePipeline) -> ToolOutput:
    from casparian_core.jobs.plan import plan

    if params.parser is None and params.tag is None:
        raise ToolInputError("Name a `parser` or a `tag`: running everything is not offered.")
    stored = params.model_dump()
    sink = env.service.settings.output_uri  # where `casparian process` writes
    planned = await plan(env.service.registry, env.service.scout, pipeline_request(stored), sink)
    count = len(planned.requests)
    if count == 0:
        raise ToolInputError(
            f"Nothing to process: {planned.already_done} inputs are done already and no "
            "other file matches (check the parser's topics and the files' tags)."
        )
    versions = ", ".join(f"{p.name} {p.version}" for p in planned.parsers)
    lines = [f"  {r.parser_name} {r.parser_version}  {r.input_path}" for r in planned.requests]
    if count > FILES_SHOWN:
        lines = [*lines[:FILES_SHOWN], f"  ... and {count - FILES_SHOWN} more"]
    summary = f"Enqueue {count} jobs in the production queue ({versions})"
    effect = (
        f"{summary}; {planned.already_done} inputs already done are left out. A running "
        "daemon (`casparian start`) or `casparian process` runs them:\n" + "\n".join(lines)
    )
    payload = {"request": stored, "count": count}
    return await propose(env, ActionKind.EXECUTE_PIPELINE, summary, effect, payload)


class ActionId(Params):
    action_id: str = Field(description="the pending action's id a tool returned")


async def action_status(env: ToolEnv, params: ActionId) -> ToolOutput:
    action = await env.actions.get(params.action_id)
    if action is None:
        raise ToolInputError(f"There is no action {params.action_id}.")
    result = {
        "action": action.id,
        "kind": action.kind,
        "summary": action.summary,
        "status": action.status,
        "decided_by": action.decided_by,
        "decided_at": action.decided_at,
        "outcome": action.outcome,
    }
    return ToolOutput(as_json(result), f"{action.kind}: {action.status}")


TOOLS = (
    Tool(
        "quick_scan",
        "Look at a folder without cataloguing it: files by extension (sizes, sample paths) and "
        "by sniffed kind, what was skipped (links, ignored), the largest file. Only folders in "
        "the home's sources or the configured scan roots.",
        QuickScan,
        quick_scan,
    ),
    Tool(
        "apply_scope",
        "Propose scoping files for processing with a tag: tag the files of a source and/or "
        "glob now, or (as_rule) add a tagging rule that also tags files found later. Creates a "
        "pending action for the user to approve; changes nothing itself.",
        ApplyScope,
        apply_scope,
    ),
    Tool(
        "discover_schemas",
        "Infer candidate `outputs` contracts from the first megabyte of sample files (CSV, TSV, "
        "PSV, JSON lines), given by id or as a tag's first files: every column typed as read, "
        "nullable; a starting point to tighten.",
        DiscoverSchemas,
        discover_schemas,
    ),
    Tool(
        "run_backtest",
        "Run a parser of the home's parsers/ over files (by id, a tag, or its topics' files) "
        "through the real engine, the files it failed on before first, stopping early once the "
        "failure rate passes the threshold; per-file outcomes with errors and quarantine "
        "reasons. Writes no output of the home (a scratch folder).",
        RunBacktest,
        run_backtest,
    ),
    Tool(
        "execute_pipeline",
        "Propose enqueueing production jobs: a registered parser's latest version over the "
        "files of its topics (or one tag), the inputs already done left out. After approval "
        "the action's outcome (action_status) lists the job ids; follow them with the jobs "
        "tools. Creates a pending action for the user to approve; changes nothing itself.",
        ExecutePipeline,
        execute_pipeline,
    ),
    Tool(
        "action_status",
        "The state of a pending action a tool proposed: PENDING, APPROVED or FAILED with its "
        "outcome (execute_pipeline's job ids), or REJECTED.",
        ActionId,
        action_status,
    ),
)
