"""Which project functions a request can run: route handlers, their dependencies, middleware, and
every project function they call (through the resolved call graph), at any depth.

A side channel that needs the response time (FAL506), or a value that can come from a client
(FAL529), only matters in code a request runs; a background job, a webhook worker fed by a queue,
a CLI command or a startup script is not timed by an attacker. Calls the linker did not resolve
are not followed, so a function missing from the set is "not shown to be reachable", not "proved
unreachable": rules use it to lower a finding, never to drop one silently on that ground alone.
"""

from __future__ import annotations

from fastapi_arch_lint.analysis.index import unique_routes
from fastapi_arch_lint.analysis.memo import memo
from fastapi_arch_lint.model.app import AppModel, Function
from fastapi_arch_lint.model.expr import Name


def request_reachable(app: AppModel) -> frozenset[str]:
    """The qualnames of the project functions a request runs (handlers, dependencies, middleware and
    what they call), computed once per model."""
    return memo(app, _request_reachable)


def is_request_reachable(app: AppModel, fn: Function) -> bool:
    return fn.qualname in memo(app, _request_reachable)


def _class_methods(app: AppModel, cls: str, names: tuple[str, ...]) -> list[str]:
    return [f"{cls}.{n}" for n in names if f"{cls}.{n}" in app.functions]


def _entry_points(app: AppModel) -> list[str]:
    out: list[str] = []
    for route in unique_routes(app):
        out.append(route.handler.qualname)
        for d in route.dependencies:
            if d.name in app.functions:
                out.append(d.name)
            elif d.name in app.classes:  # ``Depends(Pagination)``: FastAPI calls the class
                out += _class_methods(app, d.name, ("__init__", "__call__"))
            elif d.kind == "instance" and app.values is not None and "." in d.name:
                module, name = d.name.rsplit(".", 1)
                cls = app.values.instance_of(Name(name), module)  # ``Depends(checker)``: its ``__call__``
                if cls:
                    out += _class_methods(app, cls, ("__call__",))
    for a in app.apps:
        for mw in a.middleware:
            if mw.name in app.functions:
                out.append(mw.name)
            elif mw.name in app.classes:
                out += _class_methods(app, mw.name, ("dispatch", "__call__"))
    return out


def _request_reachable(app: AppModel) -> frozenset[str]:
    seen: set[str] = set()
    queue = _entry_points(app)
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        fn = app.functions.get(name)
        if fn is None:
            continue
        seen.add(name)
        for _site, target in fn.calls:
            if not target or target in seen:
                continue
            if target in app.functions:
                queue.append(target)
            elif target in app.classes:  # ``Service(db)``: its ``__init__`` runs
                queue += _class_methods(app, target, ("__init__",))
    return frozenset(seen)
