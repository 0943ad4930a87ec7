"""`casparian tui`: the full-screen terminal app."""

from __future__ import annotations

import argparse

from casparian_core.config import Settings
from casparian_core.home import prepare_home


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser("tui", help="open the terminal app")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    # Check the home before the screen switches to the app, so errors print like any other.
    prepare_home(settings)
    from casparian_core.service import CoreService
    from casparian_tui.app import CasparianApp  # the only place the core reaches for Textual

    CasparianApp(CoreService(settings)).run()
    return 0
