"""What a scan leaves out: built-in names, and `.casparianignore` files anywhere in the tree.

A `.casparianignore` uses gitignore syntax and applies to the folder it sits in and everything
below, with patterns relative to that folder. As in git, a deeper file overrides a shallower one
(`!keep.csv` re-includes), and nothing inside an ignored folder is looked at.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pathspec

IGNORE_FILE = ".casparianignore"
# Tool and OS clutter no one means to catalogue; the ignore files themselves are settings.
BUILTIN_NAMES = frozenset(
    {".git", "__pycache__", ".venv", "node_modules", ".DS_Store", IGNORE_FILE}
)
APPLEDOUBLE_PREFIX = "._"


def is_builtin_ignored(name: str) -> bool:
    return name in BUILTIN_NAMES or name.startswith(APPLEDOUBLE_PREFIX)


@dataclass(frozen=True)
class IgnoreFile:
    """The patterns of one `.casparianignore`, and the folder (relative, '' = root) it governs."""

    folder: str
    spec: pathspec.GitIgnoreSpec


@dataclass(frozen=True)
class IgnoreRules:
    """The ignore files that apply in one folder, shallowest first."""

    files: tuple[IgnoreFile, ...] = ()

    def entering(self, folder_rel: str, folder_path: str, has_ignore_file: bool) -> IgnoreRules:
        """The rules inside `folder_rel`: these plus the folder's own ignore file, if any."""
        if not has_ignore_file:
            return self
        spec = read_ignore_file(os.path.join(folder_path, IGNORE_FILE))
        if spec is None:
            return self
        return IgnoreRules((*self.files, IgnoreFile(folder_rel, spec)))

    def ignores(self, rel_path: str, is_dir: bool) -> bool:
        """Whether `rel_path` (relative to the source root) is ignored by these files."""
        for ignore_file in reversed(self.files):  # deepest first: it has the last word
            local = rel_path[len(ignore_file.folder) + 1 :] if ignore_file.folder else rel_path
            result = ignore_file.spec.check_file(local + "/" if is_dir else local)
            if result.include is not None:
                return result.include
        return False


def read_ignore_file(path: str | bytes) -> pathspec.GitIgnoreSpec | None:
    """The patterns of an ignore file, or None when it cannot be read (the scan goes on)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return pathspec.GitIgnoreSpec.from_lines(handle.read().splitlines())
    except OSError:
        return None


def rules_for_folder(root: str, folder_rel: str) -> tuple[IgnoreRules, bool]:
    """The ignore rules in effect inside `folder_rel`, and whether the folder itself is ignored.

    Used when a watch event starts a scan below the root: the ancestors' ignore files apply.
    """
    rules = IgnoreRules()
    parts = folder_rel.split("/") if folder_rel else []
    current = ""
    for depth in range(len(parts) + 1):
        folder_path = os.path.join(root, current) if current else root
        rules = rules.entering(
            current, folder_path, os.path.isfile(os.path.join(folder_path, IGNORE_FILE))
        )
        if depth == len(parts):
            break
        name = parts[depth]
        current = f"{current}/{name}" if current else name
        if is_builtin_ignored(name) or rules.ignores(current, is_dir=True):
            return rules, True
    return rules, False
