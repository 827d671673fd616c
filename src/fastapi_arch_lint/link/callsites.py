"""Where the project calls its own functions, and what a function's parameters are at each call.

A registration inside a helper that receives the app or router as a parameter
(``def add_routers(app): app.include_router(api)``, called by the app factory) has no receiver of
its own: it registers on whatever each caller passes. ``CallSites.rebind`` gives, for a parameter
read in a function's body, one env per call of that function in the project, the call's arguments
bound to the parameters, so the registration can be worked out once per call.
"""

from __future__ import annotations

from fastapi_arch_lint.link.interpreter import Interpreter
from fastapi_arch_lint.link.values import Env, VFunc, VParam
from fastapi_arch_lint.model.expr import Attr, Call, Name

MAX_SITES = 50  # calls of one function followed; beyond it the registration is noted as unresolved


def _tail(call: Call) -> str:
    f = call.func
    return f.attr if isinstance(f, Attr) else f.id if isinstance(f, Name) else ""


class CallSites:
    def __init__(self, interp: Interpreter) -> None:
        self.interp = interp
        self._by_name: dict[str, list[tuple[Call, Env]]] | None = None

    def _index(self) -> dict[str, list[tuple[Call, Env]]]:
        """Every call made as a statement or assigned, in every scope, by the name it calls."""
        if self._by_name is None:
            index: dict[str, list[tuple[Call, Env]]] = {}
            for scope, env in self.interp.all_scopes():
                for sc in scope.calls:
                    index.setdefault(_tail(sc.call), []).append((sc.call, env))
                for a in scope.assigns:
                    if isinstance(a.value, Call):
                        index.setdefault(_tail(a.value), []).append((a.value, env))
            self._by_name = index
        return self._by_name

    def calls_of(self, fn: VFunc) -> list[tuple[Call, Env]]:
        """The calls of ``fn`` in the project (a statement or an assignment), with the env each is in."""
        out = []
        for call, env in self._index().get(fn.fact.name, ()):
            target = self.interp.eval(call.func, env)
            if isinstance(target, VFunc) and target.fact is fn.fact:
                out.append((call, env))
        return out

    def rebind(self, param: VParam, env: Env) -> list[Env] | None:
        """``env`` once per call of the function ``param`` belongs to, that call's arguments bound; None
        when the function is not one of ``env``'s or is called too often to follow."""
        fact = param.func.fact
        index = next((i for i, f in enumerate(env.functions) if f is fact), None)
        if index is None:
            return None
        fn = VFunc(fact, env.outer(index), param.func.cls)
        sites = self.calls_of(fn)
        if len(sites) > MAX_SITES:
            return None
        return [Env(env.module, env.functions, env.bound + self.interp.bind(fn, call, site_env))
                for call, site_env in sites]
