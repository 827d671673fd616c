"""``inspect``: the app model as a route table (text) or a stable JSON document."""

from __future__ import annotations

import json
from collections.abc import Sequence

from fastapi_arch_lint.findings import Diagnostic
from fastapi_arch_lint.model.app import AppModel, AuthVia, BuiltinRoute, Route
from fastapi_arch_lint.model.unresolved import (
    affected_routes,
    auth_uncertain_routes,
    kind_of,
    routing_gaps,
    unknown_dependencies,
)

JSON_VERSION = 1


def _via(v: AuthVia) -> dict[str, object]:
    return {
        "kind": v.kind, "name": v.name, "scheme": v.scheme, "level": v.level, "chain": list(v.chain),
        "file": v.path, "line": v.line, "scopes": list(v.scopes), "optional": v.optional,
        "evidence": v.evidence,
    }


def route_json(r: Route) -> dict[str, object]:
    return {
        "methods": list(r.methods),
        "path": r.path,
        "kind": r.kind,
        "function": r.handler.qualname,
        "file": r.handler.path,
        "line": r.handler.line,
        "auth": {"required": r.auth.required, "via": [_via(v) for v in r.auth.via]},
        "status_code": r.status_code,
        "response_model": r.response_model,
        "request_models": list(r.request_models),
        "tags": list(r.tags),
        "dependencies": [d.name for d in r.dependencies],
        "include_in_schema": r.include_in_schema,
        "deprecated": r.deprecated,
        "path_unresolved": r.path_unresolved,
        # the conditions the route is registered under ("" when always): it may not be served
        "conditional": r.conditional,
        # the check that lets only privileged callers (superusers, admins) through, or None
        "privileged": r.privileged,
        "include_chain": [
            {"parent": s.parent, "child": s.child, "prefix": s.prefix, "file": s.path, "line": s.line,
             "condition": s.condition}
            for s in r.include_chain
        ],
        "params": [
            {"name": p.name, "source": p.source, "annotation": p.annotation, "required": p.required}
            for p in r.params
        ],
    }


def builtin_json(r: BuiltinRoute) -> dict[str, object]:
    return {
        "methods": list(r.methods), "path": r.path, "kind": r.kind, "source": r.source, "provider": r.provider,
        "file": r.loc.path, "line": r.loc.line, "dependencies": list(r.dependencies),
        "path_unresolved": r.path_unresolved,
        "include_chain": [
            {"parent": s.parent, "child": s.child, "prefix": s.prefix, "file": s.path, "line": s.line}
            for s in r.include_chain
        ],
    }


def to_json(model: AppModel, diagnostics: Sequence[Diagnostic] = ()) -> dict[str, object]:
    return {
        "version": JSON_VERSION,
        "apps": [
            {
                "name": a.name,
                "file": a.loc.path,
                "line": a.loc.line,
                "factory": a.factory,
                "routes": [route_json(r) for r in a.routes],
                # served by FastAPI itself (docs) or a library's router, not by project code: not linted
                "builtin_routes": [builtin_json(r) for r in a.builtin_routes],
                "mounts": [{"path": m.path, "target": m.target, "kind": m.kind, "file": m.loc.path, "line": m.loc.line} for m in a.mounts],
                "middleware": [{"name": m.name, "kind": m.kind, "file": m.loc.path, "line": m.loc.line} for m in a.middleware],
            }
            for a in model.apps
        ],
        "models": [
            {
                "name": m.name, "qualname": m.qualname, "kind": m.kind, "file": m.path, "line": m.line,
                "bases": list(m.bases),
                "fields": [{"name": f.name, "annotation": f.annotation, "required": f.required,
                            "constraints": {k: _jsonable(v) for k, v in f.constraints}} for f in m.fields],
            }
            for m in model.models
        ],
        "tables": [
            {
                "name": t.name, "qualname": t.qualname, "tablename": t.tablename, "kind": t.kind, "file": t.path,
                "line": t.line,
                "columns": [{"name": c.name, "type": c.type, "nullable": c.nullable, "unique": c.unique,
                             "index": c.index, "primary_key": c.primary_key, "foreign_key": c.foreign_key}
                            for c in t.columns],
            }
            for t in model.tables
        ],
        "unresolved": [{"what": u.what, "reason": u.reason, "file": u.path, "line": u.line, "kind": kind_of(u) or "other"}
                       for u in sorted({*model.unresolved, *unknown_dependencies(model)},
                                       key=lambda u: (u.path, u.line, u.what))],
        "diagnostics": [{"path": d.path, "message": d.message} for d in diagnostics],
    }


def _jsonable(v: object) -> object:
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    if isinstance(v, (list, tuple)):
        return [_jsonable(i) for i in v]
    return repr(v)


def render_json(model: AppModel, diagnostics: Sequence[Diagnostic] = ()) -> str:
    return json.dumps(to_json(model, diagnostics), indent=2, sort_keys=False)


UNKNOWN_AUTH = "unknown: an unresolved dependency list, router or include above it may add some"


def auth_text(r: Route, unknown: bool = False) -> str:
    """A route's effective auth as `inspect` prints it: each way's kind, what, level and chain. ``unknown``:
    the model shows none but something above the route it could not resolve may add some (the rules stay
    quiet about its auth: ``model.unresolved.auth_uncertain_routes``)."""
    if not r.auth.via:
        return UNKNOWN_AUTH if unknown else "none"
    parts = []
    for v in r.auth.via:
        chain = " > ".join(v.chain)
        opt = " (optional)" if v.optional else ""
        # the kind first (scheme, dependency, decorator, middleware), then what and how it reaches the route
        what = v.scheme if v.kind == "scheme" else v.name
        why = f" ({v.evidence})" if v.evidence else ""
        parts.append(f"{v.kind} {what} [{v.level}: {chain}]{opt}{why}")
    return "; ".join(parts)


def render_text(model: AppModel, diagnostics: Sequence[Diagnostic] = ()) -> str:
    lines: list[str] = []
    gaps = routing_gaps(model)
    uncertain = {id(r) for r in affected_routes(model, [u for _, u in gaps.notes])}
    auth_unknown = {id(r) for r in auth_uncertain_routes(model)}
    if not model.apps:
        lines.append("No FastAPI application found.")
    for a in model.apps:
        factory = f" (built by {a.factory}())" if a.factory else ""
        builtin = f" (and {len(a.builtin_routes)} served by FastAPI or a library)" if a.builtin_routes else ""
        lines.append(f"App `{a.name}` at {a.loc.path}:{a.loc.line}{factory}: {len(a.routes)} routes{builtin}")
        rows = []
        for r in a.routes:
            methods = ",".join(r.methods) if r.methods else "WS"
            extra = []
            if r.status_code is not None and r.kind == "http":
                extra.append(str(r.status_code))
            if r.response_model:
                extra.append(f"-> {r.response_model}")
            if not r.include_in_schema:
                extra.append("hidden")
            if r.path_unresolved:
                extra.append("(a prefix or the path is unresolved)")
            elif id(r) in uncertain:
                extra.append("(unresolved dependencies above it)")
            if r.conditional:
                extra.append(f"(only if {r.conditional})")
            rows.append((methods, r.path, f"{r.handler.path}:{r.handler.line}", r.handler.qualname.rsplit(".", 1)[-1],
                         " ".join(extra), auth_text(r, id(r) in auth_unknown), r.privileged))
        if rows:
            w0 = max(len(r[0]) for r in rows)
            w1 = max(len(r[1]) for r in rows)
            for methods, path, loc, fn, extra, auth, privileged in rows:
                lines.append(f"  {methods:<{w0}}  {path:<{w1}}  {loc} {fn}  {extra}".rstrip())
                lines.append(f"  {'':<{w0}}  {'':<{w1}}  auth: {auth}")
                if privileged:  # only superusers/admins get through: which check lets them
                    lines.append(f"  {'':<{w0}}  {'':<{w1}}  privileged only: {privileged}")
        for b in a.builtin_routes:
            what = "FastAPI's docs" if b.source == "docs" else "library"
            deps = f"  dependencies: {', '.join(b.dependencies)}" if b.dependencies else ""
            unresolved = " (a prefix or the path is unresolved)" if b.path_unresolved else ""
            lines.append(f"  {','.join(b.methods) or 'WS'}  {b.path}  [{what}: {b.provider}]{unresolved}{deps}")
        for m in a.mounts:
            lines.append(f"  MOUNT {m.path} -> {m.target} ({m.kind}) at {m.loc.path}:{m.loc.line}")
        for m in a.middleware:
            short = m.name.rsplit(".", 1)[-1]
            guarded = sum(1 for r in a.routes if any(v.kind == "middleware" and v.name == short for v in r.auth.via))
            note = f" (authenticates {guarded} of {len(a.routes)} routes)" if guarded else ""
            lines.append(f"  MIDDLEWARE {m.name} at {m.loc.path}:{m.loc.line}{note}")
        lines.append("")
    unresolved = sorted({*model.unresolved, *(u for _, u in gaps.notes)}, key=lambda u: (u.path, u.line, u.what))
    if unresolved:
        lines.append(f"Unresolved ({len(unresolved)}):")
        if gaps.notes:
            lines.append(f"  {gaps.message().removesuffix('; see `fastapi-arch-lint inspect`')}")
        for u in unresolved:
            kind = kind_of(u)
            lines.append(f"  {u.path}:{u.line}: {f'[{kind}] ' if kind else ''}{u.what}: {u.reason}")
        lines.append("")
    if diagnostics:
        lines.append(f"Files not analyzed ({len(diagnostics)}):")
        for d in diagnostics:
            lines.append(f"  {d.path}: {d.message}")
        lines.append("")
    lines.append(f"{len(model.models)} Pydantic models, {len(model.tables)} tables, {len(model.modules)} modules analyzed.")
    return "\n".join(lines)
