"""The tools that would change something: each creates a pending action showing its exact
effect, and changes nothing. A human approves or rejects it (Assistant.decide)."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import Field

from casparian_core.ai.actions import Payload
from casparian_core.ai.apply import file_query_of
from casparian_core.ai.conversation import ActionKind
from casparian_core.ai.parser_files import digest
from casparian_core.ai.tools.base import Params, Tool, ToolEnv, ToolInputError, ToolOutput, as_json
from casparian_core.ai.tools.parsers import find_parser, write_draft
from casparian_core.scout.queries import UNTAGGED, FileQuery

SHOWN_FILES = 20
PENDING = "Proposed as pending action {id}: nothing changes until the user approves it."


async def propose(
    env: ToolEnv, kind: ActionKind, summary: str, effect: str, payload: Payload
) -> ToolOutput:
    action = await env.actions.create(kind, summary, effect, payload)
    answer = {"pending_action": action.id, "summary": summary, "effect": effect}
    answer["note"] = PENDING.format(id=action.id)
    return ToolOutput(as_json(answer), f"proposed: {summary}", action)


async def _files_effect(env: ToolEnv, query: FileQuery) -> tuple[int, str]:
    """How many files `query` selects, and the first of them, one path a line."""
    count = await env.service.scout.count_files(query)
    page = await env.service.scout.files_page(query, limit=SHOWN_FILES)
    lines = [f"  {row.rel_path}" for row in page.rows]
    if count > len(lines):
        lines.append(f"  ... and {count - len(lines)} more")
    return count, "\n".join(lines)


class TagFiles(Params):
    tag: str = Field(description="the tag to give")
    source: str | None = Field(None, description="only files of this source")
    glob: str | None = Field(None, description="only files whose path in the source matches")
    untagged: bool = Field(True, description="only files without a tag (false: retag too)")


async def tag_files(env: ToolEnv, params: TagFiles) -> ToolOutput:
    if params.source is None and params.glob is None:
        raise ToolInputError("Name a `source` or a `glob`: tagging every file is not offered.")
    stored = {"source": params.source, "glob": params.glob, "untagged": params.untagged}
    count, files = await _files_effect(env, await file_query_of(env.service, stored))
    if count == 0:
        raise ToolInputError("No file matches: check the source name and the glob.")
    summary = f"Tag {count} files {params.tag!r}"
    effect = f"{summary}:\n{files}"
    return await propose(
        env,
        ActionKind.TAG_FILES,
        summary,
        effect,
        {"query": stored, "tag": params.tag, "count": count},
    )


class AddRule(Params):
    pattern: str = Field(description="a glob over the path inside a source, e.g. **/*.csv")
    tag: str = Field(description="the tag the rule gives")
    source: str | None = Field(None, description="only this source (default: every source)")
    priority: int = Field(0, description="higher wins when rules overlap")


async def add_rule(env: ToolEnv, params: AddRule) -> ToolOutput:
    stored = {"source": params.source, "glob": params.pattern}
    matching = await file_query_of(env.service, stored)
    count, files = await _files_effect(env, matching)
    untagged = await env.service.scout.count_files(
        FileQuery(source_id=matching.source_id, glob=params.pattern, tag=UNTAGGED)
    )
    where = f"source {params.source}" if params.source else "every source"
    summary = f"Add rule {params.pattern} -> {params.tag} ({where})"
    effect = (
        f"Rule: {params.pattern} -> {params.tag} in {where}, priority {params.priority}.\n"
        f"The pattern matches {count} files now ({untagged} of them untagged):\n{files}"
    )
    payload = {k: getattr(params, k) for k in ("pattern", "tag", "source", "priority")}
    return await propose(env, ActionKind.ADD_RULE, summary, effect, payload)


class WriteParser(Params):
    file_name: str = Field(description="the new file's name in parsers/, e.g. sales_csv.py")
    source: str = Field(description="the parser's full source")


async def write_parser(env: ToolEnv, params: WriteParser) -> ToolOutput:
    path = env.service.settings.parsers_dir / params.file_name
    if path.exists():
        raise ToolInputError(f"{path} exists: read it and propose patch_parser instead.")
    _check_loads(env, params.file_name, params.source)
    effect = _diff("", params.source, "/dev/null", f"parsers/{params.file_name}")
    summary = f"Write parsers/{params.file_name} ({params.source.count(chr(10)) + 1} lines)"
    payload = {"path": str(path), "source": params.source}
    return await propose(env, ActionKind.WRITE_PARSER, summary, effect, payload)


class PatchParser(Params):
    parser: str = Field(description="the parser to change, by name or file name")
    new_source: str = Field(description="the parser file's full new source")
    test_file_id: int | None = Field(
        None, description="the file to re-test on after approval (default: its last test's)"
    )


async def patch_parser(env: ToolEnv, params: PatchParser) -> ToolOutput:
    parser = await find_parser(env, params.parser)
    path = parser.parser.path
    old = path.read_text(encoding="utf-8")
    if old == params.new_source:
        raise ToolInputError("The new source is the same as the file's: nothing to patch.")
    _check_loads(env, path.name, params.new_source)
    effect = _diff(old, params.new_source, f"a/parsers/{path.name}", f"b/parsers/{path.name}")
    added = sum(1 for line in effect.splitlines() if line.startswith("+") and line[:3] != "+++")
    removed = sum(1 for line in effect.splitlines() if line.startswith("-") and line[:3] != "---")
    payload: dict[str, Any] = {
        "path": str(path),
        "old_sha256": digest(old),
        "source": params.new_source,
        "test_input": await _test_input(env, parser.name, params.test_file_id),
    }
    summary = f"Patch parsers/{path.name} (+{added} -{removed})"
    return await propose(env, ActionKind.PATCH_PARSER, summary, effect, payload)


async def _test_input(env: ToolEnv, parser_name: str, file_id: int | None) -> str | None:
    if file_id is not None:
        return str(await env.service.scout.file_path(file_id))
    last = await env.service.bench.recent_tests(parser_name, limit=1)
    return last[0].input_path if last else None


def _check_loads(env: ToolEnv, file_name: str, source: str) -> None:
    """Refuse a source whose metadata cannot be read (a syntax error, a malformed contract):
    the model hears why at once instead of the user approving a broken file."""
    from casparian_core.parsers.metadata import read_parser_info

    read_parser_info(
        write_draft(env, file_name, source)
    )  # ParserLoadError / ContractError reach the model as its error


def _diff(old: str, new: str, old_name: str, new_name: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), old_name, new_name
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


# tag_files and add_rule are offered as pipeline.apply_scope (the spec's name for both).
TOOLS = (
    Tool(
        "write_parser",
        "Propose a new parser file in the home's parsers/ (test the draft with run_parser_test "
        "first). Creates a pending action for the user to approve; writes nothing itself.",
        WriteParser,
        write_parser,
    ),
    Tool(
        "patch_parser",
        "Propose a parser's new source, shown as a diff; after approval the file is written (the "
        "old one kept as a backup) and its test re-runs, and you are told the outcome. Creates a "
        "pending action for the user to approve; changes nothing itself.",
        PatchParser,
        patch_parser,
    ),
)
