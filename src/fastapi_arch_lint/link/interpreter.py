"""A small, bounded abstract interpreter over the facts of a whole project.

It knows Python, not FastAPI: names resolve through function scopes, module globals, imports
(relative ones too, re-exports in ``__init__`` modules) and star imports; calling a project class
makes an instance whose identity is its allocation site; calling a project function evaluates its
``return``; class hierarchies are followed. What FastAPI names mean is in ``knowledge`` and in the
components that use the interpreter. Whatever cannot be evaluated is a ``VUnknown`` with a reason;
the interpreter also collects the ``Unresolved`` notes the components make.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from fastapi_arch_lint.link.classes import Classes
from fastapi_arch_lint.link.instances import per_call, tuple_router
from fastapi_arch_lint.link.project import Project, bound_at, grows
from fastapi_arch_lint.link.values import (
    BUILTIN_VALUES,
    BUILTINS,
    Env,
    Value,
    VAnnotated,
    VClass,
    VConst,
    VExt,
    VFunc,
    VGeneric,
    VInst,
    VModule,
    VParam,
    VSeq,
    VUnknown,
    is_self,
    compare,
    ext_name,
    str_items,
    to_py,
    truth,
)
from fastapi_arch_lint.model.app import Unresolved
from fastapi_arch_lint.model.expr import (
    Attr,
    BinOp,
    BoolOp,
    Call,
    Compare,
    Cond,
    Const,
    DictExpr,
    Expr,
    FStr,
    Name,
    Not,
    Opaque,
    Seq,
    Subscript,
    render,
    walk,
)
from fastapi_arch_lint.model.facts import (
    AssignFact,
    FunctionFact,
    ImportFact,
    ModuleFacts,
    Scope,
)

_T = TypeVar("_T")

_ABSENT: Any = object()  # a ``dict.get`` default that no stored value is
_MISS: Any = object()  # ``recall``'s answer when the memo may not be used


MAX_EVAL_DEPTH = 24
_COLLECTIONS = frozenset({"builtins.frozenset", "builtins.set", "builtins.tuple", "builtins.list"})


class Interpreter(Classes):
    """Evaluates expressions of the project's facts to abstract values (``values``).

    ``canonical`` maps an external dotted name to the one name the library's object goes by (the
    many import paths of FastAPI's objects); ``same_object_attrs`` lists (class, attribute) pairs of
    external instances whose attribute is the instance itself (``app.router``). Both come from
    ``knowledge``: the interpreter itself knows no library.
    """

    def __init__(self, modules: Sequence[ModuleFacts], canonical: Callable[[str], str] = str,
                 same_object_attrs: frozenset[tuple[str, str]] = frozenset()) -> None:
        self.canonical = canonical
        self.same_object_attrs = same_object_attrs
        self.modules: dict[str, ModuleFacts] = {}
        for m in modules:
            self.modules.setdefault(m.module, m)
        self.project = Project(self.modules)
        self.unresolved: dict[tuple[str, int, str], Unresolved] = {}
        self._func_index: dict[str, VFunc] | None = None
        self._class_index: dict[str, VClass] | None = None
        self.symtab = self.project.symtab  # a scope's names and their bindings
        self._locals_cache: dict[int, dict[str, list[tuple[int, str, object]] | None]] = {}
        # Values that stand for one thing are made once and shared (values are immutable). A function
        # fact is identified by its id and module: the functions enclosing it follow from where it is.
        self._params: dict[tuple[int, str, str], VParam] = {}
        self._module_envs: dict[str, Env] = {}
        self._all_functions: list[tuple[VFunc, str | None]] | None = None
        self._eval_stack: set[tuple[int, str]] = set()
        self._depth = 0
        # memos of pure lookups (see ``memoized``): key -> (result, evaluation depth it needs)
        self._attr_memo: dict[tuple[str, str], tuple[Value, int]] = {}
        self._body_envs: dict[tuple[int, str], Env] = {}
        self._max_depth = 0  # the deepest ``_depth`` an ``eval`` started at, for the memos
        # set when a guard (depth limit, recursion, cycle) changed a result: such results depend on
        # what is being evaluated around them and are not memoized
        self._guarded = False
        self._bases_cache: dict[str, tuple[str, ...]] = {}
        self._bases_open: set[str] = set()  # ``bases`` computations in progress (cycle guard)
        self._subclasses: dict[str, list[VClass]] | None = None

    def guard_fired(self) -> None:
        """A component's own guard (a cycle) cut a computation short: what depends on it is not memoized."""
        self._guarded = True

    # -- reporting -----------------------------------------------------------
    def path_of(self, module: str) -> str:
        return m.path if (m := self.modules.get(module)) else module

    def note(self, what: str, reason: str, module: str, line: int) -> None:
        key = (module, line, what)
        if key not in self.unresolved:
            self.unresolved[key] = Unresolved(what, reason, self.path_of(module), line)

    # -- imports -------------------------------------------------------------
    def absolute(self, module: str, imp: ImportFact) -> str:
        return self.project.absolute(module, imp)

    def all_scopes(self) -> Iterator[tuple[Scope, Env]]:
        return self.project.all_scopes()

    def all_classes(self) -> Iterator[tuple[VClass, str]]:
        return self.project.all_classes()

    def resolve_import(self, module: str, imp: ImportFact) -> Value:
        target = self.absolute(module, imp)
        if imp.name is None:
            if target in self.modules or self.project.is_package(target):
                return VModule(target)
            return VExt(self.canonical(target))
        if target in self.modules:
            key = (id(imp), target)
            if key in self._eval_stack:  # ``from . import items`` inside the package itself
                self._guarded = True
                v: Value = VUnknown(f"`{imp.name}` imports itself")
            else:
                self._eval_stack.add(key)
                try:
                    v = self.module_attr(target, imp.name)
                finally:
                    self._eval_stack.discard(key)
            if not isinstance(v, VUnknown):
                return v
            sub = f"{target}.{imp.name}"
            if sub in self.modules or self.project.is_package(sub):
                return VModule(sub)
            return v
        sub = f"{target}.{imp.name}"
        if sub in self.modules or self.project.is_package(sub):
            return VModule(sub)
        if self.project.is_package(target):
            return VUnknown(f"`{imp.name}` not found in package `{target}`")
        return VExt(self.canonical(f"{target}.{imp.name}"))

    # -- symbol tables -------------------------------------------------------
    def memoized(self, memo: dict[Any, tuple[Any, int]], key: object, compute: Callable[..., _T], *args: Any) -> _T:
        """``compute(*args)``, remembered in ``memo`` under ``key`` when that is safe.

        Large projects resolve the same names (``APIRouter``, ``get_db``, ``settings``) and the same
        dependency signatures thousands of times through the same import chains. What the
        interpreter computes is a pure function of the facts, except where a guard cut evaluation
        short: the depth limit (which depends on how deep the caller already is) and the recursion
        and cycle guards (which depend on what is being evaluated around the call). So a result is
        remembered only when no guard fired while computing it (``_guarded``), together with how
        many levels of evaluation it needed beyond the caller's (from ``_max_depth``), and it is
        reused only by a caller shallow enough that the computation would not have hit the depth
        limit there either. A reused result is therefore the one computing it again would give.
        Nothing is remembered when ``compute`` raises (a RecursionError). Callers must not mutate
        what they get back.
        """
        depth = self._depth
        got = self.recall(memo, key, depth)
        if got is not _MISS:
            return got
        outer_max, outer_guarded = self._max_depth, self._guarded
        self._max_depth, self._guarded = depth, False
        try:
            result = compute(*args)
            if not self._guarded:
                memo[key] = (result, self._max_depth - depth)
            return result
        finally:
            self._max_depth = max(outer_max, self._max_depth)
            self._guarded = outer_guarded or self._guarded

    def recall(self, memo: dict[Any, tuple[Any, int]], key: object, depth: int) -> Any:
        """The memo's hit path, the one place it is written: what ``memo`` remembers under ``key`` if a
        caller at evaluation ``depth`` may reuse it (see ``memoized``), else ``_MISS``. ``eval`` asks it
        directly for module-level names, skipping the frames of ``lookup``, ``module_attr`` and
        ``memoized`` (the interpreter's hottest path)."""
        hit = memo.get(key)
        if hit is None:
            return _MISS
        reach = depth + hit[1]
        if reach > MAX_EVAL_DEPTH:
            return _MISS
        if reach > self._max_depth:
            self._max_depth = reach
        return hit[0]

    def local_names(self, fn: FunctionFact) -> dict[str, list[tuple[int, str, object]] | None]:
        """What ``lookup`` needs of a function in one table: its symbol table, and None for a parameter
        the body does not rebind (a name bound in the body wins over the parameter)."""
        tab = self._locals_cache.get(id(fn))
        if tab is None:
            tab = dict.fromkeys(p.name for p in fn.params)
            tab.update(self.symtab(fn.scope))
            self._locals_cache[id(fn)] = tab
        return tab

    def module_attr(self, module: str, name: str, _seen: frozenset[str] = frozenset()) -> Value:
        """The value of ``module.name`` (memoized: every use of an imported or global name lands here)."""
        if _seen:  # a star import being followed: its cycle guard depends on the path taken
            return self._module_attr(module, name, _seen)
        got = self.recall(self._attr_memo, (module, name), self._depth)  # a hit without ``memoized``'s frame
        if got is not _MISS:
            return got
        return self.memoized(self._attr_memo, (module, name), self._module_attr, module, name, _seen)

    def _module_attr(self, module: str, name: str, _seen: frozenset[str]) -> Value:
        facts = self.modules.get(module)
        sub = f"{module}.{name}"
        if facts is None:
            # a namespace package (a folder without ``__init__.py``) has submodules and nothing else
            if self.project.is_package(module) and (sub in self.modules or self.project.is_package(sub)):
                return VModule(sub)
            return VUnknown(f"module `{module}` is not part of the analyzed code")
        tab = self.symtab(facts.scope)
        entries = tab.get(name)
        if entries:
            env = self._module_envs.get(module) or self._module_envs.setdefault(module, Env(module))
            return self._from_entry(entries[-1], env)
        if sub in self.modules or self.project.is_package(sub):
            return VModule(sub)
        if (lazy := self._lazy_export(module, name, tab)) is not None:
            return lazy
        # ``from x import *``: the last star import that exports the name binds it, as at runtime
        for imp in reversed(facts.imports):
            if imp.local == "*" and module in _seen:
                self._guarded = True
            elif imp.local == "*":
                target = self.absolute(module, imp)
                if target in self.modules and self.star_exports(target, name):
                    v = self.module_attr(target, name, _seen | {module})
                    if not isinstance(v, VUnknown):
                        return v
        return VUnknown(f"`{name}` is not defined in `{module}`")

    def _lazy_export(self, module: str, name: str, tab: dict) -> Value | None:
        """A module-level ``__getattr__`` (PEP 562) that imports what a literal dict names:
        ``_EXPORTS = {"router": ("pkg.api.items", "router")}`` (or ``"pkg.api.items"``, or
        ``"pkg.api.items:router"``) read by ``__getattr__(name)``, which calls ``import_module`` or
        ``__import__``. None when the module has no such hook or the dict does not list ``name``."""
        hook = tab.get("__getattr__")
        if not hook or hook[-1][1] != "func":
            return None
        fn: FunctionFact = hook[-1][2]  # type: ignore[assignment]
        if not any(render(site.call.func).split(".")[-1] in ("import_module", "__import__") for site in fn.calls):
            return None
        env = self._module_envs.get(module) or self._module_envs.setdefault(module, Env(module))
        for table in sorted(fn.names):
            entries = tab.get(table)
            value = entries[-1][2].value if entries and entries[-1][1] == "assign" else None  # type: ignore[union-attr]
            if not isinstance(value, DictExpr):
                continue
            for k, v in zip(value.keys, value.values):
                if not (isinstance(k, Const) and k.value == name):
                    continue
                parts = [self.const(i, env) for i in v.items] if isinstance(v, Seq) else [self.const(v, env)]
                if len(parts) == 1 and isinstance(parts[0], str) and ":" in parts[0]:
                    parts = parts[0].split(":", 1)
                if not all(isinstance(x, str) for x in parts) or len(parts) > 2:
                    return VUnknown(f"`{module}.__getattr__` imports `{name}` from a computed place")
                rel = parts[0]
                level = len(rel) - len(rel.lstrip("."))  # ``".items"``, imported relative to the package
                target = self.absolute(module, ImportFact("", rel[level:], None, level, 0))
                return self.module_attr(target, parts[1] if len(parts) == 2 else name)
        return None

    def star_exports(self, module: str, name: str) -> bool:
        """Whether ``from module import *`` binds ``name``: it is listed in the module's ``__all__``
        (a literal list or tuple of strings), or, without one, does not start with an underscore.
        An ``__all__`` that is not a literal (``__all__ = base.__all__ + [...]``) lists what it may."""
        facts = self.modules[module]
        entries = self.symtab(facts.scope).get("__all__")
        if not entries:
            return not name.startswith("_")
        _, kind, obj = entries[-1]
        names = self.literal_strs(self.eval(obj.value, Env(module))) if kind == "assign" and obj.value else None
        if names is None:
            return True  # not a literal: the name may be exported
        extra = [a for a in facts.scope.assigns if a.target == "__all__" and a.augmented]
        return name in names or bool(extra)

    def _from_entry(self, entry: tuple[int, str, object], env: Env) -> Value:
        _, kind, obj = entry
        if kind == "assign":
            a: AssignFact = obj  # type: ignore[assignment]
            key = (id(a), env.module)
            if key in self._eval_stack:
                self._guarded = True
                return VUnknown("recursive definition")
            self._eval_stack.add(key)
            try:
                if a.value is None:
                    return VUnknown("declared without a value")
                v = self.eval(a.value, self.at_statement(env, a.pos.line))
                v = per_call(v, a, env) if isinstance(v, VInst) else v
                if isinstance(v, VInst) and not v.bound_name:
                    v = VInst(v.cls, v.call, v.env, v.site, a.target)
                elif isinstance(v, VUnknown) and not v.binding and not env.functions:
                    v = VUnknown(v.reason, f"{env.module}.{a.target}")
                return v
            finally:
                self._eval_stack.discard(key)
        if kind == "func":
            return VFunc(obj, env)  # type: ignore[arg-type]
        if kind == "class":
            return VClass(obj, env)  # type: ignore[arg-type]
        if kind == "import":
            return self.resolve_import(env.module, obj)  # type: ignore[arg-type]
        return VUnknown("unknown symbol kind")

    def lookup(self, name: str, env: Env, line: int = 0) -> Value:
        functions = env.functions
        innermost = len(functions) - 1
        for depth in range(innermost, -1, -1):
            fn = functions[depth]
            tab = self._locals_cache.get(id(fn))
            if tab is None:
                tab = self.local_names(fn)
            entries = tab.get(name, _ABSENT)
            if entries is _ABSENT:
                continue
            if entries is None:
                return self._param(fn, env, depth, name)
            chosen = entries[-1]
            if chosen[1] == "assign" and grows(chosen[2].value) and name in self.project.mutated(fn.scope):  # type: ignore[union-attr]
                # ``result = []`` then ``if key: result.append(Depends(check))``: not the literal it started as
                return VUnknown(f"`{name}` is changed in place after it is assigned (`{name}.append(...)`)")
            at = line or (env.at if depth == innermost else 0)  # a statement's own bindings come after it
            if at and (len(entries) > 1 or not line):  # the last binding before the line
                before = [e for e in entries if (e[0] <= line if line else bound_at(e) < at)]
                if before:
                    chosen = before[-1]
                elif not line and any(p.name == name for p in fn.params):  # ``app = wrap(app)``: the parameter
                    return self._param(fn, env, depth, name)
            return self._from_entry(chosen, env if depth == innermost else env.outer(depth + 1))
        if not functions and (line or env.at):  # code the import runs: the binding made before its line
            if (earlier := self._bound_before(env, name, line or env.at)) is not None:
                return earlier
        v = self.module_attr(env.module, name)
        if type(v) is VUnknown and name in BUILTINS:
            return BUILTIN_VALUES[name]
        return v

    def _param(self, fn: FunctionFact, env: Env, depth: int, name: str) -> Value:
        """Parameter ``name`` of ``fn`` (``env.functions[depth]``): the argument a call bound, else a ``VParam``."""
        for index, bound_name, arg, arg_env in env.bound:
            if index == depth and bound_name == name:
                value = self.eval(arg, arg_env)
                if not isinstance(value, (VUnknown, VParam)) or is_self(value):
                    return value  # a method's ``self`` handed on (``register(self)``): the instance, attributes known
                break
        key = (id(fn), env.module, name)
        param = self._params.get(key)
        if param is None:
            param = self._params[key] = VParam(VFunc(fn, Env(env.module, env.functions[:depth])), name)
        return param

    def at_statement(self, env: Env, line: int) -> Env:
        """The env of a statement at ``line`` (``Env.at``) in a scope that binds some name twice."""
        if env.at == line:
            return env
        fn = env.functions[-1] if env.functions else None
        scope = fn.scope if fn is not None else getattr(self.modules.get(env.module), "scope", None)
        twice = scope is not None and self.project.binds_twice(scope, fn.params if fn is not None else ())
        return Env(env.module, env.functions, env.bound, at=line) if twice else env

    def _bound_before(self, env: Env, name: str, line: int) -> Value | None:
        """The module-level ``name`` as code the import runs at ``line`` sees it (``def get_user(user=
        Depends(get_user))`` names the function it replaces), when that is not the last binding."""
        facts = self.modules.get(env.module)
        entries = (self.symtab(facts.scope).get(name) if facts is not None else None) or []
        before = [e for e in entries if bound_at(e) < line]
        if len(entries) < 2 or not before or bound_at(entries[-1]) < line:
            return None
        menv = self._module_envs.get(env.module) or self._module_envs.setdefault(env.module, Env(env.module))
        return self._from_entry(before[-1], menv)

    # -- evaluation ----------------------------------------------------------
    def eval(self, expr: Expr | None, env: Env) -> Value:
        if expr is None:
            return VUnknown("missing")
        depth = self._depth
        if depth > MAX_EVAL_DEPTH:
            self._guarded = True
            return VUnknown("evaluation too deep")
        if depth > self._max_depth:
            self._max_depth = depth
        # the two commonest kinds first, without the frames of ``_eval`` (and, for a module-level name
        # whose value is remembered, of ``lookup``, ``module_attr`` and ``memoized``: ``recall`` is asked)
        kind = type(expr)
        if kind is Name:
            if not env.functions and not env.at:
                v = self.recall(self._attr_memo, (env.module, expr.id), depth + 1)  # ``module_attr`` is one level down
                if v is not _MISS:
                    if type(v) is VUnknown and expr.id in BUILTINS:
                        return BUILTIN_VALUES[expr.id]
                    return v
            self._depth = depth + 1
            try:
                return self.lookup(expr.id, env, expr.line)
            finally:
                self._depth = depth
        if kind is Const:
            return VConst(expr.value)
        self._depth = depth + 1
        try:
            return self._eval(expr, env)
        finally:
            self._depth = depth

    def _eval(self, expr: Expr, env: Env) -> Value:
        # the expression kinds in order of frequency (names and constants are handled by ``eval``)
        if isinstance(expr, Call):
            return self.call(expr, env)
        if isinstance(expr, Attr):
            return self.attr(self.eval(expr.value, env), expr.attr, env)
        if isinstance(expr, Seq):
            return VSeq(tuple(self.eval(i, env) for i in expr.items))
        if isinstance(expr, FStr):
            out = []
            for part in expr.parts:
                if isinstance(part, str):
                    out.append(part)
                    continue
                v = self.eval(part, env)
                if isinstance(v, VConst) and isinstance(v.value, (str, int, float)) and not isinstance(v.value, bool):
                    out.append(str(v.value))
                else:
                    return VUnknown(f"f-string part `{render(part)}` is not a constant")
            return VConst("".join(out))
        if isinstance(expr, BinOp):
            left = self.eval(expr.left, env)
            right = self.eval(expr.right, env)
            if expr.op == "+" and isinstance(left, VConst) and isinstance(right, VConst):
                if isinstance(left.value, str) and isinstance(right.value, str):
                    return VConst(left.value + right.value)
                if isinstance(left.value, (list, tuple)) and isinstance(right.value, (list, tuple)):
                    return VConst(tuple(left.value) + tuple(right.value))
            if expr.op == "+" and isinstance(left, VSeq) and isinstance(right, VSeq):
                return VSeq(left.items + right.items)
            if expr.op == "|":
                return VGeneric(VExt("typing.Union"), (left, right))
            return VUnknown(f"`{render(expr)}` is computed at runtime")
        if isinstance(expr, Subscript):
            if (item := self._dict_entry(expr, env, 0)) is not None:  # ``ERRORS[code]["status_code"]``
                return self.eval(*item)
            base, items = self.eval(expr.value, env), expr.items
            if (router := tuple_router(base, items)) is not None:  # ``public, private = make_routers()``
                return router
            if len(items) == 1 and isinstance(items[0], Seq) and items[0].kind == "tuple":
                items = items[0].items
            if ext_name(base) == "typing.Annotated" and items:
                meta = tuple(self.eval(i, env) for i in items[1:])
                either = tuple((self.eval(i.body, env), self.eval(i.orelse, env)) for i, m in zip(items[1:], meta)
                               if isinstance(i, Cond) and isinstance(m, VUnknown))
                return VAnnotated(self.annotation(items[0], env), meta, either)
            return VGeneric(base, tuple(self.annotation(i, env) for i in items))
        if isinstance(expr, Cond):
            test = self.condition(expr.test, env)
            if test is not None:
                return self.eval(expr.body if test else expr.orelse, env)
            body, orelse = self.eval(expr.body, env), self.eval(expr.orelse, env)
            return body if body == orelse else VUnknown(f"`{render(expr.test)}` decides at runtime")
        if isinstance(expr, Compare):
            right = self.eval(expr.right, env)
            if expr.op in ("in", "not in") and isinstance(right, VInst) and right.call is not None \
                    and ext_name(right.cls) in _COLLECTIONS and len(right.call.args) == 1:  # ``x in frozenset(s)``
                right = self.eval(right.call.args[0], right.env or env)
            got = compare(expr.op, self.eval(expr.left, env), right)
            return got if got is not None else VUnknown(f"`{render(expr)}` is computed at runtime")
        if isinstance(expr, Not):
            test = truth(self.eval(expr.operand, env))
            return VConst(not test) if test is not None else VUnknown(f"`{render(expr)}` is computed at runtime")
        if isinstance(expr, BoolOp):  # Python's semantics: the first operand that decides, else the last
            for item in expr.values:
                v = self.eval(item, env)
                test = truth(v)
                if test is None or test is (expr.op == "or") or item is expr.values[-1]:
                    return v if test is not None else VUnknown(f"`{render(expr)}` is computed at runtime")
            return VUnknown("empty")
        if isinstance(expr, DictExpr):
            return VUnknown("dict")
        if isinstance(expr, Opaque):
            return VUnknown(f"`{expr.code}` is not modelled")
        return VUnknown("unsupported expression")

    def _dict_literal(self, expr: Expr, env: Env, depth: int = 0) -> tuple[DictExpr, Env] | None:
        """The dict literal ``expr`` is (a module-level name bound once to one, or an item of one), with its env."""
        if isinstance(expr, Subscript) and depth < 3:
            got = self._dict_entry(expr, env, depth)
            return (got[0], got[1]) if got is not None and isinstance(got[0], DictExpr) else None
        if not isinstance(expr, Name) or env.module not in self.modules:
            return None
        # the module's table first: most subscripts are annotations (``List[X]``), whose name binds no dict
        entries = self.symtab(self.modules[env.module].scope).get(expr.id) or []
        if len(entries) != 1 or entries[0][1] != "assign" or not isinstance(entries[0][2].value, DictExpr) \
                or any(self.local_names(f).get(expr.id, _ABSENT) is not _ABSENT for f in env.functions):  # type: ignore[union-attr]
            return None
        return entries[0][2].value, Env(env.module)  # type: ignore[union-attr]

    def _dict_entry(self, expr: Subscript, env: Env, depth: int) -> tuple[Expr, Env] | None:
        """The value expression of ``d[key]`` for a dict literal ``d`` whose keys are all known, with its env."""
        lit = self._dict_literal(expr.value, env, depth + 1) if len(expr.items) == 1 else None
        if lit is None or None in lit[0].keys:
            return None
        key, keys = self.eval(expr.items[0], env), [self.eval(k, lit[1]) for k in lit[0].keys]
        if isinstance(key, VUnknown) or any(isinstance(k, VUnknown) for k in keys):
            return None  # an unknown key may be any of them
        found = [v for k, v in zip(keys, lit[0].values) if k == key]
        return (found[-1], lit[1]) if found else None

    def annotation(self, expr: Expr | None, env: Env) -> Value:
        """Evaluate a type annotation; string annotations are evaluated as names."""
        if isinstance(expr, Const) and isinstance(expr.value, str):
            text = expr.value.strip()
            if re.fullmatch(r"[A-Za-z_][\w.]*", text):
                parts = text.split(".")
                node: Expr = Name(parts[0])
                for p in parts[1:]:
                    node = Attr(node, p)
                return self.eval(node, env)
            return VUnknown(f"string annotation `{text}`")
        return self.eval(expr, env)

    def attr(self, base: Value, name: str, env: Env | None = None) -> Value:
        if isinstance(base, VModule):
            return self.module_attr(base.name, name)
        if isinstance(base, VExt):
            return VExt(self.canonical(f"{base.qualname}.{name}"))
        if isinstance(base, VClass):
            return self.class_attr(base, name, instance=False)
        if isinstance(base, VInst):
            if isinstance(base.cls, VClass):
                return self.instance_attr(base.cls, name, base)
            if (base.cls.qualname, name) in self.same_object_attrs:
                return base  # ``app.router.include_router`` is the app's own router
            return VUnknown(f"attribute `{name}` of a `{base.cls.qualname}` instance")
        if isinstance(base, VParam):
            fn = base.func.fact
            owner = self.project.owner(fn) if fn.is_method and fn.params and fn.params[0].name == base.name else None
            if owner is not None:  # ``self.router`` in a method
                return self.instance_attr(owner, name, None, of_self=True, env=env)
            return VUnknown(f"attribute of parameter `{base.name}`")
        return VUnknown(f"attribute `{name}`")

    def call(self, expr: Call, env: Env) -> Value:
        func = self.eval(expr.func, env)
        site = (env.module, expr.line, expr.col)
        if isinstance(func, VClass):
            return VInst(func, expr, env, site)
        if isinstance(func, VExt):
            if func.qualname in ("functools.lru_cache", "functools.cache") and expr.args:
                return self.eval(expr.args[0], env)
            if func.qualname == "functools.update_wrapper":
                return self._update_wrapper(expr, env)
            return VInst(func, expr, env, site)
        if isinstance(func, VFunc):
            return self.call_function(func, expr, env)
        if isinstance(func, VInst) and isinstance(func.cls, VClass):
            m = self.class_attr(func.cls, "__call__", instance=True)
            if isinstance(m, VFunc):
                return self.call_function(m, expr, env)
        if isinstance(func, VInst) and isinstance(func.cls, VExt):
            # e.g. ``declarative_base()`` result, ``registry().generate_base()``
            return VInst(VExt(func.cls.qualname + "()"), expr, env, site)
        if isinstance(func, VUnknown):
            return VUnknown(func.reason)
        return VUnknown(f"call of `{render(expr.func)}`")

    def _update_wrapper(self, expr: Call, env: Env) -> Value:
        """``functools.update_wrapper(wrapper, wrapped)``: ``wrapped`` itself when ``wrapper`` is a copy of it
        (``types.FunctionType(wrapped.__code__, ...)``: its code, and FastAPI reads its signature through
        ``__wrapped__``); otherwise what runs is the wrapper's code under the wrapped one's signature: unknown."""
        wrapper, wrapped = expr.arg(0, "wrapper"), expr.arg(1, "wrapped")
        target = self.eval(wrapped, env) if wrapped is not None else None
        w = self.eval(wrapper, env) if wrapper is not None else None
        if (isinstance(target, VFunc) and isinstance(w, VInst) and isinstance(w.cls, VExt)
                and w.cls.qualname == "types.FunctionType" and w.call is not None and w.env is not None):
            code = w.call.arg(0, "code")
            if (isinstance(code, Attr) and code.attr == "__code__"
                    and self.eval(code.value, w.env) == target):
                return target
        return VUnknown(f"`{render(expr.func)}(...)`: a wrapper whose code is not known")

    def call_function(self, func: VFunc, expr: Call | None, env: Env | None = None) -> Value:
        """What calling ``func`` returns, its parameters bound to the call's arguments (and defaults):
        of the ``return``s that may run (up to the first that certainly runs), the last whose value is
        known (a function's final ``return`` is its usual result)."""
        key = (id(func.fact), "call")
        if key in self._eval_stack:
            self._guarded = True
            return VUnknown("recursive call")
        self._eval_stack.add(key)
        try:
            inner = Env(func.env.module, func.env.functions + (func.fact,),
                        func.env.bound + self.bind(func, expr, env) if expr is not None and env is not None else func.env.bound)
            candidates = []  # the returns that may run; their values are evaluated last first, as few as needed
            certain = False
            for ret in func.fact.scope.returns:
                reached = self.reached(ret.conds, inner) if ret.conds else True
                if reached is False:
                    continue
                candidates.append(ret)
                if reached:
                    certain = True
                    break
            if certain and len(candidates) == 1 and candidates[0].value is None:
                return VConst(None)  # a bare ``return`` that certainly runs first
            unknown: Value | None = None
            for ret in reversed(candidates):
                if ret.value is None:
                    continue
                v = self.eval(ret.value, inner)
                if not isinstance(v, VUnknown):
                    return v
                unknown = unknown or v
            # a factory whose return type is known
            if func.fact.returns is not None:
                t = self.annotation(func.fact.returns, func.env)
                if isinstance(t, (VClass, VExt)):
                    return VInst(t, expr, func.env, (func.env.module, func.fact.pos.line, func.fact.pos.col))
            return unknown or VUnknown(f"the result of `{func.fact.name}()`")
        finally:
            self._eval_stack.discard(key)

    def bind(self, func: VFunc, call: Call, env: Env) -> tuple[tuple[int, str, Expr, Env], ...]:
        """The call's argument (or the default, unless ``*``/``**`` may pass it) for each of ``func``'s
        parameters but a method's ``self``/``cls``, with the env to evaluate it in."""
        params = func.fact.params
        index = len(func.env.functions)
        out: list[tuple[int, str, Expr, Env]] = []
        if func.fact.is_method and params and params[0].name in ("self", "cls"):
            # a class method called on a class (``Denied.as_http_error()``, defined on its base): ``cls`` is
            # that class, so ``cls.Code`` reads the subclass's value
            if isinstance(call.func, Attr) and any(isinstance(d.expr, Name) and d.expr.id == "classmethod"
                                                   for d in func.fact.decorators) \
                    and isinstance(self.eval(call.func.value, env), VClass):
                out.append((index, params[0].name, call.func.value, env))
            params = params[1:]
        args = call.args
        i = 0
        for p in params:
            if p.kind in ("var_positional", "var_keyword"):
                if p.kind == "var_positional":
                    i = len(args)
                continue
            arg: Expr | None = None
            if p.kind == "positional" and i < len(args):
                arg = args[i]
                i += 1
            kw = call.kwarg(p.name)
            if kw is not None:
                arg = kw
            if arg is not None:
                out.append((index, p.name, arg, env))
            elif p.default is not None and not call.starred:
                out.append((index, p.name, p.default, func.env))
        return tuple(out)

    def condition(self, test: Expr, env: Env) -> bool | None:
        """Whether a condition holds, when that is statically certain. An object's attribute
        (``settings.DEBUG``, ``self.strict``) may be set at runtime (an environment variable, a
        constructor argument): a condition reading one is not certain, whatever its class default,
        nor is one reading a local name assigned one (``scheme = get_settings().auth_scheme``)."""
        for e in walk(test):
            if (type(e) is Attr and isinstance(self.eval(e.value, env), VInst)  # type: ignore[union-attr]
                    or type(e) is Name and env.functions and self._reads_attribute(e.id, env)):  # type: ignore[union-attr]
                return None
        return truth(self.eval(test, env))

    def _reads_attribute(self, name: str, env: Env) -> bool:
        """Whether the function scope that binds ``name`` assigns it an expression reading an object's attribute."""
        for depth in range(len(env.functions) - 1, -1, -1):
            if (entries := self.local_names(env.functions[depth]).get(name, _ABSENT)) is not _ABSENT:
                return any(kind == "assign" and any(type(x) is Attr and isinstance(self.eval(x.value, env.outer(
                    depth + 1)), VInst) for x in walk(a.value)) for _, kind, a in entries or ())  # type: ignore[union-attr]
        return False

    def reached(self, conds: Sequence[tuple[bool, Expr]], env: Env) -> bool | None:
        """Whether a statement under these ``if`` conditions runs: certainly, certainly not, or None."""
        certain = True
        for negated, test in conds:
            t = self.condition(test, env)
            if t is None:
                certain = False
            elif t == negated:
                return False
        return True if certain else None

    # -- literal helpers -----------------------------------------------------
    def const(self, expr: Expr | None, env: Env) -> object:
        return to_py(self.eval(expr, env))

    def str_list(self, expr: Expr | None, env: Env) -> tuple[str, ...]:
        if expr is None:
            return ()
        return str_items(self.eval(expr, env))

    def bool_kw(self, call: Call, name: str, env: Env, default: bool) -> bool:
        e = call.kwarg(name)
        if e is None:
            return default
        v = self.eval(e, env)
        return v.value if isinstance(v, VConst) and isinstance(v.value, bool) else default

    def unwrap_alias(self, v: Value | None) -> Value | None:
        # ``X = Annotated[...]`` aliases evaluate to VAnnotated already; TypeAliasType too
        if isinstance(v, VInst) and ext_name(v.cls) == "typing.TypeAliasType" and v.call and len(v.call.args) > 1:
            return self.eval(v.call.args[1], v.env or Env(v.site[0]))
        return v

    # -- indexes of the project's functions and classes --------------------------
    def functions_by_name(self) -> dict[str, VFunc]:
        if self._func_index is None:
            self._func_index = {}
            for fv, _ in self.all_functions():
                self._func_index.setdefault(fv.qualname, fv)
        return self._func_index

    def classes_by_name(self) -> dict[str, VClass]:
        if self._class_index is None:
            self._class_index = {}
            for cls, _ in self.all_classes():
                self._class_index.setdefault(cls.qualname, cls)
        return self._class_index

    def module_at(self, path: str) -> str | None:
        return next((name for name, facts in self.modules.items() if facts.path == path), None)

    def literal_strs(self, v: Value, _depth: int = 0) -> tuple[str, ...] | None:
        """The strings of a literal str/tuple/list/set/frozenset value, or None if any is not literal."""
        if _depth > 4:
            return None
        if isinstance(v, VConst):
            if isinstance(v.value, str):
                return (v.value,)
            if isinstance(v.value, (tuple, list, set, frozenset)) and all(isinstance(i, str) for i in v.value):
                return tuple(v.value)
            return None
        if isinstance(v, VSeq):
            out: list[str] = []
            for item in v.items:
                got = self.literal_strs(item, _depth + 1)
                if got is None:
                    return None
                out.extend(got)
            return tuple(out)
        if isinstance(v, VInst) and isinstance(v.cls, VExt) and v.cls.qualname in _COLLECTIONS and v.call is not None:
            if not v.call.args:
                return ()
            return self.literal_strs(self.eval(v.call.args[0], v.env or Env(v.site[0])), _depth + 1)
        return None

    def all_functions(self) -> list[tuple[VFunc, str | None]]:
        """Every function and method with its class's qualified name (made once: two passes use it)."""
        if self._all_functions is None:
            self._all_functions = list(self.project.functions())
        return self._all_functions

    def body_env(self, fn: VFunc) -> Env:
        """The env ``fn``'s body runs in (one object per function: call sites share it)."""
        key = (id(fn.fact), fn.env.module, fn.env.bound) if fn.env.bound else (id(fn.fact), fn.env.module)
        env = self._body_envs.get(key)
        if env is None:
            env = self._body_envs[key] = fn.env.inner(fn.fact)
        return env

