"""The gatekeeper's scan of a bundle's parsed modules: every reference that may denote something
a rule blocks, and every use the scan cannot follow, as findings with file and line.

References are resolved by gatekeeper_names. What the resolver cannot follow is blocked where
it starts rather than guessed at later: a computed attribute name on a module, a namespace
(`sys.modules`, `globals()`, `vars(os)`) used other than with a literal key, a module or an
introspection function (`getattr`, `__import__`) handed on as a value (an argument, an item, a
return value), and attributes that lead into the interpreter (`__globals__`, `__subclasses__`).
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import Enum, auto
from functools import partial

from casparian_core.registry import gatekeeper_rules as rules
from casparian_core.registry.gatekeeper_names import (
    BUILTIN_NAMES,
    EVERYWHERE,
    GLOBALS,
    RESOLVE_BUDGET,
    Binder,
    Binding,
    Ref,
    Scope,
    ScopeKind,
    TooTangledError,
    imported,
    literal_text,
    paired_values,
    walrus_scope,
)

WHAT_WIDTH = 80
MAX_ANNOTATION_DEPTH = 3  # a string annotation holding a string annotation holding ...
# A name more deeply dotted than this is dropped from an answer: a chain of attributes through
# objects the scan does not know leads nowhere it checks (`x = x.parent` in a loop).
MAX_DOTS = 12


@dataclass(frozen=True)
class Finding:
    path: str  # within the bundle
    line: int
    what: str  # the source, as written (and what it resolves to, when that differs)
    why: str
    rule: str  # the key that `[tool.casparian] allow` takes to permit it


@dataclass
class ParsedModule:
    path: str
    names: tuple[str, ...]  # the dotted names it can be imported as
    source: str
    tree: ast.Module


Key = tuple[int, str]  # (id of a scope, a name bound in it)


class Fixpoint:
    """What every name of the bundle may be, solved together before any check: a worklist
    re-evaluates a name's bindings whenever a name they read gets a new answer, until nothing
    changes (`x = x.parent`, `a = b; b = a` and alias chains in any order all settle).

    Answers only grow, and names dotted deeper than MAX_DOTS are dropped, so it ends; the budget
    refuses crafted webs that would take long.
    """

    def __init__(self) -> None:
        self.answers: dict[Key, frozenset[Ref]] = {}
        self._readers: dict[Key, set[Key]] = {}
        self._solving: Key | None = None

    def read(self, key: Key) -> frozenset[Ref]:
        if self._solving is not None:
            self._readers.setdefault(key, set()).add(self._solving)
        return self.answers.get(key, frozenset())

    def solve(self, computations: dict[Key, Callable[[], frozenset[Ref]]], budget: Budget) -> None:
        queue = deque(computations)
        queued = set(queue)
        while queue:
            key = queue.popleft()
            queued.discard(key)
            budget.spend()
            self._solving = key
            try:
                answer = computations[key]() | self.answers.get(key, frozenset())
            finally:
                self._solving = None
            if answer != self.answers.get(key, frozenset()):
                self.answers[key] = answer
                for reader in self._readers.get(key, ()):
                    if reader not in queued:
                        queue.append(reader)
                        queued.add(reader)


class Budget:
    def __init__(self, steps: int) -> None:
        self.left = steps

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise TooTangledError


class Resolver:
    """What expressions of one module may denote (see gatekeeper_names)."""

    def __init__(self, module: ParsedModule, bundle: Bundle) -> None:
        self.bundle = bundle
        dotted = module.names[0]
        package = dotted if module.path.endswith("__init__.py") else dotted.rpartition(".")[0]
        self.binder = Binder(package)
        self.binder.visit(module.tree)

    def scope_of(self, node: ast.AST) -> Scope:
        return self.binder.scope_of[node]

    def resolve(self, node: ast.expr) -> frozenset[Ref]:
        self.bundle.budget.spend()
        scope = self.scope_of(node)
        if isinstance(node, ast.Name):
            return self.lookup(node.id, scope, node.lineno)
        if isinstance(node, ast.Attribute):
            return self.attribute(self.resolve(node.value), node.attr)
        if isinstance(node, ast.Subscript):
            key = literal_text(node.slice)
            return self.keyed(self.resolve(node.value), key) if key is not None else frozenset()
        if isinstance(node, ast.Call):
            return self.call_result(node)
        if isinstance(node, ast.NamedExpr):
            return self.resolve(node.value)
        if isinstance(node, ast.IfExp):
            return self.resolve(node.body) | self.resolve(node.orelse)
        if isinstance(node, ast.BoolOp):
            return frozenset().union(*(self.resolve(value) for value in node.values))
        return frozenset()

    def lookup(self, name: str, scope: Scope, line: int) -> frozenset[Ref]:
        """As Python looks a name up from `scope`: a function's locals are final; a class body
        falls back outward; enclosing class bodies are skipped."""
        found: frozenset[Ref] = frozenset()
        current: Scope | None = scope
        while current is not None:
            if name in current.declared_global:
                break
            skipped = current.kind is ScopeKind.CLASS and current is not scope
            if current.kind is ScopeKind.MODULE:
                break
            if not skipped and name in current.bindings:
                found |= self.values((id(current), name))
                if current.kind is not ScopeKind.CLASS:
                    return found
            current = current.parent
        return found | self.global_refs(name, line, with_builtins=True)

    def global_refs(self, name: str, line: int, with_builtins: bool) -> frozenset[Ref]:
        module = self.binder.module
        bindings = module.bindings.get(name, [])
        found = self.values((id(module), name))
        shadowed = name not in module.deleted and any(b.firm and b.line < line for b in bindings)
        if shadowed:
            return found
        for star in module.star_modules:
            # A part of the parser's own package missing from the bundle (`from .compiled
            # import *`, a native module) is unknown: nothing to follow, and nothing blocked.
            if not self.bundle.missing_part(star):
                found |= self.bundle.expand(Ref(f"{star}.{name}"))
        if with_builtins and name == "__builtins__":
            found |= {Ref("builtins", module=True)}
        elif with_builtins and name in BUILTIN_NAMES:
            found |= {Ref(f"builtins.{name}")}
        return found

    def values(self, key: Key) -> frozenset[Ref]:
        """What the bindings of one name (or attribute name) may have given it."""
        return self.bundle.fixpoint.read(key)

    def computations(self) -> dict[Key, Callable[[], frozenset[Ref]]]:
        """How to compute each of this module's names (see Fixpoint)."""
        found: dict[Key, Callable[[], frozenset[Ref]]] = {}
        for scope in self.binder.scopes:
            for name, bindings in scope.bindings.items():
                found[(id(scope), name)] = partial(self.bound_values, bindings)
        return found

    def bound_values(self, bindings: Iterable[Binding]) -> frozenset[Ref]:
        found: set[Ref] = set()
        for binding in bindings:
            if isinstance(binding.value, Ref):
                found |= self.bundle.expand(binding.value)
            elif binding.value is not None:
                found |= self.resolve(binding.value)
        return frozenset(ref for ref in found if ref.name.count(".") < MAX_DOTS)

    def attribute(self, base: frozenset[Ref], attr: str) -> frozenset[Ref]:
        found = {ref.attribute(attr) for ref in base if ref.name != GLOBALS}
        if not base and attr.strip("_") in rules.MODULE_ATTRIBUTES:
            found.add(Ref(attr.strip("_"), module=True, inferred=True))
        return frozenset().union(*(self.bundle.expand(ref) for ref in found))

    def keyed(self, base: frozenset[Ref], key: str) -> frozenset[Ref]:
        found: set[Ref] = set()
        for ref in base:
            if ref.name == GLOBALS:  # globals(), or locals() and vars() of any scope
                found |= self.global_refs(key, EVERYWHERE, with_builtins=True)
                for scope in self.binder.scopes:
                    if key in scope.bindings:
                        found |= self.values((id(scope), key))
            elif (keyed := ref.key(key)) is not None:
                found |= self.bundle.expand(keyed)
        return frozenset(found)

    def call_result(self, node: ast.Call) -> frozenset[Ref]:
        """What a call returns, for the calls that return a module, a namespace or an attribute
        chosen by a literal."""
        functions = {ref.name for ref in self.resolve(node.func)}
        first = literal_text(node.args[0]) if node.args else None
        second = literal_text(node.args[1]) if len(node.args) > 1 else None
        found: set[Ref] = set()
        if first is not None and not first.startswith(".") and functions & rules.IMPORTERS:
            whole = "importlib.import_module" in functions or has_fromlist(node)
            found.add(Ref(first if whole else first.partition(".")[0], module=True))
            found.add(Ref(first, module=True))
        if "builtins.getattr" in functions and second is not None:
            found |= self.attribute(self.resolve(node.args[0]), second)
        if functions & {"builtins.globals", "builtins.locals"} or (
            "builtins.vars" in functions and not node.args
        ):
            found.add(Ref(GLOBALS))
        if "builtins.vars" in functions and node.args:
            found |= {Ref(f"{ref.name}.__dict__") for ref in self.resolve(node.args[0])}
        if isinstance(node.func, ast.Attribute) and node.func.attr == "get" and first is not None:
            found |= self.keyed(self.resolve(node.func.value), first)
        return frozenset().union(*(self.bundle.expand(ref) for ref in found))


def has_fromlist(node: ast.Call) -> bool:
    """`__import__("a.b", ..., fromlist)` returns a.b itself; without a fromlist, a."""
    return len(node.args) >= 4 or any(keyword.arg == "fromlist" for keyword in node.keywords)


class Bundle:
    """The bundle's modules, so `from helpers import o` in one resolves through the other."""

    def __init__(self) -> None:
        self.budget = Budget(RESOLVE_BUDGET)
        self.fixpoint = Fixpoint()
        self.resolvers: dict[str, Resolver] = {}
        self.by_name: dict[str, list[Resolver]] = {}
        self._expanding: set[tuple[int, str]] = set()

    def add(self, module: ParsedModule) -> None:
        resolver = Resolver(module, self)
        self.resolvers[module.path] = resolver
        for name in module.names:
            self.by_name.setdefault(name, []).append(resolver)

    def missing_part(self, name: str) -> bool:
        """Whether `name` lies inside one of the bundle's packages but is not in the bundle."""
        parts = name.split(".")
        inside = any(".".join(parts[:end]) in self.by_name for end in range(1, len(parts)))
        return inside and name not in self.by_name

    def solve(self) -> None:
        computations: dict[Key, Callable[[], frozenset[Ref]]] = {}
        for resolver in self.resolvers.values():
            computations |= resolver.computations()
        self.fixpoint.solve(computations, self.budget)

    def expand(self, ref: Ref) -> frozenset[Ref]:
        """`ref`, and what it is when it names a global of one of the bundle's modules."""
        self.budget.spend()
        parts = ref.name.split(".")
        if len(parts) > MAX_DOTS:  # a module reaching into itself (`from . import *` in a loop)
            return frozenset({ref})
        for end in range(len(parts) - 1, 0, -1):
            owners = self.by_name.get(".".join(parts[:end]))
            if owners:
                return frozenset({ref}) | self._inside(owners, parts[end:])
        return frozenset({ref})

    def _inside(self, owners: list[Resolver], path: list[str]) -> frozenset[Ref]:
        """What `path` is inside the owners' globals. A global already being looked up further
        up (a package reaching into itself: `from .missing import *`) adds nothing more."""
        found: frozenset[Ref] = frozenset()
        for owner in owners:
            key = (id(owner), path[0])
            if key in self._expanding:
                continue
            self._expanding.add(key)
            try:
                refs = owner.global_refs(path[0], EVERYWHERE, with_builtins=False)
                for attr in path[1:]:
                    refs = owner.attribute(refs, attr)
            finally:
                self._expanding.discard(key)
            found |= refs
        return found


class Context(Enum):
    """How the parent of an expression uses it: what the scan can follow."""

    VALUE = auto()  # handed on: an argument, an item, a return value
    ATTRIBUTE_BASE = auto()  # `x.attr`
    KEY_BASE = auto()  # `x["literal"]`, `x.get("literal")`
    COMPUTED_KEY_BASE = auto()  # `x[anything else]`, or stored into
    CALLED = auto()  # `x(...)`
    ALIASED = auto()  # `name = x`, `obj.attr = x`: the binder follows the new name
    INSPECTED = auto()  # `getattr(x, ...)`, `hasattr(x, ...)`, `vars(x)`: the call is checked
    SILENT = auto()  # part of an expression already reported
    DISCARDED = auto()  # an expression statement: its value goes nowhere


FOLLOWED_BY_CALLS = (Context.CALLED, Context.ALIASED, Context.SILENT, Context.DISCARDED)
FOLLOWED_NAMESPACE = (Context.KEY_BASE, Context.ALIASED, Context.SILENT, Context.DISCARDED)
UNFOLLOWED_MODULE = (Context.VALUE, Context.COMPUTED_KEY_BASE)
# Where a conditional or a walrus hands its value on as its parent does.
PASSED_THROUGH = (Context.ALIASED, Context.DISCARDED)


class Checker:
    """Walks one module and reports what the rules block."""

    def __init__(self, module: ParsedModule, resolver: Resolver) -> None:
        self.module = module
        self.resolver = resolver
        self.lines = module.source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self.findings: list[Finding] = []

    def run(self) -> list[Finding]:
        self.check(self.module.tree, Context.VALUE)
        return self.findings

    def report(self, node: ast.AST, rule: str, why: str | None = None, ref: Ref | None = None):
        what = self.source_of(node)
        if ref is not None and ref.name != what and not isinstance(node, ast.stmt):
            what = f"{what} ({ref.name})"
        finding = Finding(
            self.module.path, getattr(node, "lineno", 1), what, why or rules.RULES[rule].why, rule
        )
        if finding not in self.findings:
            self.findings.append(finding)

    def source_of(self, node: ast.AST) -> str:
        """The node's source on one line, shortened (offsets are in UTF-8 bytes)."""
        start, end = getattr(node, "lineno", 1), getattr(node, "end_lineno", None) or 1
        lines = [line.encode() for line in self.lines[start - 1 : end]]
        if not lines:
            return type(node).__name__
        lines[-1] = lines[-1][: getattr(node, "end_col_offset", None)]
        lines[0] = lines[0][getattr(node, "col_offset", 0) :]
        text = " ".join(b" ".join(lines).decode("utf-8", "replace").split())
        return text if len(text) <= WHAT_WIDTH else text[: WHAT_WIDTH - 1] + "…"

    def check(self, node: ast.AST, context: Context) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            self.check_import(node)
        elif isinstance(node, ast.Name):
            self.check_name(node, context)
        elif isinstance(node, ast.Attribute):
            self.check_attribute(node, context)
        elif isinstance(node, ast.Subscript):
            self.check_subscript(node, context)
        elif isinstance(node, ast.Call):
            self.check_call(node, context)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.NamedExpr):
            self.check_binding(node, context)
        elif isinstance(node, ast.Expr):
            self.check(node.value, Context.DISCARDED)
        elif isinstance(node, ast.arg):
            self.check_annotation(node.annotation)
        elif isinstance(node, ast.IfExp | ast.BoolOp) and context in PASSED_THROUGH:
            for child in ast.iter_child_nodes(node):
                passed = child is not getattr(node, "test", None)
                self.check(child, context if passed else Context.VALUE)
        else:
            if isinstance(node, ast.AugAssign):
                self.check_environment_update(node)
            returns = getattr(node, "returns", None)  # a function's return annotation
            for child in ast.iter_child_nodes(node):
                if child is returns and isinstance(child, ast.expr):
                    self.check_annotation(child)
                else:
                    self.check(child, Context.VALUE)

    def check_annotation(self, node: ast.expr | None, depth: int = 0) -> None:
        """An annotation, and the strings in it as the code they are: typing and pydantic
        evaluate string annotations (`x: "__import__('os').system('id')"`)."""
        if node is None:
            return
        self.check(node, Context.VALUE)
        for string in annotation_strings(node):
            try:
                code = ast.parse(str(string.value).strip(), mode="eval")
            except (SyntaxError, ValueError):
                continue  # not an expression: nothing evaluates it either
            if depth == MAX_ANNOTATION_DEPTH:
                self.report(string, "eval", "strings nested in annotations too deep to scan")
                return
            scope = self.resolver.scope_of(string)
            for part in ast.walk(code.body):
                ast.copy_location(part, string)
                self.resolver.binder.scope_of[part] = scope
            self.check_annotation(code.body, depth + 1)

    def check_environment_update(self, node: ast.AugAssign) -> None:
        if isinstance(node.op, ast.BitOr) and self.is_environment(node.target):
            self.check_environment_keys(node, mapping_keys([node.value], []))

    def check_environment_call(self, node: ast.Call, functions: set[str]) -> None:
        """`os.putenv(k, v)`, `os.environ.update(...)` and the like: of interpreter variables,
        or of names the scan cannot read, are blocked."""
        first = literal_text(node.args[0]) if node.args else None
        if functions & rules.ENVIRONMENT_SETTERS:
            self.check_environment_keys(node, [first])
        method = node.func
        if (
            isinstance(method, ast.Attribute)
            and method.attr in rules.ENVIRONMENT_METHODS
            and self.is_environment(method.value)
        ):
            many = method.attr in ("update", "__ior__")
            keys = mapping_keys(node.args, node.keywords) if many else [first]
            self.check_environment_keys(node, keys)

    def is_environment(self, node: ast.expr) -> bool:
        return any(ref.name in rules.ENVIRONMENTS for ref in self.resolver.resolve(node))

    def check_environment_keys(self, node: ast.AST, keys: list[str | None]) -> None:
        if any(key is None or key in rules.INTERPRETER_VARIABLES for key in keys):
            self.report(node, "environment")

    def check_import(self, node: ast.Import | ast.ImportFrom) -> None:
        if self.resolver.scope_of(node).kind is ScopeKind.CLASS:
            why = "an import in a class body makes the module an attribute, reachable by name"
            self.report(node, "dynamic-access", why)
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            source = self.resolver.binder.absolute(node)
            names = [source if a.name == "*" else imported(source, a.name).name for a in node.names]
            if any(a.name in rules.INTERNALS | rules.INTERNAL_GLOBALS for a in node.names):
                self.report(node, "dynamic-access", "imports one of the interpreter's internals")
        for name in names:
            rule = rules.blocking_rule(name)
            if rule:
                self.report(node, rule)

    def check_name(self, node: ast.Name, context: Context) -> None:
        if not isinstance(node.ctx, ast.Load):
            return
        if node.id in rules.INTERNAL_GLOBALS:
            self.report(node, "dynamic-access")
        self.check_refs(node, self.resolver.resolve(node), context)

    def check_attribute(self, node: ast.Attribute, context: Context) -> None:
        if context is not Context.SILENT:
            self.check_attribute_name(node, node.attr)
        reported = isinstance(node.ctx, ast.Load) and self.check_refs(
            node, self.resolver.resolve(node), context
        )
        self.check(node.value, Context.SILENT if reported else Context.ATTRIBUTE_BASE)

    def check_attribute_name(self, node: ast.AST, attr: str) -> None:
        if attr in rules.INTERNALS:
            self.report(node, "dynamic-access", f"{attr} leads into the interpreter's internals")
        elif attr in rules.BLOCKED_ATTRIBUTES:
            self.report(node, rules.BLOCKED_ATTRIBUTES[attr])

    def check_subscript(self, node: ast.Subscript, context: Context) -> None:
        if isinstance(node.ctx, ast.Store) and self.is_environment(node.value):
            self.check_environment_keys(node, [literal_text(node.slice)])
        literal = literal_text(node.slice) is not None and isinstance(node.ctx, ast.Load)
        reported = literal and self.check_refs(node, self.resolver.resolve(node), context)
        if reported:
            base = Context.SILENT
        else:
            base = Context.KEY_BASE if literal else Context.COMPUTED_KEY_BASE
        self.check(node.value, base)
        self.check(node.slice, Context.VALUE)

    def check_call(self, node: ast.Call, context: Context) -> None:
        reported = self.check_refs(node, self.resolver.resolve(node), context)
        functions = {ref.name for ref in self.resolver.resolve(node.func)}
        first = literal_text(node.args[0]) if node.args else None
        if functions & rules.IMPORTERS and first is None:
            self.report(node, "dynamic-import")
        inspected = self.check_introspection(node, functions)
        self.check_attribute_strings(node, functions)
        for function, option in rules.PICKLING_KEYWORDS.items():
            if function in functions and any(
                given.arg == option and not is_false(given.value) for given in node.keywords
            ):
                self.report(node, "pickle", f"{option} lets the input file run code")
        self.check_environment_call(node, functions)
        if isinstance(node.func, ast.Attribute) and node.func.attr == "get" and first is not None:
            self.check(node.func.value, Context.SILENT if reported else Context.KEY_BASE)
        else:
            self.check(node.func, Context.SILENT if reported else Context.CALLED)
        for arg in node.args:
            self.check(arg, Context.INSPECTED if arg is inspected else Context.VALUE)
        for keyword in node.keywords:
            self.check(keyword.value, Context.VALUE)

    def check_introspection(self, node: ast.Call, functions: set[str]) -> ast.expr | None:
        """Checks getattr/hasattr/vars calls; returns the argument they inspect."""
        if not node.args or not functions & rules.INSPECTORS:
            return None
        target = node.args[0]
        if "builtins.getattr" in functions and len(node.args) > 1:
            attr = literal_text(node.args[1])
            if attr is not None:
                self.check_attribute_name(node, attr)
            else:
                held = sorted(
                    ref.name
                    for ref in self.resolver.resolve(target)
                    if (ref.module or ref.namespace) and not ref.inferred
                )
                if held:
                    why = f"a computed name on {held[0]} can reach any of its functions"
                    self.report(node, "dynamic-access", why)
        return target

    def check_attribute_strings(self, node: ast.Call, functions: set[str]) -> None:
        """`operator.attrgetter("a.b")` and `methodcaller("name")` name attributes in strings:
        each is checked as if written as an attribute; a computed one is blocked."""
        getter = bool(functions & rules.ATTRIBUTE_GETTERS)
        if not getter and not functions & rules.METHOD_CALLERS:
            return
        names = node.args if getter else node.args[:1]
        for argument in names:
            text = literal_text(argument)
            if text is None:
                self.report(node, "dynamic-access", "an attribute named by a computed string")
                continue
            path = text.split(".") if getter else [text]
            refs: frozenset[Ref] = frozenset()  # on an object the scan does not know
            for attr in path:
                self.check_attribute_name(node, attr)
                refs = self.resolver.attribute(refs, attr)
            self.check_refs(node, refs, Context.CALLED)  # `attrgetter("os.system")`

    def check_binding(
        self, node: ast.Assign | ast.AnnAssign | ast.NamedExpr, context: Context
    ) -> None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            self.check(target, Context.VALUE)
        if isinstance(node, ast.AnnAssign):
            self.check_annotation(node.annotation)
        if node.value is None:
            return
        # Exactly what the binder follows is ALIASED; anything else is checked as handed on.
        first = targets[0]
        if len(targets) == 1 and isinstance(first, ast.Tuple | ast.List):
            paired = paired_values(first, node.value)
            if any(value is not None for value in paired):
                for target, value in zip(first.elts, paired, strict=True):
                    if value is not None:
                        self.check(value, self.value_context(target))
                return
        if not all(self.value_context(target) is Context.ALIASED for target in targets):
            self.check(node.value, Context.VALUE)
        elif isinstance(node, ast.NamedExpr) and context not in PASSED_THROUGH:
            self.check(node.value, context)  # `[(n := os)][0]`: the value goes on as well
        else:
            self.check(node.value, Context.ALIASED)

    def value_context(self, target: ast.expr) -> Context:
        """ALIASED for a name the binder follows: one in a module or function scope. An
        attribute, or a class body's name, is reachable by a computed getattr on any object."""
        if not isinstance(target, ast.Name):
            return Context.VALUE
        scope = walrus_scope(self.resolver.scope_of(target))
        return Context.VALUE if scope.kind is ScopeKind.CLASS else Context.ALIASED

    def check_refs(self, node: ast.expr, refs: frozenset[Ref], context: Context) -> bool:
        """Reports what `node` may denote; True when something was reported."""
        if context is Context.SILENT:
            return False
        reported = False
        for ref in sorted(refs, key=lambda ref: ref.name):
            rule = None if ref.inferred and ref.module else rules.blocking_rule(ref.name)
            if rule:
                self.report(node, rule, ref=ref)
                reported = True
            elif misuse := self.misuse(ref, context):
                self.report(node, misuse[0], misuse[1], ref=ref)
                reported = True
        return reported

    @staticmethod
    def misuse(ref: Ref, context: Context) -> tuple[str, str] | None:
        """The rule and reason when `ref` is used where the scan cannot follow it."""
        if ref.name in rules.IMPORTERS and context not in FOLLOWED_BY_CALLS:
            return "dynamic-import", f"{ref.name} is handed on, so what it imports is unknown"
        if ref.name in rules.INTROSPECTORS and context not in FOLLOWED_BY_CALLS:
            return "dynamic-access", f"{ref.name} is handed on, so what it reaches is unknown"
        if ref.inferred:
            return None
        if ref.namespace and context not in FOLLOWED_NAMESPACE:
            return "dynamic-access", "a namespace used other than with a literal name"
        if ref.module and context in UNFOLLOWED_MODULE:
            how = "handed on" if context is Context.VALUE else "indexed by a computed key"
            return "dynamic-access", f"the module {ref.name} is {how}, where the scan cannot follow"
        return None


def is_false(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def annotation_strings(node: ast.expr) -> Iterator[ast.Constant]:
    """The string literals in an annotation, except inside `Literal[...]` (values, not types)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node
        return
    if isinstance(node, ast.Subscript):
        named = node.value.attr if isinstance(node.value, ast.Attribute) else None
        if isinstance(node.value, ast.Name):
            named = node.value.id
        if named == "Literal":
            return
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.expr):
            yield from annotation_strings(child)


def mapping_keys(values: list[ast.expr], keywords: list[ast.keyword]) -> list[str | None]:
    """The keys `update(*values, **keywords)` writes; None for one the scan cannot read."""
    keys: list[str | None] = []
    for value in values:
        if isinstance(value, ast.Dict):
            keys += [literal_text(key) if key is not None else None for key in value.keys]
        else:
            keys.append(None)
    return keys + [keyword.arg for keyword in keywords]


def scan(modules: list[ParsedModule]) -> list[Finding]:
    """Every finding in the bundle's parsed modules. A module too tangled or too deeply nested
    to follow is itself a finding: what cannot be checked is blocked."""
    bundle = Bundle()
    findings: list[Finding] = []
    followed: list[ParsedModule] = []
    for module in modules:
        try:
            bundle.add(module)
            followed.append(module)
        except RecursionError:
            findings.append(tangled(module.path))
    try:
        bundle.solve()
    except (TooTangledError, RecursionError):
        return findings + [tangled(module.path) for module in followed]
    for module in followed:
        bundle.budget = Budget(RESOLVE_BUDGET)
        try:
            findings += Checker(module, bundle.resolvers[module.path]).run()
        except (TooTangledError, RecursionError):
            findings.append(tangled(module.path))
    return findings


def tangled(path: str) -> Finding:
    why = "its names or expressions are too tangled or nested to follow; simplify it"
    return Finding(path, 1, "the whole file", why, "unparseable")


def module_names(path: str) -> tuple[str, ...]:
    """The dotted names a bundle file can be imported as: `pkg/sub/mod.py` is `pkg.sub.mod`,
    and `sub.mod` and `mod` if a folder of it is on the path."""
    parts = path.replace("\\", "/").split("/")
    parts[-1] = parts[-1].rsplit(".", 1)[0]
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return tuple(".".join(parts[start:]) for start in range(len(parts)))


def parsed_module(path: str, source: str, tree: ast.Module) -> ParsedModule:
    return ParsedModule(path, module_names(path), source, tree)
