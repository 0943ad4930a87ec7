"""`casparian rule add|list|remove`: tagging rules (glob on the relative path -> tag)."""

from __future__ import annotations

import argparse
import asyncio
import json

from casparian_cli.homes import HomeUse
from casparian_core.api import RuleInfo
from casparian_core.config import Settings


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser("rule", help="manage tagging rules")
    actions = parser.add_subparsers(dest="rule_action", metavar="ACTION", required=True)

    add = actions.add_parser(
        "add",
        help="tag files whose relative path matches GLOB",
        description="Add a rule: files whose path relative to their source matches GLOB get "
        "TAG. `*` also crosses folders (`*.csv` matches at any depth). The highest priority "
        "matching rule wins; manual tags are never overwritten.",
    )
    add.add_argument("glob")
    add.add_argument("tag")
    add.add_argument("--priority", type=int, default=0, metavar="N", help="higher wins (0)")
    add.add_argument("--source", metavar="NAME", help="apply only to this source")
    add.add_argument("--json", action="store_true", help="print one JSON object")
    add.set_defaults(handler=run_add, home_use=HomeUse.CREATE)

    listing = actions.add_parser("list", help="list the rules, highest priority first")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    listing.set_defaults(handler=run_list)

    remove = actions.add_parser("remove", help="delete a rule; its files are re-tagged")
    remove.add_argument("id", type=int)
    remove.set_defaults(handler=run_remove)


def run_add(args: argparse.Namespace, settings: Settings) -> int:
    rule = asyncio.run(_add(args, settings))
    print(json.dumps(rule.as_json(), sort_keys=True) if args.json else f"Added {_line(rule)}")
    return 0


async def _add(args: argparse.Namespace, settings: Settings) -> RuleInfo:
    from casparian_core.service import CoreService

    async with CoreService(settings) as service:
        rule_id = await service.scout.add_rule(
            args.glob, args.tag, priority=args.priority, source=args.source
        )
        return next(r for r in await service.scout.rules() if r.id == rule_id)


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    rules = asyncio.run(_list(settings))
    if args.json:
        print(json.dumps({"rules": [r.as_json() for r in rules]}, sort_keys=True))
    elif not rules:
        print("No tagging rules yet: add one with `casparian rule add '*.csv' sales`.")
    else:
        print("\n".join(_line(rule) for rule in rules))
    return 0


async def _list(settings: Settings) -> list[RuleInfo]:
    from casparian_core.service import CoreService

    async with CoreService(settings) as service:
        return await service.scout.rules()


def run_remove(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(_remove(args.id, settings))
    print(f"Removed rule {args.id}.")
    return 0


async def _remove(rule_id: int, settings: Settings) -> None:
    from casparian_core.service import CoreService

    async with CoreService(settings) as service:
        await service.scout.remove_rule(rule_id)


def _line(rule: RuleInfo) -> str:
    scope = f"source {rule.source}" if rule.source else "all sources"
    state = "" if rule.enabled else ", disabled"
    return (
        f"rule {rule.id}: {rule.pattern} -> {rule.tag} "
        f"(priority {rule.priority}, {scope}{state}; tags {rule.files:,} files)"
    )
