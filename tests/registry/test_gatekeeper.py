"""The gatekeeper blocks dangerous imports and calls in a bundle's Python files, with file:line
and the rule a reviewed exception names, and passes realistic parsers untouched."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from casparian_core.errors import CasparianError, ErrorCode
from casparian_core.registry.gatekeeper import (
    ALLOWABLE_RULES,
    GatekeeperBlockedError,
    GatekeeperReport,
    check_bundle,
)
from tests.conftest import REPO_ROOT


def scan(source: str, allowed: tuple[str, ...] = ()) -> GatekeeperReport:
    return check_bundle({"parser.py": textwrap.dedent(source).encode()}, allowed)


def hits(source: str) -> set[tuple[int, str]]:
    """(line, rule) of every blocked finding."""
    return {(finding.line, finding.rule) for finding in scan(source).blocked}


# (source, a (line, rule) it must report). Line 1 is the source's first line.
BLOCKED = {
    # The modules, imported in every form.
    "import socket": ("import socket", (1, "socket")),
    "import subprocess as sp": ("import subprocess as sp\nsp.run(['id'])", (2, "subprocess")),
    "from subprocess import *": ("from subprocess import *", (1, "subprocess")),
    "from subprocess import run": ("from subprocess import run as r", (1, "subprocess")),
    "import ctypes.util": ("import ctypes.util", (1, "ctypes")),
    "multiprocessing.Pool": ("from multiprocessing import Pool", (1, "multiprocessing")),
    "import pty": ("import pty", (1, "pty")),
    "urllib.request (a socket)": ("import urllib.request", (1, "socket")),
    "ProcessPoolExecutor": (
        "from concurrent.futures import ProcessPoolExecutor",
        (1, "multiprocessing"),
    ),
    "asyncio subprocess": (
        "import asyncio\nasyncio.create_subprocess_shell('id')",
        (2, "subprocess"),
    ),
    "pickle": ("import pickle", (1, "pickle")),
    "numpy allow_pickle": (
        "import numpy as np\nnp.load(path, allow_pickle=True)",
        (2, "pickle"),
    ),
    "unsafe YAML": ("import yaml\nyaml.load(text, Loader=yaml.Loader)", (2, "pickle")),
    "yaml.unsafe_load": ("from yaml import unsafe_load", (1, "pickle")),
    "marshal": ("import marshal", (1, "exec")),
    # os functions, direct and aliased.
    "os.system": ("import os\nos.system('id')", (2, "os.system")),
    "os.popen": ("import os\nos.popen('id')", (2, "os.popen")),
    "os.execv": ("import os\nos.execv('/bin/sh', ['sh'])", (2, "os.exec")),
    "os.execlpe": ("import os\nos.execlpe('sh', 'sh', {})", (2, "os.exec")),
    "os.fork": ("import os\nos.fork()", (2, "os.fork")),
    "os.forkpty": ("import os\nos.forkpty()", (2, "os.fork")),
    "os.spawnv": ("import os\nos.spawnv(os.P_WAIT, '/bin/sh', ['sh'])", (2, "os.spawn")),
    "os.posix_spawn": ("import os\nos.posix_spawn('/bin/sh', ['sh'], {})", (2, "os.spawn")),
    "os.kill": ("import os\nos.kill(os.getppid(), 9)", (2, "os.kill")),
    "posix.system": ("import posix\nposix.system('id')", (2, "os.system")),
    "import os as o": ("import os as o\no.system('id')", (2, "os.system")),
    "from os import system as s": ("from os import system as s", (1, "os.system")),
    "its later call too": ("from os import system as s\n\n\ns('id')", (4, "os.system")),
    "from os import *": ("from os import *\nsystem('id')", (2, "os.system")),
    "a reference, not a call": ("import os\nrun = os.system", (2, "os.system")),
    "os.path.os.system": ("import os.path as p\np.os.system('id')", (2, "os.system")),
    "a library's os": ("import pyarrow as pa\npa.os.system('id')", (2, "os.system")),
    "a library's os imported": ("from pyarrow import os as o\no.system('id')", (2, "os.system")),
    "a module's __builtins__ imported": (
        "from json import __builtins__ as b\nb['eval']('1')",
        (2, "eval"),
    ),
    "assigned alias": ("import os\no = os\no.system('id')", (3, "os.system")),
    "unpacked alias": ("import os, sys\na, b = sys, os\nb.system('id')", (3, "os.system")),
    "walrus alias": ("import os\nif (o := os):\n    o.system('id')", (3, "os.system")),
    "alias of an alias": ("import os\na = os\nb = a\nb.popen('id')", (4, "os.popen")),
    # A module stored in an attribute is reachable by `getattr(self, computed)`: blocked there.
    "module stored in an attribute": (
        """
        import os
        class P:
            def __init__(self):
                self.o = os
            def parse(self, ctx):
                getattr(self, 'o' + '')
        """,
        (5, "dynamic-access"),
    ),
    "module as a class attribute": ("import os\nclass P:\n    o = os", (3, "dynamic-access")),
    "import in a class body": ("class P:\n    import os", (2, "dynamic-access")),
    "walrus in a class body": ("import os\nclass P:\n    (o := os)", (3, "dynamic-access")),
    "a walrus's value carried on": (
        "import os\n[(n := os)][0].system('id')",
        (2, "dynamic-access"),
    ),
    "starred unpacking": ("import os\na, *b = os, 1\na.system('id')", (2, "dynamic-access")),
    "locals() of a function": (
        "import os\ndef f():\n    o = os\n    locals()['o'].system('id')",
        (4, "os.system"),
    ),
    "a closure's cell": ("g.__closure__[0].cell_contents.system('id')", (1, "dynamic-access")),
    # Dynamic code.
    "eval": ("eval('1 + 1')", (1, "eval")),
    "exec": ("exec('import os')", (1, "exec")),
    "compile": ("compile('x', 'f', 'exec')", (1, "compile")),
    "eval as a default": ("def f(e=eval):\n    return e('1')", (1, "eval")),
    "eval handed on": ("list(map(eval, ['1']))", (1, "eval")),
    "eval before the def that shadows it": ("eval('1')\ndef eval(x):\n    return x", (1, "eval")),
    "eval shadowed only in dead code": ("for eval in []:\n    pass\neval('1')", (3, "eval")),
    "types.FunctionType": ("import types\ntypes.FunctionType(c, {})", (2, "exec")),
    "timeit": ("from timeit import timeit\ntimeit('x')", (1, "exec")),
    # Imports by name.
    "__import__ computed": ("m = __import__('o' + 's')", (1, "dynamic-import")),
    "__import__ of a blocked module": ("__import__('subprocess')", (1, "subprocess")),
    "__import__('os').system": ("__import__('os').system('id')", (1, "os.system")),
    "import_module computed": (
        "import importlib\nname = 'os'\nimportlib.import_module(name)",
        (3, "dynamic-import"),
    ),
    "import_module literal blocked": (
        "from importlib import import_module\nimport_module('socket')",
        (2, "socket"),
    ),
    "importlib.__import__": ("import importlib\nimportlib.__import__(n)", (2, "dynamic-import")),
    "import_module handed on": (
        "import importlib\nlist(map(importlib.import_module, names))",
        (2, "dynamic-import"),
    ),
    "spec_from_file_location": (
        "import importlib.util\nimportlib.util.spec_from_file_location('m', '/tmp/m.py')",
        (2, "dynamic-import"),
    ),
    "runpy": ("import runpy", (1, "dynamic-import")),
    # getattr, builtins, namespaces.
    "getattr computed on os": ("import os\ngetattr(os, 'sys' + 'tem')", (2, "dynamic-access")),
    "getattr literal on os": ("import os\ngetattr(os, 'system')('id')", (2, "os.system")),
    "getattr through an alias": ("import os\ng = getattr\ng(os, n)", (3, "dynamic-access")),
    "getattr handed on": (
        "import functools, pyarrow\nfunctools.reduce(getattr, ['os', 'system'], pyarrow)",
        (2, "dynamic-access"),
    ),
    "__builtins__ subscript": ("__builtins__['eval']('1')", (1, "eval")),
    "__builtins__ attribute": ("__builtins__.exec('1')", (1, "exec")),
    "__builtins__ computed": ("__builtins__[name]('1')", (1, "dynamic-access")),
    "builtins.eval": ("import builtins\nbuiltins.eval('1')", (2, "eval")),
    "globals()['__builtins__']": ("globals()['__builtins__']['eval']('1')", (1, "eval")),
    "globals() computed": ("globals()[name]", (1, "dynamic-access")),
    "globals() iterated": ("for v in globals().values():\n    pass", (1, "dynamic-access")),
    "vars(os)": ("import os\nvars(os)['sys' + 'tem']('id')", (2, "dynamic-access")),
    "vars(os) literal": ("import os\nvars(os)['system']('id')", (2, "os.system")),
    "os.__dict__": ("import os\nos.__dict__[name]('id')", (2, "dynamic-access")),
    "os.__dict__.get literal": ("import os\nos.__dict__.get('system')('id')", (2, "os.system")),
    "sys.modules literal": ("import sys\nsys.modules['subprocess'].run(['id'])", (2, "subprocess")),
    "sys.modules computed": ("import sys\nsys.modules[name]", (2, "dynamic-access")),
    "sys.modules.get": ("import sys\nsys.modules.get('os').system('id')", (2, "os.system")),
    # Ways into the interpreter.
    "__subclasses__": ("object.__subclasses__()", (1, "dynamic-access")),
    "__globals__": ("parse.__globals__['os']", (1, "dynamic-access")),
    "__self__ of a builtin": ("len.__self__", (1, "dynamic-access")),
    "frame globals": ("import sys\nsys._getframe().f_globals", (2, "dynamic-access")),
    "getattr of __globals__": ("getattr(parse, '__glob' 'als__')", (1, "dynamic-access")),
    "gc.get_objects": ("import gc\ngc.get_objects()", (2, "dynamic-access")),
    "inspect.getmodule": ("import inspect\ninspect.getmodule(parse)", (2, "dynamic-access")),
    "Formatter.get_field": (
        "import string\nstring.Formatter().get_field('0.__globals__', [f], {})",
        (2, "dynamic-access"),
    ),
    "attrgetter of internals": (
        "import operator\noperator.attrgetter('__init__.__globals__')(x)",
        (2, "dynamic-access"),
    ),
    "attrgetter of os.system": (
        "from operator import attrgetter\nattrgetter('os.system')(x)('id')",
        (2, "os.system"),
    ),
    "attrgetter computed": ("import operator\noperator.attrgetter(n)(x)", (2, "dynamic-access")),
    "methodcaller": (
        "import operator\noperator.methodcaller('__subclasses__')(object)",
        (2, "dynamic-access"),
    ),
    "a loader's load_module": (
        "def f(spec):\n    spec.loader.load_module('os')",
        (2, "dynamic-import"),
    ),
    "find_spec": ("import importlib.util\nimportlib.util.find_spec(n)", (2, "dynamic-import")),
    "import machinery internals": ("import _imp", (1, "dynamic-import")),
    "a runner of code in strings": ("import pdb\npdb.Pdb().run('x')", (1, "exec")),
    "doctest": ("import doctest", (1, "exec")),
    "__loader__": ("__loader__.load_module('os')", (1, "dynamic-access")),
    # Imports from paths the parser may have written to at run time.
    "sys.path": ("import sys\nsys.path.insert(0, '/tmp/x')", (2, "dynamic-import")),
    "site.addsitedir": ("import site\nsite.addsitedir('/tmp/x')", (2, "dynamic-import")),
    # Calls by a name in a string.
    "logging.config": ("import logging.config", (1, "dynamic-import")),
    "mock.patch": ("from unittest import mock", (1, "dynamic-import")),
    # Environment variables the interpreter acts on.
    "PYTHONBREAKPOINT": (
        "import os\nos.environ['PYTHONBREAKPOINT'] = 'os.system'\nbreakpoint('id')",
        (2, "environment"),
    ),
    "environ computed key": ("import os\nos.environ[k] = v", (2, "environment")),
    "putenv": ("import os\nos.putenv('PAGER', 'sh -c id')", (2, "environment")),
    "environ.update": ("import os\nos.environ.update(PAGER='x')", (2, "environment")),
    "environ.update a mapping": ("import os\nos.environ.update(m)", (2, "environment")),
    "environ |=": ("from os import environ as e\ne |= {'MANPAGER': 'x'}", (2, "environment")),
    "environ.setdefault": (
        "import os\nenv = os.environ\nenv.setdefault('BROWSER', 'x')",
        (3, "environment"),
    ),
    "help runs the pager": ("help(len)", (1, "subprocess")),
    # Code in strings that typing evaluates.
    "a string annotation": (
        "def parse(path: \"__import__('os').system('id')\"):\n    pass",
        (1, "os.system"),
    ),
    "a string in an annotation": (
        "import typing\nx: typing.Optional['eval(1)'] = None",
        (2, "eval"),
    ),
    "an annotation without a value": ("x: eval('1')", (1, "eval")),
    "a return annotation": ("def f() -> 'exec(1)':\n    pass", (1, "exec")),
    "get_type_hints": ("import typing\ntyping.get_type_hints(f)", (2, "eval")),
    "sqlite load_extension": ("def f(conn):\n    conn.load_extension('x.so')", (2, "ctypes")),
    "numpy.ctypeslib": ("import numpy as np\nnp.ctypeslib.load_library('c', '.')", (2, "ctypes")),
    # A module handed on where the scan cannot follow it.
    "os as an argument": ("import os\nhelper(os)", (2, "dynamic-access")),
    "os in a list": ("import os\nmodules = [os]", (2, "dynamic-access")),
    "os returned": ("import os\ndef f():\n    return os", (3, "dynamic-access")),
    "os as a default": ("import os\ndef f(m=os):\n    m.system('id')", (2, "dynamic-access")),
    # Loops and event loops.
    "loop.subprocess_exec": (
        "async def f(loop):\n    await loop.subprocess_exec()",
        (2, "subprocess"),
    ),
    "ioctl": ("import fcntl, termios\nfcntl.ioctl(0, termios.TIOCSTI, b'x')", (2, "ioctl")),
}


@pytest.mark.parametrize("case", list(BLOCKED))
def test_each_form_is_blocked_with_its_line_and_rule(case: str) -> None:
    source, expected = BLOCKED[case]
    assert expected in hits(source)


def test_a_finding_names_the_file_the_line_what_and_why() -> None:
    report = check_bundle(
        {"pkg/helpers.py": b"import json\n\nimport subprocess as sp\n", "pkg/main.py": b""}, ()
    )
    [finding] = report.blocked
    assert (finding.path, finding.line, finding.rule) == ("pkg/helpers.py", 3, "subprocess")
    assert finding.what == "import subprocess as sp"
    assert "starts other programs" in finding.why
    assert report.allowed == []


def test_a_resolved_alias_shows_what_it_is() -> None:
    [finding] = scan("import os as o\no.system('id')\n").blocked
    assert finding.what == "o.system (os.system)"


def test_an_allowed_rule_moves_its_findings_to_allowed() -> None:
    report = scan(
        """
        import os
        import subprocess
        subprocess.run(["id"])
        os.system("id")
        """,
        allowed=("subprocess",),
    )
    assert {(f.line, f.rule) for f in report.allowed} == {(3, "subprocess"), (4, "subprocess")}
    assert [(f.line, f.rule) for f in report.blocked] == [(5, "os.system")]
    assert not report.ok


def test_everything_allowed_passes() -> None:
    report = scan("import socket\nsocket.socket()\n", allowed=("socket",))
    assert report.ok and len(report.allowed) == 2


def test_an_unknown_allow_entry_is_blocked_at_its_line_in_pyproject() -> None:
    pyproject = b'[project]\nname = "p"\n\n[tool.casparian]\nallow = ["subproces"]\n'
    report = check_bundle({"pyproject.toml": pyproject, "p.py": b"import json\n"}, ["subproces"])
    [finding] = report.blocked
    assert (finding.path, finding.line, finding.rule) == ("pyproject.toml", 5, "unknown-allow")
    assert "subprocess" in finding.why  # the known rules are listed


@pytest.mark.parametrize(
    ("data", "line", "says"),
    [
        (b"x = 1\ndef f(:\n", 2, "syntax error"),
        (b"x = 1\ny = '\xff'\n", 2, "not UTF-8"),
        (b"# -*- coding: latin-1 -*-\nx = 1\n", 1, "only UTF-8"),
        (b"#!/usr/bin/env python\n# coding: utf-7\nx = 1 # +AAo-import os\n", 2, "only UTF-8"),
        (b"# coding: no-such-codec\n", 1, "no-such-codec"),
        (b"x = 1\ny = 2\x00\n", 2, "null bytes"),
    ],
)
def test_a_file_that_cannot_be_scanned_is_blocked_and_cannot_be_allowed(
    data: bytes, line: int, says: str
) -> None:
    report = check_bundle({"p.py": data}, ["unparseable"])
    [finding, refused] = report.blocked
    assert (finding.path, finding.line, finding.rule) == ("p.py", line, "unparseable")
    assert says in finding.why
    assert (refused.path, refused.rule) == ("pyproject.toml", "unknown-allow")
    assert "unparseable" not in ALLOWABLE_RULES


def test_a_bom_and_an_explicit_utf8_declaration_are_fine() -> None:
    assert check_bundle({"a.py": b"\xef\xbb\xbfimport json\n"}, ()).ok
    assert check_bundle({"b.py": b"# -*- coding: utf-8 -*-\nname = '\xc3\xa9'\n"}, ()).ok


def test_only_python_files_are_scanned() -> None:
    files = {"notes.json": b"import subprocess", "p.yaml": b"\xff", "uv.lock": b"os.system"}
    assert check_bundle(files, ()).ok


def test_the_bundles_own_modules_are_followed() -> None:
    files = {
        "helpers.py": b"import os as _o\ntools = _o\n",
        "pkg/__init__.py": b"",
        "pkg/util.py": b"from helpers import tools\nalias = tools\n",
        "pkg/main.py": b"from .util import alias\nalias.system('id')\nfrom . import util\n",
    }
    report = check_bundle(files, ())
    assert [(f.path, f.line, f.rule) for f in report.blocked] == [("pkg/main.py", 2, "os.system")]


CLEAN = {
    "os.path and the environment": """
        import os
        import os.path
        from os import path as osp
        base = os.path.join(os.environ.get("DATA", "."), "x")
        home = os.getenv("HOME")
        size = os.path.getsize(base) if os.path.exists(base) else 0
        stat = os.stat(base)
        osp.basename(base)
        for root, dirs, files in os.walk(base):
            pass
        sep = os.sep
        os.makedirs("/tmp/out", exist_ok=True)
        """,
    "re.compile is not compile": """
        import re
        from re import compile as rc
        PATTERN = re.compile(r"^\\d+$")
        other = rc("x")
        def compile(rules):
            return [re.compile(rule) for rule in rules]
        compiled = compile(["a"])
        """,
    "pandas, pyarrow, csv, json, datetime, pathlib": """
        import csv, io, json, datetime as dt, decimal, logging, typing
        from pathlib import Path
        from typing import ClassVar
        import pandas as pd
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pacsv
        log = logging.getLogger(__name__)
        class P:
            name = "p"
            outputs: ClassVar[dict] = {"o": {"a": "int64"}}
            def parse(self, ctx):
                df = pd.read_csv(ctx.path, dtype=str)
                df = df.dropna()
                df["when"] = pd.to_datetime(df["when"], format="%Y-%m-%d")
                df.eval("a + b")
                table = pa.Table.from_pandas(df)
                table = table.filter(pc.greater(table["a"], 0))
                with open(ctx.path, encoding="utf-8") as handle:
                    for row in csv.DictReader(handle):
                        json.loads(row["payload"])
                yield "o", getattr(row, "field", None)
                yield "o", getattr(pa, "int64")()
                yield "o", Path(ctx.path).read_text()
                log.info("done %s", dt.datetime.now(dt.timezone.utc))
        """,
    "getattr on plain objects, dunder names of classes": """
        def parse(path):
            row = {}
            for field in ("a", "b"):
                value = getattr(row, field, None)
                setattr(row, field, value)
            kind = type(row).__name__
            names = vars(row)
            return [dict(zip(names, names.values()))]
        """,
    "platform.system and breakpoint": """
        import platform, sys
        windows = platform.system() == "Windows"
        print("x", file=sys.stderr)
        sys.exit(0) if False else None
        breakpoint
        """,
    "operator helpers": """
        import operator
        rows = sorted([], key=operator.attrgetter("ts", "host.name"))
        totals = list(map(operator.methodcaller("strip"), ["a "]))
        first = operator.itemgetter(0)
        """,
    "numpy and safe YAML": """
        import numpy as np
        import yaml
        data = np.load(path, allow_pickle=False)
        other = np.load(path)
        config = yaml.safe_load(text)
        same = yaml.load(text, Loader=yaml.SafeLoader)
        """,
    "ast.literal_eval": """
        import ast
        value = ast.literal_eval("[1, 2]")
        """,
    "annotations, string ones and Literal values": """
        from __future__ import annotations
        from typing import Literal, Optional
        import pyarrow as pa
        def parse(path: "str", mode: Literal["eval", "exec"] = "eval") -> Optional["pa.Table"]:
            rows: list["dict[str, int]"] = []
            return None
        """,
    "the environment read, and a harmless variable set": """
        import os
        tz = os.environ.get("TZ", "UTC")
        os.environ["TZ"] = "UTC"
        os.environ.setdefault("LANG", "C.UTF-8")
        debug = "DEBUG" in os.environ
        """,
}


@pytest.mark.parametrize("case", list(CLEAN))
def test_realistic_code_has_no_findings(case: str) -> None:
    report = scan(CLEAN[case])
    assert report.blocked == [] and report.allowed == []


def test_the_repos_example_parsers_pass_as_one_bundle() -> None:
    files = {path.name: path.read_bytes() for path in (REPO_ROOT / "parsers").glob("*.py")}
    assert len(files) >= 4
    report = check_bundle(files, ())
    assert report.blocked == [] and report.allowed == []


def test_the_blocked_error_lists_each_finding_and_how_to_allow() -> None:
    report = scan("import subprocess\nimport os\nos.system('id')\n")
    error = GatekeeperBlockedError(report)
    assert isinstance(error, CasparianError)
    assert error.error_code is ErrorCode.GATEKEEPER_BLOCKED
    assert error.exit_code == CasparianError.exit_code
    message = str(error)
    assert "  parser.py:1  import subprocess — starts other programs" in message
    assert "  parser.py:3  os.system — runs a shell command" in message
    assert 'allow = ["os.system", "subprocess"]' in message
    assert "[tool.casparian]" in message and "casparian parser show" in message
    assert error.report is report


def test_a_file_to_fix_is_not_offered_as_an_allowance() -> None:
    message = str(GatekeeperBlockedError(check_bundle({"p.py": b"def f(:\n"}, ())))
    assert "allow = [" not in message
    assert "must be fixed" in message


def test_a_package_importing_parts_missing_from_the_bundle_is_scanned_quickly() -> None:
    # Star imports of the package's own missing modules (a compiled one) once re-entered the
    # package without end: 5 of them made a 460-line __init__ exhaust the step budget.
    stars = "".join(f"from .missing_{n} import *\n" for n in range(6))
    uses = "".join(
        f"from .missing_{n} import name_{n}\nvalue_{n} = name_{n}.attr\n" for n in range(6)
    )
    files = {"pkg/__init__.py": (stars + uses + "x = unknown.deep.chain\n").encode()}
    report = check_bundle(files, ())
    assert report.blocked == []


def test_a_web_of_aliases_is_followed_or_refused_never_passed(tmp_path: Path) -> None:
    chain = "\n".join(f"a{i} = a{i - 1}" for i in range(1, 300))
    source = f"import os\na0 = os\n{chain}\na299.system('id')\n"
    assert (302, "os.system") in hits(source)
    tangled = "import os\n" + "\n".join(
        f"x{i} = x{(i + 1) % 50} or x{(i + 7) % 50} or os" for i in range(50)
    )
    report = scan(tangled + "\nx3.system('id')\n")
    assert {f.rule for f in report.blocked} & {"os.system", "unparseable"}
