"""Lookups in the model by name, made once per model (``AppModel.model`` and the like are scans)."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.analysis.memo import memo
from fastapi_arch_lint.model.app import App, AppModel, Module, PydanticModel, Route, Router, Table
from fastapi_arch_lint.model.expr import Attr, Call, Expr, Name, dotted, render


def _models_by_qualname(app: AppModel) -> dict[str, PydanticModel]:
    out: dict[str, PydanticModel] = {}
    for m in app.models:
        out.setdefault(m.qualname, m)  # the first one wins, as in ``AppModel.model``
    return out


def pydantic_model(app: AppModel, qualname: str) -> PydanticModel | None:
    """``app.model(qualname)`` through a dict built once (it is a linear scan, asked for every route)."""
    return memo(app, _models_by_qualname).get(qualname)


def declaring(app: AppModel, model: PydanticModel, field: str) -> PydanticModel:
    """The model in ``model``'s bases that declares ``field`` (for the field's file)."""
    f = model.field(field)
    for b in model.bases:
        bm = pydantic_model(app, b)
        if bm is not None and bm.field(field) is not None and f is not None and bm.field(field).line == f.line:  # type: ignore[union-attr]
            return declaring(app, bm, field)
    return model


def _tables_by_qualname(app: AppModel) -> dict[str, Table]:
    out: dict[str, Table] = {}
    for t in app.tables:
        out.setdefault(t.qualname, t)  # the first one wins, as a scan of ``app.tables`` finds it
    return out


def find_table(app: AppModel, qualname: str) -> Table | None:
    """The table class ``qualname`` (a dict built once instead of a scan of ``app.tables``)."""
    return memo(app, _tables_by_qualname).get(qualname)


def table_named(app: AppModel, name: str, module: str = "") -> Table | None:
    """The table class a bare name in ``module`` refers to (by qualname, else by unique class name)."""
    exact = find_table(app, name)
    if exact is not None:
        return exact
    short = name.rsplit(".", 1)[-1]
    named = memo(app, _tables_by_name).get(short, [])
    if len(named) == 1:
        return named[0]
    mod = memo(app, _modules_by_name).get(module)
    if mod is not None and named:
        for imp in mod.facts.imports:
            if imp.local == short and imp.name:
                for t in named:
                    if t.qualname.endswith(f".{imp.name}") and imp.module.rsplit(".", 1)[-1] in t.qualname:
                        return t
        for t in named:
            if t.qualname == f"{module}.{short}":
                return t
    return None


def _tables_by_name(app: AppModel) -> dict[str, list[Table]]:
    out: dict[str, list[Table]] = {}
    for t in app.tables:
        out.setdefault(t.name, []).append(t)
    return out


def _modules_by_name(app: AppModel) -> dict[str, Module]:
    out: dict[str, Module] = {}
    for m in app.modules:
        out.setdefault(m.name, m)  # the first one wins, as in ``AppModel.module``
    return out


def _module_names_by_path(app: AppModel) -> dict[str, str]:
    return {m.path: m.name for m in app.modules}


def in_test_code(app: AppModel, a: App) -> bool:
    """Is the app ``a`` built by test code (a module of a ``tests`` package, ``test_*``, ``*_test``,
    ``conftest``)? Judged by its module's dotted name, which is relative to the import root (a path may be
    absolute, and the project itself may sit under a folder named ``tests``)."""
    name = memo(app, _module_names_by_path).get(a.loc.path)
    if name is None:
        return False
    parts = name.split(".")
    last = parts[-1]
    return last.startswith("test_") or last.endswith("_test") or last == "conftest" or \
        any(p in ("tests", "test") for p in parts[:-1])


def unique_routes(app: AppModel) -> Iterator[Route]:
    """Each handler registration once, even when its router is included several times."""
    return iter(memo(app, _unique_routes))  # about twenty rules ask


def _unique_routes(app: AppModel) -> tuple[Route, ...]:
    seen: set[tuple[str, int, tuple[str, ...], str]] = set()
    out: list[Route] = []
    # an app a test builds (``app = FastAPI(); app.include_router(router)`` in ``tests/``, a mock server beside
    # the tests) is not shipped: its wiring (prefixes, dependencies) is the test's, not production's
    shipped = [a for a in app.apps if not in_test_code(app, a)]
    for r in (r for a in shipped for r in a.routes):
        key = (r.registered.path, r.registered.line, r.methods, r.path)
        if key in seen:
            continue
        seen.add(key)
        out.append(r)
    return tuple(out)


def route_entity(route: Route) -> str:
    return f"{','.join(route.methods) or 'WS'} {route.path} {route.handler.qualname}"


def _routers_index(app: AppModel) -> dict[object, list[Router]]:
    out: dict[object, list[Router]] = {}
    for r in app.routers:
        for key in (("id", r.id), ("at", f"{r.loc.path}:{r.loc.line}"), ("named", r.name, r.loc.path)):
            out.setdefault(key, []).append(r)
    return out


def router_by_id(app: AppModel, router_id: str) -> Router | None:
    """The router (or app) whose id, or whose ``path:line``, is ``router_id`` (a route's ``router``)."""
    index = memo(app, _routers_index)
    found = index.get(("id", router_id)) or index.get(("at", router_id))
    return found[0] if found else None


def routers_named(app: AppModel, name: str, path: str) -> list[Router]:
    """The routers and apps called ``name`` defined in the file ``path``."""
    return memo(app, _routers_index).get(("named", name, path), [])


def returned_table(app: AppModel, route: Route) -> Table | None:
    """The table class a handler without a response model returns, when it can be told."""
    if route.response_class is not None:
        return None
    fn = app.function(route.handler.qualname)
    if fn is None:
        return None
    module = fn.module
    if route.handler.fact.returns is not None:
        name = dotted(route.handler.fact.returns)
        if name:
            return table_named(app, name, module)
    targets = {(s.call.line, s.call.col): t for s, t in fn.calls}
    assigns = {a.target: a for a in fn.fact.scope.assigns if a.target}
    for ret in fn.fact.scope.returns:
        value = ret.value
        if isinstance(value, Name) and value.id in assigns:
            value = assigns[value.id].value
        t = _table_of_expr(app, value, targets, module)
        if t is not None:
            return t
    return None

def _table_of_expr(app: AppModel, e: Expr | None, targets: dict, module: str) -> Table | None:
    if not isinstance(e, Call):
        return None
    target = targets.get((e.line, e.col))
    if target:
        t = table_named(app, target, module) if find_table(app, target) is not None else None
        if t is not None:
            return t
        callee = app.functions.get(target)
        if callee is not None and callee.fact.returns is not None:
            name = dotted(callee.fact.returns)
            if name:
                found = table_named(app, name, callee.module)
                if found is not None:
                    return found
    # ``db.get(User, id)``, ``db.query(User).filter(...).first()``, ``db.scalar(select(User)...)``
    func = e.func
    if isinstance(func, Attr) and func.attr in ("first", "one", "one_or_none", "scalar", "scalar_one",
                                                 "scalar_one_or_none", "get", "get_one", "scalars"):
        for a in e.args:
            if isinstance(a, Name):
                t = table_named(app, a.id, module)
                if t is not None:
                    return t
            elif isinstance(a, Call):
                t = _table_of_expr(app, a, targets, module) or _select_table(app, a, module)
                if t is not None:
                    return t
        return _table_of_expr(app, func.value if isinstance(func.value, Call) else None, targets, module) \
            or (_select_table(app, func.value, module) if isinstance(func.value, Call) else None)
    if isinstance(func, Attr) and isinstance(func.value, Call):
        return _table_of_expr(app, func.value, targets, module) or _select_table(app, func.value, module)
    return _select_table(app, e, module)


def _select_table(app: AppModel, e: Call, module: str, _depth: int = 0) -> Table | None:
    """``select(User)``, ``db.query(User)`` and calls chained on them."""
    if _depth > 10:
        return None
    func = e.func
    head = render(func).rsplit(".", 1)[-1]
    if head in ("select", "query") and e.args and isinstance(e.args[0], Name) and len(e.args) == 1:
        return table_named(app, e.args[0].id, module)
    if isinstance(func, Attr) and isinstance(func.value, Call):
        return _select_table(app, func.value, module, _depth + 1)
    for a in e.args:
        if isinstance(a, Call):
            t = _select_table(app, a, module, _depth + 1)
            if t is not None:
                return t
    return None
