"""Server-rendered HTML routes (pure functions of the model, shared by the REST and HTTP rules).

A route that renders a page (an admin back office, an HTMX fragment, a form that posts back to
itself) is not a REST resource: its URL is a page name (`/orgs/{id}/edit-note`), GET shows the form
and POST submits it to the same handler, and a successful POST answers with a page or a redirect,
not 201. The REST naming and method rules skip these routes.

A route renders HTML when any of these holds:

- its `response_class`, or the `default_response_class` of its router, of an `include_router` call
  above it or of its app, is an HTML response class (`HTMLResponse`, a subclass, a class whose name
  ends in `HTMLResponse`, `TemplateResponse` or `TagResponse`);
- the handler returns `templates.TemplateResponse(...)` or builds an HTML response, or is annotated
  to return one, or returns what a project function that does so returns (`return render_panel(...)`);
- the handler is decorated with a page decorator given a template file (`@page("item.html")`);
- the handler reads HTMX's request headers (`HX-Request`, `hx_request: Header()`).
"""

from __future__ import annotations

import re

from fastapi_arch_lint.analysis.calls import call_target
from fastapi_arch_lint.analysis.index import router_by_id
from fastapi_arch_lint.analysis.memo import memo
from fastapi_arch_lint.model.app import AppModel, Function, Route
from fastapi_arch_lint.model.expr import Attr, Call, Const, Expr, Name, dotted, render

HTML_CLASSES = frozenset({"fastapi.responses.HTMLResponse", "starlette.responses.HTMLResponse"})
_HTML_NAME_RE = re.compile(r"(?:HTML|Html|Template|Tag)Response$")
_TEMPLATE_FILE_RE = re.compile(r"\.(?:html?|jinja2?|j2|jinja)$")


def html_class(app: AppModel, qualname: str | None) -> bool:
    """``qualname`` names an HTML response class (or a class derived from one)."""
    if not qualname:
        return False
    for n in (qualname, *app.class_bases.get(qualname, ())):
        if n in HTML_CLASSES or _HTML_NAME_RE.search(n.rsplit(".", 1)[-1]):
            return True
    return False


def _default_classes(app: AppModel) -> dict[tuple[str, int], bool]:
    """(path, line) of module-level calls given ``default_response_class=`` -> whether it is HTML."""
    out: dict[tuple[str, int], bool] = {}
    values = app.values
    if values is None:
        return out
    for mc in values.module_calls():
        expr = mc.call.kwarg("default_response_class")
        if expr is None:
            continue
        target = values.target(expr, mc.module) or dotted(expr) or render(expr)
        out[(mc.path, mc.line)] = html_class(app, target)
    return out


def _route_html(app: AppModel) -> dict[object, bool]:
    return {}


def _html_expr(app: AppModel, expr: Expr | None) -> bool:
    if isinstance(expr, Call):
        func = expr.func
        name = func.attr if isinstance(func, Attr) else func.id if isinstance(func, Name) else ""
        return name in ("TemplateResponse", "HTMLResponse") or bool(_HTML_NAME_RE.search(name))
    return False


def _html_helper(app: AppModel, fn: Function, expr: Expr | None) -> bool:
    """``return render_panel(...)``: a call to a project function that returns an HTML response."""
    if not isinstance(expr, Call):
        return False
    target = call_target(fn, expr)
    helper = app.function(target) if target else None
    if helper is None:
        return False
    fact = helper.fact
    if fact.returns is not None and re.search(r"\b(?:HTMLResponse|TemplateResponse)\b", render(fact.returns)):
        return True
    return any(_html_expr(app, r.value) for r in fact.scope.returns)


def renders_html(app: AppModel, route: Route) -> bool:
    """Whether ``route`` serves a server-rendered HTML page or fragment (see the module's docstring)."""
    key = (route.app, route.registered, route.path)
    cache = memo(app, _route_html)
    if key in cache:
        return bool(cache[key])
    result = _renders_html(app, route)
    cache[key] = result
    return result


def _renders_html(app: AppModel, route: Route) -> bool:
    if route.kind != "http":
        return False
    if html_class(app, route.response_class):
        return True
    defaults = memo(app, _default_classes)
    router = router_by_id(app, route.router)
    places = [(step.path, step.line) for step in route.include_chain]
    if router is not None:
        places.append((router.loc.path, router.loc.line))
    a = next((x for x in app.apps if x.id == route.app), None)
    if a is not None:
        places.append((a.loc.path, a.loc.line))
    if any(defaults.get(p) for p in places):
        return True
    fact = route.handler.fact
    if fact.returns is not None and re.search(r"\b(?:HTMLResponse|TemplateResponse|_TemplateResponse)\b",
                                             render(fact.returns)):
        return True
    if any(_html_expr(app, r.value) for r in fact.scope.returns):
        return True
    fn = app.function(route.handler.qualname)
    if fn is not None and any(_html_helper(app, fn, r.value) for r in fact.scope.returns):
        return True
    for _site, target in fn.calls if fn else ():
        if target and (target.endswith(".TemplateResponse") or html_class(app, target)):
            return True
    for d in fact.decorators:
        if isinstance(d.expr, Call) and any(isinstance(x, Const) and isinstance(x.value, str)
                                            and _TEMPLATE_FILE_RE.search(x.value) for x in d.expr.args):
            return True
    if any(k.lower().startswith("hx-") for _, k in fact.subscripts):
        return True
    return any(p.source == "header" and (p.alias or p.name).lower().replace("_", "-").startswith("hx-")
               for p in route.params)
