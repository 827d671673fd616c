"""FAL530 open-redirect."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.analysis.taint import Context, Source, call_arg
from fastapi_arch_lint.findings import Confidence, Finding, Severity
from fastapi_arch_lint.model.app import AppModel, Function, Route
from fastapi_arch_lint.model.paths import is_test_path
from fastapi_arch_lint.model.expr import Attr, Const, Expr, Name, render, walk
from fastapi_arch_lint.model.facts import CallSite
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules.security._common import prefix_is_fixed, traced_sinks, where_in

REDIRECTS = frozenset({"fastapi.responses.RedirectResponse", "starlette.responses.RedirectResponse"})
# a literal prefix that keeps the browser on a known site: ``https://app.example.com/...``, a relative
# ``/account?next=`` (one ``/`` then a path character: ``/`` + ``/evil.example`` would leave), ``?tab=``
FIXED_TARGET = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://[^/?#\\{]+[/?#]|/[^/\\]|[?#]|[A-Za-z0-9_.~-][^:]*[/?#])")
# a check of where the URL points: its parsed host compared, or an allowlist helper called
HOST_WORDS = re.compile(r"\b(hostname|netloc|host|scheme)\b")
GUARD_CALL = re.compile(r"(?i)(allow|safe|valid|trusted|check|verify|whitelist).*(url|uri|host|domain|redirect|return|next)"
                        r"|(url|uri|host|domain|redirect|return|next).*(allow|safe|valid|trusted|whitelist)")

HELP = ("redirect only to places the server chose: map the value to a known page, compare "
        "`urlparse(url).netloc` with an allowlist of hosts, or accept a relative path only "
        "(`url.startswith(\"/\") and not url.startswith((\"//\", \"/\\\\\"))`)")


def redirect_sink(app: AppModel):
    def sinks(site: CallSite, target: str | None) -> list[tuple[Expr, str]]:
        name = target or ""
        if name not in REDIRECTS and not any(b in REDIRECTS for b in app.class_bases.get(name, ())):
            return []
        url = call_arg(site.call, 0, "url")
        return [(url, f"`{name.rsplit('.', 1)[-1]}()`")] if url is not None else []
    return sinks


def _startswith(fn: Function) -> set[str]:
    """The literal prefixes the function tests with ``x.startswith(...)``."""
    out: set[str] = set()
    for site, _ in fn.calls:
        func = site.call.func
        if isinstance(func, Attr) and func.attr == "startswith":
            for arg in site.call.args:
                out |= {c.value for c in walk(arg) if isinstance(c, Const) and isinstance(c.value, str)}
    return out


def guard(fn: Function) -> str | None:
    """How the function checks where it redirects: "host" (a compared host, an allowlist helper, a
    relative path that cannot be ``//host``), "slash" (``startswith("/")`` alone), or None."""
    for c in fn.fact.compares:
        if HOST_WORDS.search(render(c.left, 200)) or HOST_WORDS.search(render(c.right, 200)):
            return "host"
    for site, target in fn.calls:
        short = (target or render(site.call.func)).rsplit(".", 1)[-1]
        if GUARD_CALL.search(short):
            return "host"
    prefixes = _startswith(fn)
    literal_slashes = any(isinstance(c, Const) and c.value in ("//", "\\\\", "/\\") for c in
                          (x for cmp in fn.fact.compares for side in (cmp.left, cmp.right) for x in walk(side)))
    if "/" in prefixes:
        return "host" if ("//" in prefixes or literal_slashes) else "slash"
    return None


def _producers(app: AppModel, fn: Function, arg: Expr, line: int) -> list[Function]:
    """The project functions whose result ``arg`` is, or a local it reads was assigned from before ``line``
    (``next_url = get_next_url(request)``): a helper that builds the target and checks its host."""
    names = {x.id for x in walk(arg) if isinstance(x, Name)}
    out = []
    for site, target in fn.calls:
        made = site.pos.line == line and any(x is site.call for x in walk(arg))
        if target in app.functions and (made or site.assigned_to in names and site.pos.line < line):
            out.append(app.functions[target])
    return out


# what a link or a cross-site form sets: a victim's browser sends these as the attacker wrote them
NAVIGABLE_SOURCES = frozenset({"query", "path", "form"})
NAVIGABLE_ACCESSORS = ("query_params", "path_params", "form")


def navigable(route: Route, src: Source) -> bool:
    """Whether an attacker's link (or auto-submitted form) chooses the value in a victim's browser: a query
    or path parameter or a form field does; a header, a cookie or a JSON body does not (a page cannot set
    them on a navigation, and a ``fetch`` follows the redirect itself), nor does the request's own URL."""
    param = next((p for p in route.params if p.name == src.param), None)
    if param is None:
        return False
    if param.source in ("request", "websocket"):
        return any(f".{a}" in src.origin for a in NAVIGABLE_ACCESSORS)
    return param.source in NAVIGABLE_SOURCES


@register
class OpenRedirect(Rule):
    code = "FAL530"
    name = "open-redirect"
    summary = "A `RedirectResponse` sends the browser to a URL taken from the request (open redirect)"
    severity = Severity.WARNING
    confidence = Confidence.HIGH
    cwe = ("CWE-601",)
    owasp = ("A01:2021",)
    security_severity = 6.1

    def check(self, app: AppModel) -> Iterator[Finding]:
        guards: dict[str, str | None] = {}

        def guard_of(fn: Function) -> str | None:
            if fn.qualname not in guards:
                guards[fn.qualname] = guard(fn)
            return guards[fn.qualname]

        def leaves_site(ctx: Context, site: CallSite, url: Expr, src: Source) -> bool:
            return navigable(ctx.route, src) and not prefix_is_fixed(ctx.flow, url, site.pos.line, FIXED_TARGET)

        for t in traced_sinks(app, redirect_sink(app), "redirect", leaves_site):
            if is_test_path(t.ctx.route.registered.path) or is_test_path(t.ctx.function.path):
                continue  # a stand-in server of the tests (a fake identity provider) is not shipped
            found = [guard_of(f) for f in (t.ctx.function, *(f for f, _ in t.ctx.trail),
                                            *_producers(app, t.ctx.function, t.arg, t.site.pos.line))]
            if "host" in found:
                continue
            slash = "slash" in found
            message = (f"{t.label}{where_in(t.ctx)} redirects to a URL taken from {t.src.text()} of "
                       f"`{t.ctx.route.display()}`: ")
            if slash:
                message += ("the only check is `startswith(\"/\")`, which `//evil.example` and `/\\evil.example` "
                            "pass: browsers read them as another host")
            else:
                message += ("a link to this trusted site can send the user on to a phishing page "
                            "(or hand an OAuth code or token to another host)")
            yield t.finding(self, message, HELP, confidence=Confidence.MEDIUM if slash else None)
