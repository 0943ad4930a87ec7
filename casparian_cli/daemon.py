"""`casparian start [--workers N] [--offline] [--sink URI] [--executor E] [--scheduler URL]`
and `casparian stop [--wait SECS]`.

`start` runs the daemon in the foreground (for a terminal, or a systemd user service): it
follows the watched sources, queues new and changed files for their registered parsers and runs
the queue, logging to stderr and to logs/daemon.log. SIGTERM or Ctrl+C stops it once running
jobs finish; a second one puts them back in the queue instead. Exit 0 when it stopped, 2 when
another daemon runs on the home (its pid is named).

`stop` sends the daemon SIGTERM and waits for it to end; if it has not after --wait seconds,
a second SIGTERM puts its running jobs back in the queue. A home without a daemon is said so.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time

from casparian_cli.homes import HomeUse
from casparian_cli.interrupts import two_step_stop
from casparian_cli.process import add_run_arguments
from casparian_core.api import DaemonRequest, daemon_state
from casparian_core.config import Settings

STOP_WAIT_SECS = 60.0
ABANDON_WAIT_SECS = 30.0
POLL_SECS = 0.1
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def register(subcommands: argparse._SubParsersAction) -> None:
    start = subcommands.add_parser(
        "start",
        help="run the daemon in the foreground: process new and changed files as they come",
        description="Follow the watched sources, queue every new or changed file for the "
        "registered parsers bound to its tag, and run the queue with warm workers until "
        "stopped (SIGTERM, Ctrl+C or `casparian stop`). One daemon per home.",
    )
    add_run_arguments(start)
    start.set_defaults(handler=run_start, home_use=HomeUse.EXISTING)
    stop = subcommands.add_parser("stop", help="stop the daemon running on this home")
    stop.add_argument(
        "--wait",
        type=float,
        default=STOP_WAIT_SECS,
        metavar="SECS",
        help="how long running jobs may take to finish before they are put back in the queue "
        f"(default {STOP_WAIT_SECS:g})",
    )
    stop.set_defaults(handler=run_stop, home_use=HomeUse.EXISTING)


def run_start(args: argparse.Namespace, settings: Settings) -> int:
    if args.workers is not None and args.workers < 1:
        print("casparian: --workers must be at least 1", file=sys.stderr)
        return 2
    request = DaemonRequest(
        workers=args.workers,
        offline=args.offline,
        sink_uri=args.sink,
        executor=args.executor,
        scheduler=args.scheduler,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logging.getLogger("casparian").addHandler(handler)
    try:
        asyncio.run(_start(settings, request))
    finally:
        logging.getLogger("casparian").removeHandler(handler)
    return 0


async def _start(settings: Settings, request: DaemonRequest) -> None:
    from casparian_core.service import CoreService

    async with CoreService(settings) as service:
        daemon = service.daemon(request)
        with two_step_stop(daemon.stop, signals=STOP_SIGNALS):
            await daemon.run()


def run_stop(args: argparse.Namespace, settings: Settings) -> int:
    state = daemon_state(settings.home)
    if state is None:
        print(f"No daemon runs on the home {settings.home}.")
        return 0
    pid = state.pid
    os.kill(pid, signal.SIGTERM)
    print(f"Stopping the daemon (pid {pid}): running jobs finish...", flush=True)
    if _ended(settings, args.wait):
        print("The daemon stopped.")
        return 0
    os.kill(pid, signal.SIGTERM)
    print(
        f"Still running after {args.wait:g} s: its running jobs go back to the queue...",
        flush=True,
    )
    if _ended(settings, ABANDON_WAIT_SECS):
        print("The daemon stopped; its running jobs are queued again.")
        return 0
    print(
        f"casparian: the daemon (pid {pid}) did not stop: `kill -9 {pid}` ends it (its jobs "
        "are put back in the queue when the daemon next starts).",
        file=sys.stderr,
    )
    return 1


def _ended(settings: Settings, within_secs: float) -> bool:
    deadline = time.monotonic() + within_secs
    while daemon_state(settings.home) is not None:
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECS)
    return True
