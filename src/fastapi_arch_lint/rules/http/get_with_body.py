"""FAL203 get-with-body."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.findings import Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Param, Route
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import route_entity, route_related
from fastapi_arch_lint.rules.http._common import registrations

NO_BODY = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
BODY_SOURCES = frozenset({"body", "form", "file"})
BODY_READS = frozenset({"fastapi.Request.body", "fastapi.Request.json", "fastapi.Request.form",
                        "fastapi.Request.stream"})


def _where(app: AppModel, route: Route, param: Param) -> tuple[str, int, str]:
    """(path, line, owner) of the function that declares ``param``: the handler or a dependency."""
    fact = route.handler.fact
    p = fact.param(param.name)
    if p is not None and p.pos.line == param.line:
        return route.handler.path, param.line, route.handler.qualname.rsplit(".", 1)[-1]
    for dep in route.dependencies:
        for qualname in (dep.name, f"{dep.name}.__init__", f"{dep.name}.__call__"):
            fn = app.function(qualname)
            if fn is None:
                continue
            dp = fn.fact.param(param.name)
            if dp is not None and dp.pos.line == param.line:
                return fn.path, param.line, dep.name.rsplit(".", 1)[-1]
    return route.handler.path, route.handler.line, route.handler.qualname.rsplit(".", 1)[-1]


@register
class GetWithBody(Rule):
    code = "FAL203"
    name = "get-with-body"
    summary = "A GET/HEAD (or DELETE) route reads a request body (`Body`, a model, `Form`, `File`)"
    severity = Severity.WARNING
    other_severities = {Severity.INFO: "for `DELETE`"}
    default_options = {"check_delete": True}

    def check(self, app: AppModel) -> Iterator[Finding]:
        check_delete = bool(self.options["check_delete"])
        for route in registrations(app):
            if route.kind != "http" or not route.methods:
                continue
            methods = set(route.methods)
            no_body = NO_BODY | ({"DELETE"} if check_delete else set())
            if not methods <= no_body:
                continue
            only_delete = methods == {"DELETE"}
            handler = route.handler.qualname.rsplit(".", 1)[-1]
            what = ""
            related: list[Related] = []
            body = [p for p in route.params if p.source in BODY_SOURCES]
            if body:
                p = body[0]
                _, _, owner = _where(app, route, p)
                kind = {"body": "body", "form": "form field", "file": "uploaded file"}[p.source]
                what = f"{kind} parameter `{p.name}`" + (f" (`{p.annotation}`)" if p.annotation else "") + \
                    (f" of dependency `{owner}`" if owner != handler else "")
                for x in body[:5]:
                    xpath, xline, xowner = _where(app, route, x)
                    related.append(Related(xpath, xline, f"`{x.name}` of `{xowner}` is read from the {x.source}"))
            else:
                fn = app.function(route.handler.qualname)
                # a read whose result is thrown away (``await request.form()`` as a statement) takes no
                # input from the body: it fills the request's cache for a library that reads it synchronously
                discarded = {(c.call.line, c.call.col) for c in route.handler.fact.scope.calls}
                site = next(((s, t) for s, t in (fn.calls if fn else ())
                             if t in BODY_READS and (s.call.line, s.call.col) not in discarded), None)
                if site is None:
                    continue
                what = f"the raw body through `request.{site[1].rsplit('.', 1)[-1]}()`"
                related = [Related(route.handler.path, site[0].pos.line, "the body is read here")]
            method = "/".join(route.methods)
            yield self.finding(
                route.registered.path, route.registered.line, route.registered.col,
                f"`{method} {route.path}` (`{handler}`) reads a request body: {what}",
                help=("DELETE content has no defined meaning (RFC 9110 9.3.5) and some proxies and clients drop "
                      "it; identify what to delete in the path or query, or use a POST action for bulk deletes"
                      if only_delete else
                      "GET/HEAD content has no defined meaning (RFC 9110 9.3.1): proxies, caches and clients "
                      "(browsers' fetch, Swagger UI) drop or reject it. Take the inputs as query parameters "
                      "(a `Query()` model), or make the endpoint a POST (`POST /items/search`)"),
                related=(*related, *route_related(route)),
                entity=route_entity(route),
                severity=Severity.INFO if only_delete else None,
            )
