"""The gatekeeper: an AST scan of every Python file of a parser bundle that blocks registration
on dangerous imports and calls (DESIGN §5-§6, issue 15 §3). Never a warning: a finding blocks
unless the parser's `pyproject.toml` allows its rule as a reviewed exception
(`[tool.casparian] allow = ["subprocess"]`), which the registry records in the artifact.

The scan stops what source code says; the guest's isolation (scrubbed environment, process
group, resource limits, Landlock; docs/confinement.md) stays the line at run time.
docs/gatekeeper.md lists the rules and the bypasses considered.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from casparian_core.errors import CasparianError, ErrorCode
from casparian_core.registry.gatekeeper_rules import ALLOWABLE_RULES, RULES
from casparian_core.registry.gatekeeper_scan import Finding, ParsedModule, parsed_module, scan
from casparian_core.units import plural

__all__ = [
    "ALLOWABLE_RULES",
    "Finding",
    "GatekeeperBlockedError",
    "GatekeeperReport",
    "check_bundle",
]

PYTHON_SUFFIXES = (".py", ".pyw")
PYPROJECT = "pyproject.toml"


@dataclass(frozen=True)
class GatekeeperReport:
    blocked: list[Finding]  # what stops registration
    allowed: list[Finding]  # what the parser's `allow` list permits, to record and show

    @property
    def ok(self) -> bool:
        return not self.blocked


class GatekeeperBlockedError(CasparianError):
    """A parser's source uses what the gatekeeper blocks; the message lists each finding."""

    error_code = ErrorCode.GATEKEEPER_BLOCKED

    def __init__(self, report: GatekeeperReport) -> None:
        self.report = report
        super().__init__(blocked_message(report.blocked))


def check_bundle(files: Mapping[str, bytes], allowed: Collection[str]) -> GatekeeperReport:
    """Scans the bundle's Python files (path within the bundle -> content; other files are
    ignored) and splits the findings by the parser's reviewed exceptions, `allowed`."""
    findings = unknown_allowances(files.get(PYPROJECT, b""), allowed)
    modules: list[ParsedModule] = []
    for path in sorted(files):
        if path.lower().endswith(PYTHON_SUFFIXES):
            read = read_module(path, files[path])
            if isinstance(read, Finding):
                findings.append(read)
            else:
                modules.append(read)
    findings += scan(modules)
    findings.sort(key=lambda f: (f.path, f.line, f.rule, f.what))
    permitted = [f for f in findings if f.rule in allowed and RULES[f.rule].allowable]
    return GatekeeperReport([f for f in findings if f not in permitted], permitted)


def read_module(path: str, data: bytes) -> ParsedModule | Finding:
    """The parsed module, or why it cannot be scanned (it must be UTF-8 and valid Python)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:  # an unknown encoding in the coding cookie
        return unparseable(path, error.lineno or 1, "coding declaration", str(error.msg))
    if encoding not in ("utf-8", "utf-8-sig"):
        # Python would decode it otherwise than we read it (`# coding: utf-7` hides code).
        line = 1 if data.startswith(b"#") and b"coding" in data.split(b"\n", 1)[0] else 2
        return unparseable(path, line, f"# coding: {encoding}", "only UTF-8 source is accepted")
    try:
        source = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        byte = data[error.start : error.start + 1].hex()
        return unparseable(path, line, f"byte 0x{byte}", "not UTF-8; save the file as UTF-8")
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as error:
        line = error.lineno or line_of_byte(data, b"\0")  # a null byte has no line of its own
        return unparseable(path, line, error.text or "", f"syntax error: {error.msg}")
    except (ValueError, RecursionError, MemoryError) as error:  # null bytes, deep nesting
        line = line_of_byte(data, b"\0")
        return unparseable(path, line, "source", f"Python cannot parse it: {error}")
    return parsed_module(path, source, tree)


def line_of_byte(data: bytes, byte: bytes) -> int:
    """The line of the first `byte` in `data` (1 when absent)."""
    return data[: max(data.find(byte), 0)].count(b"\n") + 1


def unparseable(path: str, line: int, what: str, why: str) -> Finding:
    return Finding(path, line, " ".join(what.split())[:80], why, "unparseable")


def unknown_allowances(pyproject: bytes, allowed: Collection[str]) -> list[Finding]:
    """A finding for each `allow` entry that names no rule: a typo must not pass silently."""
    lines = pyproject.decode("utf-8", "replace").splitlines()
    findings = []
    for key in sorted(set(allowed) - ALLOWABLE_RULES):
        quoted = (f'"{key}"', f"'{key}'")
        line = next((n for n, text in enumerate(lines, 1) if any(q in text for q in quoted)), 1)
        why = f"no gatekeeper rule is called that; the rules: {', '.join(sorted(ALLOWABLE_RULES))}"
        findings.append(Finding(PYPROJECT, line, f'allow "{key}"', why, "unknown-allow"))
    return findings


def blocked_message(blocked: list[Finding]) -> str:
    lines = [f"The gatekeeper blocked this parser ({plural(len(blocked), 'finding')}):"]
    lines += [f"  {f.path}:{f.line}  {f.what} — {f.why} [{f.rule}]" for f in blocked]
    allowable = sorted({f.rule for f in blocked if RULES[f.rule].allowable})
    if allowable:
        keys = ", ".join(f'"{rule}"' for rule in allowable)
        lines += [
            "Remove these uses. If you have reviewed one and the parser needs it, allow its rule "
            f"in the parser's {PYPROJECT}:",
            "  [tool.casparian]",
            f"  allow = [{keys}]",
            "An allowance is recorded in the registered artifact and shown by "
            "`casparian parser show`.",
        ]
    if len(allowable) < len({f.rule for f in blocked}):
        lines.append("A file that cannot be scanned, or an unknown allow entry, must be fixed.")
    return "\n".join(lines)
