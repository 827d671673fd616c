"""FAL109 unbounded-page-size."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from fastapi_arch_lint.analysis.values import value
from fastapi_arch_lint.findings import Confidence, Edit, Finding, Fix, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Function, PydanticModel, Route
from fastapi_arch_lint.model.expr import Attr, BoolOp, Call, Cond, Const, Expr, Name, render, walk
from fastapi_arch_lint.model.facts import CompareFact, FunctionFact
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import memo, pydantic_model, route_entity, unique_routes
from fastapi_arch_lint.rules.rest._common import PAGE_SIZE_NAMES, dependency_functions, norm_name, param_site, wire_name

# names that are page sizes only sometimes (an image ``size``, ``first`` of a GraphQL-like API)
GENERIC_NAMES = frozenset({"size", "first", "top", "take"})
BOUND_IN_ANNOTATION = re.compile(r"\b(?:le|lt)\s*=|\b(?:Le|Lt|Interval)\(|\bconint\(")
INT_TYPES = frozenset({"builtins.int", "pydantic.PositiveInt", "pydantic.NonNegativeInt", "pydantic.conint"})


def _mentions(expr: Expr | None, name: str) -> bool:
    return (isinstance(expr, Name) and expr.id == name) or (isinstance(expr, Attr) and expr.attr == name)


def _clamps(fact: FunctionFact, names: set[str], bounded: Callable[[Expr], bool] | None = None) -> bool:
    """``min(limit, MAX)`` or a comparison of ``limit`` (any of ``names``) with a bound in ``fact``: with
    ``bounded``, only a comparison with what it accepts counts."""
    for site in fact.calls:
        c = site.call
        if isinstance(c.func, Name) and c.func.id == "min" and any(_mentions(a, n) for a in c.args for n in names):
            return True
    for cmp in fact.compares:
        if cmp.op not in (">", ">=", "<", "<="):
            continue
        for value, other in ((cmp.left, cmp.right), (cmp.right, cmp.left)):
            # a lower bound (``limit < 1``, ``limit > 0``, ``-1``: "all") is no cap
            bound = bounded(other) if bounded is not None else not (
                isinstance(other, Const) and other.value in (0, 1, -1, None))
            if bound and any(_mentions(value, n) for n in names):
                return True
    return False


def _page_size_params(fact: FunctionFact) -> set[str]:
    return {p.name for p in fact.params if norm_name(p.name) in PAGE_SIZE_NAMES}


def clamped_in_code(app: AppModel, route: Route, name: str) -> bool:
    """``min(limit, MAX)`` or a comparison of ``limit`` with a bound in the handler, a dependency,
    or a project function they call (three levels down; there the value may arrive under another
    page-size name: ``fetch(size=limit)`` clamping ``size``); also in the methods a call the model
    cannot resolve may run (``handed_to_clamping``)."""
    for qualname, _, fact in dependency_functions(app, route):
        if _clamps(fact, {name}):
            return True
        own = app.function(qualname)
        if own is not None and handed_to_capping_class(app, own, {name}):
            return True
        followed: set[str] = set()
        for callee, _, _, trail in app.callees(qualname, depth=3):
            if _clamps(callee.fact, {name} | _page_size_params(callee.fact)):
                return True
            if len(trail) <= 2 and handed_to_capping_class(app, callee, {name} | _page_size_params(callee.fact)):
                return True
            if callee.qualname not in followed and len(trail) <= 2:
                followed.add(callee.qualname)
                if handed_to_clamping(app, callee, {name} | _page_size_params(callee.fact)):
                    return True
    return False


def _methods_by_name(app: AppModel) -> dict[str, list[Function]]:
    out: dict[str, list[Function]] = {}
    for fn in app.functions.values():
        if fn.fact.is_method:
            out.setdefault(fn.fact.name, []).append(fn)
    return out


def handed_to_clamping(app: AppModel, fn: Function, names: set[str]) -> bool:
    """``fn`` passes the page size (any of ``names``) as an argument to a method call the model cannot
    resolve (``self.store.chats.list_chats(page_size=page_size)`` through attributes whose type is not
    known), and every project method of that name that takes the argument clamps it, itself or one call
    down (``page_size = max(min(page_size, 100), 1)`` in the repository; ``_caps``). None taking it, or
    one that does not clamp: not clamped."""
    for site, target in fn.calls:
        call = site.call
        if target in app.functions or not isinstance(call.func, Attr):
            continue
        by_key = [k for k, a in call.kwargs if k and any(_mentions(a, n) for n in names)]
        by_pos = [i for i, a in enumerate(call.args) if any(_mentions(a, n) for n in names)]
        if not by_key and not by_pos:
            continue
        taking: list[tuple[Function, set[str]]] = []
        for method in memo(app, _methods_by_name).get(call.func.attr, ()):
            params = [p.name for p in method.fact.params if p.kind in ("positional", "keyword")][1:]
            received = {k for k in by_key if method.fact.param(k) is not None}
            received |= {params[i] for i in by_pos if i < len(params)}
            if received:
                taking.append((method, received))
        if taking and all(_clamps_below(app, method, received) for method, received in taking):
            return True
    return False


def _caps_attribute(fact: FunctionFact, attrs: set[str]) -> bool:
    """``min(self.limit, MAX)`` (any attribute of ``attrs`` on ``self``), or ``self.limit`` compared with a cap
    (``_a_cap``), in a method."""
    def on_self(e: Expr | None) -> bool:
        return isinstance(e, Attr) and e.attr in attrs and isinstance(e.value, Name) and e.value.id == "self"
    for site in fact.calls:
        c = site.call
        if isinstance(c.func, Name) and c.func.id == "min" and len(c.args) > 1 and any(on_self(a) for a in c.args) \
                and any(_a_cap(a) for a in c.args if not on_self(a)):
            return True
    return any(cmp.op in (">", ">=", "<", "<=") and ((on_self(cmp.left) and _a_cap(cmp.right))
                                                       or (on_self(cmp.right) and _a_cap(cmp.left)))
               for cmp in fact.compares)


def handed_to_capping_class(app: AppModel, fn: Function, names: set[str]) -> bool:
    """``fn`` builds a project class with the page size as a keyword argument (``Page(limit=limit)``), and a
    method of that class, or of a project base, caps the attribute where the query is built
    (``f"LIMIT {min(1000, self.limit)}"``): the value is bounded where it is used, not where it is declared."""
    for site, target in fn.calls:
        if target is None or target not in app.classes:
            continue
        keys = {k for k, a in site.call.kwargs if k and any(_mentions(a, n) for n in names)}
        if not keys:
            continue
        model = pydantic_model(app, target)
        for qualname in (target, *(model.bases if model is not None else ())):
            entry = app.classes.get(qualname)
            if entry is not None and any(_caps_attribute(m, keys) for m in entry[1].methods):
                return True
    return False


_BOUND_NAME_RE = re.compile(r"^_?[A-Z][A-Z0-9_]*$")


def _a_cap(other: Expr) -> bool:
    """An integer above 1 or an upper-case constant (``MAX_LIMIT``): what a strict reading takes as a cap."""
    return (isinstance(other, Const) and isinstance(other.value, int) and other.value > 1) or (
        isinstance(other, (Name, Attr)) and bool(_BOUND_NAME_RE.match(other.id if isinstance(other, Name) else other.attr)))


def _caps(fact: FunctionFact, names: set[str]) -> bool:
    """A cap, read strictly (the method is found by name, not by the call graph): ``min(limit, ...)``, or
    ``limit`` compared with an integer above 1 or an upper-case constant (``if limit > MAX_LIMIT``); not a
    comparison with another value (``len(rows) > limit`` trims nothing)."""
    return _clamps(fact, names, _a_cap)


def _clamps_below(app: AppModel, fn: Function, names: set[str]) -> bool:
    if _caps(fn.fact, names):
        return True
    seen: set[str] = {fn.qualname}
    for callee, _, _, _ in app.callees(fn.qualname, depth=1):
        if callee.qualname not in seen:
            seen.add(callee.qualname)
            if _caps(callee.fact, names | _page_size_params(callee.fact)):
                return True
    return False


def clamped_by_validator(app: AppModel, model: PydanticModel, field: str) -> bool:
    """A validator of ``model`` (or a base) for ``field`` (or ``"*"``) that clamps or rejects the
    value: ``return min(v, MAX)``, ``if v > MAX: raise ValueError``."""
    for qualname in (model.qualname, *model.bases):
        entry = app.classes.get(qualname)
        if entry is None:
            continue
        for method in entry[1].methods:
            targets = [a.value for d in method.decorators if isinstance(d.expr, Call) and "validator" in render(d.expr.func)
                       for a in d.expr.args if isinstance(a, Const) and isinstance(a.value, str)]
            if field not in targets and "*" not in targets:
                continue
            if _clamps(method, {p.name for p in method.params}):
                return True
    return False


def _is_int(type_names: tuple[str, ...], annotation: str, default: str) -> bool:
    if type_names:
        return any(t in INT_TYPES for t in type_names)
    return not annotation and bool(re.fullmatch(r"\d+", default.strip()))


def _none_test(negated: bool, atom: object, name: str) -> bool | None:
    """Is a test atom true exactly when ``name`` was given (``limit is not None``, ``limit``)? True when
    given, False when true exactly when it was not (``limit is None``, ``not limit``), None otherwise."""
    if isinstance(atom, Name) and atom.id == name:
        return not negated
    if isinstance(atom, CompareFact) and atom.op in ("is", "is not", "==", "!="):
        sides = (atom.left, atom.right)
        if any(isinstance(x, Name) and x.id == name for x in sides) and \
                any(isinstance(x, Const) and x.value is None for x in sides):
            return (atom.op in ("is not", "!=")) != negated
    return None


def none_means_all(fact: FunctionFact, name: str) -> int | None:
    """The parameter defaults to None and the function that declares it uses it only inside one ``if`` that
    tests it was given (``if limit is not None: rows = rows[:limit]``), with nothing done in the other
    branch: omitting it already returns every row, so a cap protects nothing. Never when the function
    puts a page size of its own in its place (``limit = limit or 20``, ``if limit is None: limit = 20``).
    The line of that ``if``, or None."""
    pf = fact.param(name)
    if pf is None or pf.default is None:
        return None
    default = pf.default
    if isinstance(default, Call):  # ``Query(None, ge=1)``
        default = default.arg(0, "default")
    if not (isinstance(default, Const) and default.value is None):
        # ``Annotated[int | None, Query(...)] = None`` keeps the default on the parameter
        return None
    if any(a.target == name for a in fact.scope.assigns):
        return None
    mentions = lambda e: any(isinstance(x, Name) and x.id == name for x in walk(e))  # noqa: E731
    exprs = [*(a.value for a in fact.scope.assigns), *(r.value for r in fact.scope.returns)]
    if any(isinstance(x, (BoolOp, Cond)) and mentions(x) for e in exprs if e is not None for x in walk(e)):
        return None
    guard = None
    for g in fact.guards:
        given = [_none_test(n, a, name) for n, a in g.tests]
        if not any(v is not None for v in given):
            continue
        if len(g.tests) != 1 or guard is not None:
            return None  # ``if limit and offset:``: which branch runs is not told by the parameter alone
        guard = (g, given[0])
    if guard is None:
        return None
    g, when_given = guard
    used_calls, used_lines = (g.body_calls, g.body_assigns) if when_given else (g.orelse_calls, g.orelse_assigns)
    other_calls, other_lines = (g.orelse_calls, g.orelse_assigns) if when_given else (g.body_calls, g.body_assigns)
    if other_calls or other_lines or g.body_raises or g.orelse_raises:
        return None  # omitting it runs code of its own (a default page, a 422)
    for i, site in enumerate(fact.calls):
        if i not in used_calls and any(mentions(a) for a in (*site.call.args, *(v for _, v in site.call.kwargs))):
            return None  # handed on outside the test: the callee decides what None means
    if any(a.value is not None and mentions(a.value) and a.pos.line not in used_lines for a in fact.scope.assigns):
        return None
    return g.pos.line or fact.pos.line


@dataclass
class _Site:
    path: str
    line: int
    name: str
    owner: str
    routes: list[Route] = field(default_factory=list)
    fix: Fix | None = None
    all_rows: int | None = None  # the line of the ``if limit is not None:`` when omitting it returns every row


def _int_literal(e: Expr | None) -> int | None:
    return e.value if isinstance(e, Const) and isinstance(e.value, int) and not isinstance(e.value, bool) else None


def _int_value(app: AppModel, e: Expr | None, fn: Function | None) -> int | None:
    """A default's integer value: a literal, or a constant the linker knows (``DEFAULT_LIMIT``)."""
    if e is None or _int_literal(e) is not None or fn is None:
        return _int_literal(e)
    v = value(app, e, fn.module, None, fn.fact.pos.line)
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def page_size_fix(app: AppModel, qualname: str | None, fact: FunctionFact | None, path: str, name: str,
                  bound: object) -> Fix | None:
    """``le=<bound>`` on the parameter's ``Query(...)`` (its default, or inside ``Annotated[...]``), or a
    plain integer default wrapped as ``Query(20, le=<bound>)``; None when the parameter is declared
    otherwise, its default is above the bound, or the option is off. Unsafe: larger values get a 422."""
    if not isinstance(bound, int) or isinstance(bound, bool) or bound < 1 or fact is None:
        return None
    pf = fact.param(name)
    if pf is None or pf.kind not in ("positional", "keyword"):
        return None
    queries = [e for e in (pf.default, *walk(pf.annotation)) if isinstance(e, Call)
               and (e.func.attr if isinstance(e.func, Attr) else e.func.id if isinstance(e.func, Name) else "") == "Query"]
    if len(queries) == 1:
        query = queries[0]
        default_expr = query.arg(0, "default") if query is pf.default else pf.default
        if isinstance(default_expr, Const) and (default_expr.value is None or default_expr.value is Ellipsis):
            default_expr = None  # required, or optional without a page size of its own
        default = _int_value(app, default_expr, app.function(qualname) if qualname else None)
        if query.starred or not query.line or (default_expr is not None and default is None) \
                or (default is not None and default > bound):
            return None  # a default the bound would refuse, or one whose value is not known
        return Fix(f"add `le={bound}` to `Query(...)`",
                   (Edit("keyword", path, query.line, query.col, "le", str(bound), callee=render(query.func)),),
                   safe=False)
    default = _int_literal(pf.default)
    if queries or default is None or default > bound or not (pf.annotation is None or isinstance(pf.annotation, Name)):
        return None
    return Fix(f"declare it `Query({default}, le={bound})`",
               (Edit("wrap-default", path, pf.pos.line, pf.pos.col, name, "Query({}, le=%d)" % bound),),
               safe=False, imports=(("fastapi", "Query"),))


def answers_no_rows(route: Route) -> bool:
    """A route that answers no page of rows, so a ``limit`` it takes sizes no response: a ``DELETE`` (the
    ``limit`` trims what it acts on, a batch) or one declared ``status_code=204`` (No Content)."""
    return route.status_code == 204 or (bool(route.methods) and all(m.upper() == "DELETE" for m in route.methods))


@register
class UnboundedPageSize(Rule):
    code = "FAL109"
    name = "unbounded-page-size"
    summary = "A page-size parameter (`limit`, `page_size`, `per_page`...) has no upper bound"
    severity = Severity.WARNING
    other_severities = {Severity.INFO: "when only administrators can call the routes that take it, or when "
                                       "it defaults to None and omitting it already returns every row"}
    owasp = ("API4:2023",)
    cwe = ("CWE-770",)
    # the bound ``--fix --unsafe-fixes`` writes (``le=``); 0: no fix
    default_options = {"fix_le": 100}

    def check(self, app: AppModel) -> Iterator[Finding]:
        sites: dict[tuple[str, int, str], _Site] = {}
        for route in unique_routes(app):
            if route.kind != "http" or route.path_unresolved or answers_no_rows(route):
                continue
            for p in route.params:
                if p.source != "query" or norm_name(wire_name(p)) not in PAGE_SIZE_NAMES:
                    continue
                if not _is_int(p.type_names, p.annotation, p.default):
                    continue
                if p.constraint("le") is not None or p.constraint("lt") is not None or \
                        any(k in ("le", "lt") for k, _ in p.constraints) or BOUND_IN_ANNOTATION.search(p.annotation):
                    continue
                if clamped_in_code(app, route, p.name):
                    continue
                where = param_site(app, route, p)
                path, owner = (where[1], where[0]) if where else (route.handler.path, route.handler.qualname)
                key = (path, p.line or route.registered.line, p.name)
                if key not in sites:
                    sites[key] = _Site(path, key[1], wire_name(p), owner,
                                       fix=page_size_fix(app, where[0] if where else None,
                                                         where[2] if where else None, path, p.name,
                                                         self.options.get("fix_le")),
                                       all_rows=none_means_all(where[2], p.name) if where else None)
                sites[key].routes.append(route)
            # fields of query-parameter models (``Annotated[Page, Query()]``) and of model dependencies
            models = [pydantic_model(app, t) for p in route.params if p.source == "query" for t in p.type_names]
            models += [pydantic_model(app, d.name) for d in route.dependencies if d.kind == "class" and d.is_async is None]
            for m in models:
                if m is None:
                    continue
                for f in m.fields:
                    wire = f.constraint("alias") if isinstance(f.constraint("alias"), str) else f.name
                    if norm_name(str(wire)) not in PAGE_SIZE_NAMES or not _is_int(f.type_names, f.annotation, f.default):
                        continue
                    if any(k in ("le", "lt") for k, _ in f.constraints) or BOUND_IN_ANNOTATION.search(f.annotation):
                        continue
                    if clamped_in_code(app, route, f.name) or clamped_by_validator(app, m, f.name):
                        continue
                    key = (m.path, f.line, f.name)
                    sites.setdefault(key, _Site(m.path, f.line, str(wire), m.qualname)).routes.append(route)
        for site in sites.values():
            first = site.routes[0]
            others = f" (and {len(site.routes) - 1} more route(s))" if len(site.routes) > 1 else ""
            owner = site.owner.rsplit(".", 1)[-1] if not site.owner.endswith("__init__") else site.owner.rsplit(".", 2)[-2]
            related = [Related(r.registered.path, r.registered.line, f"used by `{r.display()}`") for r in site.routes[:5]]
            admins = all(r.privileged for r in site.routes)
            if site.all_rows is not None:
                related.append(Related(site.path, site.all_rows, f"`{site.name}` is used only when it is given"))
            yield self.finding(
                site.path, site.line, 1,
                f"page-size parameter `{site.name}` of `{owner}` has no upper bound: a client can ask "
                f"`{first.display()}`{others} for `?{site.name}=1000000` rows at once"
                + (f"; only administrators can call {'it' if len(site.routes) == 1 else 'them'} ({first.privileged})"
                   if admins else "")
                + (f"; but it defaults to None, and omitting it already returns every row, so a cap protects "
                   "nothing until the route pages by default" if site.all_rows is not None else ""),
                help=f"bound it where it is declared, e.g. `{site.name}: Annotated[int, Query(ge=1, le=100)] = 20` "
                     "(or `Field(le=100)` on a query model), so FastAPI rejects larger values with a 422",
                related=related,
                entity=f"{route_entity(first)} {site.name}",
                confidence=Confidence.MEDIUM if norm_name(site.name) in GENERIC_NAMES else Confidence.HIGH,
                severity=Severity.INFO if admins or site.all_rows is not None else None,
                fix=site.fix,
            )
