"""FAL522 server-side-request-forgery."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.analysis.calls import reached_functions
from fastapi_arch_lint.analysis.taint import Context, Flow, Source, call_arg
from fastapi_arch_lint.findings import Confidence, Finding, Severity
from fastapi_arch_lint.model.app import AppModel
from fastapi_arch_lint.model.expr import Expr, render
from fastapi_arch_lint.model.facts import CallSite
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules.auth._common import admins_only
from fastapi_arch_lint.rules.security._common import prefix_is_fixed, traced_sinks, where_in

HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "request", "stream", "send")
# module-level helpers: ``requests.get(url)``, ``httpx.post(url)``; ``request(method, url)`` takes the url second
MODULE_CLIENTS = ("requests", "httpx", "aiohttp", "urllib3")
CLIENT_RE = re.compile(
    r"^(httpx\.(Async)?Client|requests\.Session|requests\.sessions\.Session|aiohttp\.ClientSession|"
    r"urllib3\.PoolManager|urllib3\.poolmanager\.PoolManager)\(\)\.(?P<m>\w+)$")
URLLIB = frozenset({"urllib.request.urlopen", "urllib.request.Request", "urllib.request.urlretrieve"})
# a guard: the host of the URL is compared with something, or an allowlist helper is called
GUARD_WORDS = re.compile(r"\b(hostname|netloc|host)\b")
GUARD_CALL = re.compile(r"(?i)ssrf|(allow|safe|valid|trusted|check).*(url|host|domain)"
                        r"|(url|host|domain).*(allow|safe|valid|trusted)")
# a literal prefix that already fixes scheme and host: ``https://api.example.com/...`` or a relative ``/path``
FIXED_HOST = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://[^/?#{]+[/?#]|/)")

HELP = ("do not let the client choose where the server connects: map the input to a known upstream "
        "(an allowlist of hosts checked on `urlparse(url).hostname`), keep scheme and host constant and put the "
        "client value only in the path or query, and block private and link-local addresses")


def url_sink(site: CallSite, target: str | None) -> list[tuple[Expr, str]]:
    call = site.call
    name = target or ""
    url: Expr | None = None
    if name in URLLIB:
        url = call_arg(call, 0, "url")
    elif "." in name and name.split(".", 1)[0] in MODULE_CLIENTS and name.count(".") == 1 \
            and name.rsplit(".", 1)[1] in HTTP_METHODS:
        method = name.rsplit(".", 1)[1]
        url = call_arg(call, 1, "url") if method == "request" else call_arg(call, 0, "url")
    else:
        m = CLIENT_RE.match(name)
        if m and m.group("m") in HTTP_METHODS:
            method = m.group("m")
            url = call_arg(call, 1, "url") if method in ("request", "stream") else call_arg(call, 0, "url")
            if method == "send":
                url = None
    if url is None:
        return []
    return [(url, f"`{render(call.func, 40)}()`")]


# what a function that blocks private addresses uses (``ipaddress.ip_address(host).is_private``)
ADDRESS_CHECKS = frozenset({"is_private", "is_loopback", "is_link_local", "is_reserved", "is_global", "is_multicast"})


def checks_addresses(app: AppModel, qualname: str) -> bool:
    """A project function, or a class's methods (a custom transport), that vets the IP address it connects to,
    itself or through a project helper it calls, two calls down (``_check_ssrf(url)`` -> ``validate_url(url)``)."""
    fns = [f for q, f in app.functions.items() if q == qualname or q.startswith(qualname + ".")]
    return any(any(a.rsplit(".", 1)[-1] in ADDRESS_CHECKS for a in g.fact.attributes)
               or any((t or "").startswith("ipaddress.") for _, t in g.calls)
               for f in fns for g in reached_functions(app, f, 2))


def guarded(flow: Flow) -> bool:
    fn = flow.fn.fact
    for site, target in flow.fn.calls:
        if target and (target in flow.app.functions or target in flow.app.classes) and checks_addresses(flow.app, target):
            return True  # ``httpx.AsyncClient(transport=PublicOnlyTransport())`` or ``ensure_public(url)``
    for c in fn.compares:
        if GUARD_WORDS.search(render(c.left, 200)) or GUARD_WORDS.search(render(c.right, 200)):
            return True
    for site, target in flow.fn.calls:
        short = (target or render(site.call.func)).rsplit(".", 1)[-1]
        if GUARD_CALL.search(short):
            return True
    return False


@register
class ServerSideRequestForgery(Rule):
    code = "FAL522"
    name = "server-side-request-forgery"
    summary = "An outbound HTTP request goes to a URL taken from the request (SSRF)"
    severity = Severity.ERROR
    other_severities = {Severity.WARNING: "when only administrators can call the route, or a project check the "
                                          "rule cannot read (a field validator, a predicate whose failure raises) "
                                          "rejects some URLs first"}
    cwe = ("CWE-918",)
    owasp = ("API7:2023",)
    security_severity = 8.6

    def check(self, app: AppModel) -> Iterator[Finding]:
        def fetches_anywhere(ctx: Context, site: CallSite, url: Expr, src: Source) -> bool:
            return not prefix_is_fixed(ctx.flow, url, site.pos.line, FIXED_HOST) and not guarded(ctx.flow)

        for t in traced_sinks(app, url_sink, "url", fetches_anywhere):
            # an administrator's own setting (an upstream to test, a connection to verify): someone who
            # already runs the server's configuration; still worth a check, not a near-certain hole
            admins = admins_only(t.ctx.route)
            checked = (f"; {t.src.checked} rejects some URLs first, and what it lets through is not known here"
                       if t.src.checked else "")
            yield t.finding(self, f"{t.label}{where_in(t.ctx)} fetches a URL taken from {t.src.text()} of "
                                  f"`{t.ctx.route.display()}`: the client can make the server call internal services "
                                  f"or cloud metadata endpoints"
                                  + (f"; only administrators can call it ({admins}), who configure the server "
                                     "anyway" if admins else "") + checked, HELP,
                            severity=Severity.WARNING if admins or checked else None,
                            confidence=Confidence.MEDIUM if checked else None)
