"""The abstract values of the interpreter (``Env`` and ``V*``) and small functions on them."""

from __future__ import annotations

import re
from http import HTTPStatus
from dataclasses import dataclass

from fastapi_arch_lint.model.expr import Call, Expr
from fastapi_arch_lint.model.facts import ClassFact, FunctionFact

BUILTINS = frozenset({
    "int", "str", "float", "bool", "bytes", "dict", "list", "tuple", "set", "frozenset", "object", "type",
    "len", "open", "print", "range", "super", "isinstance", "getattr", "setattr", "hasattr", "sorted",
    "enumerate", "zip", "map", "filter", "min", "max", "sum", "any", "all", "repr", "iter", "next",
    "Exception", "ValueError", "KeyError", "RuntimeError", "TypeError", "PermissionError", "eval", "exec",
    "compile", "__import__", "input", "vars", "id", "hash", "format", "abs", "round", "complex",
})


# ---------------------------------------------------------------------------
# values of the abstract interpreter
#
# Values are immutable and compare and hash by content, but are not declared ``frozen``: a frozen
# dataclass's ``__init__`` sets each field through ``object.__setattr__``, and making values was
# about a sixth of linking. ``unsafe_hash`` gives the same equality and hash with plain
# assignments in ``__init__``; nothing assigns to a value after it is made.


@dataclass(slots=True, unsafe_hash=True)
class Env:
    """Where an expression is evaluated: a module and the enclosing function scopes."""

    module: str
    functions: tuple[FunctionFact, ...] = ()  # outermost first
    # the arguments a call bound to parameters of the enclosing functions: (index into ``functions``,
    # parameter name, the argument's expression, the env it is evaluated in), evaluated when the
    # parameter is read; a parameter not listed (or whose argument is unknown) is a ``VParam``
    bound: tuple[tuple[int, str, Expr, "Env"], ...] = ()
    # module-level code the import runs (an assignment's value, a ``def``'s parameter defaults): the
    # line of its statement, whose names are bound as they were before it; 0 elsewhere
    at: int = 0

    def inner(self, fn: FunctionFact) -> "Env":
        """The env of ``fn``'s body, ``fn`` being defined in this env (its bindings are kept: closures)."""
        return Env(self.module, self.functions + (fn,), self.bound)

    def outer(self, depth: int) -> "Env":
        """This env cut to its first ``depth`` functions, with their bindings."""
        return Env(self.module, self.functions[:depth], tuple(b for b in self.bound if b[0] < depth))


@dataclass(slots=True, unsafe_hash=True)
class VModule:
    name: str


@dataclass(slots=True, unsafe_hash=True)
class VFunc:
    fact: FunctionFact
    env: Env  # the env the function is defined in
    cls: "VClass | None" = None

    @property
    def qualname(self) -> str:
        return f"{self.env.module}.{self.fact.qualname}"


@dataclass(slots=True, unsafe_hash=True)
class VClass:
    fact: ClassFact
    env: Env

    @property
    def qualname(self) -> str:
        return f"{self.env.module}.{self.fact.qualname}"


@dataclass(slots=True, unsafe_hash=True)
class VExt:
    qualname: str


@dataclass(slots=True, unsafe_hash=True)
class VInst:
    cls: "VClass | VExt"
    call: Call | None
    env: Env | None
    site: tuple[str, int, int]  # module, line, col of the constructor call
    bound_name: str = ""


@dataclass(slots=True, unsafe_hash=True)
class VConst:
    value: object


@dataclass(slots=True, unsafe_hash=True)
class VSeq:
    items: tuple["Value", ...]


@dataclass(slots=True, unsafe_hash=True)
class VAnnotated:
    base: "Value"
    meta: tuple["Value", ...]
    # a metadata item chosen at runtime (``mapped_column(...) if flag else mapped_column(...)``) is unknown
    # in ``meta``; its possible values are here, one tuple per such item
    either: tuple[tuple["Value", ...], ...] = ()


@dataclass(slots=True, unsafe_hash=True)
class VGeneric:
    base: "Value"
    items: tuple["Value", ...]


@dataclass(slots=True, unsafe_hash=True)
class VParam:
    """A function parameter (no value statically); its annotation is kept."""

    func: VFunc
    name: str


@dataclass(slots=True, unsafe_hash=True)
class VUnknown:
    reason: str
    # the module-level name the unknown value is bound to (``current_active_user = users.current_user()``),
    # so configured auth names can still match it
    binding: str = ""


Value = VModule | VFunc | VClass | VExt | VInst | VConst | VSeq | VAnnotated | VGeneric | VParam | VUnknown


# the value of each builtin name, shared (values are immutable): every ``len(...)`` looks one up
BUILTIN_VALUES = {n: VExt(f"builtins.{n}") for n in BUILTINS}


def ext_name(v: "Value") -> str | None:
    return v.qualname if isinstance(v, VExt) else None


def short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def why(v: Value) -> str:
    if isinstance(v, VUnknown):
        return v.reason
    if isinstance(v, VParam):
        return f"comes from parameter `{v.name}`"
    return "not a constant"


def status_value(v: Value) -> int | None:
    if isinstance(v, VConst) and isinstance(v.value, int) and not isinstance(v.value, bool):
        return v.value
    if isinstance(v, VExt):
        m = re.search(r"(?:^|\.)(?:HTTP|WS)_(\d{3,4})(?:_|$)", v.qualname)
        if m:
            return int(m.group(1))
        # the standard library's ``http.HTTPStatus.NOT_FOUND`` (an IntEnum member): its value
        head, _, member = v.qualname.rpartition(".")
        if head in ("http.HTTPStatus", "HTTPStatus") and member in HTTPStatus.__members__:
            return int(HTTPStatus[member])
    if isinstance(v, VInst) and isinstance(v.cls, VExt) and "HTTPStatus" in v.cls.qualname:
        return None
    return None


def to_py(v: Value) -> object:
    if isinstance(v, VConst):
        return v.value
    if isinstance(v, VSeq):
        return tuple(to_py(i) for i in v.items)
    if isinstance(v, VExt):
        return v.qualname
    if isinstance(v, VInst):
        return f"{v.cls.qualname}(...)"
    return None



def truth(v: Value) -> bool | None:
    """Whether a value is true in a condition, when that is statically certain."""
    if isinstance(v, VConst):
        try:
            return bool(v.value)
        except Exception:  # noqa: BLE001 - a constant without a truth value
            return None
    if isinstance(v, VSeq):
        return bool(v.items)
    if isinstance(v, (VFunc, VClass, VModule)):
        return True
    return None


_OBJECTS = (VFunc, VClass, VModule, VSeq)  # never None, whatever the program does
_IDENTIFIED = (VConst, VClass, VFunc, VModule)  # values whose equality is the program's


def _members(v: Value) -> "tuple[Value, ...] | None":
    """The items of a literal collection: ``[a, b]``, ``{a, b}``, ``frozenset({a, b})``, ``("x", "y")``."""
    if isinstance(v, VSeq):
        return v.items
    if isinstance(v, VConst) and isinstance(v.value, (tuple, frozenset, set, list)):
        return tuple(VConst(i) for i in v.value)
    return None


def compare(op: str, left: Value, right: Value) -> VConst | None:
    """``left op right`` when statically certain, else None."""
    if op in ("is", "is not"):
        # ``x is None``: certain when both are constants, or one is None and the other an object the
        # project defines (a function, a class, a module, a literal sequence)
        if isinstance(left, VConst) and isinstance(right, VConst):
            same = left.value is right.value or (left.value == right.value and left.value in (None, True, False))
        elif (isinstance(left, VConst) and left.value is None and isinstance(right, _OBJECTS)) or \
                (isinstance(right, VConst) and right.value is None and isinstance(left, _OBJECTS)):
            same = False
        else:
            return None
        return VConst(same if op == "is" else not same)
    if op in ("in", "not in"):
        items = _members(right)
        if items is None or not isinstance(left, _IDENTIFIED) or not all(isinstance(i, _IDENTIFIED) for i in items):
            return None
        found = left in items  # constants by value; classes, functions and modules by what they are
        return VConst(found if op == "in" else not found)
    if not (isinstance(left, VConst) and isinstance(right, VConst)):
        return None
    a, b = left.value, right.value
    try:
        if op == "==":
            result = a == b
        elif op == "!=":
            result = a != b
        elif op == "in":
            result = a in b  # type: ignore[operator]
        elif op == "not in":
            result = a not in b  # type: ignore[operator]
        elif op == "<":
            result = a < b  # type: ignore[operator]
        elif op == "<=":
            result = a <= b  # type: ignore[operator]
        elif op == ">":
            result = a > b  # type: ignore[operator]
        elif op == ">=":
            result = a >= b  # type: ignore[operator]
        else:
            return None
    except Exception:  # noqa: BLE001 - constants that do not compare
        return None
    return VConst(bool(result))


def str_items(v: Value | None) -> tuple[str, ...]:
    """The strings of a literal list/tuple value (``tags=["a", "b"]``); Enum members by their name."""
    items = v.items if isinstance(v, VSeq) else (v.value if isinstance(v, VConst) and isinstance(v.value, tuple) else ())
    out = []
    for i in items:
        if isinstance(i, VConst) and isinstance(i.value, str):
            out.append(i.value)
        elif isinstance(i, str):
            out.append(i)
        elif isinstance(i, VInst) and isinstance(i.cls, VClass):  # Enum members
            out.append(i.cls.fact.name)
    return tuple(out)


def is_self(v: object) -> bool:
    """Is ``v`` a method's first parameter (``self``): the instance, whose attributes its class knows?"""
    if not isinstance(v, VParam):
        return False
    fn = v.func.fact
    return fn.is_method and bool(fn.params) and fn.params[0].name == v.name
