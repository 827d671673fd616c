"""FAL507 cors-wildcard-with-credentials."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.analysis.calls import is_test_path, iter_calls_to, reached_functions
from fastapi_arch_lint.analysis.values import call_value
from fastapi_arch_lint.findings import Confidence, Finding, Severity
from fastapi_arch_lint.model.app import App, AppModel, Function
from fastapi_arch_lint.model.expr import Attr, render
from fastapi_arch_lint.rule import Rule, register

CORS_CLASSES = frozenset({"fastapi.middleware.cors.CORSMiddleware", "starlette.middleware.cors.CORSMiddleware"})
# origins no allow-list should admit
PROBES = ("https://attacker.example", "http://evil.test", "null")


def wildcard(origins: object, regex: object) -> str | None:
    """How the configuration admits every origin, or None."""
    if isinstance(origins, str):
        origins = (origins,)
    if isinstance(origins, (tuple, list)) and "*" in origins:
        return '`allow_origins=["*"]`'
    if isinstance(regex, str):
        try:
            compiled = re.compile(regex)
        except re.error:
            return None
        if all(compiled.fullmatch(p) for p in PROBES[:2]):
            return f"`allow_origin_regex={regex!r}` (it matches any origin)"
    return None


def browser_credentials(app: AppModel) -> bool:
    """Does the project use a credential browsers attach on their own (cookies, HTTP Basic)? A session or
    cookie scheme, a cookie parameter, a session middleware, or code that sets or reads cookies."""
    for r in app.routes:
        if any(p.source == "cookie" for p in r.params):
            return True
        if any(re.search(r"cookie|basic", f"{v.scheme} {v.evidence}", re.I) for v in r.auth.via):
            return True
    if any("Session" in mw.name for a in app.apps for mw in a.middleware):
        return True
    return any(isinstance(site.call.func, Attr) and (site.call.func.attr == "set_cookie" or ".cookies" in render(site.call.func))
               for fn in app.functions.values() for site, _ in fn.calls)


def _touches_cookies(fn: Function) -> bool:
    return any(isinstance(site.call.func, Attr) and (site.call.func.attr == "set_cookie"
                                                     or ".cookies" in render(site.call.func)) for site, _ in fn.calls)


def app_without_credentials(model: AppModel, a: App) -> bool:
    """The app serves routes, and none of them is authenticated in any way, takes a cookie, or runs code that
    sets or reads cookies (its handlers and the project functions they call, three calls down); it has no
    session middleware and mounts nothing: a credentialed cross-origin request gets nothing a plain one does
    not."""
    if not a.routes or a.mounts or any("Session" in mw.name or "Auth" in mw.name for mw in a.middleware):
        return False
    for r in a.routes:
        if r.auth.via or r.auth.required or any(p.source in ("cookie", "security") for p in r.params):
            return False
        fn = model.functions.get(r.handler.qualname)
        if fn is None or any(_touches_cookies(f) for f in reached_functions(model, fn, 3)):
            return False
    return True


@register
class CorsWildcardWithCredentials(Rule):
    code = "FAL507"
    name = "cors-wildcard-with-credentials"
    summary = "CORS admits every origin (`*` or a match-all regex) together with `allow_credentials=True`"
    severity = Severity.ERROR
    other_severities = {Severity.WARNING: "when nothing in the project uses a credential browsers attach on their "
                                          "own (cookies, HTTP Basic): a header token is not sent cross-site; or when the app it is on has "
                                          "no authentication, cookies or sessions on any of its routes"}
    cwe = ("CWE-942",)
    owasp = ("API8:2023",)
    security_severity = 8.1
    _app: AppModel
    _cookies: bool | None

    def check(self, app: AppModel) -> Iterator[Finding]:
        self._app, self._cookies = app, None
        seen: set[tuple[str, int]] = set()
        for a in app.apps:
            for mw in a.middleware:
                if mw.name not in CORS_CLASSES or is_test_path(mw.loc.path):
                    continue
                values = dict(mw.values)
                options = dict(mw.options)
                how = wildcard(values.get("allow_origins"), values.get("allow_origin_regex"))
                if how is None or values.get("allow_credentials") is not True:
                    continue
                key = (mw.loc.path, mw.loc.line)
                if key in seen:
                    continue
                seen.add(key)
                literal = all(
                    options.get(k, "").startswith(("[", "(", "'", '"', "True"))
                    for k in ("allow_origins" if "allow_origins" in options else "allow_origin_regex", "allow_credentials")
                )
                source = options.get("allow_origins") or options.get("allow_origin_regex")
                via = "" if literal else f" (the value of `{source}`)"
                yield self._finding(mw.loc.path, mw.loc.line, mw.loc.col, how + via, a.name,
                                    Confidence.HIGH if literal else Confidence.MEDIUM,
                                    len(a.routes) if app_without_credentials(app, a) else 0)
        # ``CORSMiddleware(app, ...)`` wrapping an ASGI app directly
        for cc in iter_calls_to(app, CORS_CLASSES.__contains__):
            if cc.target not in CORS_CLASSES or (cc.path, cc.line) in seen:
                continue
            get = lambda k: call_value(app, cc, cc.call.kwarg(k))  # noqa: E731
            how = wildcard(get("allow_origins"), get("allow_origin_regex"))
            if how is None or get("allow_credentials") is not True:
                continue
            seen.add((cc.path, cc.line))
            yield self._finding(cc.path, cc.line, cc.col, how, "the wrapped app", Confidence.HIGH)

    def _finding(self, path: str, line: int, col: int, how: str, app_name: str, confidence: Confidence,
                 bare_routes: int = 0) -> Finding:
        if self._cookies is None:
            self._cookies = browser_credentials(self._app)
        weak = "" if self._cookies else (
            "; no cookie or HTTP Basic credential is seen in the project, and browsers do not send a header token "
            "cross-site on their own, so it matters once one is added")
        if bare_routes and self._cookies:
            weak = (f"; but nothing on this app ({bare_routes} route{'s' if bare_routes > 1 else ''}) is authenticated, "
                    "takes a cookie or sets or reads one, and it has no session middleware: a "
                    "credentialed request gets nothing a plain one does not, so it matters once one is added")
        return self.finding(
            path, line, col,
            f"CORS on `{app_name}` combines {how} with `allow_credentials=True`: Starlette then echoes any "
            f"caller's `Origin`, so every website can make credentialed requests and read the responses{weak}",
            severity=None if self._cookies and not bare_routes else Severity.WARNING,
            help="list the exact front-end origins (`allow_origins=[\"https://app.example.com\"]`, from settings); "
                 "keep `\"*\"` only for public APIs without cookies or credentials",
            entity=f"{app_name}:CORSMiddleware",
            confidence=confidence,
        )

