"""FAL204 write-in-get-handler."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.analysis.calls import call_target
from fastapi_arch_lint.findings import Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Function, Route
from fastapi_arch_lint.model.expr import Attr, Call, Compare, Const, Expr, Name, render, walk
from fastapi_arch_lint.model.facts import CompareFact
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._html import renders_html
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
                    "*view_count*", "record_view*", "record_*_event", "record_*_events", "get_or_create*",
                    "*_get_or_create*")
# path segments of endpoints that protocols make GETs which must write: the OAuth/OIDC/SSO redirect
# back from the provider (``/callback``) and the OAuth authorization endpoint (RFC 6749 3.1)
PROTOCOL_SEGMENTS = re.compile(r"(?i)^(?:[\w-]*callback[\w-]*|authorize|authorization)$")
# ending a transaction is no write of its own: ``session.commit()`` that releases the connection
# before a long stream, with nothing changed before it
TRANSACTION_ENDS = ("commit()", "flush()")
# rows of a sign-in's state: a login or portal session, a token, a nonce (by class, annotation or name)
AUTH_STATE_RE = re.compile(r"(?i)session|token|nonce|oauth|credential")
COOKIE_METHODS = frozenset({"set_cookie", "delete_cookie"})
# a row that records that something happened (who read what): an audit, access, event or activity log
AUDIT_ROW_RE = re.compile(r"(?i)audit|access_?log|event_?log|activity_?log")
_REDIRECT_RE = re.compile(r"\bRedirectResponse\b")


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


def written_row(w: Write) -> str | None:
    """What a write stores or removes, as names to read (a class, an annotation, a variable): the
    object given to ``session.add/delete/merge`` or the table of ``insert/update/delete``; "" for a
    ``commit()``/``flush()``, which saves what the others wrote; None when it cannot be told."""
    if w.what.endswith(TRANSACTION_ENDS):
        return ""
    call = w.site.call
    if isinstance(call.func, Attr) and call.func.attr in ("add", "delete", "merge"):
        arg = call.arg(0, "instance")
    elif w.what.startswith(("insert(", "update(", "delete(")):
        arg = call.arg(0, "table")
    else:
        return None
    fn = w.function
    if isinstance(arg, Call):
        return call_target(fn, arg) or render(arg.func)
    if isinstance(arg, Name):
        names = [arg.id]
        made = [t or render(site.call.func) for site, t in fn.calls
                if site.assigned_to == arg.id and site.pos.line <= w.site.pos.line]
        if made:  # what the object was made or loaded by: ``UserSession``, ``get_oauth_account``
            names.append(made[-1].rsplit(".", 1)[-1])
        param = fn.fact.param(arg.id)
        if param is not None and param.annotation is not None:
            names.append(render(param.annotation))
        return " ".join(names)
    return render(arg) if arg is not None else None


def audit_write(w: Write) -> bool:
    """The write records that something happened, which logging a read may do (RFC 9110 9.2.1): a row whose
    class (or variable) is named for an audit, access, event or activity log. (Functions named for recording
    an event, ``record_*_event``, ``audit_*``, ``log_*``, are in the ``ignore_functions`` defaults.)"""
    row = written_row(w)
    return bool(row) and any(AUDIT_ROW_RE.search(n.rsplit(".", 1)[-1]) for n in (row or "").split())


def auth_state_only(found: list[Write]) -> bool:
    """Every write creates, changes or deletes a sign-in's session or token row (and one does)."""
    rows = [written_row(w) for w in found]
    return any(rows) and all(r == "" or (r is not None and AUTH_STATE_RE.search(r)) for r in rows)


def refresh_only(found: list[Write]) -> bool:
    """Every write saves a row that was loaded, not made or removed (``session.add(account)`` after
    renewing its expired token), or ends the transaction."""
    return all(w.what.endswith(TRANSACTION_ENDS) or (not w.create and w.what.endswith((".add()", ".merge()")))
               for w in found)


def navigation(app: AppModel, route: Route) -> bool:
    """The route is a step a browser is sent to: it answers with a redirect (a ``RedirectResponse``,
    a 3xx status), sets or deletes a cookie, or renders an HTML page."""
    if route.status_code is not None and 300 <= route.status_code < 400:
        return True
    if route.response_class and _REDIRECT_RE.search(route.response_class):
        return True
    fact = route.handler.fact
    if fact.returns is not None and _REDIRECT_RE.search(render(fact.returns)):
        return True
    fn = app.function(route.handler.qualname)
    for site, target in fn.calls if fn else ():
        if target and _REDIRECT_RE.search(target):
            return True
        if isinstance(site.call.func, Attr) and site.call.func.attr in COOKIE_METHODS:
            return True
    return renders_html(app, route)


def _absence(negated: bool, atom: object) -> bool:
    """A test true when something is missing: ``not found``, ``x is None``, ``count == 0``, ``k not in seen``."""
    if isinstance(atom, CompareFact):
        if atom.op == "not in":
            return not negated
        if atom.op in ("is", "==") and isinstance(atom.right, Const) and atom.right.value in (None, 0):
            return not negated
        return False
    return negated and isinstance(atom, (Name, Attr, Call))


def _under_absence(fn: Function, site_line: int, site_col: int) -> bool:
    """Is the call at that position of ``fn`` inside an ``if`` that tests that something is missing?"""
    fact = fn.fact
    idx = next((i for i, c in enumerate(fact.calls) if (c.pos.line, c.pos.col) == (site_line, site_col)), None)
    return idx is not None and any(idx in g.body_calls and any(_absence(n, a) for n, a in g.tests)
                                   for g in fact.guards)


def _presence(negated: bool, test: Expr) -> str | None:
    """The name a test finds present (``x is not None``, ``x``, ``not (x is None)``), or None."""
    if isinstance(test, Name):
        return None if negated else test.id
    if isinstance(test, Compare) and isinstance(test.left, Name) and isinstance(test.right, Const) \
            and test.right.value is None and test.op in ("is", "is not", "==", "!="):
        return test.left.id if (test.op in ("is not", "!=")) != negated else None
    return None


def _after_found_return(fn: Function, site_line: int, rows: set[str]) -> bool:
    """Is the call at that line of ``fn`` made only when a lookup of the row it stores (one of ``rows``, class
    names) found nothing: an earlier ``return`` under a single ``if`` that finds the looked-up value present
    hands it back (``questions = db.exec(select(Question)...).first()``, ``if questions is not None: return
    questions``), so a repeated GET returns what the first one stored?"""
    if not rows:
        return False
    for r in fn.fact.scope.returns:
        if not r.pos.line or r.pos.line >= site_line or len(r.conds) != 1 or r.value is None:
            continue
        name = _presence(*r.conds[0])
        if name is None or not any(isinstance(x, Name) and x.id == name for x in walk(r.value)):
            continue
        if not any(site.assigned_to == name and site.pos.line < r.pos.line for site, _ in fn.calls):
            continue
        # the row is named in what runs before that return (the query), not only in the write
        looked_up = {x.id for site, _ in fn.calls if site.pos.line <= r.pos.line
                     for x in walk(site.call) if isinstance(x, Name)}
        if rows & looked_up:
            return True
    return False


def seeded_once(app: AppModel, found: list[Write]) -> bool:
    """Does the GET create what is missing, every write under an ``if`` that finds it absent (in the function
    that writes or on the way to it: ``if not tools: copy_defaults(tenant)``)? A repeated GET finds the rows the
    first made and writes nothing: seeding on first read, not a change the client asked for. So does a cache
    fill: the value is looked up and returned when found, computed and stored only when it is not."""
    def guarded(w: Write) -> bool:
        rows = {n.rsplit(".", 1)[-1] for n in (written_row(w) or "").split()}
        if _under_absence(w.function, w.site.pos.line, w.site.pos.col) or \
                _after_found_return(w.function, w.site.pos.line, rows):
            return True
        for caller_name, callee in zip(w.trail, w.trail[1:]):
            caller = app.function(caller_name)
            if caller is None:
                return False
            if any(target == callee and (_under_absence(caller, site.pos.line, site.pos.col)
                                         or _after_found_return(caller, site.pos.line, rows))
                   for site, target in caller.calls):
                return True
        return False
    kept = [w for w in found if not w.what.endswith(TRANSACTION_ENDS)]
    return bool(kept) and all(guarded(w) for w in kept)


@register
class WriteInGetHandler(Rule):
    code = "FAL204"
    name = "write-in-get-handler"
    summary = "A GET/HEAD handler writes to the database (`session.add/commit/delete`, `insert/update/delete`)"
    severity = Severity.WARNING
    other_severities = {Severity.INFO: "when a browser is sent to the GET (a redirect, a cookie, a page) and it only "
                                       "creates or deletes sign-in session or token rows, or when it only saves a "
                                       "stored credential it loaded (a renewed token), or when it only creates "
                                       "rows it finds missing (seeding or caching on first read)"}
    default_options = {"max_depth": 3, "ignore_functions": list(READ_BOOKKEEPING)}

    def check(self, app: AppModel) -> Iterator[Finding]:
        depth = int(self.options["max_depth"])
        ignore = tuple(self.options["ignore_functions"])
        # a router included by two apps (two entry points) gives one registration two routes; the
        # handler and what it writes are the same, so it is reported once
        judged: set[tuple[str, int, int, tuple[str, ...]]] = set()
        for route in registrations(app):
            if route.kind != "http" or not route.methods or not set(route.methods) <= SAFE:
                continue
            key = (route.registered.path, route.registered.line, route.registered.col, route.methods)
            if key in judged:
                continue
            judged.add(key)
            if protocol_endpoint(route):
                continue  # a redirect back from an identity provider: a GET by protocol, and it must write
            # an audit record of the read is no unsafe side effect: what is left besides it (a commit that only
            # saves the audit row is dropped as any lone commit is) is what the GET changes
            found = real_writes([w for w in writes(app, route.handler.qualname, depth, ignore) if not audit_write(w)])
            if not found:
                continue
            first = found[0]
            handler = short(route.handler.qualname)
            where = (
                f"in `{handler}` itself" if len(first.trail) == 1
                else f"in `{labels(first.trail)[-1]}` (call chain `{chain_text(first.trail)}`)"
            )
            # a sign-in step a browser is redirected to (the provider's return, a logout link, a portal
            # link): the GET is the protocol's, and what it writes is the visitor's own session; or a
            # stored credential renewed on the way (an expired OAuth token refreshed while reading),
            # a side effect the client did not ask for (RFC 9110 9.2.1)
            seeded = seeded_once(app, found)
            auth = auth_state_only(found)
            renewal = auth and refresh_only(found)
            sign_in = auth and not renewal and navigation(app, route)
            more = len({(w.function.path, w.site.pos.line) for w in found}) - 1
            extra = f", and {more} more write{'s' if more > 1 else ''}" if more > 0 else ""
            related: list[Related] = chain_related(app, first.trail)
            for w in found[:5]:
                related.append(Related(w.function.path, w.site.pos.line,
                                       f"`{w.what}` in `{short(w.function.qualname)}`"))
            yield self.finding(
                route.registered.path, route.registered.line, route.registered.col,
                f"`{route.display()}` is a safe method but `{handler}` writes to the database: "
                f"`{first.what}` {where}{extra}"
                + (" (a step a browser is sent to, whose writes only create or delete session or token rows: "
                   "a sign-in flow's state)" if sign_in else "")
                + (" (it only saves a stored credential it loaded, such as a renewed token: bookkeeping the "
                   "client did not ask for)" if renewal else "")
                + (" (it only creates what it finds missing: rows seeded or a value cached on first read, which "
                   "a repeated GET finds)" if seeded and not (sign_in or renewal) else ""),
                help="GET and HEAD must be safe and idempotent (RFC 9110 9.2.1): crawlers, prefetchers, caches "
                     "and retries repeat them. Move the write to a POST/PUT/PATCH/DELETE endpoint, or run "
                     "bookkeeping in a background task; list bookkeeping helpers in `ignore_functions`",
                related=(*related, *route_related(route)),
                entity=route_entity(route),
                severity=Severity.INFO if sign_in or renewal or seeded else None,
            )
