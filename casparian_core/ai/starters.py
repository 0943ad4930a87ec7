"""The prompts each mode offers before the user has typed anything."""

from __future__ import annotations

STARTER_PROMPTS: dict[str, tuple[str, ...]] = {
    "home": (
        "What is in this home, and what should I do next?",
        "Which files are not tagged yet, and what are they?",
    ),
    "discover": (
        "Write a parser for these files",
        "What kind of files are these?",
        "Suggest a tagging rule for these files",
    ),
    "parser_bench": (
        "Why did this test fail?",
        "Why are rows quarantined?",
        "Write a test plan for this parser",
    ),
    "inspect": (
        "What anomalies do you see?",
        "Write a query to find duplicates",
    ),
    "jobs": (
        "Why did this job fail?",
        "Show me similar failures",
    ),
}


def starter_prompts(mode: str) -> list[str]:
    """The starters of `mode`; an unknown mode gets the Home Hub's."""
    return list(STARTER_PROMPTS.get(mode, STARTER_PROMPTS["home"]))
