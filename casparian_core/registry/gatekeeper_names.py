"""What a name in parser source may denote, found without running it.

The binder records, per scope (module, class, function, comprehension), every binding of every
name: an import, a plain assignment (`o = os`, `a, b = os, sys`), a walrus, or an unknown value
(a parameter, a loop variable). The resolver then answers "what may this
expression be?" as a set of dotted names (`os.system`, `builtins.eval`) as Python would look it
up: local, enclosing, global, `from m import *`, builtins; through attributes (`os.path.os` is
`os`), literal keys (`sys.modules["os"]`, `globals()["__builtins__"]`, `vars(os)["system"]`),
literal `getattr`, `__import__` and `importlib.import_module`, and the bundle's own modules.

Bindings are flow-insensitive (every binding of a name counts wherever it is used), except
that a global shadows a builtin or a star import only after an unconditional top-level
binding: `eval(...)` above `def eval` still calls the builtin.
"""

from __future__ import annotations

import ast
import builtins
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum, auto

from casparian_core.registry import gatekeeper_rules as rules

BUILTIN_NAMES = frozenset(dir(builtins))
GLOBALS = "<globals>"  # what globals(), locals() and vars() return: the module's namespace
RESOLVE_BUDGET = 500_000  # resolution steps per bundle; source tangled beyond it is refused
EVERYWHERE = 1 << 62  # a use "after every line": how another module sees a global


class TooTangledError(Exception):
    """Resolving the names took more steps than any real parser needs (crafted alias webs)."""


@dataclass(frozen=True)
class Ref:
    """What an expression may be: a dotted name as its defining module spells it."""

    name: str
    module: bool = False  # known to be a module object
    inferred: bool = False  # guessed from an attribute name on an object the scan does not know

    @property
    def namespace(self) -> bool:
        """A mapping of names to objects: sys.modules, a module's __dict__, globals()."""
        return self.name in (GLOBALS, "sys.modules") or self.name.endswith(".__dict__")

    def attribute(self, attr: str) -> Ref:
        bare = attr.strip("_")
        if bare in rules.MODULE_ATTRIBUTES:
            return Ref(bare, module=True, inferred=self.inferred)
        if attr == "__dict__" and self.module:
            return Ref(f"{self.name}.__dict__", inferred=self.inferred)
        return Ref(f"{self.name}.{attr}", is_module(f"{self.name}.{attr}"), self.inferred)

    def key(self, key: str) -> Ref | None:
        """What `self[key]` is, for a literal key; None when unknown."""
        if self.name == "sys.modules":
            return Ref(key, module=True, inferred=self.inferred)
        if self.name.endswith(".__dict__"):
            owner = self.name.removesuffix(".__dict__")
            return Ref(owner, module=True, inferred=self.inferred).attribute(key)
        if self.module:  # `__builtins__` is the builtins module's dict outside __main__
            return self.attribute(key)
        return None


def is_module(name: str) -> bool:
    return name in rules.CAPABLE_MODULES or name in rules.MODULES


def imported(source: str, name: str) -> Ref:
    """What `from source import name` binds: `from pyarrow import os` is os."""
    if not source:
        return Ref(name, is_module(name))
    return Ref(source, module=True).attribute(name)


def literal_text(node: ast.expr | None) -> str | None:
    """The text of a string literal (an f-string without placeholders counts), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = [literal_text(value) for value in node.values]
        if all(part is not None for part in parts):
            return "".join(part for part in parts if part is not None)
    return None


class ScopeKind(Enum):
    MODULE = auto()
    CLASS = auto()
    FUNCTION = auto()
    COMPREHENSION = auto()


@dataclass
class Scope:
    kind: ScopeKind
    parent: Scope | None
    bindings: dict[str, list[Binding]] = field(default_factory=lambda: defaultdict(list))
    declared_global: set[str] = field(default_factory=set)
    declared_nonlocal: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    star_modules: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Binding:
    line: int
    value: ast.expr | Ref | None  # an expression evaluated in `scope`, a known ref, or unknown
    scope: Scope
    firm: bool  # an unconditional top-level statement of the module: it shadows builtins


class Binder(ast.NodeVisitor):
    """One walk over a module recording its scopes, bindings and each node's scope."""

    def __init__(self, package: str) -> None:
        self.package = package  # for relative imports
        self.module = Scope(ScopeKind.MODULE, None)
        self.scope = self.module
        self.scope_of: dict[ast.AST, Scope] = {}
        self.scopes = [self.module]
        self._top_level: set[int] = set()
        self._line = 0
        self._firm = False

    def visit(self, node: ast.AST) -> None:
        self.scope_of[node] = self.scope
        if isinstance(node, ast.stmt):
            self._line, self._firm = node.lineno, id(node) in self._top_level
        super().visit(node)

    @contextmanager
    def _inside(self, kind: ScopeKind) -> Iterator[Scope]:
        outer, self.scope = self.scope, Scope(kind, self.scope)
        self.scopes.append(self.scope)
        try:
            yield self.scope
        finally:
            self.scope = outer

    def _binding_scope(self, name: str, scope: Scope) -> Scope:
        if name in scope.declared_global:
            return self.module
        if name in scope.declared_nonlocal:
            enclosing = scope.parent
            while enclosing is not None and enclosing.kind is not ScopeKind.MODULE:
                if enclosing.kind is ScopeKind.FUNCTION and name in enclosing.bindings:
                    return enclosing
                enclosing = enclosing.parent
        return scope

    def bind(
        self,
        name: str,
        value: ast.expr | Ref | None,
        scope: Scope | None = None,
        statement: bool = False,
    ) -> None:
        """Record a binding; `statement`: made by the statement itself (an import, a def, an
        assignment), so it surely happened once that statement ran."""
        where = self._binding_scope(name, scope or self.scope)
        firm = statement and self._firm and where is self.module
        where.bindings[name].append(Binding(self._line, value, self.scope, firm))

    def bind_target(self, target: ast.expr, value: ast.expr | None, statement: bool) -> None:
        # An attribute target is not followed: the checker blocks a module stored there.
        if isinstance(target, ast.Name):
            self.bind(target.id, value, statement=statement)
        elif isinstance(target, ast.Tuple | ast.List):
            values = paired_values(target, value)
            for element, element_value in zip(target.elts, values, strict=True):
                self.bind_target(element, element_value, statement)
        elif isinstance(target, ast.Starred):
            self.bind_target(target.value, None, statement=False)

    # Statements that bind names.
    def visit_Module(self, node: ast.Module) -> None:
        self._top_level = {id(statement) for statement in node.body}
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.bind(alias.asname, Ref(alias.name, module=True), statement=True)
            else:
                top = alias.name.partition(".")[0]
                self.bind(top, Ref(top, module=True), statement=True)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        source = self.absolute(node)
        for alias in node.names:
            if alias.name == "*":
                self.scope.star_modules.append(source)
            else:
                ref = imported(source, alias.name)
                self.bind(alias.asname or alias.name, ref, statement=True)

    def absolute(self, node: ast.ImportFrom) -> str:
        """The module an import names, relative ones (`from .helpers import x`) made absolute."""
        if not node.level:
            return node.module or ""
        parts = self.package.split(".") if self.package else []
        base = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
        return ".".join([*base, *([node.module] if node.module else [])])

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.bind_target(target, node.value, statement=True)
            self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.generic_visit(node)
        self.bind_target(node.target, node.value, statement=node.value is not None)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.generic_visit(node)
        self.bind_target(node.target, None, statement=False)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.generic_visit(node)
        self.bind(node.target.id, node.value, walrus_scope(self.scope))

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.bind_target(node.target, None, statement=False)
        self.generic_visit(node)

    visit_AsyncFor = visit_For

    def visit_withitem(self, node: ast.withitem) -> None:
        if node.optional_vars is not None:
            self.bind_target(node.optional_vars, None, statement=False)
        self.generic_visit(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.bind(node.name, None)
        self.generic_visit(node)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name:
            self.bind(node.name, None)
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self.bind(node.name, None)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self.bind(node.rest, None)
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        self.scope.declared_global.update(node.names)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.scope.declared_nonlocal.update(node.names)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name):
                self._binding_scope(target.id, self.scope).deleted.add(target.id)
        self.generic_visit(node)

    # Scopes.
    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for outer in (*node.decorator_list, node.args, node.returns):
            if outer is not None:
                self.visit(outer)  # defaults and annotations belong to the enclosing scope
        self.bind(node.name, None, statement=True)
        with self._inside(ScopeKind.FUNCTION):
            self.bind_parameters(node.args)
            for statement in node.body:
                self.visit(statement)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_arguments(self, node: ast.arguments) -> None:
        # Only defaults and annotations are visited here, in the enclosing scope.
        for value in (*node.defaults, *node.kw_defaults):
            if value is not None:
                self.visit(value)
        for arg in (*node.posonlyargs, *node.args, *node.kwonlyargs, node.vararg, node.kwarg):
            if arg is not None:
                self.visit(arg)

    def bind_parameters(self, arguments: ast.arguments) -> None:
        every = (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)
        for arg in (*every, arguments.vararg, arguments.kwarg):
            if arg is not None:
                self.bind(arg.arg, None)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.visit(node.args)
        with self._inside(ScopeKind.FUNCTION):
            self.bind_parameters(node.args)
            self.visit(node.body)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for outer in (*node.decorator_list, *node.bases, *node.keywords):
            self.visit(outer)
        self.bind(node.name, None, statement=True)
        with self._inside(ScopeKind.CLASS):
            for statement in node.body:
                self.visit(statement)

    def visit_comprehension_scope(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
    ) -> None:
        first = node.generators[0]
        self.visit(first.iter)  # evaluated in the enclosing scope
        with self._inside(ScopeKind.COMPREHENSION):
            for generator in node.generators:
                self.bind_target(generator.target, None, statement=False)
                self.visit(generator.target)
                if generator is not first:
                    self.visit(generator.iter)
                for condition in generator.ifs:
                    self.visit(condition)
            elements = (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,)
            for element in elements:
                self.visit(element)

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = visit_comprehension_scope


def walrus_scope(scope: Scope) -> Scope:
    """Where `name := value` binds: the scope around any comprehensions it is in."""
    while scope.kind is ScopeKind.COMPREHENSION and scope.parent is not None:
        scope = scope.parent
    return scope


def paired_values(target: ast.Tuple | ast.List, value: ast.expr | None) -> list[ast.expr | None]:
    """The value each element of an unpacking target gets, when the value is a literal tuple or
    list of the same shape (`a, b = os, sys`); unknown otherwise."""
    if (
        isinstance(value, ast.Tuple | ast.List)
        and len(value.elts) == len(target.elts)
        and not any(isinstance(element, ast.Starred) for element in (*value.elts, *target.elts))
    ):
        return list(value.elts)
    return [None] * len(target.elts)
