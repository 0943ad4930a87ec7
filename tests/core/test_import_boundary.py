"""The core never loads Textual; the faces reach the core only through its public modules."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import casparian_core
from casparian_core import api


def test_core_never_imports_textual() -> None:
    code = (
        "import sys, casparian_core, casparian_core.service, casparian_cli;"
        "import casparian_cli.tui;"
        "print('textual' in sys.modules, 'casparian_tui' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "False"]


ROOT = Path(casparian_core.__file__).parent.parent
FACES = ("casparian_cli", "casparian_tui", "casparian_mcp")
# What a face may import of the core (DESIGN.md §2 rule 3); the package itself gives __version__.
FACE_API = {
    "casparian_core",
    "casparian_core.service",
    "casparian_core.api",
    "casparian_core.config",
    "casparian_core.errors",
    "casparian_core.events",
}


def core_modules_imported(tree: ast.AST) -> list[tuple[int, str]]:
    """Every core module an AST imports (`from casparian_core import x` imports module x when
    x is one), with its line."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module == "casparian_core":
            found += [
                (node.lineno, f"casparian_core.{alias.name}")
                for alias in node.names
                if alias.name != "__version__"
            ]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module))
    return [(line, name) for line, name in found if name.split(".")[0] == "casparian_core"]


def test_the_faces_import_only_the_service_api_config_errors_and_events() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for face in FACES
        for path in sorted((ROOT / face).rglob("*.py"))
        for line, module in core_modules_imported(ast.parse(path.read_text(), str(path)))
        if module not in FACE_API
    ]
    assert offenders == []


def test_the_boundary_check_sees_every_form_of_import() -> None:
    source = (
        "import casparian_core.scout.queries\n"
        "from casparian_core.engine.results import RunResult\n"
        "from casparian_core import stats, __version__\n"
        "def later():\n"
        "    from casparian_core.service import CoreService\n"
    )
    assert core_modules_imported(ast.parse(source)) == [
        (1, "casparian_core.scout.queries"),
        (2, "casparian_core.engine.results"),
        (3, "casparian_core.stats"),
        (5, "casparian_core.service"),
    ]


def test_every_public_name_is_its_subsystems_own() -> None:
    for name in api.__all__:
        module = importlib.import_module(api.HOMES_OF[name])
        assert getattr(api, name) is getattr(module, name), name


def test_importing_the_api_loads_no_subsystem() -> None:
    # The faces import it at start-up: `casparian status` and the TUI's first paint must not
    # pay for the engine, pyarrow or zmq.
    code = (
        "import sys, casparian_core.api;"
        "print(sorted(m for m in sys.modules if m.startswith(('casparian_core.engine',"
        " 'casparian_core.scout', 'pyarrow', 'zmq'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
