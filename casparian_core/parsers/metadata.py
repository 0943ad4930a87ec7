"""Reading a parser file's metadata with `ast`, without executing it.

A parser is Level 1 (a module-level `def parse(path)`) or Level 2 (a class whose `parse(self,
ctx)` yields `(output_name, data)`). `name`, `version`, `topics` and `outputs` are literals at
module level or, for Level 2, in the class (the class wins).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from casparian_core.contracts.errors import ContractError
from casparian_core.contracts.model import OutputSpec, parse_outputs
from casparian_core.errors import CasparianError, ErrorCode

METADATA_FIELDS = ("name", "version", "topics", "outputs", "timeout_secs")
DEFAULT_VERSION = "0.0.0"
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9_]")


class ParserLoadError(CasparianError):
    """A parser file cannot be used: unreadable, a syntax error, no parse, or bad metadata."""

    error_code = ErrorCode.PARSER_LOAD_ERROR


@dataclass(frozen=True)
class ParserInfo:
    path: Path
    name: str
    version: str
    topics: tuple[str, ...]
    raw_outputs: object  # the `outputs` literal as written, None when absent
    outputs: dict[str, OutputSpec] | None  # the contract; None means "infer from the data"
    level: int  # 1: def parse(path); 2: class with parse(self, ctx)
    class_name: str | None  # the Level 2 class
    timeout_secs: int | None = None  # its wall-clock limit per input; None: the setting's

    @property
    def declared_outputs(self) -> list[str]:
        """Outputs known before running: the contract's, or a Level 1 parser's single one.
        (A Level 2 parser without `outputs` names its outputs only as it yields them.)"""
        if self.outputs:
            return list(self.outputs)
        return [self.default_output] if self.level == 1 else []

    @property
    def default_output(self) -> str:
        """The output a Level 1 parser's data goes to: its declared one, else its name."""
        if self.outputs:
            return next(iter(self.outputs))
        return _UNSAFE_NAME_CHARS.sub("_", self.name)


def read_parser_info(path: Path) -> ParserInfo:
    """The metadata of the parser file at `path`; raises ParserLoadError or ContractError."""
    tree = _parse_file(path)
    parse_function = _module_parse_function(tree)
    parser_class = None if parse_function else _parser_class(tree, path)
    if parse_function is None and parser_class is None:
        raise ParserLoadError(
            f"{path}: no parser found; define a function `def parse(path):` or a class with a "
            "method `def parse(self, ctx):`"
        )
    literals = _literals(tree.body, path)
    if parser_class is not None:
        literals.update(_literals(parser_class.body, path))
    name = _typed(literals, "name", str, path) or path.stem
    version = _typed(literals, "version", str, path) or DEFAULT_VERSION
    topics = _topics(literals.get("topics"), path)
    timeout_secs = _timeout(literals.get("timeout_secs"), path)
    raw_outputs = literals.get("outputs", (None, 0))[0]
    outputs = None if raw_outputs is None else parse_outputs(raw_outputs, source=str(path))
    if parser_class is None and outputs is not None and len(outputs) > 1:
        raise ContractError(
            f"{path}: a `def parse(path)` parser has one output but `outputs` declares "
            f"{len(outputs)}; declare one, or write a class whose parse yields "
            "(output_name, data)"
        )
    return ParserInfo(
        path=path,
        name=name,
        version=version,
        topics=topics,
        raw_outputs=raw_outputs,
        outputs=outputs,
        level=1 if parser_class is None else 2,
        class_name=None if parser_class is None else parser_class.name,
        timeout_secs=timeout_secs,
    )


def _parse_file(path: Path) -> ast.Module:
    try:
        source = path.read_bytes()
    except OSError as exc:
        raise ParserLoadError(f"{path}: cannot read the parser ({exc.strerror})") from None
    try:
        return ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        if exc.lineno is None:  # e.g. null bytes: not Python source at all
            raise ParserLoadError(f"{path}: not a Python source file ({exc.msg})") from None
        raise ParserLoadError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None


def _module_parse_function(tree: ast.Module) -> ast.FunctionDef | None:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "parse":
            return node
    return None


def _parser_class(tree: ast.Module, path: Path) -> ast.ClassDef | None:
    candidates = [
        node
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        and any(
            isinstance(item, ast.FunctionDef) and item.name == "parse" and len(item.args.args) == 2
            for item in node.body
        )
    ]
    if len(candidates) > 1:
        names = ", ".join(node.name for node in candidates)
        raise ParserLoadError(
            f"{path}: several classes have a parse(self, ctx) method ({names}); keep one "
            "parser class per file"
        )
    return candidates[0] if candidates else None


def _literals(body: list[ast.stmt], path: Path) -> dict[str, tuple[Any, int]]:
    """Metadata assignments in `body` as {field: (value, line)}."""
    found: dict[str, tuple[Any, int]] = {}
    for node in body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if not (isinstance(target, ast.Name) and target.id in METADATA_FIELDS):
            continue
        try:
            found[target.id] = (ast.literal_eval(value), node.lineno)
        except ValueError:
            raise ParserLoadError(
                f"{path}:{node.lineno}: `{target.id}` must be a literal (strings, numbers, "
                "lists and dicts written out), because it is read without running the file"
            ) from None
    return found


def _typed(literals: dict[str, tuple[Any, int]], field: str, kind: type, path: Path) -> Any:
    if field not in literals:
        return None
    value, line = literals[field]
    if not isinstance(value, kind) or not value:
        raise ParserLoadError(
            f"{path}:{line}: `{field}` must be a non-empty {kind.__name__}, got {value!r}"
        )
    return value


def _topics(entry: tuple[Any, int] | None, path: Path) -> tuple[str, ...]:
    if entry is None:
        return ()
    value, line = entry
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(topic, str) and topic for topic in value
    ):
        raise ParserLoadError(
            f"{path}:{line}: `topics` must be a list of non-empty strings, got {value!r}"
        )
    return tuple(value)


def _timeout(entry: tuple[Any, int] | None, path: Path) -> int | None:
    if entry is None:
        return None
    value, line = entry
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ParserLoadError(
            f"{path}:{line}: `timeout_secs` must be a positive whole number of seconds, "
            f"got {value!r}"
        )
    return value
