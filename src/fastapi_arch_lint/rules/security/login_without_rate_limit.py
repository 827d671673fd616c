"""FAL528 login-without-rate-limit."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.findings import Confidence, Finding, Severity
from fastapi_arch_lint.model.app import AppModel, Route
from fastapi_arch_lint.model.expr import render
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import route_entity, route_related, segments, unique_routes

PASSWORD_FORMS = frozenset({"fastapi.security.OAuth2PasswordRequestForm", "fastapi.security.OAuth2PasswordRequestFormStrict",
                            "fastapi.security.oauth2.OAuth2PasswordRequestForm"})
LIMIT_NAME = re.compile(r"(?i)(limit|throttl)")
LIMIT_CALL = re.compile(r"(?i)(rate_?limit|limiter|throttl|lockout|login_attempt|failed_attempt)")


@register
class LoginWithoutRateLimit(Rule):
    code = "FAL528"
    name = "login-without-rate-limit"
    summary = "A login, token or password-reset route has no rate limit"
    severity = Severity.INFO
    # the route is recognised by its path or its password form, and a limit kept at the proxy or
    # in a gateway is invisible
    confidence = Confidence.MEDIUM
    cwe = ("CWE-307",)
    owasp = ("API4:2023", "API2:2023")
    security_severity = 5.3
    default_options = {
        "paths": ["login", "token", "signin", "sign-in", "password-reset", "reset-password", "forgot-password",
                  "password-recovery", "recover-password", "otp", "mfa", "2fa"],
        "limiters": [],
    }

    def is_login(self, route: Route) -> bool:
        if any(set(p.type_names) & PASSWORD_FORMS or p.dependency in PASSWORD_FORMS for p in route.params):
            return True
        words = {w.lower() for w in self.options["paths"]}
        for seg in segments(route.path):
            if seg.startswith("{"):
                continue
            s = seg.lower().replace("_", "-")
            if s in words or any(part in words for part in s.split("-")):
                return True
        return False

    def check(self, app: AppModel) -> Iterator[Finding]:
        limiters = [n.lower() for n in self.options["limiters"]]
        app_limited = {a.id for a in app.apps
                       if any(LIMIT_NAME.search(m.name.rsplit(".", 1)[-1]) or "slowapi" in m.name.lower() for m in a.middleware)}
        for route in unique_routes(app):
            if route.kind != "http" or "POST" not in route.methods or route.app in app_limited:
                continue
            if route.auth.required or not self.is_login(route):
                continue
            if self._limited(app, route, limiters):
                continue
            yield self.finding(
                route.registered.path, route.registered.line, route.registered.col,
                f"`{route.display()}` {self._what(route)} and has no rate limit: {self._risk(route)}",
                help="limit attempts per client and per account: slowapi `@limiter.limit(\"5/minute\")`, "
                     "fastapi-limiter `dependencies=[Depends(RateLimiter(times=5, seconds=60))]`, or a lockout after "
                     "repeated failures; name project limiters in the `limiters` option",
                related=route_related(route), entity=route_entity(route),
            )

    @staticmethod
    def _words(route: Route) -> set[str]:
        return {part for seg in segments(route.path) if not seg.startswith("{")
                for part in seg.lower().replace("_", "-").split("-")}

    def _what(self, route: Route) -> str:
        words = self._words(route)
        if words & {"forgot", "recovery", "recover"}:
            return "sends a password-recovery message"
        if "reset" in words:
            return "accepts a password-reset token"
        if words & {"otp", "mfa", "2fa"}:
            return "checks a one-time code"
        return "checks credentials"

    def _risk(self, route: Route) -> str:
        what = self._what(route)
        if what.startswith("sends"):
            return "a client can flood a user's inbox and probe which accounts exist"
        if what.startswith("accepts"):
            return "nothing slows down guessing of reset tokens"
        if what.startswith("checks a one"):
            return "a six-digit code falls to a few hundred thousand requests"
        return "nothing slows down password guessing or credential stuffing against it"

    @staticmethod
    def _limited(app: AppModel, route: Route, limiters: list[str]) -> bool:
        def named(name: str) -> bool:
            low = name.lower()
            return bool(LIMIT_NAME.search(name)) or any(n in low for n in limiters)

        if any(named(render(d.expr, 200)) for d in route.handler.fact.decorators):
            return True
        if any(named(d.name) for d in route.dependencies):
            return True
        if any(named(s.child) or any(named(d) for d in s.dependencies) for s in route.include_chain):
            return True
        fn = app.function(route.handler.qualname)
        if fn is not None:
            for _, site, target, _ in app.callees(fn.qualname, depth=1):
                name = target or render(site.call.func)
                if LIMIT_CALL.search(name) or any(n in name.lower() for n in limiters):
                    return True
        return False
