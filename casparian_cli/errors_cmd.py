"""`casparian errors list|show FP|files FP`: error fingerprints (FS-8), one per root cause,
through `service.queue`."""

from __future__ import annotations

import argparse
import json

from casparian_cli.service_call import with_service
from casparian_core.api import ErrorDetail, ErrorSummary, plural
from casparian_core.config import Settings


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "errors", help="the errors jobs failed with, grouped by root cause (fingerprint)"
    )
    actions = parser.add_subparsers(dest="errors_action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every error fingerprint, most frequent first")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    listing.set_defaults(handler=run_list)
    show = actions.add_parser("show", help="one fingerprint: its trace and latest occurrences")
    show.add_argument("fingerprint")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(handler=run_show)
    files = actions.add_parser("files", help="the files one fingerprint occurred on")
    files.add_argument("fingerprint")
    files.add_argument("--json", action="store_true", help="print one JSON object")
    files.set_defaults(handler=run_files)


def headline(error: ErrorSummary) -> str:
    """'47 occurrences of ERR-a1b2c3d4e5f6a7b8 across 12 files'."""
    return (
        f"{plural(error.occurrences, 'occurrence')} of ERR-{error.fingerprint} across "
        f"{plural(error.files, 'file')}"
    )


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    errors = with_service(settings, lambda s: s.queue.errors())
    if args.json:
        print(json.dumps({"errors": [e.as_json() for e in errors]}, sort_keys=True))
    elif not errors:
        print("No errors recorded.")
    else:
        for error in errors:
            kind = f"{error.error_type}, " if error.error_type else ""
            print(f"{headline(error)}: {kind}{error.error_code}, last {error.last_seen}")
            if error.message:
                print(f"    {error.message.splitlines()[0]}")
    return 0


def run_show(args: argparse.Namespace, settings: Settings) -> int:
    detail = with_service(settings, lambda s: s.queue.error(_bare(args.fingerprint)))
    print(json.dumps(detail.as_json(), sort_keys=True) if args.json else _details(detail))
    return 0


def _details(detail: ErrorDetail) -> str:
    error = detail.summary
    lines = [
        headline(error),
        f"  type      {error.error_type or '(seen by the host: no Python exception)'}",
        f"  code      {error.error_code}",
        f"  seen      {error.first_seen} .. {error.last_seen}",
        f"  context   {detail.structure or '(none)'}",
    ]
    if detail.trace:
        lines += ["  trace:", *(f"    {line}" for line in detail.trace.splitlines())]
    lines.append("  latest:")
    for occurrence in detail.recent:
        lines.append(f"    job {occurrence.job_id}  {occurrence.input_path}: {occurrence.message}")
    return "\n".join(lines)


def run_files(args: argparse.Namespace, settings: Settings) -> int:
    fingerprint = _bare(args.fingerprint)
    files = with_service(settings, lambda s: s.queue.error_files(fingerprint))
    if args.json:
        rows = [
            {"input_path": f.input_path, "occurrences": f.occurrences, "last_seen": f.last_seen}
            for f in files
        ]
        print(json.dumps({"fingerprint": fingerprint, "files": rows}, sort_keys=True))
    else:
        for found in files:
            print(f"{found.occurrences:>6}  {found.input_path}  (last {found.last_seen})")
    return 0


def _bare(fingerprint: str) -> str:
    """A fingerprint as typed: 'ERR-a1b2...' as printed, or the hex alone."""
    return fingerprint.removeprefix("ERR-").lower()
