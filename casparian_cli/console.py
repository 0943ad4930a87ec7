"""The CLI's rich console (imported lazily: rich costs start-up time the light commands skip)."""

from __future__ import annotations

from rich.console import Console


class CliConsole(Console):
    def on_broken_pipe(self) -> None:
        # Rich would exit with code 1; main() ends every command the same way on a closed pipe.
        raise BrokenPipeError


def cli_console() -> CliConsole:
    return CliConsole(highlight=False, soft_wrap=True)
