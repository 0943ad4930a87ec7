"""`casparian approvals list|show|approve|reject`: the changes the assistant's tools proposed
(from the sidebar or an MCP client), decided outside the TUI. Approving applies the change
exactly as the sidebar's approval card does."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from casparian_cli.service_call import with_service
from casparian_core.api import ActionStatus, PendingAction
from casparian_core.config import Settings


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "approvals", help="changes the assistant or an MCP client proposed: decide them"
    )
    actions = parser.add_subparsers(dest="approvals_action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the pending actions, oldest first")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    listing.set_defaults(handler=run_list)
    for name, handler, what in (
        ("show", run_show, "one action with its exact effect"),
        ("approve", run_approve, "apply a pending action exactly as its effect says"),
        ("reject", run_reject, "decline a pending action: nothing changes"),
    ):
        command = actions.add_parser(name, help=what)
        command.add_argument("id", help="the action's id, as `approvals list` prints it")
        command.add_argument("--json", action="store_true", help="print one JSON object")
        command.set_defaults(handler=handler)


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    pending = with_service(settings, lambda s: s.approvals.pending())
    if args.json:
        print(json.dumps({"actions": [asdict(action) for action in pending]}))
        return 0
    if not pending:
        print("No pending actions.")
        return 0
    for action in pending:
        print(f"{action.id}  {action.created_at}  {action.kind}  {action.summary}")
    print(f"{len(pending)} pending: `casparian approvals show ID` shows one's exact effect.")
    return 0


def run_show(args: argparse.Namespace, settings: Settings) -> int:
    action = with_service(settings, lambda s: s.approvals.get(args.id))
    _print(action, args.json)
    return 0


def run_approve(args: argparse.Namespace, settings: Settings) -> int:
    action = with_service(settings, lambda s: s.approvals.approve(args.id))
    _print(action, args.json)
    return 1 if action.status is ActionStatus.FAILED else 0


def run_reject(args: argparse.Namespace, settings: Settings) -> int:
    action = with_service(settings, lambda s: s.approvals.reject(args.id))
    _print(action, args.json)
    return 0


def _print(action: PendingAction, as_json: bool) -> None:
    if as_json:
        print(json.dumps(asdict(action)))
        return
    print(f"{action.id}  {action.kind}  {action.status}")
    print(f"proposed {action.created_at}: {action.summary}")
    if action.decided_at is not None and action.status is not ActionStatus.PENDING:
        print(f"decided {action.decided_at} by {action.decided_by}: {action.outcome}")
    print("effect:")
    print(action.effect)
