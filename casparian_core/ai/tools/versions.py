"""Tools over the parser registry (`service.registry`): the registered versions, one version's
approved contracts; registering a parser of the home's parsers/ (the spec's `approve_schemas`)
is a pending action whose effect is the gatekeeper's report and the contracts it would approve.
(Named versions.py: tools/registry.py is the Toolbox's.)"""

from __future__ import annotations

from pydantic import Field

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
from casparian_core.ai.tools.changes import propose
from casparian_core.ai.tools.parsers import find_parser

ROOM_FOR_THE_REST = 1024


class NoParams(Params):
    pass


async def list_registered_parsers(env: ToolEnv, params: NoParams) -> ToolOutput:
    by_name: dict[str, list[dict[str, object]]] = {}
    for parser in await env.service.registry.parsers():  # by name, then registration time
        by_name.setdefault(parser.name, []).append(
            {
                "version": parser.version,
                "topics": list(parser.topics),
                "registered_by": parser.registered_by,
                "registered_at": parser.registered_at,
            }
        )
    rows = [{"name": name, "versions": versions} for name, versions in by_name.items()]
    shown = fitting(rows, DEFAULT_CAP_BYTES - ROOM_FOR_THE_REST)
    result: dict[str, object] = {"parsers": shown}
    if len(shown) < len(rows):
        result["note"] = f"first {len(shown)} of {len(rows)} parsers shown; ask for one by name"
    return ToolOutput(as_json(result), f"{len(rows)} registered parsers")


class ShowVersion(Params):
    parser: str = Field(description="the registered parser's name")
    version: str | None = Field(None, description="its version (default: the latest)")


async def show_parser_version(env: ToolEnv, params: ShowVersion) -> ToolOutput:
    detail = await env.service.registry.show(params.parser, params.version)
    counts, runs = await env.service.queue.version_counts(detail.parser.name, detail.parser.version)
    result = {
        **detail.as_json(),
        "jobs": {str(status): n for status, n in counts.items()},
        "runs": runs,
    }
    parser = detail.parser
    return ToolOutput(
        as_json(result), f"{parser.name} {parser.version}: {len(detail.contracts)} contracts"
    )


class Register(Params):
    parser: str = Field(
        description="the parser in the home's parsers/ to register: its name or file name"
    )
    version: str | None = Field(
        None, description="the version expected (refused if the file declares another)"
    )


async def approve_schemas(env: ToolEnv, params: Register) -> ToolOutput:
    from casparian_core.registry.describe import approval_lines

    parser = await find_parser(env, params.parser)
    plan = await env.service.registry.prepare(parser.parser.path)  # gatekeeper blocks: raised
    if params.version is not None and params.version != plan.version:
        raise ToolInputError(
            f"{parser.parser.path.name} declares version {plan.version}, not {params.version}."
        )
    if plan.registered is not None:
        raise ToolInputError(
            f"{plan.name} {plan.version} is registered already with this very content."
        )
    blocked = "The gatekeeper found nothing that blocks registration."
    if plan.allowed_findings:
        blocked += f" It let {len(plan.allowed_findings)} findings through, as allowed:"
    heading = f"Register {plan.name} {plan.version} and approve its contracts."
    effect = "\n".join([heading, blocked, *approval_lines(plan)])
    summary = f"Register {plan.name} {plan.version} ({len(plan.outputs)} contracts)"
    payload = {"path": str(plan.source), "artifact_sha256": plan.artifact_sha256}
    return await propose(env, ActionKind.REGISTER_PARSER, summary, effect, payload)


TOOLS = (
    Tool(
        "list_registered_parsers",
        "The parsers registered for prod runs, each with its versions, topics and who "
        "registered them when.",
        NoParams,
        list_registered_parsers,
    ),
    Tool(
        "show_parser_version",
        "One registered parser version with its approved contracts (schema, quarantine "
        "ceiling), its other versions and its jobs by status.",
        ShowVersion,
        show_parser_version,
    ),
    Tool(
        "approve_schemas",
        "Propose registering a parser of the home's parsers/ (it needs a pyproject.toml and a "
        "uv.lock beside it): the gatekeeper checks it now and its report and the contracts to "
        "approve are the proposal's effect; a blocked parser is refused with the findings. "
        "Creates a pending action for the user to approve; registers nothing itself.",
        Register,
        approve_schemas,
    ),
)
