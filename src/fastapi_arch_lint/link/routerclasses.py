"""Router, app and route classes: the options an instance really passes to the library's constructor.

``class UserRouter(APIRouter)`` whose ``__init__`` calls ``super().__init__(prefix=..., dependencies=[...],
**kwargs)`` makes ``UserRouter(prefix="/items")`` a router whose options are the instantiation's arguments
as that ``__init__`` (and every ``__init__`` above it, in method resolution order) transforms them. This
module runs that chain: the instantiation's arguments are bound to the ``__init__``'s parameters (or their
defaults), the statements before the base call that edit them are applied (``kwargs.setdefault``,
``kwargs.update``, ``kwargs.pop``, rebinding a parameter, ``deps.append``), the base call's arguments are
evaluated with those bindings (``**kwargs`` and ``*args`` forwarded), and assignments to ``self.prefix``,
``self.dependencies`` and the like after it are applied on the way back. Route classes (``route_class=``)
are run the same way, with FastAPI's own arguments, to find the dependencies they add to every route.

The interpreter does not bind arguments to parameters; this module does it locally for constructor
chains (a small evaluator over the bindings, falling back to the interpreter for expressions that use
none of them). Whatever it cannot follow is an unknown value with a reason, or an ``open`` reason
saying that options other than the known ones may have been passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi_arch_lint.link.interpreter import Interpreter
from fastapi_arch_lint.link.knowledge import (
    APP_CLASSES,
    ROUTE_CLASSES,
    ROUTER_CLASSES,
)
from fastapi_arch_lint.link.values import (
    Env,
    Value,
    VClass,
    VConst,
    VExt,
    VFunc,
    VGeneric,
    VInst,
    VSeq,
    VUnknown,
    compare,
    truth,
)
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
    Seq,
    render,
    walk,
)
from fastapi_arch_lint.model.facts import AssignFact, CallSite, FunctionFact

MAX_CHAIN = 12  # ``__init__`` levels followed
LIBRARY_CONSTRUCTORS = APP_CLASSES | ROUTER_CLASSES | ROUTE_CLASSES
# bases whose ``__init__`` takes no part in a router's options
_HARMLESS_BASES = frozenset({"builtins.object", "abc.ABC", "typing.Generic", "typing.Protocol"})
# what ``APIRouter.add_api_route`` passes to its ``route_class`` as keywords (FastAPI 0.100-0.165)
_ROUTE_KWARGS = (
    "response_model", "status_code", "tags", "dependencies", "summary", "description", "response_description",
    "responses", "deprecated", "methods", "operation_id", "response_model_include", "response_model_exclude",
    "response_model_by_alias", "response_model_exclude_unset", "response_model_exclude_defaults",
    "response_model_exclude_none", "include_in_schema", "response_class", "name", "dependency_overrides_provider",
    "callbacks", "openapi_extra", "generate_unique_id_function",
)
# the router's own dependencies, as a route class receives them (told apart from what the class adds)
INCOMING = VUnknown("the dependencies FastAPI passes to the route class")


@dataclass(slots=True)
class KwDict:
    """A ``**kwargs`` dict being built: the entries known, and why others may be present ("" if none)."""

    known: dict[str, Value] = field(default_factory=dict)
    open: str = ""


@dataclass(slots=True)
class Options:
    """The arguments that reach the library's constructor (``FastAPI``, ``APIRouter``, ``APIRoute``)."""

    values: dict[str, Value]
    positional: tuple[Value, ...] = ()
    open: str = ""  # why options other than ``values`` may have been passed ("" when none can be)
    library: str = ""  # the library class whose constructor is reached ("" when none is)
    changed: bool = False  # a project ``__init__`` took part

    def get(self, name: str) -> Value | None:
        """The value passed as ``name``; None when it was not passed (so the default applies)."""
        v = self.values.get(name)
        if v is None and self.open:
            return VUnknown(f"may be passed {self.open}")
        return v


Bound = Value | KwDict


class RouterClasses:
    """Runs ``__init__`` chains of project subclasses of FastAPI's app, router and route classes."""

    def __init__(self, interp: Interpreter) -> None:
        self.interp = interp
        self._route_deps: dict[str, tuple[list[Value], str]] = {}

    # -- the entry points ----------------------------------------------------------
    def options(self, inst: VInst) -> Options:
        """The options an app or router instance is constructed with, through its class's ``__init__`` chain."""
        call, env = inst.call, inst.env or Env(inst.site[0])
        pos: list[Value] = []
        kw = KwDict()
        if call is not None:
            pos = [self.interp.eval(a, env) for a in call.args]
            kw.known = {k: self.interp.eval(v, env) for k, v in call.kwargs}
            if call.starred:
                kw.open = f"through `*`/`**` arguments of `{render(call.func)}(...)`"
        if isinstance(inst.cls, VExt):
            return Options(kw.known, tuple(pos), kw.open, inst.cls.qualname)
        chain = self.mro(inst.cls)
        if chain is None:
            return Options(kw.known, tuple(pos), f"the class hierarchy of `{inst.cls.fact.name}` is not known",
                           changed=True)
        return self._from(chain, 0, pos, kw, 0)

    def route_class_deps(self, route_cls: Value) -> tuple[list[Value], str]:
        """The dependencies a ``route_class`` adds to every route it makes, and why they may be more
        ("" when they are exactly these). FastAPI's own ``APIRoute`` adds none."""
        if not isinstance(route_cls, VClass):
            return [], ""
        key = route_cls.qualname
        got = self._route_deps.get(key)
        if got is None:
            got = self._route_deps[key] = self._route_class_deps(route_cls)
        return got

    def _route_class_deps(self, cls: VClass) -> tuple[list[Value], str]:
        chain = self.mro(cls)
        if chain is None:
            return [], f"the class hierarchy of `{cls.fact.name}` is not known"
        known: dict[str, Value] = {k: VUnknown(f"`{k}` as FastAPI passes it") for k in _ROUTE_KWARGS}
        known["dependencies"] = VSeq((INCOMING,))
        path, endpoint = VUnknown("the route's path"), VUnknown("the route's endpoint")
        opts = self._from(chain, 0, [path, endpoint], KwDict(known), 0)
        if not opts.changed:
            return [], ""
        deps = opts.values.get("dependencies")
        if not isinstance(deps, VSeq):
            return [], f"its `dependencies` {_why(deps)}"
        if INCOMING not in deps.items:
            return list(deps.items), "it replaces the router's dependencies"
        return [x for x in deps.items if x != INCOMING], ""

    # -- method resolution order ----------------------------------------------------
    def mro(self, cls: VClass | VExt, _depth: int = 0) -> list[VClass | VExt] | None:
        """C3 linearization of a project class (external classes are leaves); None when a base is unknown."""
        if isinstance(cls, VExt):
            return [cls]
        if _depth > MAX_CHAIN:
            return None
        bases: list[VClass | VExt] = []
        for b in cls.fact.bases:
            bv = self.interp.eval(b, cls.env)
            if isinstance(bv, VGeneric):
                bv = bv.base
            if isinstance(bv, (VClass, VExt)):
                bases.append(bv)
            else:
                return None
        seqs: list[list[VClass | VExt]] = []
        for b in bases:
            m = self.mro(b, _depth + 1)
            if m is None:
                return None
            seqs.append(list(m))
        seqs.append(list(bases))
        out: list[VClass | VExt] = [cls]
        while True:
            seqs = [s for s in seqs if s]
            if not seqs:
                return out
            for s in seqs:
                head = s[0]
                if not any(_same(head, x) for t in seqs for x in t[1:]):
                    break
            else:
                return None  # no consistent order: Python would refuse the class
            out.append(head)
            for s in seqs:
                if _same(s[0], head):
                    del s[0]

    # -- running the chain ---------------------------------------------------------
    def _from(self, chain: list[VClass | VExt], start: int, pos: list[Value], kw: KwDict, depth: int,
              changed: bool = False) -> Options:
        """The options reaching the library when the ``__init__`` found from ``chain[start]`` on is called."""
        for i in range(start, len(chain)):
            c = chain[i]
            if isinstance(c, VExt):
                if c.qualname in LIBRARY_CONSTRUCTORS:
                    return Options(dict(kw.known), tuple(pos), kw.open, c.qualname, changed)
                if c.qualname in _HARMLESS_BASES:
                    continue
                return Options(dict(kw.known), tuple(pos), f"through the `__init__` of `{c.qualname}`", "", True)
            init = c.fact.method("__init__")
            if init is not None:
                if depth >= MAX_CHAIN:
                    return Options(dict(kw.known), tuple(pos), "through `__init__` calls nested too deep", "", True)
                return self._run_init(chain, i, init, pos, kw, depth)
        return Options(dict(kw.known), tuple(pos), kw.open, "", changed)

    def _run_init(self, chain: list[VClass | VExt], i: int, init: FunctionFact, pos: list[Value], kw: KwDict,
                  depth: int) -> Options:
        cls = chain[i]
        assert isinstance(cls, VClass)
        fn = VFunc(init, cls.env, cls)  # a class made by a factory call keeps the call's bindings (closures)
        env = self.interp.body_env(fn)
        binds = self._bind(init, cls.env, pos, kw)
        site, target = self._base_call(init, env, chain, i)
        if site is None:
            return Options(dict(kw.known), tuple(pos), f"`{cls.fact.name}.__init__` calls no base `__init__` we can follow",
                           "", True)
        line = site.pos.line
        stmts: list[tuple[int, int, object]] = [(a.pos.line, a.pos.col, a) for a in init.scope.assigns]
        stmts += [(c.pos.line, c.pos.col, c.call) for c in init.scope.calls]
        stmts.sort(key=lambda s: (s[0], s[1]))
        post = []
        for ln, col, st in stmts:
            if (ln, col) >= (line, site.pos.col):
                post.append(st)
            elif isinstance(st, Call):
                self._stmt_call(st, env, binds)
            else:
                self._assign(st, env, binds)  # type: ignore[arg-type]
        # ``kwargs["x"] = ...``: the facts keep which keys are subscripted, not the values assigned
        for base, key in init.subscripts:
            kd = binds.get(base)
            if isinstance(kd, KwDict):
                kd.known[key] = VUnknown(f"`{base}[{key!r}]` is set in `{cls.fact.name}.__init__`: its value is not modelled")
        args = list(site.call.args)
        if target is not None and args:
            args = args[1:]  # ``Base.__init__(self, ...)``
        new_pos = [self._value(self._ev(a, env, binds)) for a in args]
        new_kw = KwDict()
        for star, e in site.spread:
            v = self._ev(e, env, binds)
            if star == "*":
                if isinstance(v, VSeq):
                    new_pos.extend(v.items)
                else:
                    new_kw.open = new_kw.open or f"through `*{render(e)}` in `{cls.fact.name}.__init__`"
            elif isinstance(v, KwDict):
                new_kw.known.update(v.known)
                new_kw.open = new_kw.open or v.open
            else:
                new_kw.open = new_kw.open or f"through `**{render(e)}` in `{cls.fact.name}.__init__`"
        for k, e in site.call.kwargs:
            new_kw.known[k] = self._value(self._ev(e, env, binds))
        nxt = i + 1 if target is None else target
        result = self._from(chain, nxt, new_pos, new_kw, depth + 1, True)
        for st in post:  # ``self.prefix = ...``, ``self.dependencies.append(...)`` after the base call
            self._post(st, env, binds, result, cls.fact.name)
        result.changed = True
        return result

    def _bind(self, fn: FunctionFact, fenv: Env, pos: list[Value], kw: KwDict) -> dict[str, Bound]:
        params = fn.params[1:] if fn.params and fn.params[0].kind == "positional" else fn.params
        binds: dict[str, Bound] = {}
        rest = dict(kw.known)
        i = 0
        for p in params:
            if p.kind in ("var_positional", "var_keyword"):
                continue
            if p.kind == "positional" and i < len(pos):
                binds[p.name] = pos[i]
                i += 1
            elif p.name in rest:
                binds[p.name] = rest.pop(p.name)
            elif kw.open:
                binds[p.name] = VUnknown(f"may be passed {kw.open}")
            elif p.default is not None:
                binds[p.name] = self.interp.eval(p.default, fenv)
            else:
                binds[p.name] = VUnknown(f"`{p.name}` is not passed")
        for p in params:
            if p.kind == "var_positional":
                binds[p.name] = VSeq(tuple(pos[i:]))
            elif p.kind == "var_keyword":
                binds[p.name] = KwDict(rest, kw.open)
        return binds

    def _base_call(self, fn: FunctionFact, env: Env, chain: list[VClass | VExt], i: int
                   ) -> tuple[CallSite | None, int | None]:
        """The first call of the base class's ``__init__`` in ``fn``: ``super().__init__(...)`` (the next
        class in ``chain``, target None) or ``Base.__init__(self, ...)`` (the index of ``Base``)."""
        for site in fn.calls:
            f = site.call.func
            if not (isinstance(f, Attr) and f.attr == "__init__"):
                continue
            if isinstance(f.value, Call) and isinstance(f.value.func, Name) and f.value.func.id == "super":
                return site, None
            base = self.interp.eval(f.value, env)
            for j in range(i + 1, len(chain)):
                if _same(chain[j], base):
                    return site, j
        return None, None

    # -- the statements of an ``__init__`` ---------------------------------------------
    def _assign(self, a: object, env: Env, binds: dict[str, Bound]) -> None:
        assert isinstance(a, AssignFact)
        if not a.target or "." in a.target:
            return
        v = self._ev(a.value, env, binds)
        if a.augmented:
            old = binds.get(a.target)
            v = _plus(old, v) if old is not None and not isinstance(old, KwDict) and not isinstance(v, KwDict) \
                else VUnknown(f"`{a.target} op= ...`")
        binds[a.target] = v

    def _stmt_call(self, call: Call, env: Env, binds: dict[str, Bound]) -> None:
        f = call.func
        if not (isinstance(f, Attr) and isinstance(f.value, Name) and f.value.id in binds):
            return
        name, meth = f.value.id, f.attr
        obj = binds[name]
        if isinstance(obj, KwDict):
            key = call.args[0] if call.args else None
            k = key.value if isinstance(key, Const) and isinstance(key.value, str) else None
            if meth == "setdefault" and call.args:
                if k is None:
                    obj.open = obj.open or f"`{render(call)}` with a computed key"
                elif k not in obj.known:
                    val = self._value(self._ev(call.args[1], env, binds)) if len(call.args) > 1 else VConst(None)
                    obj.known[k] = VUnknown(f"`{render(call)}`: may be passed {obj.open}") if obj.open else val
            elif meth == "pop" and call.args:
                if k is not None:
                    obj.known.pop(k, None)
            elif meth == "update":
                for kk, e in call.kwargs:
                    obj.known[kk] = self._value(self._ev(e, env, binds))
                if call.args:
                    d = call.args[0]
                    if isinstance(d, DictExpr) and all(isinstance(x, Const) and isinstance(x.value, str) for x in d.keys):
                        for kx, e in zip(d.keys, d.values):
                            obj.known[kx.value] = self._value(self._ev(e, env, binds))  # type: ignore[union-attr]
                    else:
                        obj.open = obj.open or f"`{render(call)}`"
                if call.starred:
                    obj.open = obj.open or f"`{render(call)}`"
            elif meth == "clear":
                obj.known.clear()
                obj.open = ""
            return
        if isinstance(obj, VSeq) and call.args:
            item = self._value(self._ev(call.args[-1], env, binds))
            if meth == "append":
                binds[name] = VSeq(obj.items + (item,))
            elif meth == "extend":
                binds[name] = _plus(obj, item)
            elif meth == "insert":
                binds[name] = VSeq((item,) + obj.items) if call.args[0] == Const(0) else VSeq(obj.items + (item,))

    def _post(self, st: object, env: Env, binds: dict[str, Bound], result: Options, cls_name: str) -> None:
        """A statement after the base call that edits what the library constructor stored on ``self``."""
        if isinstance(st, Call):
            f = st.func
            if isinstance(f, Attr) and isinstance(f.value, Attr) and isinstance(f.value.value, Name) \
                    and f.value.value.id == "self" and st.args:
                attr, meth = f.value.attr, f.attr
                old = result.values.get(attr, VSeq(()))
                item = self._value(self._ev(st.args[-1], env, binds))
                if meth == "append":
                    result.values[attr] = VSeq(old.items + (item,)) if isinstance(old, VSeq) else VUnknown(f"`self.{attr}`")
                elif meth == "extend":
                    result.values[attr] = _plus(old, item)
            return
        if isinstance(st, AssignFact) and st.target.startswith("self.") and st.target.count(".") == 1:
            attr = st.target[5:]
            v = self._value(self._ev(st.value, env, binds))
            if st.augmented:
                old = result.values.get(attr, VSeq(()) if attr in ("dependencies", "tags") else VConst(""))
                v = _plus(old, v)
            result.values[attr] = v

    # -- expressions over the bindings ---------------------------------------------------
    def _value(self, b: Bound) -> Value:
        return VUnknown("a `**kwargs` dict") if isinstance(b, KwDict) else b

    def _ev(self, expr: Expr | None, env: Env, binds: dict[str, Bound]) -> Bound:
        if expr is None:
            return VUnknown("missing")
        if not any(isinstance(e, Name) and e.id in binds for e in walk(expr)):
            return self.interp.eval(expr, env)
        if isinstance(expr, Name):
            return binds[expr.id]
        if isinstance(expr, Seq):
            return VSeq(tuple(self._value(self._ev(i, env, binds)) for i in expr.items))
        if isinstance(expr, BinOp) and expr.op == "+":
            return _plus(self._value(self._ev(expr.left, env, binds)), self._value(self._ev(expr.right, env, binds)))
        if isinstance(expr, BoolOp):  # Python's semantics: the first operand that decides, else the last
            for item in expr.values:
                v = self._value(self._ev(item, env, binds))
                t = truth(v)
                if t is None:
                    return VUnknown(f"`{render(expr)}` is computed at runtime")
                if t is (expr.op == "or") or item is expr.values[-1]:
                    return v
        if isinstance(expr, Cond):
            t = truth(self._value(self._ev(expr.test, env, binds)))
            if t is not None:
                return self._ev(expr.body if t else expr.orelse, env, binds)
            return VUnknown(f"`{render(expr.test)}` decides at runtime")
        if isinstance(expr, Not):
            t = truth(self._value(self._ev(expr.operand, env, binds)))
            return VConst(not t) if t is not None else VUnknown(f"`{render(expr)}` is computed at runtime")
        if isinstance(expr, Compare):
            got = compare(expr.op, self._value(self._ev(expr.left, env, binds)),
                          self._value(self._ev(expr.right, env, binds)))
            return got if got is not None else VUnknown(f"`{render(expr)}` is computed at runtime")
        if isinstance(expr, FStr):
            out = []
            for part in expr.parts:
                if isinstance(part, str):
                    out.append(part)
                    continue
                v = self._ev(part, env, binds)
                if isinstance(v, VConst) and isinstance(v.value, (str, int)) and not isinstance(v.value, bool):
                    out.append(str(v.value))
                else:
                    return VUnknown(f"f-string part `{render(part)}` is not a constant")
            return VConst("".join(out))
        if isinstance(expr, Call):
            f = expr.func
            if isinstance(f, Attr) and isinstance(f.value, Name) and isinstance(binds.get(f.value.id), KwDict) \
                    and f.attr in ("get", "pop") and expr.args:
                kd = binds[f.value.id]
                assert isinstance(kd, KwDict)
                key = expr.args[0]
                if isinstance(key, Const) and isinstance(key.value, str):
                    if key.value in kd.known:
                        return kd.known.pop(key.value) if f.attr == "pop" else kd.known[key.value]
                    if kd.open:
                        return VUnknown(f"`{render(expr)}`: may be passed {kd.open}")
                    return self._ev(expr.args[1], env, binds) if len(expr.args) > 1 else VConst(None)
            if isinstance(f, Name) and f.id in ("list", "tuple") and len(expr.args) == 1 and not expr.kwargs:
                v = self._ev(expr.args[0], env, binds)
                if isinstance(v, VSeq):
                    return v
                if isinstance(v, VConst) and v.value is None:
                    return VUnknown("`list(None)`")
        return VUnknown(f"`{render(expr)}` uses a parameter of `__init__` in a way that is not modelled")


def _same(a: object, b: object) -> bool:
    if isinstance(a, VClass) and isinstance(b, VClass):
        return a.qualname == b.qualname
    return a == b


def _plus(a: Value, b: Value) -> Value:
    if isinstance(a, VConst) and isinstance(b, VConst):
        if isinstance(a.value, str) and isinstance(b.value, str):
            return VConst(a.value + b.value)
        if isinstance(a.value, tuple) and isinstance(b.value, tuple):
            return VConst(a.value + b.value)
    if isinstance(a, VSeq) and isinstance(b, VSeq):
        return VSeq(a.items + b.items)
    return VUnknown(f"a sum: {_why(a)}" if not isinstance(a, (VSeq, VConst)) else f"a sum: {_why(b)}")


def _why(v: Value | None) -> str:
    if isinstance(v, VUnknown):
        return v.reason
    return "is not a list" if v is not None else "is not passed"

