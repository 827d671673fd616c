"""The API change between two app models (``fastapi-arch-lint diff BASE [HEAD]``).

A pure function of two ``AppModel``s: ``compare(base, head)`` returns the changes, each
marked *breaking* (a client written against BASE can fail against HEAD) and/or *security*.

Route identity across revisions, per method (a route serving GET and HEAD is two entries):

1. the same method and path, path parameter names ignored (``/items/{item_id}`` and
   ``/items/{id}`` are one URL template; the rename is reported as ``path-params-changed``);
2. else the same method and the same handler (module-qualified name): the path changed;
3. else the same handler and path with other methods: the methods changed;
4. else, when a handler has exactly one unmatched route on each side: path (and methods) changed.

What is left is removed or added.

| kind | breaking | security |
| --- | --- | --- |
| ``route-removed`` | yes | |
| ``route-added`` | no | yes when it changes state (POST/PUT/PATCH/DELETE) without authentication |
| ``path-changed`` | yes | |
| ``methods-changed`` | when a method is no longer served | |
| ``path-params-changed`` | yes (names or types) | |
| ``parameters-changed`` | when a query/header/cookie/form/file parameter became required | |
| ``status-changed`` | yes | |
| ``response-model-changed`` | yes, unless only fields were added or only the model's name changed | |
| ``auth-lost`` | no (clients still work) | yes |
| ``auth-added`` | yes (clients without credentials now get 401/403) | |
| ``auth-changed`` | no | |

Mounted sub-applications, request bodies and nested models are not compared.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from fastapi_arch_lint.model.app import AppModel, Route

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NAMED_PARAM_SOURCES = ("query", "header", "cookie", "form", "file")
KINDS = (
    "route-removed", "route-added", "path-changed", "methods-changed", "path-params-changed",
    "parameters-changed", "status-changed", "response-model-changed", "auth-lost", "auth-added",
    "auth-changed",
)


@dataclass(frozen=True, slots=True)
class Change:
    kind: str
    breaking: bool
    security: bool
    methods: tuple[str, ...]
    path: str  # the route's path at HEAD (at BASE for a removed route)
    handler: str  # module-qualified handler name (HEAD side when it exists)
    file: str
    line: int
    message: str
    before: str | None = None
    after: str | None = None

    @property
    def sort_key(self) -> tuple[object, ...]:
        return (self.path, self.methods, KINDS.index(self.kind), self.before or "", self.after or "")


@dataclass(slots=True)
class ApiDiff:
    changes: list[Change] = field(default_factory=list)
    routes_before: int = 0
    routes_after: int = 0

    @property
    def breaking(self) -> list[Change]:
        return [c for c in self.changes if c.breaking]

    @property
    def security(self) -> list[Change]:
        return [c for c in self.changes if c.security]

    @property
    def fails(self) -> bool:
        """Breaking changes or lost authentication: what makes ``diff`` exit 1."""
        return any(c.breaking or c.kind == "auth-lost" for c in self.changes)


@dataclass(frozen=True, slots=True)
class _Entry:
    method: str
    route: Route
    template: str  # path with parameter names blanked

    @property
    def handler(self) -> str:
        return self.route.handler.qualname


_PARAM = re.compile(r"{([^}:]*)(:[^}]*)?}")


def template(path: str) -> str:
    """``/items/{item_id:int}`` -> ``/items/{:int}``: the URL shape without parameter names."""
    return _PARAM.sub(lambda m: "{" + (m.group(2) or "") + "}", path)


def _entries(model: AppModel) -> dict[tuple[str, str], _Entry]:
    """One entry per (method, template); when several routes claim one, the one served first."""
    out: dict[tuple[str, str], _Entry] = {}
    for app in model.apps:
        for route in sorted(app.routes, key=lambda r: r.order):
            methods = route.methods if route.kind != "websocket" else ("WEBSOCKET",)
            for m in methods or ("WEBSOCKET",):
                key = (m, template(route.path))
                out.setdefault(key, _Entry(m, route, key[1]))
    return out


def _auth_text(route: Route) -> str:
    if not route.auth.required:
        return "none"
    return "; ".join(sorted({v.describe() for v in route.auth.via})) or "required"


def _schemes(route: Route) -> frozenset[str]:
    return frozenset(v.scheme for v in route.auth.via)


def _path_params(route: Route) -> list[tuple[str, str]]:
    by_name = {p.alias or p.name: p.annotation for p in route.params if p.source == "path"}
    by_name.update({p.name: p.annotation for p in route.params if p.source == "path"})
    return [(name, by_name.get(name, "")) for name in route.path_params]


def _named_params(route: Route) -> dict[tuple[str, str], bool]:
    return {(p.source, p.alias or p.name): p.required for p in route.params if p.source in NAMED_PARAM_SOURCES}


def _model_fields(model: AppModel, route: Route) -> dict[str, dict[str, tuple[str, bool]]]:
    out: dict[str, dict[str, tuple[str, bool]]] = {}
    for qn in route.response_model_types:
        m = model.model(qn)
        if m is not None:
            out[m.name] = {f.name: (f.annotation, f.required) for f in m.fields}
    return out


class _Comparer:
    def __init__(self, base: AppModel, head: AppModel, base_path: Callable[[str], str],
                 head_path: Callable[[str], str]) -> None:
        self.base, self.head = base, head
        self.base_path, self.head_path = base_path, head_path
        self.changes: list[Change] = []

    def add(self, kind: str, breaking: bool, security: bool, methods: Iterable[str], route: Route,
            message: str, before: str | None = None, after: str | None = None, *, side: str = "head") -> None:
        loc = self.head_path if side == "head" else self.base_path
        self.changes.append(Change(kind, breaking, security, tuple(sorted(methods)), route.path,
                                   route.handler.qualname, loc(route.handler.path), route.handler.line,
                                   message, before, after))

    # ------------------------------------------------------------ one matched route
    def pair(self, method: str, b: Route, h: Route) -> None:
        ms = (method,)
        if template(b.path) != template(h.path):
            self.add("path-changed", True, False, ms, h,
                     f"{method} {b.path} moved to {h.path} (same handler `{h.handler.qualname}`): "
                     f"clients calling the old path get 404", b.path, h.path)
        else:
            bp, hp = _path_params(b), _path_params(h)
            if [n for n, _ in bp] != [n for n, _ in hp]:
                self.add("path-params-changed", True, False, ms, h,
                         f"{method} {h.path}: path parameters renamed", b.path, h.path)
            elif bp != hp:
                before = ", ".join(f"{n}: {a}" for n, a in bp)
                after = ", ".join(f"{n}: {a}" for n, a in hp)
                self.add("path-params-changed", True, False, ms, h,
                         f"{method} {h.path}: path parameter types changed", before, after)
        bn, hn = _named_params(b), _named_params(h)
        newly_required = sorted(k for k, req in hn.items() if req and not bn.get(k, False))
        dropped = sorted(k for k in bn if k not in hn)
        if newly_required:
            names = ", ".join(f"{src} `{name}`" for src, name in newly_required)
            self.add("parameters-changed", True, False, ms, h,
                     f"{method} {h.path}: {names} now required", None, names)
        elif dropped:
            names = ", ".join(f"{src} `{name}`" for src, name in dropped)
            self.add("parameters-changed", False, False, ms, h,
                     f"{method} {h.path}: {names} no longer read", names, None)
        if (b.status_code or 200) != (h.status_code or 200) and h.kind != "websocket":
            self.add("status-changed", True, False, ms, h,
                     f"{method} {h.path}: success status {b.status_code} -> {h.status_code}",
                     str(b.status_code), str(h.status_code))
        self.response(method, b, h)
        self.auth(method, b, h)

    def response(self, method: str, b: Route, h: Route) -> None:
        bf, hf = _model_fields(self.base, b), _model_fields(self.head, h)
        if b.response_model == h.response_model and bf == hf:
            return
        ms, bm, hm = (method,), b.response_model or "none", h.response_model or "none"
        if b.response_model != h.response_model:
            shape_b, shape_h = bm, hm
            for name in bf:
                shape_b = re.sub(rf"\b{re.escape(name)}\b", "M", shape_b)
            for name in hf:
                shape_h = re.sub(rf"\b{re.escape(name)}\b", "M", shape_h)
            same_shape = bool(bf) and shape_b == shape_h and list(bf.values()) == list(hf.values())
            if same_shape:
                self.add("response-model-changed", False, False, ms, h,
                         f"{method} {h.path}: response model renamed {bm} -> {hm} (same fields)", bm, hm)
            else:
                self.add("response-model-changed", True, False, ms, h,
                         f"{method} {h.path}: response model {bm} -> {hm}", bm, hm)
            return
        removed: list[str] = []
        changed: list[str] = []
        added: list[str] = []
        for name, fields in hf.items():
            old = bf.get(name, {})
            removed += [f"{name}.{f}" for f in old if f not in fields]
            changed += [f"{name}.{f}" for f in fields if f in old and old[f][0] != fields[f][0]]
            added += [f"{name}.{f}" for f in fields if f not in old]
        for name in bf:
            if name not in hf:
                removed += [f"{name}.{f}" for f in bf[name]]
        parts = []
        if removed:
            parts.append("removed " + ", ".join(sorted(removed)))
        if changed:
            parts.append("type changed " + ", ".join(sorted(changed)))
        if added:
            parts.append("added " + ", ".join(sorted(added)))
        if not parts:  # only requiredness changed: the response carries the same fields
            return
        self.add("response-model-changed", bool(removed or changed), False, ms, h,
                 f"{method} {h.path}: response model {hm} fields: " + "; ".join(parts), bm, hm)

    def auth(self, method: str, b: Route, h: Route) -> None:
        ms = (method,)
        if b.auth.required and not h.auth.required:
            self.add("auth-lost", False, True, ms, h,
                     f"{method} {h.path} no longer requires authentication (was: {_auth_text(b)})",
                     _auth_text(b), "none")
        elif h.auth.required and not b.auth.required:
            self.add("auth-added", True, False, ms, h,
                     f"{method} {h.path} now requires authentication ({_auth_text(h)}): "
                     f"clients without credentials are rejected", "none", _auth_text(h))
        elif b.auth.required and _schemes(b) != _schemes(h):
            self.add("auth-changed", False, False, ms, h,
                     f"{method} {h.path}: authenticated through {', '.join(sorted(_schemes(h)))} "
                     f"instead of {', '.join(sorted(_schemes(b)))}", _auth_text(b), _auth_text(h))

    # ------------------------------------------------------------ the whole app
    def run(self) -> ApiDiff:
        base, head = _entries(self.base), _entries(self.head)
        paired: list[tuple[_Entry, _Entry]] = []
        left_b = dict(base)
        left_h = dict(head)
        # 1. same method and URL template
        for key in sorted(set(left_b) & set(left_h)):
            paired.append((left_b.pop(key), left_h.pop(key)))
        # 2. same method and handler: the path changed
        self._pair_by(left_b, left_h, paired, lambda e: (e.method, e.handler))
        # 3. same handler and template, other methods
        groups_b: dict[tuple[str, str], set[str]] = defaultdict(set)
        groups_h: dict[tuple[str, str], set[str]] = defaultdict(set)
        for e in base.values():
            groups_b[(e.handler, e.template)].add(e.method)
        for e in head.values():
            groups_h[(e.handler, e.template)].add(e.method)
        method_groups: set[tuple[str, str]] = set()
        for key, e in list(left_b.items()):
            g = (e.handler, e.template)
            if g in groups_h:
                method_groups.add(g)
                del left_b[key]
        for key, e in list(left_h.items()):
            g = (e.handler, e.template)
            if g in groups_b:
                method_groups.add(g)
                del left_h[key]
        for g in sorted(method_groups):
            before, after = groups_b[g], groups_h[g]
            route = next(e.route for e in head.values() if (e.handler, e.template) == g)
            lost = sorted(before - after)
            msg = f"{route.path}: methods {', '.join(sorted(before))} -> {', '.join(sorted(after))}"
            if lost:
                msg += f" ({', '.join(lost)} no longer served)"
            self.add("methods-changed", bool(lost), False, before | after, route, msg,
                     ", ".join(sorted(before)), ", ".join(sorted(after)))
        # 4. one unmatched route left for a handler on each side: path and methods changed
        by_handler_b: dict[str, list[tuple[str, str]]] = defaultdict(list)
        by_handler_h: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for key, e in left_b.items():
            by_handler_b[e.handler].append(key)
        for key, e in left_h.items():
            by_handler_h[e.handler].append(key)
        for handler in sorted(set(by_handler_b) & set(by_handler_h)):
            if len(by_handler_b[handler]) == 1 and len(by_handler_h[handler]) == 1:
                eb, eh = left_b.pop(by_handler_b[handler][0]), left_h.pop(by_handler_h[handler][0])
                self.add("path-changed", True, False, {eb.method, eh.method}, eh.route,
                         f"{eb.method} {eb.route.path} became {eh.method} {eh.route.path} "
                         f"(same handler `{handler}`)",
                         f"{eb.method} {eb.route.path}", f"{eh.method} {eh.route.path}")
                self.auth(eh.method, eb.route, eh.route)
        for eb, eh in paired:
            self.pair(eh.method, eb.route, eh.route)
        for e in left_b.values():
            self.add("route-removed", True, False, (e.method,), e.route,
                     f"{e.method} {e.route.path} removed (was `{e.handler}`)", side="base")
        for e in left_h.values():
            unauth = e.method in STATE_CHANGING and not e.route.auth.required
            msg = f"{e.method} {e.route.path} added"
            if unauth:
                msg += " without authentication: anyone can call this state-changing route"
            self.add("route-added", False, unauth, (e.method,), e.route, msg, None, _auth_text(e.route))
        routes_before = len({(e.route.handler.qualname, e.route.path, e.route.registered) for e in base.values()})
        routes_after = len({(e.route.handler.qualname, e.route.path, e.route.registered) for e in head.values()})
        return ApiDiff(sorted(self.changes, key=lambda c: c.sort_key), routes_before, routes_after)

    @staticmethod
    def _pair_by(left_b: dict[tuple[str, str], _Entry], left_h: dict[tuple[str, str], _Entry],
                 paired: list[tuple[_Entry, _Entry]], key: Callable[[_Entry], object]) -> None:
        idx_b: dict[object, list[tuple[str, str]]] = defaultdict(list)
        idx_h: dict[object, list[tuple[str, str]]] = defaultdict(list)
        for k, e in sorted(left_b.items()):
            idx_b[key(e)].append(k)
        for k, e in sorted(left_h.items()):
            idx_h[key(e)].append(k)
        for ident in sorted(set(idx_b) & set(idx_h), key=repr):
            for kb, kh in zip(idx_b[ident], idx_h[ident]):
                paired.append((left_b.pop(kb), left_h.pop(kh)))


def _same(path: str) -> str:
    return path


def compare(base: AppModel, head: AppModel, *, base_path: Callable[[str], str] = _same,
            head_path: Callable[[str], str] = _same) -> ApiDiff:
    """The API change from ``base`` to ``head``. ``base_path``/``head_path`` turn a model's file
    paths into the ones to show (the CLI makes both repository-relative)."""
    return _Comparer(base, head, base_path, head_path).run()
