"""What registration reads from a parser's `pyproject.toml`.

`[project]` gives the dependencies `uv.lock` must lock; `[tool.casparian]` gives the
gatekeeper's reviewed exceptions (`allow = ["subprocess", ...]`) and, for a folder holding
several modules, which one is the parser (`parser = "my_parser.py"`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from typing import Any

from casparian_core.registry.errors import ProjectFileError


@dataclass(frozen=True)
class Project:
    name: str | None
    dependencies: tuple[str, ...]
    optional_dependencies: dict[str, tuple[str, ...]]
    dependency_groups: dict[str, tuple[str, ...]]
    requires_python: str | None
    allow: tuple[str, ...]  # [tool.casparian] allow: the gatekeeper's reviewed exceptions
    parser: str | None  # [tool.casparian] parser: the parser module's path in the folder


def read_project(text: str, where: str) -> Project:
    """Read the pyproject.toml text; `where` (its path) prefixes every error."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProjectFileError(f"{where}: not valid TOML ({exc}); fix the file") from None
    project = _table(document, "project", where)
    casparian = _table(_table(document, "tool", where), "casparian", where, "[tool.casparian]")
    name = project.get("name")
    requires_python = project.get("requires-python")
    parser = casparian.get("parser")
    if parser is not None and not isinstance(parser, str):
        raise ProjectFileError(f"{where}: [tool.casparian] parser must be a path such as 'p.py'")
    return Project(
        name=name if isinstance(name, str) else None,
        dependencies=_strings(project.get("dependencies", []), where, "dependencies"),
        optional_dependencies=_groups(project.get("optional-dependencies", {}), where),
        dependency_groups=_groups(document.get("dependency-groups", {}), where),
        requires_python=requires_python if isinstance(requires_python, str) else None,
        allow=_strings(casparian.get("allow", []), where, "[tool.casparian] allow"),
        parser=parser,
    )


def _table(document: dict[str, Any], key: str, where: str, label: str = "") -> dict[str, Any]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise ProjectFileError(f"{where}: {label or key} must be a table")
    return value


def _strings(value: object, where: str, label: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ProjectFileError(f"{where}: {label} must be a list of strings, got {value!r}")
    return tuple(value)


def _groups(value: object, where: str) -> dict[str, tuple[str, ...]]:
    """Optional dependencies or dependency groups; `{include-group = ...}` entries are left
    out (they repeat another group's requirements)."""
    if not isinstance(value, dict):
        raise ProjectFileError(f"{where}: dependency groups must be a table of lists")
    return {
        group: tuple(item for item in items if isinstance(item, str))
        for group, items in value.items()
        if isinstance(items, list)
    }
