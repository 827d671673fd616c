"""FAL202 body-on-204."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.analysis.names import words
from fastapi_arch_lint.findings import Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Route
from fastapi_arch_lint.model.expr import Call, Const, Expr, Name, dotted, render
from fastapi_arch_lint.model.facts import ReturnFact
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import route_entity, route_related
from fastapi_arch_lint.rules.http._common import is_response_class, registrations


def no_body_status(code: int | None) -> bool:
    """FastAPI's ``is_body_allowed_for_status_code`` negated: 1xx, 204, 205, 304."""
    return code is not None and (code < 200 or code in (204, 205, 304))


def _call_target(app: AppModel, route: Route, call: Call) -> str | None:
    fn = app.function(route.handler.qualname)
    for site, target in fn.calls if fn else ():
        if site.call.line == call.line and site.call.col == call.col:
            return target
    return None


def _is_response(app: AppModel, target: str | None) -> bool:
    """A Response class, or a project function annotated to return one."""
    if is_response_class(app, target):
        return True
    fn = app.function(target) if target else None
    return fn is not None and fn.fact.returns is not None and "Response" in render(fn.fact.returns)


# decorators that leave what a method returns as it is: the method kinds, and those that time, log, trace,
# retry or cache the call (by a word of their name: ``@log_timing(level="INFO")``, ``@traced``, ``@retry(3)``)
_PLAIN_DECORATORS = frozenset({"staticmethod", "classmethod"})
_PASS_THROUGH_WORDS = frozenset({"log", "logged", "logging", "timing", "timed", "timer", "trace", "traced", "retry",
                                 "retries", "measure", "measured", "profile", "profiled", "instrument", "instrumented",
                                 "span", "cache", "cached", "lru", "deprecated", "override"})


def _pass_through(decorator: Expr) -> bool:
    """A decorator that returns what the function returns (see ``_PASS_THROUGH_WORDS``)."""
    name = (dotted(decorator.func if isinstance(decorator, Call) else decorator) or "").rsplit(".", 1)[-1]
    return name in _PLAIN_DECORATORS or bool(set(words(name)) & _PASS_THROUGH_WORDS)


def _returns_nothing(app: AppModel, target: str | None) -> bool:
    """``target`` is a project function that gives no value: no ``return <value>`` of its own (a bare
    ``return`` or falling off the end), not a generator, not decorated (a wrapper may return something) but
    by a decorator that passes the value through (``_pass_through``), and
    not a stub (``...``, ``pass``, ``raise NotImplementedError``) that an override might fill in."""
    fn = app.function(target) if target else None
    if fn is None or fn.fact.is_generator:
        return False
    fact = fn.fact
    if not all(_pass_through(d.expr) for d in fact.decorators):
        return False
    if any(r.value is not None and not (isinstance(r.value, Const) and r.value.value is None)
           for r in fact.scope.returns):
        return False
    if any("NotImplementedError" in render(r.expr) for r in fact.raises if r.expr is not None):
        return False
    return bool(fn.calls or fact.scope.assigns)  # it does something: not an empty stub


def _returns_body(app: AppModel, route: Route, ret: ReturnFact) -> bool:
    """True when ``return <value>`` sends content: not ``None``, not a ``Response``."""
    value = ret.value
    if value is None or (isinstance(value, Const) and value.value is None):
        return False
    if re.fullmatch(r"(?:[\w.]*\.)?HTTP_\d{3}_\w+", dotted(value) or "") or (
            isinstance(value, Const) and value.value == route.status_code):
        return False  # ``return status.HTTP_204_NO_CONTENT``: the status it answers anyway, no data is lost
    if isinstance(value, Call):
        target = _call_target(app, route, value)
        if target is None and (dotted(value.func) or "").endswith("Response"):
            return False  # ``Response(...)`` imported in a way the model did not follow
        # ``return repo.update_all()`` where ``update_all`` returns nothing: the handler returns ``None``
        return not (_is_response(app, target) or _returns_nothing(app, target))
    if isinstance(value, Name):
        fact = route.handler.fact
        param = fact.param(value.id)
        if param is not None:
            # ``response: Response`` injected by FastAPI and returned
            return not (param.annotation is not None and "Response" in render(param.annotation))
        fn = app.function(route.handler.qualname)
        sites = [(s, t) for s, t in (fn.calls if fn else ()) if s.assigned_to == value.id and s.pos.line <= ret.pos.line]
        assigns = [a for a in fact.scope.assigns if a.target == value.id and a.pos.line <= ret.pos.line]
        if sites and all(_is_response(app, t) for _, t in sites):
            return False
        if assigns and all(isinstance(a.value, Const) and a.value.value is None for a in assigns):
            return False
        if not assigns and not sites:
            return False  # a global or a loop variable: unknown, stay quiet
        return True
    return True


@register
class BodyOn204(Rule):
    code = "FAL202"
    name = "body-on-204"
    summary = "A 204/304 route declares a response model or returns a value: these statuses have no body"
    severity = Severity.ERROR
    other_severities = {Severity.WARNING: "when only a returned value is dropped (FastAPI sends no body: nothing "
                                          "breaks, the data or the work is lost)"}

    def check(self, app: AppModel) -> Iterator[Finding]:
        for route in registrations(app):
            if route.kind != "http" or not no_body_status(route.status_code):
                continue
            handler = route.handler.qualname.rsplit(".", 1)[-1]
            code = route.status_code
            if route.response_model is not None:
                src = ("`response_model=`" if route.response_model_source == "decorator"
                       else "the return annotation")
                yield self.finding(
                    route.registered.path, route.registered.line, route.registered.col,
                    f"`{route.display()}` (`{handler}`) has status {code} but declares the response model "
                    f"`{route.response_model}` through {src}: FastAPI refuses to start "
                    f"(\"Status code {code} must not have a response body\")",
                    help="drop the response model (annotate the handler `-> None`), or use a status with a body "
                         "(200 with the model)",
                    related=(Related(route.handler.path, route.handler.line, f"`{handler}` is defined here"),
                             *route_related(route)),
                    entity=route_entity(route),
                )
                continue
            bad = [r for r in route.handler.fact.scope.returns if _returns_body(app, route, r)]
            if not bad:
                continue
            first = bad[0]
            yield self.finding(
                route.registered.path, route.registered.line, route.registered.col,
                f"`{route.display()}` (`{handler}`) has status {code} but returns "
                f"`{render(first.value, 50)}`: the content is dropped, the client never sees it",
                help="`return None` (or nothing) for a no-content status, or return `Response(status_code="
                     f"{code})`; if the client needs the data, use 200 with a response model",
                related=(*(Related(route.handler.path, r.pos.line, "returns a value here") for r in bad[:5]),
                         *route_related(route)),
                entity=route_entity(route),
                severity=Severity.WARNING,
            )
