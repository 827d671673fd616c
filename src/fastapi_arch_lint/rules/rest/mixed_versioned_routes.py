"""FAL104 mixed-versioned-routes."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.analysis.calls import call_target
from fastapi_arch_lint.findings import Confidence, Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Loc, Route
from fastapi_arch_lint.model.expr import Call
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import ends_in_catch_all, route_entity, unique_routes
from fastapi_arch_lint.rules.rest._common import VERSION_RE

DEFAULT_ALLOW = [
    "/health", "/healthz", "/healthcheck", "/health-check", "/ready", "/readyz", "/live", "/livez", "/ping",
    "/metrics", "/status", "/version", "/docs", "/redoc", "/openapi.json", "/auth", "/token", "/login",
    "/logout", "/oauth", "/oauth2", "/.well-known", "/favicon.ico", "/robots.txt",
]
# a route whose last segment is one of these is infrastructure wherever it lives (``/internal/ping``)
INFRA_LAST = frozenset({"health", "healthz", "healthcheck", "health-check", "ready", "readyz", "live", "livez",
                        "alive", "ping", "metrics", "status", "version", "server_info", "server-info"})


# the last word of a top-level GET segment that names the server's own version or health
INFRA_WORDS = frozenset({"version", "health", "healthz", "healthcheck", "ping", "ready", "readyz", "livez"})


# response classes that answer with a file or a page rather than an API resource
FILE_RESPONSES = frozenset({"FileResponse", "HTMLResponse", "RedirectResponse", "StreamingResponse"})


def version_of(path: str) -> str | None:
    for seg in [s for s in path.split("/") if s][:3]:
        if VERSION_RE.match(seg):
            return seg
    return None


class _Allowed:
    """The allowed prefixes, normalized once: ``path`` is under ``/p`` when it is ``/p``, ``/p/``
    or starts with ``/p/``."""

    def __init__(self, allow: list[str]) -> None:
        prefixes = ["/" + p.strip("/") for p in allow]
        self.exact = frozenset(prefixes)
        self.starts = tuple(p + "/" for p in prefixes)

    def covers(self, path: str) -> bool:
        return path in self.exact or path.rstrip("/") in self.exact or path.startswith(self.starts)


def _answers_with_files(app: AppModel, route: Route) -> bool:
    """The handler's declared response class or one of its returns is a file, page or redirect response."""
    if route.response_class and route.response_class.rsplit(".", 1)[-1] in FILE_RESPONSES:
        return True
    fn = app.functions.get(route.handler.qualname)
    if fn is None:
        return False
    return any(isinstance(ret.value, Call) and (call_target(fn, ret.value) or "").rsplit(".", 1)[-1] in FILE_RESPONSES
               for ret in fn.fact.scope.returns)


def is_file_server(app: AppModel, route: Route) -> bool:
    """A read-only catch-all that serves files: the fallback of a single-page app or a static-asset route
    (``GET /{rest:path}`` returning ``FileResponse``). It answers whatever URL nothing else matched, so it
    is infrastructure, not an API resource that a version prefix belongs on. A catch-all that accepts
    writes, or whose handler answers with data, still counts."""
    if not ends_in_catch_all(route.path) or set(route.methods) - {"GET", "HEAD"}:
        return False
    return _answers_with_files(app, route)


def is_business(route: Route, allow: _Allowed) -> bool:
    if route.kind != "http" or not route.include_in_schema or route.deprecated or route.path_unresolved:
        return False
    path = route.path
    segs = [s for s in path.split("/") if s]
    if not segs:
        return False  # the root
    if segs[-1].lower() in INFRA_LAST:
        return False
    bare = path
    if segs[0].lower() == "api":  # ``/api/health`` is as much infrastructure as ``/health``
        bare = "/" + "/".join(segs[1:])
    if _infra_read(route, [s for s in bare.split("/") if s]):
        return False
    return not (allow.covers(path) or allow.covers(bare))


def _infra_read(route: Route, segs: list[str]) -> bool:
    """A read of one top-level segment whose last word names what infrastructure answers
    (``GET /server_version``, ``/app-health``): the server's own version or health, not a business
    resource; deeper paths (``/datasets/{id}/latest_version``) name a resource's version."""
    if len(segs) != 1 or set(route.methods) - {"GET", "HEAD"}:
        return False
    return segs[0].replace("-", "_").lower().split("_")[-1] in INFRA_WORDS


@register
class MixedVersionedRoutes(Rule):
    code = "FAL104"
    name = "mixed-versioned-routes"
    summary = "An app serves some business routes under a version prefix (`/v1`) and others without one"
    severity = Severity.WARNING
    confidence = Confidence.MEDIUM
    default_options = {"unversioned-allow": DEFAULT_ALLOW}

    def check(self, app: AppModel) -> Iterator[Finding]:
        allow = _Allowed([str(p) for p in self.options.get("unversioned-allow", DEFAULT_ALLOW)])
        for a in app.apps:
            routes = sorted((r for r in unique_routes(app) if r.app == a.id), key=lambda r: r.order)
            # a router that forwards any method under a catch-all (``/openai/{path:path}``) mirrors an upstream
            # API's URLs (an OpenAI-compatible proxy): its routes follow that API, not this app's versioning
            proxies = {r.router for r in routes if ends_in_catch_all(r.path) and len(set(r.methods) - {"GET", "HEAD"}) >= 2}
            business = [r for r in routes if is_business(r, allow) and r.router not in proxies
                        and not is_file_server(app, r)]
            versioned = [r for r in business if version_of(r.path)]
            if not versioned or 10 * len(versioned) < len(business):
                # the house style is unversioned: under a tenth of the business routes carry a version (a
                # protocol's fixed path such as `/otlp/v1/traces` among hundreds of plain routes), so
                # the app never promised clients a version prefix
                continue
            versions = sorted({version_of(r.path) or "" for r in versioned})
            example = versioned[0]
            # one finding per place that put routes outside the versioned tree: the include call that
            # brought in their router when they came through one, else the route itself
            groups: dict[Loc, list[Route]] = {}
            for r in business:
                if version_of(r.path):
                    continue
                if r.include_chain:
                    step = r.include_chain[-1]
                    loc = Loc(step.path, step.line)
                else:
                    loc = r.registered
                groups.setdefault(loc, []).append(r)
            for loc, rs in groups.items():
                first = rs[0]
                if len(rs) > 1:
                    what = f"{len(rs)} routes included here (e.g. `{first.display()}`) are"
                elif first.include_chain:
                    what = f"`{first.display()}` (included here) is"
                else:
                    what = f"`{first.display()}` is"
                yield self.finding(
                    loc.path, loc.line, loc.col,
                    f"{what} not versioned, while `{a.name}` serves other business routes under "
                    f"{', '.join(f'`/{v}`' for v in versions)} (e.g. `{example.display()}`)",
                    help="put every business route under the same version prefix (include the router with "
                         f"`prefix=\"/{versions[-1]}\"` or into the versioned router); infrastructure paths such as "
                         "`/health` are exempt and more can be listed in the `unversioned-allow` option",
                    related=[Related(example.registered.path, example.registered.line,
                                     f"versioned route `{example.display()}`")],
                    entity=route_entity(first),
                )
