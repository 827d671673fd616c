"""Optional authentication written by hand: dependencies that answer ``None`` for a missing credential, and
the functions on a route that use their result without testing it (FAL404)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi_arch_lint.analysis.index import find_table, unique_routes
from fastapi_arch_lint.model.app import AppModel, Function, Route
from fastapi_arch_lint.model.expr import Attr, Call, Cond, Const, Expr, Name, dotted, walk
from fastapi_arch_lint.model.facts import CompareFact, FunctionFact
from fastapi_arch_lint.analysis.memo import memo
from fastapi_arch_lint.rules.auth._common import CREDENTIAL_NAME_RE, CREDENTIAL_SOURCES, names_in, short

# a dependency whose name says it may answer nobody: ``optional_user``, ``get_user_or_none``, ``maybe_account``
OPTIONAL_NAME_RE = re.compile(r"optional|maybe|or_none|if_any|(^|_)opt($|_)", re.I)
PRINCIPAL_NAME_RE = re.compile(r"user|account|principal|member|viewer|identity|caller|customer|session", re.I)
CREDENTIAL_MARKERS = ("Header", "Cookie", "APIKeyHeader", "APIKeyCookie", "APIKeyQuery")
DEPTH = 3


@dataclass(frozen=True, slots=True)
class MaybeNone:
    """A dependency whose result may be ``None`` when the caller sent no credential."""

    qualname: str
    path: str
    line: int  # the ``return None`` (or the ``def``)
    why: str  # "when `x_api_key` is missing"


@dataclass(frozen=True, slots=True)
class MaybeNoneUse:
    """A function on a route that takes a ``MaybeNone`` result and uses it unchecked."""

    route: Route
    source: MaybeNone
    consumer: Function
    param: str
    chain: tuple[Function, ...]  # dependencies that pass the result on unchanged, nearest the source first
    where: tuple[str, int]  # the use
    what: str  # for the related location: "`member.id` read in `add_note`"
    what_short: str  # "reading `member.id`"
    effect: str  # "creates a `Note` row that belongs to nobody"
    unscoped: bool = False  # the principal narrows a query only when it is set: anonymous callers get it unscoped


def _returns_none(fact: FunctionFact) -> int:
    """The line of a ``return None`` / bare ``return`` / ``x if c else None``, else 0."""
    for r in fact.scope.returns:
        v = r.value
        if v is None or (isinstance(v, Const) and v.value is None):
            return r.pos.line
        if isinstance(v, Cond) and any(isinstance(b, Const) and b.value is None for b in (v.body, v.orelse)):
            return r.pos.line
    return 0


def _admits_none(ann: Expr | None) -> bool:
    return ann is not None and any((isinstance(e, Const) and e.value is None) or (isinstance(e, Name) and e.id in (
        "Optional", "None")) or (isinstance(e, Attr) and e.attr == "Optional") for e in walk(ann))


def _credential_param(fact: FunctionFact) -> str | None:
    """A parameter FastAPI fills from a credential-like header, cookie or query key (or an API-key scheme)."""
    for p in fact.params:
        markers = {n.rsplit(".", 1)[-1] for n in names_in(p.annotation) | names_in(p.default)}
        if markers & set(CREDENTIAL_MARKERS) and CREDENTIAL_NAME_RE.search(p.name):
            return p.name
    return None


def _reads_credential(fact: FunctionFact) -> str | None:
    """``request.headers["Authorization"]`` / ``request.cookies.get("session")`` read in the body."""
    for base, key in fact.subscripts:
        if base.rsplit(".", 1)[-1] in CREDENTIAL_SOURCES and CREDENTIAL_NAME_RE.search(key):
            return f"`{base}[{key!r}]`"
    for site in fact.calls:
        f = site.call.func
        key = site.call.args[0] if site.call.args else None
        if not (isinstance(f, Attr) and f.attr == "get" and isinstance(key, Const) and isinstance(key.value, str)):
            continue
        base = dotted(f.value) or ""
        if base.rsplit(".", 1)[-1] in CREDENTIAL_SOURCES and CREDENTIAL_NAME_RE.search(key.value):
            return f"`{base}.get({key.value!r})`"
    return None


def maybe_none_sources(app: AppModel) -> tuple[dict[str, MaybeNone], dict[str, tuple[str, ...]]]:
    """The dependencies that answer ``None`` for a missing credential, and for those that only pass another's
    result on, the chain of them (nearest the source first)."""
    return memo(app, _sources)


def _dependency_parents(app: AppModel) -> dict[str, set[str]]:
    """Each dependency's direct sub-dependencies, over every route (``DependencyUse.parent``)."""
    out: dict[str, set[str]] = {}
    for route in unique_routes(app):
        for d in route.dependencies:
            if d.parent:
                out.setdefault(d.parent, set()).add(d.name)
    return out


def _sources(app: AppModel) -> tuple[dict[str, MaybeNone], dict[str, tuple[str, ...]]]:
    used: dict[str, str] = {}  # dependency -> kind
    optional_schemes: set[str] = set()
    for route in unique_routes(app):
        for d in route.dependencies:
            used.setdefault(d.name, d.kind)
        optional_schemes |= {v.name for v in route.auth.via if v.kind == "scheme" and v.optional}
    subs = _dependency_parents(app)
    out: dict[str, MaybeNone] = {}
    for q, kind in used.items():
        fn = app.functions.get(q)
        if fn is None or kind != "function":
            continue
        fact = fn.fact
        line = _returns_none(fact)
        if not line and not _admits_none(fact.returns):
            continue
        why = ""
        cred = _credential_param(fact)
        if cred:
            why = f"when `{cred}` is missing"
        elif (r := _reads_credential(fact)) is not None:
            why = f"when {r} is missing"
        elif any(short(s) in optional_schemes for s in subs.get(q, ())):
            scheme = next(short(s) for s in subs.get(q, ()) if short(s) in optional_schemes)
            why = f"when `{scheme}` (`auto_error=False`) finds no credential"
        elif OPTIONAL_NAME_RE.search(fact.name) and PRINCIPAL_NAME_RE.search(fact.name):
            why = "when the caller is not signed in"
        if why:
            out[q] = MaybeNone(q, fn.path, line or fact.pos.line, why)
    # a dependency that receives such a result, never tests it and returns it as it is, answers None too
    changed = True
    chains: dict[str, tuple[str, ...]] = {}
    while changed:
        changed = False
        for q, kind in used.items():
            if q in out or kind != "function" or q not in app.functions:
                continue
            fn = app.functions[q]
            for s in subs.get(q, ()):
                if s not in out:
                    continue
                param = _receiving(app, fn, s, None)
                if param is None or _tests_none(fn.fact, param):
                    continue
                if any(isinstance(r.value, Name) and r.value.id == param for r in fn.fact.scope.returns):
                    src = out[s]
                    out[q] = MaybeNone(src.qualname, src.path, src.line, src.why)
                    chains[q] = chains.get(s, ()) + (q,)
                    changed = True
                    break
    return out, chains


def _receiving(app: AppModel, fn: Function, dependency: str, route: Route | None) -> str | None:
    """The parameter of ``fn`` that FastAPI fills with ``dependency``'s result."""
    want = short(dependency)
    for p in fn.fact.params:
        found = names_in(p.annotation) | names_in(p.default)
        if any(n == want or n.endswith("." + want) for n in found):
            return p.name
    if route is not None:
        own = {p.name for p in fn.fact.params}
        for p in route.params:
            if p.dependency == dependency and p.name in own:
                return p.name
    return None


def _tests_none(fact: FunctionFact, param: str) -> bool:
    """``if param:``, ``if not param``, ``x if param else y``, ``param is None`` / ``is not None``; or the name
    rebound (``user = user or guest()``): what is used afterwards is another value."""
    if param in fact.truth_tests or any(a.target == param for a in fact.scope.assigns):
        return True
    for c in fact.compares:
        sides = (c.left, c.right)
        if any(isinstance(s, Const) and s.value is None for s in sides) and any(
                isinstance(s, Name) and s.id == param for s in sides):
            return True
    return False


def _narrows_only(fact: FunctionFact, param: str) -> tuple[int, str] | None:
    """``if viewer is not None: query = query.where(Invoice.owner_id == viewer.id)``: the principal scopes a
    value only when it is there, so without it the value stays unscoped (every owner's rows). The line of the
    narrowing and the name narrowed."""
    for g in fact.guards:
        tests_param = any(
            (isinstance(atom, Name) and atom.id == param and not negated)
            or (isinstance(atom, CompareFact) and ((atom.op == "is not") != negated) and any(
                isinstance(x, Name) and x.id == param for x in (atom.left, atom.right))
                and any(isinstance(x, Const) and x.value is None for x in (atom.left, atom.right)))
            for negated, atom in g.tests)
        if not tests_param or g.body_raises:
            continue
        body = {fact.calls[i].pos.line for i in g.body_calls if i < len(fact.calls)}
        for a in fact.scope.assigns:
            # the guard records the calls of its branch, not its assignments: ``query = query.where(...)`` is a call
            if a.pos.line not in body or a.pos.line <= g.pos.line or a.value is None or "." in a.target:
                continue
            names = {n.split(".", 1)[0] for n in names_in(a.value)}
            if a.target in names and param in names and _filters_by(a.value, param):
                if _scoped_otherwise(fact, g.orelse_assigns, a.target, param):
                    return None  # ``else: query = query.where(Chat.device_id == device_id)``: anonymous callers
                    # get their own rows by another identifier the caller hands in
                return a.pos.line, a.target
    return None


def _scoped_otherwise(fact: FunctionFact, lines: tuple[int, ...], target: str, param: str) -> bool:
    """The ``else`` branch of ``if principal:`` narrows the same value by another of the function's parameters
    (``query = query.where(Chat.device_id == device_id, Chat.user_id == None)``): without a principal the
    caller is scoped by an identifier of its own (a browser or device id), not handed every owner's rows. A
    filter on constants alone (``Note.public == True``) scopes nobody."""
    others = {p.name for p in fact.params} - {param, target, "self", "cls"}
    for a in fact.scope.assigns:
        if a.pos.line in lines and a.target == target and a.value is not None and any(
                _filters_by(a.value, other) for other in others):
            return True
    return False


NARROWING = frozenset({"where", "filter", "filter_by"})


def _filters_by(value: Expr, param: str) -> bool:
    """``query.where(Note.author_id == member.id)``: a filter call whose arguments read the principal (not
    ``add_columns(liked_by(member.id))`` or ``options(...)``, which annotate what everybody sees)."""
    for node in walk(value):
        if isinstance(node, Call) and isinstance(node.func, Attr) and node.func.attr in NARROWING:
            args = [*node.args, *(v for _, v in node.kwargs)]
            if any(n.split(".", 1)[0] == param for x in args for n in names_in(x)):
                return True
    return False


def _bound(callee: Function, call: Call, param: str) -> str | None:
    """The callee's parameter that receives the bare name ``param`` at ``call``."""
    positional = [p for p in callee.fact.params if p.kind == "positional"]
    if callee.fact.is_method and positional and positional[0].name in ("self", "cls"):
        positional = positional[1:]
    for p, a in zip(positional, call.args):
        if isinstance(a, Name) and a.id == param:
            return p.name
    names = {p.name for p in callee.fact.params}
    for k, v in call.kwargs:
        if isinstance(v, Name) and v.id == param and k in names:
            return k
    return None


def _attr_line(fact: FunctionFact, param: str) -> tuple[int, str] | None:
    """Where an attribute of ``param`` is read, and which (``member.id``)."""
    exprs: list[tuple[int, Expr | None]] = [(s.pos.line, s.call) for s in fact.calls]
    exprs += [(c.pos.line, c.left) for c in fact.compares] + [(c.pos.line, c.right) for c in fact.compares]
    exprs += [(a.pos.line, a.value) for a in fact.scope.assigns] + [(r.pos.line, r.value) for r in fact.scope.returns]
    best: tuple[int, str] | None = None
    for line, e in exprs:
        if e is None:
            continue
        for x in walk(e):
            if isinstance(x, Attr) and isinstance(x.value, Name) and x.value.id == param:
                if best is None or line < best[0]:
                    best = (line, f"{param}.{x.attr}")
    if best is None:
        attrs = sorted(a for a in fact.attributes if a.startswith(param + "."))
        if attrs:
            best = (fact.pos.line, attrs[0])
    return best


def _use(app: AppModel, fn: Function, param: str, depth: int, seen: set[str]) -> tuple[str, tuple] | None:
    """("guarded", ()) when ``fn`` (or a function it hands ``param`` to) tests it for None;
    ("used", (path, line, what, what_short, effect)) when it reads an attribute of it or writes it into a row."""
    if fn.qualname in seen:
        return None
    seen = seen | {fn.qualname}
    fact = fn.fact
    narrowed = _narrows_only(fact, param)
    if narrowed is not None:
        line, target = narrowed
        return ("unscoped", (fn.path, line, f"`{target}` narrowed by `{param}` only when it is set, in "
                                            f"`{short(fn.qualname)}`",
                             f"narrowing `{target}` by it only when it is set",
                             f"gets `{target}` unscoped: every owner's rows"))
    if _tests_none(fact, param):
        return ("guarded", ())
    used: tuple | None = None
    for site, target in fn.calls:
        callee = app.functions.get(target) if target else None
        if callee is not None and depth > 0:
            bound = _bound(callee, site.call, param)
            if bound is not None:
                r = _use(app, callee, bound, depth - 1, seen)
                if r is not None and r[0] == "guarded":
                    return r
                if r is not None and used is None:
                    used = r[1]
                continue
        if used is None and target and find_table(app, target) is not None and any(
                isinstance(a, Name) and a.id == param for a in (*site.call.args, *(v for _, v in site.call.kwargs))):
            used = (fn.path, site.pos.line, f"`{param}` written into a new `{short(target)}` row in `{short(fn.qualname)}`",
                    f"writing it into a new `{short(target)}` row", f"creates a `{short(target)}` row that belongs to nobody")
    attr = _attr_line(fact, param)
    if attr is not None:
        line, what = attr
        return ("used", (fn.path, line, f"`{what}` read in `{short(fn.qualname)}`", f"reading `{what}`",
                         f"runs until `{what}` fails on `None` (a 500, after whatever came before)"))
    if used is not None:
        return ("used", used)
    return None


def maybe_none_uses(app: AppModel) -> list[MaybeNoneUse]:
    return memo(app, _uses)


def _uses(app: AppModel) -> list[MaybeNoneUse]:
    sources, chains = maybe_none_sources(app)
    out: list[MaybeNoneUse] = []
    if not sources:
        return out
    for route in unique_routes(app):
        if any(not v.optional for v in route.auth.via):
            continue  # something on the route authenticates
        handler = app.functions.get(route.handler.qualname)
        for d in route.dependencies:
            if d.name not in sources:
                continue
            consumer = app.functions.get(d.parent) if d.parent else handler
            if consumer is None or consumer.qualname in sources:
                continue  # a dependency that passes it on: its own consumers are judged
            param = _receiving(app, consumer, d.name, route)
            if param is None:
                continue
            r = _use(app, consumer, param, DEPTH, set())
            if r is None or r[0] == "guarded":
                continue
            path, line, what, what_short, effect = r[1]
            chain = tuple(app.functions[q] for q in chains.get(d.name, ()) if q in app.functions)
            out.append(MaybeNoneUse(route, sources[d.name], consumer, param, chain, (path, line), what, what_short,
                                    effect, r[0] == "unscoped"))
    return out


def result_tested(app: AppModel, route: Route, dependency: str) -> bool:
    """Every function of ``route`` that takes ``dependency``'s result tests it for ``None`` (itself or in a
    function it hands it to): the route is built for an anonymous caller."""
    handler = app.functions.get(route.handler.qualname)
    found = False
    for d in route.dependencies:
        if d.name != dependency:
            continue
        consumer = app.functions.get(d.parent) if d.parent else handler
        if consumer is None or consumer.qualname == dependency:
            return False
        param = _receiving(app, consumer, dependency, route)
        if param is None:
            return False
        r = _use(app, consumer, param, DEPTH, set())
        if r is None or r[0] != "guarded":
            return False
        found = True
    return found
