"""The interpreter's answers that the linked model carries for the rules.

The rules never evaluate names themselves. What they ask beyond the model's routes, models and
call graph is answered here, from the linker's own scopes, imports and classes:

* ``ModuleCall``s: every call made in a module body or a class body, with its target (the call
  graph, ``Function.calls``, covers function bodies only). Made when the model is linked.
* ``AppModel.values``: an ``Answers`` object whose ``value(expr, module, fn, line)`` gives the
  Python constant an expression evaluates to, ``instance_of`` the class a name is an instance of
  and ``target`` the dotted name a callee resolves to. Answered on demand and remembered.

Values here are the linker's (``VModule``, ``VClass``, ``VFunc``, ``VExt``, ``VInst``) plus Python
constants, but the evaluation is a constant folder with rules of its own, older than this module
and kept because the findings depend on them, where the linker's ``eval`` (which builds the model)
answers differently:

* a name in a function body is its local binding *closest before the line asked about* (an
  assignment or import after it does not count; a ``def`` or ``class`` counts wherever it is),
  else a parameter (no value), else the module's binding; enclosing functions are not searched,
  and a local that is bound only in ways that give no value (``x += 1``, ``x: int``) has none;
* a module's name is its last binding; at the same line, function over class over import over
  assignment; star imports are not followed, nor submodules not imported by name;
* external names are kept as imported (``fastapi.applications.FastAPI``, not the linker's
  canonical ``fastapi.FastAPI``); an attribute of an external instance is a name too
  (``httpx.Client().get``);
* ``dict(k=v)`` and dict literals are dicts, sequences tuples, ``+`` joins strings and tuples, an
  f-string of constants is a string;
* calling a project function gives the first of its ``return`` values, last to first, that
  evaluates to anything; its return annotation is not used;
* an attribute of a class or instance is the class field's default, through ``Field(default=...)``
  (``Field`` by its dotted name's end), searched in the bases; methods and nested classes are not
  attributes here; the search stops 12 evaluations deep.
"""

from __future__ import annotations

from dataclasses import replace

from fastapi_arch_lint.link.interpreter import Interpreter
from fastapi_arch_lint.link.values import Env, VClass, VExt, VFunc, VInst, VModule
from fastapi_arch_lint.model.app import UNKNOWN, AppModel, Function, ModuleCall
from fastapi_arch_lint.model.expr import (
    Attr,
    BinOp,
    Call,
    Const,
    DictExpr,
    Expr,
    FStr,
    Name,
    Seq,
    field_default,
    walk,
)
from fastapi_arch_lint.model.facts import ClassFact, ImportFact, ModuleFacts, Scope

MAX_DEPTH = 12
# which binding wins at the same line (the higher)
_RANK = {"assign": 0, "import": 1, "class": 2, "func": 3}


def attach(interp: Interpreter, model: AppModel) -> AppModel:
    """``model`` with the object that answers questions about it (``AppModel.values``): values of
    expressions and the resolved module- and class-level calls, each worked out when first asked
    (``inspect`` and ``diff`` never ask)."""
    return replace(model, values=Answers(interp, model))


class Answers:
    """Answers about values, from the linker's scopes and imports (``AppModel.values``)."""

    def __init__(self, interp: Interpreter, model: AppModel) -> None:
        self._interp = interp
        # the model's own containers, not the model (no reference cycle through ``model.values``)
        self._facts: dict[str, ModuleFacts] = {m.name: m.facts for m in model.modules}
        self._paths: list[tuple[str, str, ModuleFacts]] = [(m.name, m.path, m.facts) for m in model.modules]
        self._functions = model.functions
        self._envs: dict[str, Env] = {}
        # function scope -> the names its assignments (of any kind) and imports bind
        self._local: dict[int, frozenset[str]] = {}
        # remembered answers: (id(expr), ...) -> (expr, fn, answer); the objects are kept so their ids stay theirs
        self._values: dict[tuple[int, str, int, int], tuple[Expr, Function | None, object]] = {}
        self._targets: dict[tuple[int, str], tuple[Expr, str | None]] = {}
        self._module_calls: tuple[ModuleCall, ...] | None = None

    # -- the questions -------------------------------------------------------------
    def value(self, expr: Expr | None, module: str, fn: Function | None = None, line: int = 0) -> object:
        if expr is None:
            return UNKNOWN
        key = (id(expr), module, id(fn), line)
        hit = self._values.get(key)
        if hit is not None and hit[0] is expr and hit[1] is fn:
            return hit[2]
        v = _plain(self._value(expr, module, fn, line, 0))
        self._values[key] = (expr, fn, v)
        return v

    def target(self, func: Expr, module: str) -> str | None:
        key = (id(func), module)
        hit = self._targets.get(key)
        if hit is not None and hit[0] is func:
            return hit[1]
        v = self._value(func, module, None, 0, 0)
        if isinstance(v, (VExt, VClass, VFunc)):
            t: str | None = v.qualname
        elif isinstance(v, VInst) and isinstance(v.cls, VExt):
            t = v.cls.qualname + "()"
        else:
            t = None
        self._targets[key] = (func, t)
        return t

    def instance_of(self, expr: Expr | None, module: str, fn: Function | None = None, line: int = 0) -> str | None:
        v = self._value(expr, module, fn, line, 0)
        return v.cls.qualname if isinstance(v, VInst) else None

    def module_calls(self) -> tuple[ModuleCall, ...]:
        """Every call in module bodies and class bodies (nested classes too), module by module
        (as ``AppModel.modules``), each module's assignments, then its statement calls, then its
        classes' fields; a call seen twice at the same place (an assignment's value that is also a
        statement) once. Made at the first call (about 0.15 s per 100k lines), then remembered."""
        if self._module_calls is None:
            self._module_calls = self._find_module_calls()
        return self._module_calls

    def _find_module_calls(self) -> tuple[ModuleCall, ...]:
        out: list[ModuleCall] = []
        for name, path, facts in self._paths:
            scope = facts.scope
            roots: list[tuple[Expr, int, int]] = []
            for a in scope.assigns:
                if a.value is not None:
                    roots.append((a.value, a.pos.line, a.pos.col))
            for sc in scope.calls:
                roots.append((sc.call, sc.pos.line, sc.pos.col))
            for c in _classes(scope.classes):
                for f in c.fields:
                    if f.value is not None:
                        roots.append((f.value, f.pos.line, f.pos.col))
            seen: set[tuple[int, int, str]] = set()
            for root, line, col in roots:
                for e in walk(root):
                    if not isinstance(e, Call):
                        continue
                    ln, cl = (e.line, e.col) if e.line else (line, col)
                    key = (ln, cl, repr(e.func))
                    if key in seen:
                        continue
                    seen.add(key)
                    out.append(ModuleCall(e, self.target(e.func, name), name, path, ln, cl))
        return tuple(out)

    # -- names ---------------------------------------------------------------------
    def _env(self, module: str) -> Env:
        env = self._envs.get(module)
        if env is None:
            env = self._envs[module] = Env(module)
        return env

    def _import(self, module: str, imp: ImportFact, depth: int) -> object:
        target = self._interp.absolute(module, imp)
        if imp.name is None:
            return VModule(target) if target in self._facts else VExt(target)
        sub = f"{target}.{imp.name}"
        if sub in self._facts:
            return VModule(sub)
        if target in self._facts:
            return self._module_attr(target, imp.name, depth + 1)
        return VExt(sub)

    def _module_attr(self, module: str, name: str, depth: int) -> object:
        facts = self._facts.get(module)
        if facts is None or depth > MAX_DEPTH:
            return UNKNOWN
        return self._in_scope(facts.scope, module, name, None, 0, depth)

    def _in_scope(self, scope: Scope, module: str, name: str, fn: Function | None, line: int, depth: int) -> object:
        # the binding closest before ``line`` wins (any binding when ``line`` is 0), where assignments and
        # imports count only before the line and classes and functions anywhere; ``_RANK`` at the same line
        best: tuple[int, int, str, object] | None = None
        for at, kind, obj in self._interp.symtab(scope).get(name, ()):
            if kind == "assign":
                if obj.value is None:  # type: ignore[attr-defined]
                    continue
                if line and at > line:
                    continue
            elif kind == "import" and line and at > line:
                continue
            rank = _RANK[kind]
            if best is None or (at, rank) >= (best[0], best[1]):
                best = (at, rank, kind, obj)
        if best is None:
            return UNKNOWN
        _, _, kind, obj = best
        if kind == "assign":
            return self._value(obj.value, module, fn, obj.pos.line, depth + 1)  # type: ignore[attr-defined]
        if kind == "import":
            return self._import(module, obj, depth)  # type: ignore[arg-type]
        if kind == "class":
            return VClass(obj, self._env(module))  # type: ignore[arg-type]
        return VFunc(obj, self._env(module))  # type: ignore[arg-type]

    def _lookup(self, name: str, module: str, fn: Function | None, line: int, depth: int) -> object:
        if fn is not None:
            scope = fn.fact.scope
            local = self._local.get(id(scope))
            if local is None:
                local = self._local[id(scope)] = frozenset(
                    [a.target for a in scope.assigns] + [i.local for i in scope.imports])
            if name in local:
                return self._in_scope(scope, module, name, fn, line, depth)
            if fn.fact.param(name) is not None:
                return UNKNOWN
        return self._module_attr(module, name, depth)

    # -- classes ---------------------------------------------------------------------
    def _class_default(self, cls: VClass, name: str, depth: int, _seen: frozenset[str] = frozenset()) -> object:
        if cls.qualname in _seen or depth > MAX_DEPTH:
            return UNKNOWN
        module = cls.env.module
        f = cls.fact.field(name)
        if f is not None:
            if f.value is None:
                return UNKNOWN
            inner = field_default(f.value)
            if inner is None:
                return UNKNOWN
            return self._value(inner, module, None, 0, depth + 1)
        for b in cls.fact.bases:
            bv = self._value(b, module, None, 0, depth + 1)
            if isinstance(bv, VClass):
                v = self._class_default(bv, name, depth + 1, _seen | {cls.qualname})
                if v is not UNKNOWN:
                    return v
        return UNKNOWN

    # -- expressions -------------------------------------------------------------------
    def _value(self, expr: Expr | None, module: str, fn: Function | None, line: int, depth: int) -> object:
        if expr is None or depth > MAX_DEPTH:
            return UNKNOWN
        d = depth + 1
        if isinstance(expr, Const):
            return expr.value
        if isinstance(expr, Seq):
            return tuple(self._value(i, module, fn, line, d) for i in expr.items)
        if isinstance(expr, DictExpr):
            out: dict[object, object] = {}
            for k, v in zip(expr.keys, expr.values):
                if not isinstance(k, Const):
                    return UNKNOWN
                out[k.value] = self._value(v, module, fn, line, d)
            return out
        if isinstance(expr, Name):
            return self._lookup(expr.id, module, fn, line or expr.line, d)
        if isinstance(expr, Attr):
            base = self._value(expr.value, module, fn, line, d)
            if isinstance(base, VModule):
                return self._module_attr(base.name, expr.attr, d)
            if isinstance(base, VInst):
                if isinstance(base.cls, VClass):
                    return self._class_default(base.cls, expr.attr, d)
                return VExt(f"{base.cls.qualname}().{expr.attr}")
            if isinstance(base, VClass):
                return self._class_default(base, expr.attr, d)
            if isinstance(base, VExt):
                return VExt(f"{base.qualname}.{expr.attr}")
            return UNKNOWN
        if isinstance(expr, Call):
            func = self._value(expr.func, module, fn, line, d)
            if func is UNKNOWN and isinstance(expr.func, Name) and expr.func.id == "dict" and not expr.args:
                if expr.starred:
                    return UNKNOWN
                return {k: self._value(v, module, fn, line, d) for k, v in expr.kwargs}
            if isinstance(func, VClass):
                return VInst(func, expr, None, (module, expr.line, expr.col))
            if isinstance(func, VExt):
                if func.qualname in ("functools.lru_cache", "functools.cache") and expr.args:
                    return self._value(expr.args[0], module, fn, line, d)
                return VInst(func, expr, None, (module, expr.line, expr.col))
            if isinstance(func, VInst) and isinstance(func.cls, VExt):  # ``Limiter()(...)``
                return VInst(VExt(func.cls.qualname + "()"), expr, None, (module, expr.line, expr.col))
            if isinstance(func, VFunc):
                called = func.env.module
                inner = self._functions.get(func.qualname)
                for ret in reversed(func.fact.scope.returns):
                    v = self._value(ret.value, called, inner, ret.pos.line, d)
                    if v is not UNKNOWN:
                        return v
            return UNKNOWN
        if isinstance(expr, BinOp) and expr.op == "+":
            left = self._value(expr.left, module, fn, line, d)
            right = self._value(expr.right, module, fn, line, d)
            if isinstance(left, str) and isinstance(right, str):
                return left + right
            if isinstance(left, tuple) and isinstance(right, tuple):
                return left + right
            return UNKNOWN
        if isinstance(expr, FStr):
            parts = []
            for p in expr.parts:
                if isinstance(p, str):
                    parts.append(p)
                    continue
                v = self._value(p, module, fn, line, d)
                if isinstance(v, (str, int, float)) and not isinstance(v, bool):
                    parts.append(str(v))
                else:
                    return UNKNOWN
            return "".join(parts)
        return UNKNOWN


_VALUES = (VModule, VClass, VFunc, VExt, VInst)


def _plain(v: object) -> object:
    """A Python constant: the interpreter's values (a module, a class, an instance...) become ``UNKNOWN``."""
    if isinstance(v, _VALUES):
        return UNKNOWN
    if isinstance(v, tuple):
        return tuple(_plain(i) for i in v)
    if isinstance(v, dict):
        return {k: _plain(i) for k, i in v.items()}
    return v


def _classes(classes: tuple[ClassFact, ...]) -> list[ClassFact]:
    out: list[ClassFact] = []
    for c in classes:
        out.append(c)
        out.extend(_classes(c.classes))
    return out

