"""What the gatekeeper blocks: each rule's key (what a user writes in `[tool.casparian] allow`),
why it is blocked, and the modules, names and attributes that fall under it.

A module in MODULES is blocked with everything inside it (`subprocess`, `subprocess.run`); a name
in NAMES is blocked with everything reached through it (`os.system`, `os.system.__call__`).
Names are written as the module that defines them: aliases (`import os as o`, `from os import
system as s`, `posix.system`, `pyarrow.os.system`) are resolved to these by the scan.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    key: str
    why: str
    allowable: bool = True  # False: no `allow` entry lifts it (the file cannot be checked at all)


_RULES = (
    Rule("socket", "opens network connections; a parser reads its input, nothing else"),
    Rule("subprocess", "starts other programs, which the scan cannot look into"),
    Rule("ctypes", "calls native code directly, around every check on the Python source"),
    Rule("multiprocessing", "starts processes of its own beside the guest"),
    Rule("pty", "starts programs on a pseudo-terminal"),
    Rule("os.system", "runs a shell command"),
    Rule("os.popen", "runs a shell command and reads its output"),
    Rule("os.exec", "replaces the guest with another program"),
    Rule("os.fork", "forks the guest into processes of its own"),
    Rule("os.spawn", "starts another program"),
    Rule("os.kill", "sends signals to other processes, the host's included"),
    Rule("eval", "runs a string as code, which the scan cannot see"),
    Rule("exec", "runs code that is not in the source (a string or a code object)"),
    Rule("compile", "turns a string into code, which the scan cannot see"),
    Rule("dynamic-import", "imports a module chosen at run time, so the scan cannot check it"),
    Rule(
        "dynamic-access",
        "reaches functions by a computed name or through the interpreter's internals, "
        "where the scan cannot follow",
    ),
    Rule("pickle", "loading such data runs whatever code the data names (pickle, unsafe YAML)"),
    Rule("ioctl", "ioctl can type keystrokes into the user's terminal (TIOCSTI)"),
    Rule(
        "environment",
        "sets an environment variable the interpreter acts on: PYTHONBREAKPOINT makes "
        "breakpoint() call any function it names, PAGER makes help() run a command",
    ),
    Rule(
        "unparseable",
        "the file cannot be scanned, so nothing in it can be checked; fix the file",
        allowable=False,
    ),
    Rule(
        "unknown-allow",
        "this `allow` entry names no gatekeeper rule (a typo would silently allow nothing)",
        allowable=False,
    ),
)
RULES: dict[str, Rule] = {rule.key: rule for rule in _RULES}
# The keys a user may put in `[tool.casparian] allow`.
ALLOWABLE_RULES = frozenset(rule.key for rule in _RULES if rule.allowable)


def _table(groups: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {name: rule for rule, names in groups.items() for name in names}


MODULES = _table(
    {
        "socket": (
            "socket",
            "_socket",
            "socketserver",
            "ssl",
            "_ssl",
            "asyncio.streams",
            "urllib.request",
            "http.client",
            "http.server",
            "ftplib",
            "smtplib",
            "poplib",
            "imaplib",
            "nntplib",
            "telnetlib",
            "xmlrpc.client",
            "xmlrpc.server",
            "requests",
            "httpx",
            "urllib3",
            "aiohttp",
            "pycurl",
            "websocket",
            "websockets",
            "paramiko",
            "zmq",
        ),
        "subprocess": (
            "subprocess",
            "_posixsubprocess",
            "_winapi",
            "asyncio.subprocess",
            "webbrowser",  # runs the BROWSER command
            "pydoc",  # its pager runs the PAGER command
            "distutils.spawn",
            "ensurepip",
        ),
        "ctypes": ("ctypes", "_ctypes", "cffi", "pyarrow.cffi", "numpy.ctypeslib"),
        "multiprocessing": ("multiprocessing", "_multiprocessing", "concurrent.futures.process"),
        "pty": ("pty",),
        # Code objects, and runners of code in strings (`pdb.Pdb().run("...")`, doctests).
        "exec": (
            "marshal",
            "code",
            "codeop",
            "pdb",
            "bdb",
            "trace",
            "cProfile",
            "profile",
            "timeit",
            "doctest",
        ),
        # These import or call what a string names (`logging.config.dictConfig({"()": ...})`,
        # `mock.patch("os.system")`), or are the import machinery's internals.
        "dynamic-import": (
            "runpy",
            "zipimport",
            "imp",
            "_imp",
            "importlib._bootstrap",
            "importlib._bootstrap_external",
            "_frozen_importlib",
            "_frozen_importlib_external",
            "logging.config",
            "unittest.mock",
            "pyximport",
        ),
        "pickle": (
            "pickle",
            "_pickle",
            "shelve",
            "dill",
            "cloudpickle",
            "joblib",
            "pandas.io.pickle",
        ),
    }
)

_OS_MODULES = ("os", "posix", "nt")  # posix and nt are what os re-exports on each platform
_EXEC = ("execl", "execle", "execlp", "execlpe", "execv", "execve", "execvp", "execvpe")
_SPAWN = ("spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe")
_OS_FUNCTIONS = {
    "os.system": ("system",),
    "os.popen": ("popen",),
    "os.exec": _EXEC,
    "os.fork": ("fork", "forkpty"),
    "os.spawn": (*_SPAWN, "posix_spawn", "posix_spawnp", "startfile"),
    "os.kill": ("kill", "killpg"),
}
NAMES = {
    f"{module}.{function}": rule
    for rule, functions in _OS_FUNCTIONS.items()
    for module in _OS_MODULES
    for function in functions
} | _table(
    {
        # Strings that typing evaluates; string annotations themselves are scanned as code.
        "eval": (
            "builtins.eval",
            "typing.get_type_hints",
            "typing.ForwardRef",
            "typing._eval_type",
        ),
        "exec": (
            "builtins.exec",
            "types.CodeType",
            "types.FunctionType",
            "types.LambdaType",
        ),
        "compile": ("builtins.compile",),
        "dynamic-import": (
            "importlib.reload",
            "importlib.util.spec_from_file_location",
            "importlib.util.spec_from_loader",
            "importlib.util.module_from_spec",
            "importlib.util.find_spec",
            "importlib.machinery.SourceFileLoader",
            "importlib.machinery.SourcelessFileLoader",
            "importlib.machinery.ExtensionFileLoader",
            "pkgutil.resolve_name",
            "pkgutil.get_loader",
            # A module imported after these change could be one the parser wrote at run time.
            "sys.path",
            "sys.meta_path",
            "sys.path_hooks",
            "sys.path_importer_cache",
            "site.addsitedir",
        ),
        "subprocess": (
            "asyncio.create_subprocess_exec",
            "asyncio.create_subprocess_shell",
            "builtins.help",  # its pager runs the PAGER command
        ),
        "socket": (
            "asyncio.open_connection",
            "asyncio.start_server",
            "asyncio.open_unix_connection",
            "asyncio.start_unix_server",
        ),
        "multiprocessing": ("concurrent.futures.ProcessPoolExecutor",),
        "pickle": (
            "pandas.read_pickle",
            "yaml.unsafe_load",
            "yaml.unsafe_load_all",
            "yaml.UnsafeLoader",
            "yaml.Loader",  # PyYAML's name for the unsafe loader
        ),
        "ioctl": ("fcntl.ioctl", "termios.TIOCSTI"),
        "dynamic-access": (
            "gc.get_objects",
            "gc.get_referrers",
            "gc.get_referents",
            "inspect.getmodule",  # a module object the scan cannot name
            "string.Formatter",  # get_field("0.__globals__", ...) walks attributes by string
        ),
    }
)

# Callables that are fine with literal arguments (the scan resolves what they return) and
# blocked otherwise: called with a computed argument, or handed on as a value.
IMPORTERS = frozenset({"builtins.__import__", "importlib.__import__", "importlib.import_module"})
INTROSPECTORS = frozenset(
    {"builtins.getattr", "builtins.vars", "builtins.globals", "builtins.locals"}
)
INSPECTORS = frozenset({"builtins.getattr", "builtins.hasattr", "builtins.vars"})
# Callables that take attribute names as strings: each name is checked as an attribute.
ATTRIBUTE_GETTERS = frozenset(
    {f"{module}.{name}" for module in ("operator", "_operator") for name in ("attrgetter",)}
)
METHOD_CALLERS = frozenset({"operator.methodcaller", "_operator.methodcaller"})

# Attribute names blocked on any object, whatever the scan knows of it: they lead from any
# function, frame or class to module globals, builtins or every loaded class, or they are
# process calls no other API shares a name with.
INTERNALS = frozenset(
    {
        "__globals__",
        "__builtins__",
        "__subclasses__",
        "__code__",
        "__self__",
        "__getattribute__",
        "__closure__",
        "cell_contents",
        "__annotations__",
        "__import__",
        "__loader__",
        "f_globals",
        "f_locals",
        "f_builtins",
    }
)
# Module globals that lead to the import machinery.
INTERNAL_GLOBALS = frozenset({"__loader__", "__spec__"})
BLOCKED_ATTRIBUTES = {
    name: rule
    for rule, names in _OS_FUNCTIONS.items()
    for name in names
    if name not in ("system", "popen", "fork", "kill", "killpg", "startfile")
} | _table(
    {
        "subprocess": (
            "subprocess_exec",
            "subprocess_shell",
            "create_subprocess_exec",
            "create_subprocess_shell",
        ),
        "ctypes": ("enable_load_extension", "load_extension"),  # sqlite3 loading native code
        "dynamic-import": ("load_module", "exec_module", "create_module"),  # loaders, specs
        "socket": (
            "create_connection",
            "create_server",
            "create_datagram_endpoint",
            "create_unix_connection",
            "create_unix_server",
            "sock_connect",
        ),
    }
)

# Modules other modules keep as attributes (`os.path.os`, `tempfile._os`, `pyarrow.os`): an
# attribute of this name, leading underscores aside, is taken to be that module.
MODULE_ATTRIBUTES = frozenset(
    {
        "os",
        "posix",
        "nt",
        "sys",
        "builtins",
        "importlib",
        "subprocess",
        "socket",
        "ctypes",
        "multiprocessing",
        "pty",
        "marshal",
        "pickle",
    }
)
# Modules whose attributes reach blocked functions or other modules: handing one on as a value
# (an argument, an item, a return value) is blocked, since the scan cannot follow it there.
CAPABLE_MODULES = frozenset(
    {*_OS_MODULES, "os.path", "posixpath", "ntpath", "sys", "builtins", "importlib"}
    | {"importlib.util", "importlib.machinery", "gc", "inspect"}
)


# Environment variables the running interpreter acts on, and where the environment is written.
INTERPRETER_VARIABLES = frozenset({"PYTHONBREAKPOINT", "PAGER", "MANPAGER", "BROWSER"})
ENVIRONMENTS = frozenset(
    {f"{module}.{name}" for module in _OS_MODULES for name in ("environ", "environb")}
)
ENVIRONMENT_SETTERS = frozenset({f"{module}.putenv" for module in _OS_MODULES})
ENVIRONMENT_METHODS = frozenset({"__setitem__", "setdefault", "update", "__ior__"})


# Loaders that unpickle what an input file holds when asked to (`np.load(f, allow_pickle=True)`).
PICKLING_KEYWORDS = {"numpy.load": "allow_pickle"}


def blocking_rule(name: str) -> str | None:
    """The rule blocking the dotted `name` (or anything it is inside of), or None."""
    parts = name.split(".")
    for end in range(1, len(parts) + 1):
        prefix = ".".join(parts[:end])
        rule = MODULES.get(prefix) or NAMES.get(prefix)
        if rule:
            return rule
    return None
