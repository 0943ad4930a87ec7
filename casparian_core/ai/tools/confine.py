"""Folders an outside client names, confined to the home's sources and the folders listed in
`mcp_scan_roots`: a relative path, `..`, a link leading out, or any other absolute path is
refused, saying what is allowed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from casparian_core.ai.tools.base import ToolInputError


def confined_folder(given: str, roots: Sequence[Path]) -> Path:
    """The real folder `given` names, when it lies in one of `roots`; ToolInputError else."""
    path = Path(given).expanduser()
    if not path.is_absolute():
        raise ToolInputError(f"{given!r} is not an absolute path: give the folder's full path.")
    if ".." in path.parts:
        raise ToolInputError(f"{given!r} contains '..': give the folder's path without it.")
    real = path.resolve()
    allowed = [root.resolve() for root in roots]
    if not any(real.is_relative_to(root) for root in allowed):
        raise ToolInputError(_outside(given, path, real, allowed))
    if not real.is_dir():
        raise ToolInputError(f"{given!r} is not a folder.")
    return real


def _outside(given: str, path: Path, real: Path, allowed: list[Path]) -> str:
    shown = ", ".join(str(root) for root in allowed) or "none yet"
    rest = (
        f"the folders a client may look into are the home's sources and mcp_scan_roots in "
        f"config.toml ({shown})."
    )
    if any(path.is_relative_to(root) for root in allowed):
        return f"{given!r} is a link leading out to {real}: refused; {rest}"
    return f"{given!r} is outside the allowed folders: {rest}"
