"""Parser packages as a user writes them: a parser module, pyproject.toml and a uv.lock in
the format uv writes (the project's own entry records what it locked)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

PARSER = """\
import pyarrow as pa


class Events:
    name = "events"
    version = "{version}"
    topics = ["app_events"]
    outputs = {{
        "events": {{
            "ts": {{"type": "string", "nullable": False}},
            "amount": {{"type": "{amount_type}", "min": 0}},
            "_max_quarantine_pct": 5,
        }}
    }}

    def parse(self, ctx):
        rows = [line.split(",") for line in open(ctx.path, encoding="utf-8")]
        yield "events", [{{"ts": ts, "amount": int(amount)}} for ts, amount in rows]
"""


def pyproject(dependencies: tuple[str, ...] = (), allow: tuple[str, ...] = ()) -> str:
    deps = ", ".join(f'"{d}"' for d in dependencies)
    text = (
        '[project]\nname = "events-parser"\nversion = "0.1.0"\n'
        f'requires-python = ">=3.11"\ndependencies = [{deps}]\n'
    )
    if allow:
        text += "\n[tool.casparian]\nallow = [" + ", ".join(f'"{a}"' for a in allow) + "]\n"
    return text


def uv_lock(locked: tuple[tuple[str, str], ...] = ()) -> str:
    """A uv.lock for the project locking `(name, specifier)` requirements (each pinned)."""
    text = 'version = 1\nrevision = 3\nrequires-python = ">=3.11"\n\n'
    text += '[[package]]\nname = "events-parser"\nversion = "0.1.0"\nsource = { virtual = "." }\n'
    if locked:
        text += "dependencies = [\n"
        text += "".join(f'    {{ name = "{name}" }},\n' for name, _ in locked)
        text += "]\n\n[package.metadata]\nrequires-dist = [\n"
        for name, specifier in locked:
            spec = f', specifier = "{specifier}"' if specifier else ""
            text += f'    {{ name = "{name}"{spec} }},\n'
        text += "]\n"
    for name, _ in locked:
        text += (
            f'\n[[package]]\nname = "{name}"\nversion = "1.2.3"\n'
            'source = { registry = "https://pypi.org/simple" }\n'
        )
    return text


def write_package(
    folder: Path,
    *,
    version: str = "1.0.0",
    amount_type: str = "int64",
    dependencies: tuple[str, ...] = (),
    locked: tuple[tuple[str, str], ...] = (),
    allow: tuple[str, ...] = (),
) -> Path:
    """A Level 2 parser package in `folder`: events.py, a helper module, pyproject and lock."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "events.py").write_text(PARSER.format(version=version, amount_type=amount_type))
    (folder / "helpers.py").write_text("def clean(text):\n    return text.strip()\n")
    (folder / "pyproject.toml").write_text(pyproject(dependencies, allow))
    (folder / "uv.lock").write_text(uv_lock(locked))
    return folder


def zip_with(name: str, content: bytes = b"x = 1\n", mode: int = 0o100644) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as made:
        made.writestr("parser.py", b"def parse(path):\n    return []\n")
        info = zipfile.ZipInfo(name)
        info.external_attr = mode << 16
        made.writestr(info, content)
    return buffer.getvalue()
