"""How a route's optional credential is received and handed on: the function that takes it from an
``auto_error=False`` scheme (``receiver``, ``receiving_param``) and whether it passes it to something
that may reject a missing one (``handed_on``). FAL404 and FAL401 ask."""

from __future__ import annotations

import re

from fastapi_arch_lint.model.app import AppModel, AuthVia, Route
from fastapi_arch_lint.model.expr import Attr, Expr, Name, render, walk
from fastapi_arch_lint.model.facts import FunctionFact
from fastapi_arch_lint.rules._util import raised_http_exceptions
from fastapi_arch_lint.rules.auth._common import CONSTANT_NAME_RE, call_args_names, names_in, roots, short


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


# a name that holds the deployment's configuration: ``settings``, ``app_settings``, ``config``, ``os.environ``
_SETTING_RE = re.compile(r"(?i)(?:^|_)(?:settings|config|conf|cfg|env|environ|options)(?:$|_)|^getenv$")
_REFUSED_RE = re.compile(r"^40[13]$|HTTP_40[13]_")


def _setting_test(test: Expr, request_names: set[str]) -> str | None:
    """The setting a condition reads (``app_settings.api_keys``), as written, when it reads nothing the request
    carries (none of ``request_names``) and names the configuration or an UPPER_CASE constant."""
    found = None
    for x in walk(test):
        if isinstance(x, Name):
            if x.id in request_names:
                return None
            if _SETTING_RE.search(x.id) or CONSTANT_NAME_RE.match(x.id):
                found = found or x
        elif isinstance(x, Attr) and (_SETTING_RE.search(x.attr) or CONSTANT_NAME_RE.match(x.attr)):
            found = found or x
    return render(test, 60) if found is not None else None


def configured_requirement(app: AppModel, route: Route) -> tuple[str, str] | None:
    """``(function, setting)`` when every optional way that reaches ``route`` hands its credential to a function
    that refuses (401/403) a missing or unknown one whenever a setting is on: ``if settings.api_keys: if auth is
    None or auth.credentials not in settings.api_keys: raise HTTPException(401)``. The deployment switches
    authentication on; with the setting off every request passes. A check that lets a request without a
    credential through whatever the configuration (``if auth is None: return None``) is not one."""
    optional = [v for v in route.auth.via if v.optional]
    if not optional or any(not v.optional for v in route.auth.via):
        return None
    found: tuple[str, str] | None = None
    for via in optional:
        rec = receiver(app, route, via)
        fn = app.functions.get(rec[0]) if rec is not None else None
        param = receiving_param(rec[1], via.name) if rec is not None else None
        if fn is None or param is None:
            return None
        refusing = {(line, col) for line, col, _, status in raised_http_exceptions(app, fn) if _REFUSED_RE.search(status)}
        request_names = {p.name for p in fn.fact.params} | {a.target for a in fn.fact.scope.assigns if a.target}
        setting = None
        for r in fn.fact.scope.raises:
            if (r.pos.line, r.pos.col) not in refusing:
                continue
            settings = [s for _neg, test in r.conds if (s := _setting_test(test, request_names)) is not None]
            on_credential = any(param in roots(names_in(test)) for _neg, test in r.conds)
            if settings and on_credential:
                setting = settings[0]
                break
        if setting is None:
            return None
        found = found or (short(fn.qualname), setting)
    return found
