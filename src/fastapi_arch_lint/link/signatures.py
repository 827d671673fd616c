"""Dependencies whose signature is built at runtime, which FastAPI reads instead of the one written.

Two ways of building one are followed:

* project code: ``@with_signature(Signature([Parameter("creds", ..., default=Security(scheme))]))``
  (makefun) over a function or a ``__call__``: FastAPI sees the parameters of the synthesised
  signature. A parameter added to the list under ``if`` conditions counts when the conditions
  certainly hold (the factory's arguments bound), is left out when they certainly do not, and is
  noted as unresolved, not guessed, when they depend on runtime data or sit in a loop;
* a library that does the same: fastapi-users' ``users.current_user(...)``, whose signature takes
  each authentication backend's transport scheme and which answers 401/403 itself unless
  ``optional=True`` (``knowledge.USERS_*``);
* ``@functools.wraps(x)`` over a ``(*args, **kwargs)`` wrapper: ``inspect.signature``, which FastAPI
  asks, follows ``__wrapped__``, so FastAPI reads ``x``'s parameters. ``x`` is often chosen at
  runtime (a factory returning one of several providers by configuration, a registry looked up by a
  setting): every value it may have is followed (``Wrapped.candidates``), and what cannot be is said
  (``Wrapped.unknown``); ``RouteBuilder`` decides what the route's auth is from them.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi_arch_lint.link.dependencies import Dependencies
from fastapi_arch_lint.link.interpreter import Interpreter
from fastapi_arch_lint.link.knowledge import (
    PARAMETER_CLASSES,
    SIGNATURE_CLASSES,
    USERS_AUTHENTICATORS,
    USERS_BACKEND,
    USERS_CURRENT_USER,
    USERS_TRANSPORT_SCHEMES,
    WITH_SIGNATURE,
    WRAPS,
)
from fastapi_arch_lint.link.routerclasses import RouterClasses
from fastapi_arch_lint.link.values import (
    Env,
    Value,
    VClass,
    VConst,
    VExt,
    VFunc,
    VInst,
    VSeq,
    VParam,
    VUnknown,
    why,
)
from fastapi_arch_lint.model.expr import (
    Attr,
    Call,
    Cond,
    Const,
    DictExpr,
    Expr,
    Name,
    Seq,
    Subscript,
    render,
)
from fastapi_arch_lint.model.facts import AssignFact, FunctionFact, ImportFact

MAX_WRAPPED_DEPTH = 12  # names, calls and lookups followed to the values ``wraps(x)``'s ``x`` may have


@dataclass(frozen=True, slots=True)
class Synthesised:
    """The ``Depends``/``Security`` parameters of a synthesised signature FastAPI will see."""

    markers: tuple[VInst, ...]  # certain: built in the same block as the parameter list
    uncertain: int  # parameters added under a condition or in a loop


@dataclass(frozen=True, slots=True)
class LibraryAuth:
    """A library dependency that authenticates (fastapi-users' ``current_user``)."""

    name: str  # what the project calls it
    schemes: tuple[tuple[str, str, int], ...]  # (scheme class, path, line of the transport)
    optional: bool  # ``optional=True``: no user is None, not a 401
    evidence: str
    path: str
    line: int


@dataclass(frozen=True, slots=True)
class Wrapped:
    """The callables whose signature ``@functools.wraps(x)`` gives a function: each value ``x`` may have."""

    what: str  # ``wraps(provider)``, as written
    candidates: tuple[Value, ...]  # project callables (functions, classes, instances with ``__call__``)
    unknown: str  # why some value ``x`` may have is not known ("" when all are)
    module: str
    line: int  # of the decorator


class Signatures:
    def __init__(self, interp: Interpreter, deps: Dependencies) -> None:
        self.interp = interp
        self.deps = deps
        self._memo: dict[tuple[object, ...], Synthesised | None] = {}
        self._wrapped_memo: dict[tuple[object, ...], Wrapped | None] = {}
        self._following: set[int] = set()  # functions whose returns are being followed (recursion guard)

    # -- makefun's with_signature in project code -----------------------------------------
    def synthesised(self, fn: VFunc) -> Synthesised | None:
        """The dependency parameters of the signature ``@with_signature(...)`` gives ``fn``; None when
        ``fn`` keeps its own signature."""
        key = (id(fn.fact), fn.env.module, fn.env.bound)  # a factory's closure: per call's arguments
        if key not in self._memo:
            self._memo[key] = self._synthesised(fn)
        return self._memo[key]

    def _synthesised(self, fn: VFunc) -> Synthesised | None:
        for d in fn.fact.decorators:
            e = d.expr
            if not isinstance(e, Call) or not e.args:
                continue
            f = self.interp.eval(e.func, fn.env)
            if not (isinstance(f, VExt) and f.qualname in WITH_SIGNATURE):
                continue
            items = self._parameter_items(e.args[0], fn.env)
            if items is None:
                self.interp.note(f"signature of `{fn.fact.name}`", f"`{render(e.args[0], 40)}` is not a literal "
                                 "list of parameters", fn.env.module, d.pos.line)
                return Synthesised((), 1)
            markers: list[VInst] = []
            uncertain = 0
            for item, env, certain in items:
                m = self._marker(item, env)
                if m is None:
                    continue
                if certain:
                    markers.append(m)
                else:
                    uncertain += 1
            if uncertain:
                self.interp.note(f"signature of `{fn.fact.name}`", f"{uncertain} dependency parameter(s) added "
                                 "under a condition or in a loop", fn.env.module, d.pos.line)
            return Synthesised(tuple(markers), uncertain)
        return None

    def _marker(self, item: Expr, env: Env) -> VInst | None:
        """The ``Depends``/``Security`` default of an ``inspect.Parameter(...)`` expression."""
        if not isinstance(item, Call):
            return None
        cls = self.interp.eval(item.func, env)
        if not (isinstance(cls, VExt) and cls.qualname in PARAMETER_CLASSES):
            return None
        default = item.kwarg("default")
        if default is None:
            return None
        m = self.deps.marker_of(self.interp.eval(default, env))
        return m[1] if m is not None and m[0] in ("dependency", "security") else None

    def _parameter_items(self, sig: Expr, env: Env) -> list[tuple[Expr, Env, bool]] | None:
        """The ``Parameter`` expressions of ``Signature(<list>)`` (``sig`` or the name bound to it), each with
        whether it is certainly there."""
        outer = env.functions[-1] if env.functions else None
        if isinstance(sig, Name) and outer is not None:
            sig = self._local_value(outer, sig.id) or sig
        if not isinstance(sig, Call):
            return None
        cls = self.interp.eval(sig.func, env)
        if not (isinstance(cls, VExt) and cls.qualname in SIGNATURE_CLASSES):
            return None
        params = sig.arg(0, "parameters")
        if isinstance(params, Seq):
            return [(i, env, True) for i in params.items]
        if not isinstance(params, Name) or outer is None:
            return None
        return self._built_list(outer, params.id, env)

    @staticmethod
    def _local_value(fn: FunctionFact, name: str) -> Expr | None:
        found = [a for a in fn.scope.assigns if a.target == name and not a.augmented]
        return found[0].value if len(found) == 1 else None

    def _built_list(self, fn: FunctionFact, name: str, env: Env) -> list[tuple[Expr, Env, bool]] | None:
        """The items of a list built in ``fn``: ``name = [...]``, then ``name += [...]``/``name.append(x)``.
        An addition is certain when its ``if`` conditions certainly hold in ``env`` (the call's arguments
        bound), left out when they certainly do not, uncertain otherwise (a condition known only at
        runtime, a loop)."""
        made = [a for a in fn.scope.assigns if a.target == name and not a.augmented]
        if len(made) != 1 or not isinstance(made[0].value, Seq):
            return None
        base = made[0]
        out = [(i, env, True) for i in made[0].value.items]
        for a in fn.scope.assigns:
            if a.target == name and a.augmented:
                if not isinstance(a.value, Seq):
                    return None
                reached = self.interp.reached(a.conds, env) if a.conds else True
                if reached is not False:
                    out += [(i, env, bool(reached)) for i in a.value.items]
        for site in fn.calls:
            c = site.call
            if isinstance(c.func, Attr) and isinstance(c.func.value, Name) and c.func.value.id == name \
                    and c.func.attr in ("extend", "insert"):
                return None
        for sc in fn.scope.calls:  # ``name.append(x)`` statements, with the conditions they sit in
            c = sc.call
            if isinstance(c.func, Attr) and isinstance(c.func.value, Name) and c.func.value.id == name \
                    and c.func.attr == "append" and len(c.args) == 1:
                reached = self.interp.reached(sc.conds, env) if sc.conds else True
                if reached is not False:
                    out.append((c.args[0], env, bool(reached)))
        return out

    # -- functools.wraps ----------------------------------------------------------------------
    def wrapped(self, fn: VFunc) -> Wrapped | None:
        """What ``@functools.wraps(x)`` (or ``@wraps(x)``) on ``fn`` makes FastAPI read instead of ``fn``'s
        own parameters; None without such a decorator."""
        key = (id(fn.fact), fn.env.module, fn.env.bound)  # a factory's closure: per call's arguments
        if key not in self._wrapped_memo:
            self._wrapped_memo[key] = self._wrapped(fn)
        return self._wrapped_memo[key]

    def _wrapped(self, fn: VFunc) -> Wrapped | None:
        for d in fn.fact.decorators:
            e = d.expr
            target = e.arg(0, "wrapped") if isinstance(e, Call) else None
            if target is None:
                continue
            f = self.interp.eval(e.func, fn.env)  # type: ignore[union-attr]
            if not (isinstance(f, VExt) and f.qualname in WRAPS):
                continue
            values: list[Value] = []
            unknown: list[str] = []
            self._possible(target, fn.env, values, unknown, 0)
            found = []
            for v in dict.fromkeys(values):
                if isinstance(v, (VFunc, VClass, VInst)) and self.deps.callable_params(v)[0] is not None:
                    found.append(v)
                else:
                    unknown.append(f"`{render(target, 30)}` may be {self._shown(v)}")
            return Wrapped(render(e, 50), tuple(found), "; ".join(dict.fromkeys(unknown)), fn.env.module,
                           d.pos.line)
        return None

    def _shown(self, v: Value) -> str:
        if isinstance(v, VConst):
            return f"`{v.value!r}`"
        if isinstance(v, VExt):
            return f"`{v.qualname}`, whose signature is not known"
        return "an object FastAPI cannot call"

    def _possible(self, expr: Expr, env: Env, out: list[Value], unknown: list[str], depth: int) -> None:
        """Every value ``expr`` may have at runtime, into ``out``: each binding of a name (an argument the
        enclosing call bound, each assignment of it), each ``return`` that may run of a project function it
        calls (its arguments bound), both branches of a conditional expression whose test runtime data
        decides, each value of a literal dict it looks up by a key that is not a constant. Why a value is
        not known goes to ``unknown``: nothing is guessed."""
        if depth > MAX_WRAPPED_DEPTH:
            self.interp.guard_fired()
            unknown.append(f"`{render(expr, 30)}` is too deep to follow")
            return
        if isinstance(expr, Name):
            found = self._bindings(expr.id, env)
            if found is not None:
                for b in found:
                    if isinstance(b, tuple):
                        self._possible(b[0], b[1], out, unknown, depth + 1)
                    else:
                        self._known(b, expr, out, unknown)
                return
        elif isinstance(expr, Cond):
            test = self.interp.condition(expr.test, env)
            if test is not False:
                self._possible(expr.body, env, out, unknown, depth + 1)
            if test is not True:
                self._possible(expr.orelse, env, out, unknown, depth + 1)
            return
        elif isinstance(expr, Subscript) or (isinstance(expr, Call) and isinstance(expr.func, Attr)
                                               and expr.func.attr == "get" and expr.args):
            looked = self._looked_up(expr, env)
            if looked is not None:
                for e, denv in looked:
                    self._possible(e, denv, out, unknown, depth + 1)
                return
            if isinstance(expr, Subscript):
                unknown.append(f"`{render(expr, 30)}` looks up what the model does not see")
                return
        if isinstance(expr, Call):
            f = self.interp.eval(expr.func, env)
            if isinstance(f, VFunc):
                self._returns(f, expr, env, out, unknown, depth)
                return
        self._known(self.interp.eval(expr, env), expr, out, unknown)

    @staticmethod
    def _known(v: Value, expr: Expr, out: list[Value], unknown: list[str]) -> None:
        if isinstance(v, VParam):
            unknown.append(f"`{render(expr, 30)}` {why(v)}")
        elif isinstance(v, VUnknown):
            unknown.append(f"`{render(expr, 30)}`: {why(v)}")
        else:
            out.append(v)

    def _returns(self, f: VFunc, call: Call, env: Env, out: list[Value], unknown: list[str], depth: int) -> None:
        """The values of the ``return``s of ``f`` that may run when ``call`` calls it (up to the first that
        certainly runs)."""
        if id(f.fact) in self._following:
            self.interp.guard_fired()
            unknown.append(f"`{f.fact.name}()` calls itself")
            return
        self._following.add(id(f.fact))
        try:
            inner = Env(f.env.module, f.env.functions + (f.fact,), f.env.bound + self.interp.bind(f, call, env))
            seen = False
            for ret in f.fact.scope.returns:
                reached = self.interp.reached(ret.conds, inner) if ret.conds else True
                if reached is False:
                    continue
                seen = True
                self._possible(ret.value if ret.value is not None else Const(None), inner, out, unknown, depth + 1)
                if reached:
                    break
            if not seen:
                unknown.append(f"no `return` of `{f.fact.name}()` is seen to run")
        finally:
            self._following.discard(id(f.fact))

    def _bindings(self, name: str, env: Env) -> list[tuple[Expr, Env] | Value] | None:
        """What ``name`` may be bound to where ``env`` reads it: the argument the enclosing call passed for a
        parameter, every binding of a local or module-level name (an assignment's expression with its env,
        a ``def`` or ``class`` as its value; the name's value is one of them), a name imported from an
        analyzed module; None to evaluate it instead (a parameter no call bound, a builtin, a library's)."""
        functions = env.functions
        for depth in range(len(functions) - 1, -1, -1):
            tab = self.interp.local_names(functions[depth])
            if name not in tab:
                continue
            entries = tab[name]
            if entries is None:  # a parameter: the argument the enclosing call passed
                for index, bound, arg, arg_env in env.bound:
                    if index == depth and bound == name:
                        return [(arg, arg_env)]
                return None
            return self._entries(entries, env if depth == len(functions) - 1 else env.outer(depth + 1))
        facts = self.interp.modules.get(env.module)
        entries = self.interp.symtab(facts.scope).get(name) if facts is not None else None
        return self._entries(entries, Env(env.module)) if entries else None

    def _entries(self, entries: list[tuple[int, str, object]], env: Env) -> list[tuple[Expr, Env] | Value] | None:
        out: list[tuple[Expr, Env] | Value] = []
        for _, kind, obj in entries:
            if kind == "assign":
                a: AssignFact = obj  # type: ignore[assignment]
                if a.value is None:
                    return None
                out.append((a.value, env))
            elif kind == "import":
                imp: ImportFact = obj  # type: ignore[assignment]
                target = self.interp.absolute(env.module, imp)
                if imp.name is not None and target in self.interp.modules:
                    out.append((Name(imp.name), Env(target)))
                else:
                    out.append(self.interp.resolve_import(env.module, imp))
            elif kind == "func":
                out.append(VFunc(obj, env))  # type: ignore[arg-type]
            elif kind == "class":
                out.append(VClass(obj, env))  # type: ignore[arg-type]
            else:
                return None
        return out

    def _looked_up(self, expr: Expr, env: Env) -> list[tuple[Expr, Env]] | None:
        """The values a lookup in a literal dict may give (``PROVIDERS[name]``, ``PROVIDERS.get(name, default)``):
        the one under a constant key, else every value (and the default of ``.get``)."""
        if isinstance(expr, Subscript):
            base, key, default = expr.value, expr.items[0] if len(expr.items) == 1 else None, None
        elif isinstance(expr, Call) and isinstance(expr.func, Attr):
            base, key, default = expr.func.value, expr.args[0], expr.arg(1, "default") or Const(None)
        else:
            return None
        found = self._dict_literal(base, env, 0)
        if found is None or key is None:
            return None
        d, denv = found
        if any(k is None for k in d.keys):
            return None  # ``**other``: keys not all seen
        kv = self.interp.eval(key, env)
        if isinstance(kv, VConst):
            keys = [self.interp.eval(k, denv) for k in d.keys]
            if all(isinstance(k, VConst) for k in keys):
                for k, v in zip(keys, d.values):
                    if k.value == kv.value:  # type: ignore[union-attr]
                        return [(v, denv)]
                return [(default, env)] if default is not None else None
        out = [(v, denv) for v in d.values]
        return out + [(default, env)] if default is not None else out

    def _dict_literal(self, expr: Expr, env: Env, depth: int) -> tuple[DictExpr, Env] | None:
        if isinstance(expr, DictExpr):
            return expr, env
        if not isinstance(expr, Name) or depth > 4:
            return None
        found = self._bindings(expr.id, env)
        if found is None or len(found) != 1 or not isinstance(found[0], tuple):
            return None
        return self._dict_literal(found[0][0], found[0][1], depth + 1)

    # -- fastapi-users ------------------------------------------------------------------------
    def library_auth(self, v: Value, marker: VInst | None) -> LibraryAuth | None:
        """fastapi-users' ``current_user(...)`` dependency, from the name it is bound to or the ``Depends`` call."""
        found = self._dependency_expr(v, marker)
        if found is None:
            return None
        expr, env, name = found
        if not (isinstance(expr, Call) and isinstance(expr.func, Attr) and expr.func.attr in USERS_CURRENT_USER):
            return None
        ctor = self._authenticator(expr.func.value, env, 0)
        if ctor is None:
            return None
        call, cenv, qualname = ctor
        optional = False
        opt = expr.kwarg("optional")
        if opt is not None:
            ov = self.interp.eval(opt, env)
            if not isinstance(ov, VConst):
                self.interp.note(f"`{render(expr, 50)}`", "`optional` is not a constant", env.module, expr.line)
                return None
            optional = bool(ov.value)
        schemes = self._backend_schemes(call, cenv, qualname)
        line = marker.site[1] if marker is not None else expr.line
        what = "returns None without a user" if optional else "answers 401/403 without an (active) user"
        if schemes is None:
            self.interp.note(f"authentication backends of `{render(expr.func.value, 40)}`",
                             "not a literal list of backends with known transports", cenv.module, call.line)
            schemes = ()
        return LibraryAuth(name or render(expr, 40), schemes, optional,
                           f"fastapi-users `{expr.func.attr}()`: {what}", self.interp.path_of(env.module),
                           expr.line or line)

    def _dependency_expr(self, v: Value, marker: VInst | None) -> tuple[Expr, Env, str] | None:
        if isinstance(v, VUnknown) and v.binding:
            module, _, name = v.binding.rpartition(".")
            value = self._module_value(module, name)
            if value is not None:
                return value, Env(module), name
        if marker is not None and marker.call is not None:
            e = marker.call.arg(0, "dependency")
            if isinstance(e, Call):
                return e, marker.env or Env(marker.site[0]), ""
        return None

    def _module_value(self, module: str, name: str) -> Expr | None:
        facts = self.interp.modules.get(module)
        if facts is None:
            return None
        entries = self.interp.symtab(facts.scope).get(name)
        if not entries or entries[-1][1] != "assign":
            return None
        return entries[-1][2].value  # type: ignore[union-attr]

    def _authenticator(self, expr: Expr, env: Env, depth: int) -> tuple[Call, Env, str] | None:
        """The constructor call of the fastapi-users object ``expr`` names."""
        if depth > 4:
            return None
        if isinstance(expr, Attr) and expr.attr == "authenticator":  # ``users.authenticator``: same backends
            return self._authenticator(expr.value, env, depth + 1)
        if isinstance(expr, Call):
            f = expr.func.value if isinstance(expr.func, Subscript) else expr.func
            lib = self._authenticator_class(self.interp.eval(f, env))
            return (expr, env, lib) if lib else None
        v = self.interp.eval(expr, env)
        if isinstance(v, VInst) and v.call:
            lib = self._authenticator_class(v.cls)
            if lib:
                return v.call, v.env or Env(v.site[0]), lib
        if isinstance(v, VUnknown) and v.binding:
            module, _, name = v.binding.rpartition(".")
            value = self._module_value(module, name)
            if value is not None:
                return self._authenticator(value, Env(module), depth + 1)
        return None

    def _authenticator_class(self, v: Value) -> str:
        """The fastapi-users class ``v`` is, or a project subclass of it behaves as: one that overrides
        neither the constructor nor the ``current_user`` methods (``class Users(FastAPIUsers[User, ID])``
        adding routers); "" otherwise."""
        if isinstance(v, VExt):
            return v.qualname if v.qualname in USERS_AUTHENTICATORS else ""
        if not isinstance(v, VClass):
            return ""
        chain = RouterClasses(self.interp).mro(v)
        for c in chain or ():
            if isinstance(c, VExt):
                return c.qualname if c.qualname in USERS_AUTHENTICATORS else ""
            if any(c.fact.method(m) is not None for m in ("__init__", *USERS_CURRENT_USER)):
                return ""
        return ""

    def _backend_schemes(self, call: Call, env: Env, qualname: str) -> tuple[tuple[str, str, int], ...] | None:
        index, keyword = USERS_AUTHENTICATORS[qualname]
        backends = self.interp.eval(call.arg(index, keyword), env)
        if not isinstance(backends, VSeq) or not backends.items:
            return None
        out = []
        for b in backends.items:
            if not (isinstance(b, VInst) and isinstance(b.cls, VExt) and b.cls.qualname == USERS_BACKEND and b.call):
                return None
            t = self.interp.eval(b.call.arg(1, "transport"), b.env or Env(b.site[0]))
            if not (isinstance(t, VInst) and isinstance(t.cls, VExt) and t.cls.qualname in USERS_TRANSPORT_SCHEMES):
                return None
            out.append((USERS_TRANSPORT_SCHEMES[t.cls.qualname], self.interp.path_of(t.site[0]), t.site[1]))
        return tuple(out)
