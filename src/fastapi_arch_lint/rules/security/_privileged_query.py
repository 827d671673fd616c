"""Privileged query parameters written onto ORM rows (FAL525): ``POST /users?is_admin=true`` that ends in
``User(..., is_admin=is_admin)``, ``order.status = status`` or ``update(Order).values(status=status)``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from fastapi_arch_lint.analysis.index import find_table, table_named, unique_routes
from fastapi_arch_lint.analysis.taint import Flow, Source
from fastapi_arch_lint.model.app import AppModel, Function, Param, Route
from fastapi_arch_lint.model.expr import Attr, Call, Const, DictExpr, Expr, Name, render, walk
from fastapi_arch_lint.model.facts import CallSite, CompareFact
from fastapi_arch_lint.rules._util import matches_any, segments

DEPTH = 2
# calls that write their keywords / dict values into rows: ``update(T).values(...)``, ``query.update({...})``
WRITE_METHODS = frozenset({"values", "update", "sqlmodel_update"})
# a field of a record that says whose it is (``owner_id``, ``created_by``, ``tenant_id``)
OWNER_ATTR = re.compile(r"(?i)(^|_)(owner|user|author|creator|created_by|tenant|organization|org|account|team|workspace)(_id)?$")


@dataclass(frozen=True, slots=True)
class QueryWrite:
    route: Route
    param: Param
    fn: Function
    line: int
    col: int
    how: str  # "`user.is_admin = is_admin`"
    table: str  # the table written to, "" when unknown
    trail: tuple[tuple[Function, CallSite], ...]


def matches(name: str, patterns: Iterable[str]) -> bool:
    return matches_any(name, patterns, ignore_case=True)


def _columns(app: AppModel) -> frozenset[str]:
    return frozenset(c.name for t in app.tables for c in t.columns)


def _looked_up(fn: Function, name: str) -> set[str]:
    """Locals assigned from a call given the value (``tenant = await get_tenant(tenant_id)``): the record the
    value names, as the server has it."""
    out: set[str] = set()
    for a in fn.fact.scope.assigns:
        if a.value is None or a.augmented or "." in a.target:
            continue
        for x in walk(a.value):
            if isinstance(x, Call) and any(isinstance(y, Name) and y.id == name
                                           for arg in (*x.args, *(v for _, v in x.kwargs)) for y in walk(arg)):
                out.add(a.target)
                break
    return out


def _checked(fn: Function, name: str) -> bool:
    """The value is compared in an ``if`` whose branch raises (``if owner_id != user.id: raise ...``), or tested
    for membership (``if role not in ASSIGNABLE: raise``): the code decides which values it accepts. So is the
    record the value names: a field of what a lookup given the value found, compared with something else than a
    constant in an ``if`` that raises (``tenant = get_tenant(tenant_id)`` then ``if tenant.owner_id != owner_id:
    raise PermissionDenied``): whose record it is decides whether the value is accepted."""
    records = _looked_up(fn, name)
    for g in fn.fact.guards:
        if not (g.body_raises or g.orelse_raises):
            continue
        for _neg, atom in g.tests:
            if not isinstance(atom, CompareFact):
                continue
            if any(isinstance(x, Name) and x.id == name for side in (atom.left, atom.right) for x in walk(side)):
                return True
            for side, other in ((atom.left, atom.right), (atom.right, atom.left)):
                if isinstance(side, Attr) and isinstance(side.value, Name) and side.value.id in records \
                        and OWNER_ATTR.search(side.attr) \
                        and not isinstance(other, Const) and other is not None \
                        and not any(isinstance(x, Name) and x.id in records for x in walk(other)):
                    return True
    return False


def _is_write(call: Call) -> bool:
    """``update(T).values(...)``, ``insert(T).values(...)``, ``db.query(T).filter(...).update({...})``,
    ``row.sqlmodel_update({...})``: not ``some_dict.update(...)``."""
    f = call.func
    if not isinstance(f, Attr) or f.attr not in WRITE_METHODS:
        return False
    if f.attr == "sqlmodel_update":
        return True
    chain = render(f.value, 200)
    if f.attr == "values":
        return "update(" in chain or "insert(" in chain
    return "query(" in chain or "filter" in chain or "where(" in chain


def query_writes(app: AppModel, patterns: Iterable[str], skip: callable) -> Iterator[QueryWrite]:
    pats = tuple(patterns)
    columns = _columns(app)
    for route in unique_routes(app):
        if route.privileged or skip(route):
            continue
        own = {p.name for p in route.handler.fact.params}
        params = {p.name: p for p in route.params if p.source == "query" and p.name in own
                  and matches(p.alias or p.name, pats)}
        # the route exists to set that field (``PUT /orders/{id}/status?status=...``): who may call it is the question
        static = {s.lower().replace("-", "_") for s in segments(route.path) if not s.startswith("{")}
        params = {n: p for n, p in params.items() if (p.alias or n).lower() not in static}
        handler = app.functions.get(route.handler.qualname)
        if not params or handler is None:
            continue
        env = {n: Source(f"query parameter `{p.alias or n}`", n) for n, p in params.items()}
        queue: list[tuple[Function, dict[str, Source], tuple[tuple[Function, CallSite], ...]]] = [(handler, env, ())]
        seen: set[str] = set()
        while queue:
            fn, env, trail = queue.pop(0)
            if fn.qualname in seen:
                continue
            seen.add(fn.qualname)
            env = {n: s for n, s in env.items() if not _checked(fn, n)}
            if not env:
                continue
            flow = Flow(app, fn, env)
            yield from _sinks(app, route, params, fn, flow, trail, columns)
            if len(trail) >= DEPTH:
                continue
            for site, target in fn.calls:
                callee = app.functions.get(target) if target else None
                if callee is None or callee.qualname == fn.qualname:
                    continue
                sub = _bind(flow, site, callee)
                if sub:
                    queue.append((callee, sub, trail + ((fn, site),)))


def _bind(flow: Flow, site: CallSite, callee: Function) -> dict[str, Source]:
    call = site.call
    positional = [p for p in callee.fact.params if p.kind == "positional"]
    if callee.fact.is_method and positional and positional[0].name in ("self", "cls"):
        positional = positional[1:]
    names = {p.name for p in callee.fact.params}
    out: dict[str, Source] = {}
    pairs = [(p.name, a) for p, a in zip(positional, call.args)] + [(k, v) for k, v in call.kwargs if k in names]
    for name, arg in pairs:
        s = flow.taint(arg, site.pos.line)
        if s is not None:
            out[name] = s
    return out


def _sinks(app: AppModel, route: Route, params: dict[str, Param], fn: Function, flow: Flow,
           trail: tuple[tuple[Function, CallSite], ...], columns: frozenset[str]) -> Iterator[QueryWrite]:
    for a in fn.fact.scope.assigns:
        if a.augmented or a.value is None or a.target.count(".") != 1:
            continue
        obj, attr = a.target.split(".")
        if obj in ("self", "cls") or attr not in columns:
            continue
        s = flow.taint(a.value, a.pos.line)
        if s is not None and s.param in params:
            yield QueryWrite(route, params[s.param], fn, a.pos.line, a.pos.col,
                             f"`{a.target} = {render(a.value, 40)}`", "", trail)
    for site, target in fn.calls:
        call = site.call
        table = find_table(app, target) if target else None
        if table is None and target:
            table = table_named(app, target, fn.module) if find_table(app, target) is not None else None
        if table is not None:
            for k, v in call.kwargs:
                s = flow.taint(v, site.pos.line)
                if k and table.column(k) is not None and s is not None and s.param in params:
                    yield QueryWrite(route, params[s.param], fn, site.pos.line, site.pos.col,
                                     f"`{table.name}(..., {k}={render(v, 30)})`", table.name, trail)
                    break
            continue
        if _is_write(call):
            values: list[tuple[str, Expr]] = list(call.kwargs)
            for arg in call.args[:1]:
                if isinstance(arg, DictExpr):
                    values += [(render(k, 30) if k is not None else "**", v) for k, v in zip(arg.keys, arg.values)]
            for k, v in values:
                s = flow.taint(v, site.pos.line)
                if s is not None and s.param in params:
                    yield QueryWrite(route, params[s.param], fn, site.pos.line, site.pos.col,
                                     f"`{render(call.func, 50)}(..., {k}={render(v, 30)})`", "", trail)
                    break
