"""Thin wrappers of a route registration, read where they are called.

``def add_api_route(self, path, endpoint, **kwargs): return self.app.add_api_route(path, endpoint, **kwargs)``
registers nothing by itself: the endpoint is whatever each caller passes. A call of such a wrapper
(``self.add_api_route("/x", self.handler, methods=["POST"])``) is read as the registration it makes,
the wrapper's parameters replaced by the call's arguments, in the caller's env. Only wrappers whose
registration reads nothing but their parameters are read so (a module-level name in the wrapper would
be evaluated in the caller's module), and only calls whose arguments bind plainly (no ``*args``).
"""

from __future__ import annotations

from fastapi_arch_lint.link.blocks import names_in, substitute
from fastapi_arch_lint.link.interpreter import Interpreter
from fastapi_arch_lint.link.values import Env, VFunc
from fastapi_arch_lint.model.expr import Attr, Call, Const, Expr, Name
from fastapi_arch_lint.model.facts import FunctionFact

# registrations whose endpoint a wrapper forwards from its caller
FORWARDED = frozenset({"add_api_route", "add_api_websocket_route", "add_route", "add_websocket_route"})


def forwarded(fact: FunctionFact) -> Call | None:
    """The one registration a wrapper makes (a statement or what it returns) with an endpoint that is one of
    its parameters, reading nothing but its parameters; None for any other function."""
    found = [sc.call for sc in fact.scope.calls]
    found += [r.value for r in fact.scope.returns if isinstance(r.value, Call)]
    regs = [c for c in found if isinstance(c.func, Attr) and c.func.attr in FORWARDED]
    if len(regs) != 1 or fact.scope.functions or fact.scope.classes:
        return None
    inner = regs[0]
    params = {p.name for p in fact.params}
    endpoint = inner.arg(1, "endpoint")
    if not (isinstance(endpoint, Name) and endpoint.id in params) or not names_in(inner) <= params:
        return None
    return inner


def inline(fact: FunctionFact, inner: Call, call: Call, receiver: Expr | None) -> Call | None:
    """``inner`` (what ``forwarded`` found in ``fact``) with the wrapper's parameters replaced by what ``call``
    passes (``receiver``: what a method is called on, bound to its first parameter); None when the
    arguments do not bind plainly."""
    if call.starred or any(p.kind == "var_positional" for p in fact.params):
        return None
    params = list(fact.params)
    subst: dict[str, Expr] = {}
    if receiver is not None:
        if not params or params[0].kind != "positional":
            return None
        subst[params[0].name] = receiver
        params = params[1:]
    positional = [p for p in params if p.kind == "positional"]
    if len(call.args) > len(positional):
        return None
    for p, a in zip(positional, call.args):
        subst[p.name] = a
    named = {p.name for p in params if p.kind in ("positional", "keyword")}
    extra: list[tuple[str, Expr]] = []
    for k, v in call.kwargs:
        if k in named and k not in subst:
            subst[k] = v
        else:
            extra.append((k, v))
    spread = next((p for p in params if p.kind == "var_keyword"), None)
    if extra and spread is None:
        return None
    for p in params:
        if p.kind in ("positional", "keyword") and p.name not in subst:
            if not isinstance(p.default, Const):
                return None  # missing, or a default that reads the wrapper's module
            subst[p.name] = p.default
    if spread is not None:
        subst.pop(spread.name, None)
    new = substitute(inner, subst)
    assert isinstance(new, Call)
    if inner.starred and spread is None:
        return None  # ``*args`` passed on: the argument list is not known
    kwargs = tuple(new.kwargs) + (tuple(extra) if inner.starred else ())
    return Call(new.func, new.args, kwargs, call.line, call.col, False)


class Wrappers:
    """The project's registration wrappers, and their calls read as registrations."""

    def __init__(self, interp: Interpreter) -> None:
        self.interp = interp
        self._names: dict[str, set[int]] | None = None  # name -> ids of the wrappers' facts

    def names(self) -> dict[str, set[int]]:
        if self._names is None:
            self._names = {}
            for fn, _ in self.interp.all_functions():
                if forwarded(fn.fact) is not None:
                    self._names.setdefault(fn.fact.name, set()).add(id(fn.fact))
        return self._names

    def _is_wrapper(self, fact: FunctionFact) -> bool:
        return id(fact) in self.names().get(fact.name, ())

    def own(self, call: Call, env: Env) -> bool:
        """Is ``call`` the registration a wrapper makes in its own body (read at each call of the wrapper)?"""
        return bool(env.functions) and self._is_wrapper(env.functions[-1]) and forwarded(env.functions[-1]) is call

    def expand(self, call: Call, env: Env) -> tuple[bool, Call | None]:
        """Whether ``call`` calls a wrapper, and the registration it makes there (None when its arguments
        do not bind plainly)."""
        target = self.interp.eval(call.func, env)
        if not isinstance(target, VFunc) or not self._is_wrapper(target.fact):
            return False, None
        inner = forwarded(target.fact)
        receiver = call.func.value if isinstance(call.func, Attr) and target.fact.is_method else None
        return True, inline(target.fact, inner, call, receiver) if inner is not None else None
