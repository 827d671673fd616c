"""FAL404 optional-auth-not-enforced."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.findings import Finding, Related, Severity
from fastapi_arch_lint.analysis.calls import reached_functions
from fastapi_arch_lint.model.app import AppModel, AuthVia, Route
from fastapi_arch_lint.model.expr import Const
from fastapi_arch_lint.model.facts import FunctionFact
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import unique_routes
from fastapi_arch_lint.rules.auth._common import (
    DEFAULT_PUBLIC_HANDLERS,
    DEFAULT_PUBLIC_ROUTES,
    handler_name,
    is_public,
    names_in,
    roots,
    short,
)
from fastapi_arch_lint.rules.auth._maybe_none import MaybeNoneUse, maybe_none_uses, result_tested
from fastapi_arch_lint.rules.auth._optional import handed_on, receiver, receiving_param


def rejects_none(fact: FunctionFact, param: str) -> bool:
    """``raise`` anywhere, or the credential tested against None / for truth."""
    if fact.raises:
        return True
    if param in fact.truth_tests or any(t.split(".", 1)[0] == param for t in fact.truth_tests):
        return True
    for c in fact.compares:
        sides = (c.left, c.right)
        tested = roots(names_in(c.left) | names_in(c.right))
        if any(isinstance(s, Const) and s.value is None for s in sides) and param in tested:
            return True
    return False


def _handler_rejects(route: Route, dependency: str) -> bool:
    own = {p.name for p in route.handler.fact.params}
    names = [p.name for p in route.params if p.name in own and p.dependency == dependency]
    return bool(names) and all(rejects_none(route.handler.fact, n) and bool(route.handler.fact.raises) for n in names)


def _refuses(app: AppModel, qualname: str) -> bool:
    """``qualname``, or a project function it calls (two calls down), ends in a ``raise`` that no ``if`` guards:
    it returns only what it validated (``if client is not None and client.enabled: return client`` then
    ``raise Forbidden(...)``), whatever the exception's class."""
    fn = app.functions.get(qualname)
    return fn is not None and any(not r.conds for f in reached_functions(app, fn, 2) for r in f.fact.scope.raises)


def other_auth(app: AppModel, route: Route, qualname: str) -> AuthVia | None:
    """Another way of the route, through dependencies other than ``qualname``, whose credential reaches a
    dependency that refuses a request without a valid one: the route requires authentication from it, and
    ``qualname``'s optional value (an "acting as" user hint) is context, not the route's authentication."""
    funcs = {short(d.name): d.name for d in route.dependencies if d.kind == "function"}
    for v in route.auth.via:
        names = [funcs[c] for c in v.chain[:-1] if c in funcs]
        if not names or qualname in names:
            continue
        if not v.optional or any(_refuses(app, q) for q in names):
            return v
    return None


@register
class OptionalAuthNotEnforced(Rule):
    code = "FAL404"
    name = "optional-auth-not-enforced"
    summary = ("Optional auth a route relies on without rejecting `None`: a scheme with `auto_error=False`, or a "
               "dependency that returns `None` without a credential")
    severity = Severity.WARNING
    cwe = ("CWE-287",)
    owasp = ("API2:2023",)
    security_severity = 8.1

    def check(self, app: AppModel) -> Iterator[Finding]:
        groups: dict[tuple[str, str], dict] = {}
        for route in unique_routes(app):
            vias = route.auth.via
            if not vias or any(not v.optional for v in vias):
                continue
            if is_public(route, DEFAULT_PUBLIC_ROUTES, DEFAULT_PUBLIC_HANDLERS):
                continue  # a login, logout or sign-up takes an optional credential by design
            for via in vias:
                rec = receiver(app, route, via)
                if rec is None:
                    continue
                qualname, fact, path, line = rec
                param = receiving_param(fact, via.name)
                if param is None:
                    continue
                if rejects_none(fact, param):
                    continue
                # handed on to a helper that rejects it, or to one the model does not know
                if handed_on(app, qualname, param):
                    continue
                # the handler receives the dependency's result and rejects ``None`` itself
                if qualname != route.handler.qualname and _handler_rejects(route, qualname):
                    continue
                # every function that takes the dependency's result branches on ``None``: built for anonymous callers
                if qualname != route.handler.qualname and result_tested(app, route, qualname):
                    continue
                # another dependency of the route refuses requests without a valid credential
                if qualname != route.handler.qualname and other_auth(app, route, qualname) is not None:
                    continue
                p = fact.param(param)
                g = groups.setdefault((qualname, via.name), {
                    "path": path, "line": p.pos.line if p else line, "col": p.pos.col if p else 1,
                    "param": param, "via": via, "routes": [], "func": qualname,
                })
                g["routes"].append(route)
        yield from self._by_hand(app, {q for q, _ in groups})
        for (qualname, scheme), g in sorted(groups.items()):
            routes = g["routes"]
            shown = ", ".join(f"`{r.display()}`" for r in routes[:3])
            if len(routes) > 3:
                shown += f" and {len(routes) - 3} more"
            via = g["via"]
            related = [Related(via.path, via.line, f"`{scheme}` ({via.scheme}) created with `auto_error=False`")]
            related += [Related(r.registered.path, r.registered.line,
                                f"`{r.display()}` (`{handler_name(r)}`) relies on it") for r in routes]
            yield self.finding(
                g["path"], g["line"], g["col"],
                f"`{short(qualname)}` receives `{g['param']}` from `{scheme}` (`auto_error=False`) and never rejects "
                f"a missing credential: anonymous requests reach {shown} as if authenticated",
                help=f"raise `HTTPException(401, headers={{\"WWW-Authenticate\": \"Bearer\"}})` when `{g['param']}` "
                     f"is None, or drop `auto_error=False`; if anonymous access is intended, branch on `None` "
                     f"explicitly (`if {g['param']} is None: return None`) so readers see it",
                related=related,
                entity=f"{qualname} {scheme}",
            )

    def _by_hand(self, app: AppModel, reported: set[str]) -> Iterator[Finding]:
        """Optional auth written by hand: a dependency that answers ``None`` for a missing credential, whose
        result a function on the route uses (an attribute of it, a lookup or a write with it) without ever
        testing it for ``None``."""
        groups: dict[tuple[str, str], list[MaybeNoneUse]] = {}
        for use in maybe_none_uses(app):
            if use.source.qualname in reported:
                continue  # its scheme receiver is reported above
            groups.setdefault((use.consumer.qualname, use.param), []).append(use)
        for (_consumer, param), uses in sorted(groups.items()):
            u = uses[0]
            routes = list(dict.fromkeys(x.route for x in uses))
            shown = ", ".join(f"`{r.display()}`" for r in routes[:3])
            if len(routes) > 3:
                shown += f" and {len(routes) - 3} more"
            src = u.source
            pf = u.consumer.fact.param(param)
            related = [Related(src.path, src.line, f"`{short(src.qualname)}` returns `None` {src.why}")]
            if u.chain:
                related += [Related(f.path, f.fact.pos.line, f"`{short(f.qualname)}` passes it on unchecked")
                            for f in u.chain]
            related.append(Related(u.where[0], u.where[1], u.what))
            related += [Related(r.registered.path, r.registered.line,
                                f"`{r.display()}` (`{handler_name(r)}`) has no other authentication") for r in routes]
            through = f" through `{short(u.chain[-1].qualname)}`" if u.chain else ""
            yield self.finding(
                u.consumer.path, pf.pos.line if pf else u.consumer.fact.pos.line, pf.pos.col if pf else 1,
                f"`{short(u.consumer.qualname)}` takes the principal `{param}` from `{short(src.qualname)}`{through}, "
                f"which returns `None` {src.why}, and "
                + (f"uses it only for {u.what_short}: an anonymous request to {shown} {u.effect}" if u.unscoped else
                   f"never checks for `None` before {u.what_short}: an anonymous request to {shown} is not "
                   f"answered 401 but {u.effect}"),
                help=f"depend on a dependency that raises `HTTPException(401)` when there is no credential, or test "
                     f"`if {param} is None: raise HTTPException(401)` first; if anonymous callers are welcome, "
                     f"branch on `{param}` explicitly",
                related=related,
                entity=f"{u.consumer.qualname} {param} {src.qualname}",
            )
