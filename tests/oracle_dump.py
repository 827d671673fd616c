"""Runtime oracle: import a FastAPI app and dump the route table FastAPI really serves.

Usage::

    python tests/oracle_dump.py IMPORT_ROOT MODULE:ATTR [--details]

IMPORT_ROOT is put first on ``sys.path``, MODULE is imported and ATTR (dotted
attributes allowed) must be a ``fastapi.FastAPI`` instance.  The script prints a
JSON list, sorted, with one object per effective ``APIRoute`` /
``APIWebSocketRoute``::

    {"methods": ["GET"], "path": "/api/v1/users/{user_id}", "kind": "http", "auth": true}

Websocket routes have ``"methods": []``.  ``auth`` is true when the route's
flattened dependency tree contains at least one security scheme
(``fastapi.security.base.SecurityBase`` instance), which is exactly what makes
FastAPI put a ``security`` requirement on the OpenAPI operation.

FastAPI's own OpenAPI and docs routes (the plain Starlette routes ``FastAPI.setup``
adds at ``openapi_url``, ``docs_url``, ``swagger_ui_oauth2_redirect_url`` and
``redoc_url``) are rows of kind ``"docs"``, found by their endpoint (a function
of ``FastAPI.setup``), not by their path: a project route at ``/docs`` is a
project route.  Their methods are the served ones (Starlette adds HEAD to GET).
Mounts (sub-applications, static files) and other plain Starlette routes are
skipped.  Routes with ``include_in_schema=False`` are included.

How the effective routes are found
----------------------------------
Since the lazy ``include_router`` rework (FastAPI 0.16x), ``app.routes`` no longer
holds a flattened copy of every included route: ``include_router`` appends one
``fastapi.routing._IncludedRouter`` per inclusion, which builds
``_EffectiveRouteContext`` objects (full path, merged dependencies, rebuilt
``dependant``) on demand.  ``fastapi.routing.iter_route_contexts(app.routes)``
is the helper ``get_openapi`` itself uses to walk that tree; it yields
``RouteContext`` objects whose ``original_route`` is the route as declared and
whose attributes (``path``, ``methods``, ``dependant``, ``include_in_schema``...)
are the effective, include-merged ones.  On older FastAPI versions (which copy
routes eagerly) ``app.routes`` is walked directly.

As self-checks, the script asserts that the path set of the in-schema HTTP
routes equals the keys of ``app.openapi()["paths"]`` and that ``auth`` agrees
with the presence of a non-empty ``security`` list on every such operation.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import sys
import warnings
from collections.abc import Iterator
from functools import partial
from typing import Any

DOCS_ENDPOINTS = "FastAPI.setup.<locals>."  # the qualified names of FastAPI's docs endpoints start so


class OracleError(Exception):
    pass


def load_app(import_root: str, target: str) -> Any:
    from fastapi import FastAPI

    sys.path.insert(0, os.path.abspath(import_root))
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise OracleError(f"target must look like MODULE:ATTR, got {target!r}")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not isinstance(obj, FastAPI):
        raise OracleError(f"{target} is a {type(obj).__name__}, not a fastapi.FastAPI instance")
    return obj


def iter_effective_routes(app: Any) -> Iterator[Any]:
    """Yield objects exposing the effective ``path``/``methods``/``dependant`` of each route."""
    from fastapi import routing

    iter_route_contexts = getattr(routing, "iter_route_contexts", None)
    if iter_route_contexts is None:  # FastAPI without lazy inclusion: routes are already flat
        yield from app.routes
        return
    yield from iter_route_contexts(app.routes)


def _original(route: Any) -> Any:
    return getattr(route, "original_route", route)


def _unwrap_call(call: Any) -> Any:
    while isinstance(call, partial):
        call = call.func
    return inspect.unwrap(call)


def has_security_scheme(dependant: Any) -> bool:
    """True if any sub-dependant (not the endpoint itself) is a security scheme."""
    from fastapi.security.base import SecurityBase

    stack = list(dependant.dependencies)
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if current.call is not None and isinstance(_unwrap_call(current.call), SecurityBase):
            return True
        stack.extend(current.dependencies)
    return False


def _endpoint_name(endpoint: Any) -> str:
    endpoint = _unwrap_call(endpoint)
    module = getattr(endpoint, "__module__", None) or type(endpoint).__module__
    qualname = getattr(endpoint, "__qualname__", None) or type(endpoint).__qualname__
    return f"{module}:{qualname}"


def is_docs_route(route: Any) -> bool:
    """One of the routes ``FastAPI.setup`` adds (OpenAPI document, Swagger UI, its OAuth2 redirect, ReDoc)."""
    from starlette.routing import Route

    endpoint = getattr(route, "endpoint", None)
    return (isinstance(route, Route) and getattr(endpoint, "__module__", "") == "fastapi.applications"
            and getattr(endpoint, "__qualname__", "").startswith(DOCS_ENDPOINTS))


def collect_routes(app: Any) -> list[dict[str, Any]]:
    from fastapi.routing import APIRoute, APIWebSocketRoute

    rows: list[dict[str, Any]] = []
    for route in iter_effective_routes(app):
        original = _original(route)
        if isinstance(original, APIRoute):
            kind = "http"
            methods = sorted(m.upper() for m in (route.methods or ()))
        elif isinstance(original, APIWebSocketRoute):
            kind = "websocket"
            methods = []
        elif is_docs_route(original):
            rows.append({"methods": sorted(original.methods), "path": route.path, "kind": "docs", "auth": False,
                         "_path_format": route.path, "_include_in_schema": False,
                         "_endpoint": _endpoint_name(original.endpoint)})
            continue
        else:  # Mount, Host, plain starlette Route/WebSocketRoute, frontend groups
            continue
        path = route.path
        dependant = route.dependant
        if dependant is None:
            raise OracleError(f"route {methods} {path} has no dependant")
        rows.append(
            {
                "methods": methods,
                "path": path,
                "kind": kind,
                "auth": has_security_scheme(dependant),
                # internal, only printed with --details / used for self-checks
                "_path_format": route.path_format,
                "_include_in_schema": bool(getattr(route, "include_in_schema", True))
                if kind == "http"
                else None,
                "_endpoint": _endpoint_name(route.endpoint),
            }
        )
    rows.sort(key=lambda r: (r["path"], r["kind"], r["methods"]))
    return rows


def check_against_openapi(app: Any, rows: list[dict[str, Any]]) -> None:
    with warnings.catch_warnings():
        # api_route(methods=[...]) gives every method the same generated operationId;
        # FastAPI warns about it while building the schema. Irrelevant to the route table.
        warnings.filterwarnings("ignore", message="Duplicate Operation ID", category=UserWarning)
        schema = app.openapi()
    openapi_paths: dict[str, dict[str, Any]] = schema.get("paths", {})
    in_schema = [r for r in rows if r["kind"] == "http" and r["_include_in_schema"]]
    ours = {r["_path_format"] for r in in_schema}
    if ours != set(openapi_paths):
        raise OracleError(
            "effective in-schema paths differ from app.openapi()['paths']: "
            f"only in effective routes: {sorted(ours - set(openapi_paths))}, "
            f"only in OpenAPI: {sorted(set(openapi_paths) - ours)}"
        )
    seen_ops: set[tuple[str, str]] = set()
    for row in in_schema:
        for method in row["methods"]:
            op_key = (method, row["_path_format"])
            if op_key in seen_ops:
                raise OracleError(f"duplicate operation {method} {row['path']}: fixture is ambiguous")
            seen_ops.add(op_key)
            operation = openapi_paths[row["_path_format"]].get(method.lower())
            if operation is None:
                raise OracleError(f"{method} {row['path']} missing from OpenAPI")
            openapi_auth = bool(operation.get("security"))
            if openapi_auth != row["auth"]:
                raise OracleError(
                    f"{method} {row['path']}: dependant walk says auth={row['auth']}, "
                    f"OpenAPI security={operation.get('security')!r}"
                )


def public_view(rows: list[dict[str, Any]], details: bool) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        item = {k: v for k, v in row.items() if not k.startswith("_")}
        if details:
            item["endpoint"] = row["_endpoint"]
            item["include_in_schema"] = row["_include_in_schema"]
        out.append(item)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("import_root")
    parser.add_argument("target", help="MODULE:ATTR of the FastAPI application")
    parser.add_argument("--details", action="store_true", help="also print endpoint and include_in_schema")
    args = parser.parse_args(argv)

    try:
        app = load_app(args.import_root, args.target)
        rows = collect_routes(app)
        check_against_openapi(app, rows)
    except OracleError as exc:
        print(f"oracle_dump: {exc}", file=sys.stderr)
        return 2
    # one route per line: still valid JSON, but diffable and readable
    lines = [json.dumps(item) for item in public_view(rows, args.details)]
    sys.stdout.write("[\n" + ",\n".join(f"  {line}" for line in lines) + ("\n]\n" if lines else "]\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
