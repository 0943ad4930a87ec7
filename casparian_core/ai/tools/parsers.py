"""Read-only tools over parsers: list them with their contracts, read one's source, test one
(or a draft) on a catalogued file through Parser Bench (the one engine)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import Field

from casparian_core.ai.parser_files import FILE_NAME, write_atomically
from casparian_core.ai.test_report import describe, one_line
from casparian_core.ai.tools.base import (
    Params,
    Tool,
    ToolEnv,
    ToolInputError,
    ToolOutput,
    as_json,
)
from casparian_core.engine.bench import BenchParser

SOURCE_CAP_BYTES = 48 * 1024
CONTRACT_CAP_CHARS = 2000


class NoParams(Params):
    pass


async def list_parsers(env: ToolEnv, params: NoParams) -> ToolOutput:
    found = await env.service.bench.list_parsers()
    rows = [_parser_row(p) for p in found]
    return ToolOutput(as_json({"parsers": rows}), f"{len(rows)} parsers")


def _parser_row(parser: BenchParser) -> dict[str, object]:
    info = parser.parser.info
    row: dict[str, object] = {
        "name": parser.name,
        "file": parser.parser.path.name,
        "health": parser.health,
        "last_tested_at": parser.last_tested_at,
    }
    if parser.parser.error:
        row["error"] = parser.parser.error
    if info is not None:
        contract = json.dumps(info.raw_outputs, default=str) if info.raw_outputs else None
        row |= {
            "level": info.level,
            "version": info.version,
            "topics": list(info.topics),
            "outputs": info.declared_outputs,
            "contract": contract[:CONTRACT_CAP_CHARS] if contract else None,
        }
    return row


async def find_parser(env: ToolEnv, name: str) -> BenchParser:
    """The home's parser called `name` (its name, file name or file stem)."""
    found = await env.service.bench.list_parsers()
    for parser in found:
        if name in (parser.name, parser.parser.path.name, parser.parser.path.stem):
            return parser
    known = ", ".join(p.name for p in found) or "none"
    raise ToolInputError(f"No parser {name!r} in the home's parsers/ (there are: {known}).")


class ParserName(Params):
    parser: str = Field(description="the parser's name or file name (from list_parsers)")


async def read_parser(env: ToolEnv, params: ParserName) -> ToolOutput:
    parser = await find_parser(env, params.parser)
    source = parser.parser.path.read_text(encoding="utf-8", errors="replace")
    result = {"file": str(parser.parser.path), "lines": source.count("\n") + 1, "source": source}
    return ToolOutput(as_json(result), f"{parser.parser.path.name}: {result['lines']} lines")


class RunTest(Params):
    file_id: int = Field(description="the catalogued file to test on (from list_files)")
    parser: str | None = Field(None, description="a parser in the home, by name")
    draft_source: str | None = Field(
        None, description="instead of `parser`: the full source of a draft parser to test"
    )
    draft_file_name: str = Field(
        "draft_parser.py", description="the draft's file name (a Level 1 output is named by it)"
    )


async def run_parser_test(env: ToolEnv, params: RunTest) -> ToolOutput:
    if (params.parser is None) == (params.draft_source is None):
        raise ToolInputError("Give either `parser` (a parser in the home) or `draft_source`.")
    input_path = await env.service.scout.file_path(params.file_id)
    if params.draft_source is not None:
        parser_path = write_draft(env, params.draft_file_name, params.draft_source)
    else:
        parser_path = (await find_parser(env, str(params.parser))).parser.path
    result = await env.service.bench.test_parser(parser_path, input_path)
    return ToolOutput(as_json(describe(result)), one_line(result))


def write_draft(env: ToolEnv, file_name: str, source: str) -> Path:
    """The draft written to the assistant's private drafts folder (not the home's parsers/:
    nothing reaches there without an approval)."""
    if not FILE_NAME.match(file_name):
        raise ToolInputError(f"{file_name!r} is no parser file name (letters, digits, _, .py).")
    path = env.drafts_dir / file_name
    write_atomically(path, source)
    return path


TOOLS = (
    Tool(
        "list_parsers",
        "The parsers in the home's parsers/ folder: name, file, level, version, topics, outputs "
        "and contract, health of the last test, and the error of an unusable one.",
        NoParams,
        list_parsers,
    ),
    Tool("read_parser", "A parser file's source code.", ParserName, read_parser, SOURCE_CAP_BYTES),
    Tool(
        "run_parser_test",
        "Run a parser (from the home, or a draft given as source) on one catalogued file "
        "through the real engine, as Parser Bench does; returns the status, rows, quarantined "
        "rows with their reasons, the error and traceback, the schema and the first rows. The "
        "output is written to the home's output folder, as every Parser Bench test's is.",
        RunTest,
        run_parser_test,
    ),
)
