"""FAL204 write-in-get-handler."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.findings import Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import route_entity, route_related
from fastapi_arch_lint.rules.http._common import (
    BOOKKEEPING,
    chain_related,
    chain_text,
    labels,
    registrations,
    short,
    writes,
)

SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


@register
class WriteInGetHandler(Rule):
    code = "FAL204"
    name = "write-in-get-handler"
    summary = "A GET/HEAD handler writes to the database (`session.add/commit/delete`, `insert/update/delete`)"
    severity = Severity.WARNING
    default_options = {"max_depth": 3, "ignore_functions": list(BOOKKEEPING)}

    def check(self, app: AppModel) -> Iterator[Finding]:
        depth = int(self.options["max_depth"])
        ignore = tuple(self.options["ignore_functions"])
        for route in registrations(app):
            if route.kind != "http" or not route.methods or not set(route.methods) <= SAFE:
                continue
            found = list(writes(app, route.handler.qualname, depth, ignore))
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
