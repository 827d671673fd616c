"""What each call in a function body resolves to (the model's call graph)."""

from __future__ import annotations

from fastapi_arch_lint.link.interpreter import Interpreter
from fastapi_arch_lint.link.values import (
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
    VUnknown,
    ext_name,
)
from fastapi_arch_lint.model.expr import (
    Attr,
    Call,
    Name,
    walk,
)
from fastapi_arch_lint.model.facts import FunctionFact


class CallGraph:
    def __init__(self, interp: Interpreter) -> None:
        self.interp = interp
        self._param_type_memo: dict[tuple[int, str], tuple[str | None, int]] = {}

    def callee(self, fn: VFunc, call: Call, env: Env | None = None) -> str | None:
        """The qualified name a call resolves to: a project function or an external dotted name.
        ``env`` is ``fn``'s body env when the caller has it (``_body_env(fn)``)."""
        if env is None:
            env = self.interp.body_env(fn)
        func = call.func
        owner = fn if fn.cls is not None else self._enclosing_method(fn)
        if isinstance(func, Attr) and owner is not None:
            via_self = self._self_callee(owner, func)
            if via_self is not None:
                return via_self
        if isinstance(func, Attr):
            recv = self.interp.eval(func.value, env)
            if isinstance(recv, VParam):
                t = self.param_type(recv)
                if t is not None:
                    return f"{t}.{func.attr}"
                return None
            if isinstance(recv, VInst):
                cls = recv.cls
                if isinstance(cls, VClass):
                    m = self.interp.class_attr(cls, func.attr, instance=True)
                    if isinstance(m, VFunc):
                        return m.qualname
                    return f"{cls.qualname}.{func.attr}"
                return f"{cls.qualname}().{func.attr}"
            if isinstance(recv, VUnknown):
                # ``self.repo.method()`` and the like: unknown receiver
                return None
        v = self.interp.eval(func, env)
        if isinstance(v, VFunc):
            return v.qualname
        if isinstance(v, VClass):
            return v.qualname
        if isinstance(v, VExt):
            return v.qualname
        if isinstance(v, VInst) and isinstance(v.cls, VClass):
            # ``check = KeyChecker(...)`` then ``check(request)``: calling an instance runs its ``__call__``
            m = self.interp.class_attr(v.cls, "__call__", instance=True)
            if isinstance(m, VFunc):
                return m.qualname
        return None

    def _enclosing_method(self, fn: VFunc) -> VFunc | None:
        """The method a function is nested in, when the function reads its ``self`` (a closure that does not
        take a ``self`` of its own): ``self.check()`` in it is the method's class's ``check``."""
        if not fn.env.functions:
            return None
        parent = self.interp.functions_by_name().get(fn.qualname.rsplit(".", 1)[0])
        if parent is None or parent.cls is None or parent.fact is not fn.env.functions[-1] or not parent.fact.params:
            return None
        me = parent.fact.params[0].name
        return parent if me in ("self", "cls") and fn.fact.param(me) is None else None

    def _self_callee(self, fn: VFunc, func: Attr) -> str | None:
        """``self.method()`` and ``self.interp.attr.method()`` in a method, resolved through its class.

        ``self.interp.attr``'s type comes from a class-level annotation or from what a method assigns to it
        (``self._repo = repo`` with ``repo: ProjectRepository``, ``self.session: Session = ...``,
        ``self.repo = UserRepository(db)``), so service -> repository -> session chains link up.
        """
        params = fn.fact.params
        if fn.cls is None or not params or params[0].name not in ("self", "cls"):
            return None
        me = params[0].name
        recv = func.value
        if isinstance(recv, Name) and recv.id == me:
            m = self.interp.class_attr(fn.cls, func.attr, instance=True)
            return m.qualname if isinstance(m, VFunc) else None
        if isinstance(recv, Attr) and isinstance(recv.value, Name) and recv.value.id == me:
            t = self._instance_attr_type(fn.cls, recv.attr)
            if isinstance(t, VClass):
                m = self.interp.class_attr(t, func.attr, instance=True)
                return m.qualname if isinstance(m, VFunc) else f"{t.qualname}.{func.attr}"
            if isinstance(t, VExt):
                return f"{t.qualname}.{func.attr}"
        return None

    def _instance_attr_type(self, cls: VClass, attr: str, _seen: frozenset[str] = frozenset()) -> Value | None:
        if cls.qualname in _seen:
            return None
        f = cls.fact.field(attr)
        if f is not None and f.annotation is not None:
            return self._plain_type(self.interp.annotation(f.annotation, cls.env))
        outer = Env(cls.env.module, cls.env.functions)
        for m in cls.fact.methods:
            if not m.params:
                continue
            menv = Env(cls.env.module, cls.env.functions + (m,))
            for a in m.scope.assigns:
                if a.target != f"{m.params[0].name}.{attr}":
                    continue
                if a.annotation is not None:
                    return self._plain_type(self.interp.annotation(a.annotation, menv))
                if isinstance(a.value, Name):
                    p = m.param(a.value.id)
                    if p is not None and p.annotation is not None:
                        return self._plain_type(self.interp.annotation(p.annotation, outer))
                if isinstance(a.value, Call):
                    v = self.interp.eval(a.value, menv)
                    if isinstance(v, VInst) and isinstance(v.cls, VClass):
                        return v.cls
        for b in cls.fact.bases:
            bv = self.interp.eval(b, cls.env)
            if isinstance(bv, VClass):
                t = self._instance_attr_type(bv, attr, _seen | {cls.qualname})
                if t is not None:
                    return t
        return None

    def _plain_type(self, t: Value | None) -> Value | None:
        """``X``, ``X | None``, ``Optional[X]``, ``Annotated[X, ...]`` -> ``X`` (a class), else None."""
        t = self.interp.unwrap_alias(t)
        if isinstance(t, VAnnotated):
            t = t.base
        if isinstance(t, VGeneric) and ext_name(t.base) in ("typing.Optional", "typing.Union"):
            t = next((i for i in t.items if not (isinstance(i, VConst) and i.value is None)), t)
        return t if isinstance(t, (VClass, VExt)) else None

    def param_type(self, p: VParam) -> str | None:
        """The qualified name of a parameter's annotated type (memoized: one per call made on it)."""
        return self.interp.memoized(self._param_type_memo, (id(p.func.fact), p.func.env.module, p.name),
                              self._param_type_of, p)

    def _param_type_of(self, p: VParam) -> str | None:
        pf = p.func.fact.param(p.name)
        if pf is None or pf.annotation is None:
            return None
        t = self.interp.unwrap_alias(self.interp.annotation(pf.annotation, p.func.env))
        if isinstance(t, VAnnotated):
            t = t.base
        if isinstance(t, VGeneric) and ext_name(t.base) in ("typing.Optional", "typing.Union"):
            t = next((i for i in t.items if not (isinstance(i, VConst) and i.value is None)), t)
        if isinstance(t, (VClass, VExt)):
            return t.qualname
        return None

    # -- calls with their arguments bound ------------------------------------
    def call_env(self, target: VFunc, call: Call, env: Env) -> Env:
        """The env of ``target``'s body when ``call`` (evaluated in ``env``) calls it: its parameters bound to
        the call's arguments and the defaults it leaves, as ``Interpreter.call_function`` binds them."""
        return Env(target.env.module, target.env.functions + (target.fact,),
                   target.env.bound + self.interp.bind(target, call, env))

    def folded(self, fact: FunctionFact, env: Env) -> dict[int, bool]:
        """The ``if`` statements of ``fact`` (indexes into ``fact.guards``) whose test the arguments ``env``
        binds decide: ``elif allow_executor:`` in a function a factory's closure calls with
        ``allow_executor=True``. Only a test that reads a bound parameter is folded (by the interpreter's
        ``condition``: constants, ``and``/``or``/``not``, comparisons); one known only at runtime is left out."""
        bound = {b[1] for b in env.bound}
        out: dict[int, bool] = {}
        if not bound:
            return out
        for i, g in enumerate(fact.guards):
            if g.test is None or not any(type(e) is Name and e.id in bound for e in walk(g.test)):
                continue
            t = self.interp.condition(g.test, env)
            if t is not None:
                out[i] = t
        return out

    def ruled_out(self, fact: FunctionFact, folded: dict[int, bool]) -> tuple[set[int], set[int]]:
        """The calls and raises of ``fact`` (indexes) in a branch that ``folded`` says never runs."""
        calls: set[int] = set()
        raises: set[int] = set()
        for i, t in folded.items():
            g = fact.guards[i]
            calls.update(g.orelse_calls if t else g.body_calls)
            raises.update(g.orelse_raises if t else g.body_raises)
        return calls, raises

    @staticmethod
    def delegates(fact: FunctionFact) -> bool:
        """Is the body only ``return <call>`` (awaited or not), with no other call, assignment, test or raise?"""
        rets = fact.scope.returns
        if len(rets) != 1 or rets[0].conds or not isinstance(rets[0].value, Call) or len(fact.calls) != 1:
            return False
        call = fact.calls[0].call
        return (call.line, call.col) == (rets[0].value.line, rets[0].value.col) and not (
            fact.scope.assigns or fact.guards or fact.raises)

    def bindings_key(self, env: Env) -> tuple[object, ...]:
        """What ``env`` binds, as far as folding tests can tell two bindings apart: each bound parameter's
        constant, or the function, class or module it names; an instance by where it is made; anything
        else unknown alike (no test folds on it) or, when a test could (a literal sequence), never equal."""
        out: list[object] = []
        for i, name, expr, aenv in env.bound:
            v = self.interp.eval(expr, aenv)
            sig: object
            if isinstance(v, VConst):
                try:
                    hash(v.value)
                    sig = ("c", type(v.value).__name__, v.value)
                except TypeError:
                    sig = ("c", repr(v.value))
            elif isinstance(v, (VFunc, VClass, VExt)):
                sig = ("o", v.qualname)
            elif isinstance(v, VModule):
                sig = ("m", v.name)
            elif isinstance(v, VInst):
                sig = ("i", v.site)
            elif isinstance(v, (VUnknown, VParam)):
                sig = "?"
            else:
                sig = object()
            out.append((i, name, sig))
        return tuple(out)

    def safe_callee(self, fv: VFunc, call: Call, env: Env | None = None) -> str | None:
        try:
            return self.callee(fv, call, env)
        except RecursionError:
            return None
