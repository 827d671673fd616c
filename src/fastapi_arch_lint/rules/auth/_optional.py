"""How a route's optional credential is received and handed on: the function that takes it from an
``auto_error=False`` scheme (``receiver``, ``receiving_param``) and whether it passes it to something
that may reject a missing one (``handed_on``). FAL404 and FAL401 ask."""

from __future__ import annotations

from fastapi_arch_lint.model.app import AppModel, AuthVia, Route
from fastapi_arch_lint.model.facts import FunctionFact
from fastapi_arch_lint.rules.auth._common import call_args_names, names_in, roots, short


def receiving_param(fact: FunctionFact, scheme: str) -> str | None:
    """The parameter of ``fact`` that FastAPI fills from the scheme instance ``scheme``."""
    for p in fact.params:
        found = names_in(p.annotation) | names_in(p.default)
        if any(n == scheme or n.endswith("." + scheme) for n in found):
            return p.name
    return None


def receiver(app: AppModel, route: Route, via: AuthVia) -> tuple[str, FunctionFact, str, int] | None:
    """(qualname, fact, path, line) of the function that receives the scheme's credential."""
    for d in route.dependencies:
        if d.kind == "scheme" and short(d.name) == via.name:
            if not d.parent:
                return route.handler.qualname, route.handler.fact, route.handler.path, route.handler.line
            fn = app.functions.get(d.parent)
            if fn is not None:
                return fn.qualname, fn.fact, fn.path, fn.fact.pos.line
            for q, f in app.functions.items():  # a dependency instance: its ``__call__``
                if q.endswith(".__call__") and short(q.rsplit(".", 1)[0]).lower() in d.parent.lower():
                    return f.qualname, f.fact, f.path, f.fact.pos.line
            return None
    return None


def handed_on(app: AppModel, qualname: str, param: str) -> bool:
    """``qualname`` passes its credential ``param`` to a project function that raises, or to a call the
    model did not resolve (``await auth_service().check(query_key, header_key)``, a service located at run
    time): whether that one rejects a missing credential is unknown, so it is not said that nothing does."""
    fn = app.functions.get(qualname)
    for site, target in (fn.calls if fn is not None else ()):
        if param in roots(call_args_names(site.call)):
            if target is None or target in app.functions and app.functions[target].fact.raises:
                return True
    return False


def optional_handed_on(app: AppModel, route: Route) -> bool:
    """Some optional way that reaches ``route`` hands its credential on to a function that may reject a
    missing one (``_handed_on``): the route's auth is not known to let anonymous callers through."""
    for via in route.auth.via:
        rec = receiver(app, route, via) if via.optional else None
        param = receiving_param(rec[1], via.name) if rec is not None else None
        if param is not None and handed_on(app, rec[0], param):  # type: ignore[index]
            return True
    return False
