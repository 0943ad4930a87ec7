"""Whether `uv.lock` locks what `pyproject.toml` asks for, read without running uv.

uv records, in the lock's entry for the project itself, the requirements it locked
(`[package.metadata] requires-dist` and `requires-dev`) and the project's `requires-python`;
`uv lock --check` refuses a lock when they differ from pyproject.toml's. This compares the same
things: each requirement's name, extras, version specifiers and, for optional dependencies
and dependency groups, which one it belongs to. Environment markers are left out: uv rewrites
them as it records them (`python_version` becomes `python_full_version`), so comparing their
text would refuse good locks. Where a requirement comes from (`[tool.uv.sources]`: a path, a
URL, git) is not compared either: `uv lock` after changing one.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name, canonicalize_version

from casparian_core.registry.errors import LockMismatchError, ProjectFileError
from casparian_core.registry.project import Project

_EXTRA_MARKER = re.compile(r"""extra\s*==\s*['"]([^'"]+)['"]""")
SHOWN = 3  # differences named in the message, per side


def lock_command(folder: Path) -> str:
    """The command that (re)writes the folder's uv.lock."""
    return f"uv lock --directory {shlex.quote(str(folder))}"


def check_lock(project: Project, lock_text: str, folder: Path) -> None:
    """Raise LockMismatchError (naming the differences and the `uv lock` command) unless the
    lock records exactly the project's requirements."""
    lock_path = folder / "uv.lock"
    lock = _read_lock(lock_text, lock_path)
    root = _project_entry(lock, lock_path, folder)
    problems = []
    if project.name and canonicalize_name(root.get("name", "")) != canonicalize_name(project.name):
        problems.append(f"it locks the project {root.get('name')!r}, not {project.name!r}")
    wanted = _project_requirements(project, folder / "pyproject.toml")
    locked = _locked_requirements(root)
    missing, extra = sorted(wanted - locked), sorted(locked - wanted)
    if missing:
        problems.append("not locked: " + _listed(missing))
    if extra:
        problems.append("locked but no longer asked for: " + _listed(extra))
    problems += _python_difference(project, lock)
    if problems:
        raise LockMismatchError(
            f"{lock_path} does not match pyproject.toml ({'; '.join(problems)}): run "
            f"`{lock_command(folder)}` and register again"
        )


def _read_lock(text: str, lock_path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LockMismatchError(
            f"{lock_path} is not a uv lock file ({exc}): run `{lock_command(lock_path.parent)}`"
        ) from None


def _project_entry(lock: dict[str, Any], lock_path: Path, folder: Path) -> dict[str, Any]:
    for package in lock.get("package", []):
        source = package.get("source", {}) if isinstance(package, dict) else {}
        if source.get("virtual") == "." or source.get("editable") == ".":
            return package
    raise LockMismatchError(
        f"{lock_path} has no entry for the project in {folder} (it was written for another "
        f"project, or by hand): run `{lock_command(folder)}` and register again"
    )


def _project_requirements(project: Project, where: Path) -> set[str]:
    scoped = [("", text) for text in project.dependencies]
    for kind, groups in (
        ("extra", project.optional_dependencies),
        ("group", project.dependency_groups),
    ):
        scoped += [(f"{kind} {group}", text) for group, texts in groups.items() for text in texts]
    keys = set()
    for scope, text in scoped:
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            raise ProjectFileError(f"{where}: {text!r} is not a requirement ({exc})") from None
        keys.add(_key(scope, requirement.name, requirement.extras, str(requirement.specifier)))
    return keys


def _locked_requirements(root: dict[str, Any]) -> set[str]:
    metadata = root.get("metadata", {})
    keys = set()
    for entry in metadata.get("requires-dist", []):
        extra = _EXTRA_MARKER.search(entry.get("marker", ""))
        scope = f"extra {canonicalize_name(extra.group(1))}" if extra else ""
        keys.add(_entry_key(scope, entry))
    for group, entries in metadata.get("requires-dev", {}).items():
        keys.update(_entry_key(f"group {canonicalize_name(group)}", entry) for entry in entries)
    return keys


def _entry_key(scope: str, entry: dict[str, Any]) -> str:
    return _key(scope, entry.get("name", ""), entry.get("extras", []), entry.get("specifier", ""))


def _key(scope: str, name: str, extras: object, specifier: str) -> str:
    """One requirement as comparable text: `name[extras]>=1` (and its extra or group)."""
    if scope:
        kind, group = scope.split(" ", 1)
        scope = f" (in {kind} {canonicalize_name(group)})"
    names = sorted(canonicalize_name(str(e)) for e in extras)  # type: ignore[attr-defined]
    shown_extras = f"[{','.join(names)}]" if names else ""
    return f"{canonicalize_name(name)}{shown_extras}{_canonical_specifier(specifier)}{scope}"


def _canonical_specifier(text: str) -> str:
    try:
        specifiers = SpecifierSet(text)
    except InvalidSpecifier:
        return text
    return ",".join(
        sorted(
            f"{s.operator}{canonicalize_version(s.version, strip_trailing_zero=s.operator != '~=')}"
            for s in specifiers
        )
    )


def _python_difference(project: Project, lock: dict[str, Any]) -> list[str]:
    locked = lock.get("requires-python")
    if project.requires_python is None or not isinstance(locked, str):
        return []
    if _canonical_specifier(project.requires_python) == _canonical_specifier(locked):
        return []
    return [f"requires-python is {project.requires_python!r}, the lock's {locked!r}"]


def _listed(keys: list[str]) -> str:
    more = f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
    return ", ".join(keys[:SHOWN]) + more
