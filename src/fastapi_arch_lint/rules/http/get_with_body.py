"""FAL203 get-with-body."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.findings import Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Param, Route
from fastapi_arch_lint.model.expr import Attr, BoolOp, Compare, Const, Expr, Name, Not, Seq
from fastapi_arch_lint.model.facts import CallSite, FunctionFact
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


def _method_test(test: Expr, receiver: str, method: str) -> bool | None:
    """Whether ``test`` holds for a request made with ``method`` (None when the test does not tell):
    ``request.method in ["POST", "PUT"]``, ``request.method != "GET"``, with ``not``/``and``/``or``,
    where ``request`` is the object whose body is read."""
    if isinstance(test, Not):
        inner = _method_test(test.operand, receiver, method)
        return None if inner is None else not inner
    if isinstance(test, BoolOp):
        vals = [_method_test(v, receiver, method) for v in test.values]
        if test.op == "and":
            return False if False in vals else (True if all(v is True for v in vals) else None)
        return True if True in vals else (False if all(v is False for v in vals) else None)
    if not isinstance(test, Compare):
        return None
    left, right = test.left, test.right
    if not (isinstance(left, Attr) and left.attr == "method" and isinstance(left.value, Name)
            and left.value.id == receiver):
        return None
    if test.op in ("==", "!=") and isinstance(right, Const) and isinstance(right.value, str):
        return (right.value.upper() == method) == (test.op == "==")
    if test.op in ("in", "not in") and isinstance(right, Seq) and right.items and \
            all(isinstance(x, Const) and isinstance(x.value, str) for x in right.items):
        inside = method in {str(x.value).upper() for x in right.items if isinstance(x, Const)}
        return inside == (test.op == "in")
    return None


def _not_for(fact: FunctionFact, site: CallSite, methods: set[str]) -> bool:
    """Is the body read at ``site`` inside an ``if`` branch that none of ``methods`` takes
    (``if request.method in ["POST", "PUT"]: body = await request.json()`` for a GET)?"""
    func = site.call.func
    if not (isinstance(func, Attr) and isinstance(func.value, Name)):
        return False
    receiver = func.value.id
    idx = next((i for i, c in enumerate(fact.calls) if (c.pos.line, c.pos.col) == (site.pos.line, site.pos.col)), None)
    if idx is None:
        return False
    for g in fact.guards:
        if g.test is None:
            continue
        for branch, taken in ((g.body_calls, True), (g.orelse_calls, False)):
            if idx in branch and all(_method_test(g.test, receiver, m) is (not taken) for m in methods):
                return True
    return False


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
                # a read under ``if request.method in ["POST", "PUT"]:`` never runs for this route's methods
                site = next(((s, t) for s, t in (fn.calls if fn else ())
                             if t in BODY_READS and (s.call.line, s.call.col) not in discarded
                             and not _not_for(route.handler.fact, s, methods)), None)
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
