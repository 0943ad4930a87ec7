"""`casparian parser register|list|show|export|resume`: the parser registry, and resuming a
parser its circuit breaker paused."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from casparian_cli.homes import HomeUse
from casparian_core.api import (
    ApprovalRequiredError,
    JobStatus,
    ParserDetail,
    RegisteredParser,
    RegistrationPlan,
    approval_lines,
    format_bytes,
    plural,
    schema_lines,
)
from casparian_core.config import Settings

if TYPE_CHECKING:
    from casparian_core.api import ParserHealth


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "parser", help="register parsers for production; list, show and export them"
    )
    actions = parser.add_subparsers(dest="parser_action", metavar="ACTION", required=True)

    add = actions.add_parser(
        "register",
        help="bundle a parser folder (or file) with its uv.lock, approve its contracts, store it",
    )
    add.add_argument("path", type=Path, help="a parser folder, or a parser file")
    add.add_argument("--yes", action="store_true", help="approve the contracts without asking")
    add.add_argument(
        "--offline", action="store_true", help="build its environment from vendored wheels only"
    )
    add.set_defaults(handler=run_register, home_use=HomeUse.CREATE)

    listing = actions.add_parser("list", help="list the registered parser versions")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    listing.set_defaults(handler=run_list)

    show = actions.add_parser("show", help="a registered parser: metadata and contracts")
    show.add_argument("name")
    show.add_argument("--version", dest="parser_version", metavar="V", help="default: latest")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(handler=run_show)

    export = actions.add_parser(
        "export", help="unpack a registered version's verified artifact into a new folder"
    )
    export.add_argument("name")
    export.add_argument("parser_version", metavar="version")
    export.add_argument("target", type=Path, metavar="dir")
    export.set_defaults(handler=run_export)

    resume = actions.add_parser(
        "resume", help="clear a paused parser's circuit breaker: its queued jobs run again"
    )
    resume.add_argument("name")
    resume.set_defaults(handler=run_resume)


def run_register(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_register(args, settings))


async def _register(args: argparse.Namespace, settings: Settings) -> int:
    from casparian_core.service import CoreService

    async with CoreService(settings) as service:
        plan = await service.registry.prepare(args.path)
        if plan.registered is not None:
            done = plan.registered
            print(
                f"{done.name} {done.version} is registered already with this very content "
                f"(sha256 {done.artifact_sha256[:12]}, by {done.registered_by} at "
                f"{done.registered_at}): nothing changed."
            )
        else:
            print("\n".join(approval_lines(plan)))
            _approve(plan, args.yes)
            done = await service.registry.register(plan)
            print(
                f"Registered {done.name} {done.version} (sha256 {done.artifact_sha256[:12]}, "
                f"{format_bytes(done.artifact_size)}); contracts approved by {done.registered_by}"
                f" at {done.registered_at}."
            )
        ready = await service.registry.runnable(
            done.name, done.version, offline=args.offline, progress=_progress
        )
    print(f"Its environment is ready: {ready.venv}")
    return 0


def _approve(plan: RegistrationPlan, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise ApprovalRequiredError(
            f"{plan.name} {plan.version} was not registered: there is no terminal to ask for "
            "approval on; review the contracts above and run again with --yes to approve them"
        )
    answer = input(f"Approve these contracts and register {plan.name} {plan.version}? [y/N] ")
    if answer.strip().lower() not in ("y", "yes"):
        raise ApprovalRequiredError(
            f"{plan.name} {plan.version} was not registered: its contracts were not approved"
        )


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    parsers = asyncio.run(_list(settings))
    if args.json:
        print(json.dumps({"parsers": [p.as_json() for p in parsers]}, sort_keys=True))
    elif not parsers:
        print("No registered parsers yet: `casparian parser register <path>` registers one.")
    else:
        for p in parsers:
            topics = ", ".join(p.topics) or "no topics"
            print(
                f"{p.name}  {p.version}  {topics}  sha256 {p.artifact_sha256[:12]}  "
                f"registered {p.registered_at} by {p.registered_by}"
            )
    return 0


async def _list(settings: Settings) -> list[RegisteredParser]:
    from casparian_core.service import CoreService

    async with CoreService(settings) as service:
        return await service.registry.parsers()


def run_show(args: argparse.Namespace, settings: Settings) -> int:
    detail, health, (jobs, processed) = asyncio.run(_show(args.name, args.parser_version, settings))
    job_counts = {str(status): count for status, count in sorted(jobs.items())}
    runs = {
        "health": None if health is None else _health_json(health),
        "jobs": job_counts,
        "processed": processed,
    }
    if args.json:
        print(json.dumps({**detail.as_json(), **runs}, sort_keys=True))
        return 0
    p = detail.parser
    print(f"{p.name} {p.version}  (versions: {', '.join(detail.versions)})")
    print(f"  registered {p.registered_at} by {p.registered_by} from {p.registered_from}")
    print(f"  artifact sha256 {p.artifact_sha256} ({format_bytes(p.artifact_size)})")
    print(f"  parser file {p.entry}; lock {p.lock_hash}")
    print(f"  topics: {', '.join(p.topics) or 'none'}")
    allowed = ", ".join(p.allowances) or "none"
    print(f"  gatekeeper exceptions allowed: {allowed}")
    queued = ", ".join(f"{count:,} {status}" for status, count in job_counts.items())
    print(f"  jobs of this version: {queued or 'none'}; {plural(processed, 'run')} in its history")
    print(f"  health ({p.name}, every version): {_health_text(health)}")
    print(f"Approved contracts ({plural(len(detail.contracts), 'output')}):")
    for c in detail.contracts:
        print("\n".join(schema_lines(c.output, c.schema_json, c.max_quarantine_pct)))
        print(f"  approved by {c.approved_by} at {c.approved_at}; schema sha256 {c.schema_hash}")
    return 0


async def _show(
    name: str, version: str | None, settings: Settings
) -> tuple[ParserDetail, ParserHealth | None, tuple[dict[JobStatus, int], int]]:
    from casparian_core.service import CoreService

    async with CoreService(settings) as service:
        detail = await service.registry.show(name, version)
        health = await service.queue.health(name)
        counts = await service.queue.version_counts(name, detail.parser.version)
    return detail, (health[0] if health else None), counts


def _health_json(health: ParserHealth) -> dict[str, object]:
    return {
        "consecutive_failures": health.consecutive_failures,
        "paused_at": health.paused_at,
        "last_failure_reason": health.last_failure_reason,
        "total_executions": health.total_executions,
        "total_failures": health.total_failures,
    }


def _health_text(health: ParserHealth | None) -> str:
    if health is None:
        return "never run in production"
    state = f"paused since {health.paused_at}" if health.paused else "running"
    return (
        f"{state}; {plural(health.total_executions, 'execution')}, "
        f"{plural(health.total_failures, 'failure')}, "
        f"{health.consecutive_failures} in a row"
    )


def run_export(args: argparse.Namespace, settings: Settings) -> int:
    written = asyncio.run(_export(args.name, args.parser_version, args.target, settings))
    print(
        f"Exported {args.name} {args.parser_version} ({plural(len(written), 'file')}), its "
        f"SHA-256 verified, to {args.target}."
    )
    return 0


async def _export(name: str, version: str, target: Path, settings: Settings) -> list[Path]:
    from casparian_core.service import CoreService

    async with CoreService(settings) as service:
        return await service.registry.export(name, version, target)


def run_resume(args: argparse.Namespace, settings: Settings) -> int:
    if asyncio.run(_resume(args.name, settings)):
        print(
            f"Resumed {args.name}: its circuit breaker is cleared, and its queued jobs are "
            "claimed by the next `casparian process` (or the running daemon)."
        )
    else:
        print(f"{args.name} is not paused: nothing to resume.")
    return 0


async def _resume(name: str, settings: Settings) -> bool:
    from casparian_core.service import CoreService

    async with CoreService(settings) as service:
        await service.registry.show(name, None)  # an unknown name is an error, not a no-op
        return await service.queue.resume(name)
