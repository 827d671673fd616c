"""Lookups in the model by name, made once per model (``AppModel.model`` and the like are scans)."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.analysis.memo import memo
from fastapi_arch_lint.model.app import App, AppModel, Module, PydanticModel, Route, Router, Table


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
