"""`casparian tui`: the full-screen terminal app."""

from __future__ import annotations

import argparse

from casparian_cli.homes import HomeUse
from casparian_core.config import Settings


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser("tui", help="open the terminal app")
    # The home is checked (or created) before the screen switches to the app, so errors print
    # like any other command's.
    parser.set_defaults(handler=run, home_use=HomeUse.CREATE)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from casparian_core.service import CoreService
    from casparian_tui.app import CasparianApp  # the only place the core reaches for Textual

    CasparianApp(CoreService(settings)).run()
    return 0
