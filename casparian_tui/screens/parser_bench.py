"""Parser Bench: test parsers on files."""

from __future__ import annotations

from casparian_tui.screens.base import EmptyModeScreen


class ParserBenchScreen(EmptyModeScreen):
    MODE = "parser_bench"
    EMPTY_TEXT = (
        "[b]No parsers yet[/b]\n\n"
        "Put a parser file (a .py with [b]def parse(path)[/b]) into the home's parsers/ folder,\n"
        "or try one on a file from a shell:  [b]casparian run parser.py data.csv[/b]"
    )
