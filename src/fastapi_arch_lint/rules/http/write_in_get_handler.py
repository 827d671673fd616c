"""FAL204 write-in-get-handler."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.findings import Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Function, Route
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import route_entity, route_related
from fastapi_arch_lint.rules.http._common import (
    BOOKKEEPING,
    Write,
    chain_related,
    chain_text,
    labels,
    registrations,
    short,
    writes,
)

SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
# bookkeeping a read may do besides the shared ones: counters, last-seen stamps, and rows created
# once on first read (``get_or_create``: the second GET finds what the first made, nothing changes)
READ_BOOKKEEPING = (*BOOKKEEPING, "increment_*", "*_counter", "touch_*", "*last_seen*", "*last_used*",
                    "*view_count*", "record_view*", "get_or_create*", "*_get_or_create*")
# path segments of endpoints that protocols make GETs which must write: the OAuth/OIDC/SSO redirect
# back from the provider (``/callback``) and the OAuth authorization endpoint (RFC 6749 3.1)
PROTOCOL_SEGMENTS = re.compile(r"(?i)^(?:[\w-]*callback[\w-]*|authorize|authorization)$")
# ending a transaction is no write of its own: ``session.commit()`` that releases the connection
# before a long stream, with nothing changed before it
TRANSACTION_ENDS = ("commit()", "flush()")


def protocol_endpoint(route: Route) -> bool:
    segments = [s for s in route.path.split("/") if s and not s.startswith("{")]
    return bool(segments) and PROTOCOL_SEGMENTS.match(segments[-1]) is not None


def changes_rows(fn: Function) -> bool:
    """Whether ``fn`` assigns to an attribute (``user.last_login = now``): what a commit then saves."""
    return any(a.target and "." in a.target for a in fn.fact.scope.assigns)


def real_writes(found: list[Write]) -> list[Write]:
    """The writes, with a commit or flush dropped when it is the only one and nothing it saves is
    changed in the function that calls it."""
    if any(not w.what.endswith(TRANSACTION_ENDS) for w in found):
        return found
    return [w for w in found if changes_rows(w.function)]


@register
class WriteInGetHandler(Rule):
    code = "FAL204"
    name = "write-in-get-handler"
    summary = "A GET/HEAD handler writes to the database (`session.add/commit/delete`, `insert/update/delete`)"
    severity = Severity.WARNING
    default_options = {"max_depth": 3, "ignore_functions": list(READ_BOOKKEEPING)}

    def check(self, app: AppModel) -> Iterator[Finding]:
        depth = int(self.options["max_depth"])
        ignore = tuple(self.options["ignore_functions"])
        for route in registrations(app):
            if route.kind != "http" or not route.methods or not set(route.methods) <= SAFE:
                continue
            if protocol_endpoint(route):
                continue  # a redirect back from an identity provider: a GET by protocol, and it must write
            found = real_writes(list(writes(app, route.handler.qualname, depth, ignore)))
            if not found:
                continue
            first = found[0]
            handler = short(route.handler.qualname)
            where = (
                f"in `{handler}` itself" if len(first.trail) == 1
                else f"in `{labels(first.trail)[-1]}` (call chain `{chain_text(first.trail)}`)"
            )
            more = len({(w.function.path, w.site.pos.line) for w in found}) - 1
            extra = f", and {more} more write{'s' if more > 1 else ''}" if more > 0 else ""
            related: list[Related] = chain_related(app, first.trail)
            for w in found[:5]:
                related.append(Related(w.function.path, w.site.pos.line,
                                       f"`{w.what}` in `{short(w.function.qualname)}`"))
            yield self.finding(
                route.registered.path, route.registered.line, route.registered.col,
                f"`{route.display()}` is a safe method but `{handler}` writes to the database: "
                f"`{first.what}` {where}{extra}",
                help="GET and HEAD must be safe and idempotent (RFC 9110 9.2.1): crawlers, prefetchers, caches "
                     "and retries repeat them. Move the write to a POST/PUT/PATCH/DELETE endpoint, or run "
                     "bookkeeping in a background task; list bookkeeping helpers in `ignore_functions`",
                related=(*related, *route_related(route)),
                entity=route_entity(route),
            )
