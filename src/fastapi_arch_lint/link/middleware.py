"""Middleware that authenticates, and the routes (and mounted apps) it reaches."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from fastapi_arch_lint.link.auth import AuthFinder
from fastapi_arch_lint.link.credentials import CREDENTIAL_SOURCES, credential_name, present
from fastapi_arch_lint.link.interpreter import Interpreter
from fastapi_arch_lint.link.rejections import call_tail
from fastapi_arch_lint.link.values import (
    Env,
    Value,
    VClass,
    VConst,
    VFunc,
    VUnknown,
    short,
)
from fastapi_arch_lint.model.app import (
    App,
    Auth,
    AuthVia,
    Middleware,
    Route,
)
from fastapi_arch_lint.model.expr import (
    Attr,
    BoolOp,
    Call,
    Compare,
    Const,
    Expr,
    Name,
    Not,
    Subscript,
    dotted,
    render,
    walk,
)
from fastapi_arch_lint.model.facts import CompareFact

_AUTHENTICATION_MIDDLEWARE = "starlette.middleware.authentication.AuthenticationMiddleware"

_LEVEL_ORDER = {"app": 0, "include": 1, "router": 2, "route": 3, "param": 4}


@dataclass(slots=True)
class _MwAuth:
    """A middleware that authenticates, and the request paths it guards."""

    kind: str  # "custom": rejects unauthenticated requests itself | "authentication": Starlette's, sets request.user
    name: str
    scheme: str
    chain: tuple[str, ...]
    path: str
    line: int
    evidence: str = ""
    exempt_exact: set[str] = field(default_factory=set)
    exempt_prefixes: set[str] = field(default_factory=set)
    protect_exact: set[str] = field(default_factory=set)
    protect_prefixes: set[str] = field(default_factory=set)
    unresolved: list[str] = field(default_factory=list)
    unresolved_guard: bool = False  # a path test whose polarity or guarded paths are unknown
    # path fragments the check (or a project function it calls) tests the path for (a substring or a
    # prefix) and then does something of its own for: another credential, another rule
    apart: set[str] = field(default_factory=set)
    shared_secret: bool = False  # compares the credential with one configured value, identifies nobody

    def covers(self, path: str) -> bool:
        if self.unresolved_guard:
            return False
        if self.protect_exact or self.protect_prefixes:
            return path in self.protect_exact or any(path.startswith(p) for p in self.protect_prefixes)
        return not (path in self.exempt_exact or any(path.startswith(p) for p in self.exempt_prefixes))


def _is_path_expr(expr: Expr | None, names: set[str]) -> bool:
    """``request.url.path``, ``scope["path"]``, a local bound to one, ``path.rstrip("/")``..."""
    if expr is None:
        return False
    if isinstance(expr, Call) and isinstance(expr.func, Attr) and expr.func.attr in (
            "rstrip", "lower", "strip", "casefold", "removesuffix"):
        return _is_path_expr(expr.func.value, names)
    if isinstance(expr, Name):
        return expr.id in names
    d = dotted(expr)
    if d is not None:
        return d.endswith(".url.path")
    if isinstance(expr, Subscript) and len(expr.items) == 1 and isinstance(expr.items[0], Const) \
            and expr.items[0].value == "path":
        return (dotted(expr.value) or "").rsplit(".", 1)[-1] == "scope"
    return False


# calls that only pass a value on, log or answer it: not a lookup by the credential
_PASSIVE_CALLS = frozenset({
    "debug", "info", "warning", "warn", "error", "exception", "critical", "log", "print", "str", "len", "bool",
    "isinstance", "startswith", "endswith", "removeprefix", "removesuffix", "strip", "lstrip", "rstrip", "split",
    "partition", "lower", "upper", "casefold", "encode", "decode", "replace",
})


def _read_base(e: Expr) -> bool:
    """``request.headers``, ``request.headers.get``, ``scope_headers`` (a mapping of what the request carries)."""
    d = dotted(e) or ""
    parts = d.split(".")
    return bool(parts) and (parts[-1] in CREDENTIAL_SOURCES or len(parts) > 1 and parts[-1] == "get"
                            and parts[-2] in CREDENTIAL_SOURCES)


def _carries(e: Expr | None, carried: set[str]) -> bool:
    """``e`` holds what the request carries: a header, cookie or query value read, or a local bound to one."""
    for x in walk(e):
        if isinstance(x, Name) and x.id in carried:
            return True
        if isinstance(x, Call) and isinstance(x.func, Attr) and x.func.attr == "get" and _read_base(x.func.value):
            return True
        if isinstance(x, Subscript) and _read_base(x.value):
            return True
    return False


def _mentions(e: Expr | None, names: set[str]) -> bool:
    return any(isinstance(x, Name) and x.id in names for x in walk(e)) or _carries(e, set())


class MiddlewareAuth:
    def __init__(self, interp: Interpreter, auth: AuthFinder) -> None:
        self.interp = interp
        self.auth = auth

    # -- middleware ----------------------------------------------------------------

    def middleware_auth(self, apps: list[App]) -> list[App]:
        """Add the auth of middleware to the routes it reaches (mounted apps too, under their prefix)."""
        by_id = {a.id: a for a in apps}
        reach: dict[str, list[tuple[str, _MwAuth]]] = {a.id: [] for a in apps}
        for a in apps:
            for m in a.middleware:
                try:
                    spec = self._middleware_spec(m)
                except RecursionError:
                    spec = None
                if spec is not None:
                    reach[a.id].append(("", spec))
        # a parent's middleware sees every request to a mounted app, with the mount path in front
        changed = True
        rounds = 0
        while changed and rounds < 8:
            changed, rounds = False, rounds + 1
            for a in apps:
                for mount in a.mounts:
                    if mount.app in by_id and mount.app != a.id:
                        for prefix, spec in reach[a.id]:
                            item = (mount.path.rstrip("/") + prefix, spec)
                            if item not in reach[mount.app]:
                                reach[mount.app].append(item)
                                changed = True
        out = []
        for a in apps:
            specs = reach[a.id]
            if not specs:
                out.append(a)
                continue
            routes = tuple(self._route_with_middleware(r, specs) for r in a.routes)
            out.append(replace(a, routes=routes))
        return out

    def _route_with_middleware(self, route: Route, specs: list[tuple[str, "_MwAuth"]]) -> Route:
        vias = list(route.auth.via)
        for prefix, spec in specs:
            full = prefix + route.path
            if any(v.kind == "middleware" and v.name == spec.name for v in vias):
                continue  # the same middleware reached twice (registered on a parent and on the mounted app)
            if spec.kind == "authentication":
                handler = self.interp.functions_by_name().get(route.handler.qualname)
                if handler is None:
                    continue
                check = self.auth.creds.credential_check(handler, depth=0, principal_only=True)
                if not check.ok:
                    continue
                vias.append(AuthVia(
                    "middleware", spec.name, spec.scheme, "route", (spec.name, *spec.chain, short(handler.qualname)),
                    spec.path, spec.line, evidence=f"{spec.evidence}; the handler {check.evidence()}"))
            elif route.kind == "http" and spec.covers(full):
                mounted = f"; reaches the app mounted at {prefix}" if prefix else ""
                apart = next((f for f in sorted(spec.apart) if f in full), "")
                mounted += f"; checks paths with `{apart}` apart" if apart else ""
                vias.append(AuthVia("middleware", spec.name, spec.scheme, "app", (spec.name, *spec.chain),
                                    spec.path, spec.line, evidence=spec.evidence + mounted, apart=apart,
                                    shared_secret=spec.shared_secret))
        if len(vias) == len(route.auth.via):
            return route
        vias.sort(key=lambda v: (_LEVEL_ORDER.get(v.level, 5), v.chain))
        return replace(route, auth=Auth(required=True, via=tuple(vias)))

    def _middleware_spec(self, m: Middleware) -> "_MwAuth | None":
        module = self.interp.module_at(m.loc.path)
        if m.kind == "function":
            fn = self.interp.functions_by_name().get(m.name)
            if fn is None:
                return None
            nxt = {fn.fact.params[1].name} if len(fn.fact.params) > 1 else {"call_next"}
            return self._custom_middleware(short(m.name), fn, nxt, m, m.loc.path, m.loc.line)
        cls = self.interp.classes_by_name().get(m.name)
        bases = self.interp.bases(cls) if cls is not None else (m.name,)
        if _AUTHENTICATION_MIDDLEWARE in bases:
            backend = dict(m.options).get("backend", "")
            bname = re.sub(r"\(.*", "", backend).rsplit(".", 1)[-1] or "backend"
            return _MwAuth("authentication", short(m.name), f"AuthenticationMiddleware({bname})", (bname,),
                           m.loc.path, m.loc.line,
                           evidence=f"{short(m.name)}(backend={backend or '?'}) sets request.user")
        if cls is not None:
            for meth, nxt_index in (("dispatch", 2), ("__call__", None)):
                f = self.interp.class_attr(cls, meth, instance=True)
                if isinstance(f, VFunc) and f.env.module in self.interp.modules and f.cls is not None \
                        and f.cls.qualname in self.interp.classes_by_name():
                    params = f.fact.params
                    nxt = {params[nxt_index].name} if nxt_index is not None and len(params) > nxt_index \
                        else {"call_next", "self.app", "app"}
                    return self._custom_middleware(short(m.name), f, nxt, m, self.interp.path_of(f.env.module),
                                                   f.fact.pos.line, cls=cls)
            return None
        if m.name.endswith("BaseHTTPMiddleware") and module is not None:
            text = dict(m.options).get("dispatch", "")
            if re.fullmatch(r"[A-Za-z_][\w.]*", text or ""):
                node: Expr = Name(text.split(".")[0])
                for part in text.split(".")[1:]:
                    node = Attr(node, part)
                fn = self.interp.eval(node, Env(module))
                if isinstance(fn, VFunc):
                    nxt = {fn.fact.params[1].name} if len(fn.fact.params) > 1 else {"call_next"}
                    return self._custom_middleware(short(fn.qualname), fn, nxt, m,
                                                   self.interp.path_of(fn.env.module), fn.fact.pos.line)
        return None

    def _custom_middleware(self, name: str, fn: VFunc, nxt: set[str], m: Middleware, path: str, line: int,
                           cls: VClass | None = None) -> "_MwAuth | None":
        check = self.auth.creds.credential_check(fn)
        if not check.ok:
            return None
        if self._passes_anonymous(fn, nxt):
            # it checks (refreshes, loads the caller from) a credential the request brings, and passes one
            # without: like Starlette's AuthenticationMiddleware, it guards only a handler that then rejects
            # a missing caller
            return _MwAuth("authentication", name, "hand-written check", (fn.fact.name,) if fn.fact.name != name
                           else (), path, line, evidence=f"{check.evidence()} only when the request carries a "
                           "credential: a request without one is passed on")
        spec = _MwAuth("custom", name, "hand-written check", (fn.fact.name,) if fn.fact.name != name else (), path, line)
        self._path_rules(fn, nxt, spec, dict(m.values), cls)
        spec.apart = self._checked_apart(fn, 0, set())
        spec.shared_secret = self._shared_secret(fn, nxt)
        parts = [check.evidence()]
        if spec.shared_secret:
            parts.append("compares it with one configured secret and identifies no caller")
        if spec.protect_exact or spec.protect_prefixes:
            parts.append("only guards " + ", ".join(sorted(spec.protect_exact) + [p + "*" for p in sorted(spec.protect_prefixes)]))
        if spec.exempt_exact or spec.exempt_prefixes:
            parts.append("exempts " + ", ".join(sorted(spec.exempt_exact) + [p + "*" for p in sorted(spec.exempt_prefixes)]))
        if spec.unresolved:
            parts.append("path tests not resolved: " + ", ".join(spec.unresolved))
        spec.evidence = "; ".join(parts)
        return spec

    # -- a shared secret --------------------------------------------------------------

    def _shared_secret(self, fn: VFunc, nxt: set[str]) -> bool:
        """Does the middleware admit the holder of one configured secret and identify nobody? It compares
        what the request carries (a header, cookie or query value, or a local taken from one) with a value
        that no request changes (``f"Bearer {self.password}"`` given to its constructor, ``settings.API_KEY``,
        an environment variable), with ``==``/``!=`` or ``compare_digest``; the credential goes nowhere else
        (no decoding, no lookup, no project or library call that could find a user by it, no ``key in
        table``, no ``table[key]``); nothing is stored on the request (``request.state.user = ...``). Its
        project helpers that receive the request or the credential are read the same way, two calls down."""
        params = [p.name for p in fn.fact.params]
        if fn.fact.is_method and params:
            params = params[1:]
        request = {p for p in params if p not in nxt}
        try:
            found = self._secret_checks(fn, request, set(), nxt, 0, set())
        except RecursionError:
            return False
        return bool(found)

    def _secret_checks(self, fn: VFunc, request: set[str], carried: set[str], nxt: set[str], depth: int,
                       seen: set[str]) -> int | None:
        """How many comparisons of the credential with a configured value ``fn`` makes (its helpers' too),
        or None when the credential (or the request) goes anywhere else."""
        if fn.qualname in seen:
            return 0
        seen.add(fn.qualname)
        fact = fn.fact
        derived, carried = set(request), set(carried)
        bound = [(a.target, a.value) for a in fact.scope.assigns if a.value is not None] + \
                [(site.assigned_to, site.call) for site in fact.calls if site.assigned_to]
        for _ in range(4):  # ``auth = request.headers.get("authorization", "")``; ``token = auth.removeprefix(...)``
            before = len(derived) + len(carried)
            for target, value in bound:
                if not target or "." in target:
                    continue
                if _carries(value, carried):
                    carried.add(target)
                if _mentions(value, derived | carried):
                    derived.add(target)
            if len(derived) + len(carried) == before:
                break
        everything = derived | carried
        for target, value in bound:
            # ``request.state.user = ...``, ``scope["user"] = ...``: the middleware hands a caller on
            if not target and _mentions(value, carried) or target and target.split(".", 1)[0] in everything \
                    and "." in target:
                return None
        exprs = [v for _, v in bound] + [r.value for r in fact.scope.returns if r.value is not None] + \
            [e for c in fact.compares for e in (c.left, c.right)]
        if any(isinstance(x, Subscript) and any(_carries(i, carried) for i in x.items) and not _read_base(x.value)
               for e in exprs for x in walk(e)):
            return None  # ``KEYS[token]``: a lookup by the credential
        pairs: list[tuple[Expr, Expr, str]] = [(c.left, c.right, c.op) for c in fact.compares]
        found = 0
        by_name = self.interp.functions_by_name()
        for site in fact.calls:
            call = site.call
            args = [*call.args, *(v for _, v in call.kwargs)]
            if not any(_mentions(a, everything) for a in args):
                continue
            name = call_tail(call)
            if name == "compare_digest" and len(call.args) == 2:
                pairs.append((call.args[0], call.args[1], "=="))
                continue
            if dotted(call.func) in nxt or name in _PASSIVE_CALLS or name.endswith("Response") or (
                    _read_base(call.func) and not any(_carries(a, carried) for a in args)):
                continue
            target = by_name.get(self.auth.calls.safe_callee(fn, call) or "")
            if target is None or depth >= 2:
                return None  # the credential or the request goes where this cannot follow
            inner = self._bound(target, call, derived, carried)
            got = self._secret_checks(target, inner[0], inner[1], nxt, depth + 1, seen)
            if got is None:
                return None
            found += got
        for left, right, op in pairs:
            for mine, other in ((left, right), (right, left)):
                if not _carries(mine, carried):
                    continue
                if isinstance(other, Const):
                    break  # ``if not token``, ``token == ""``: a presence test
                if op not in ("==", "!=") or _mentions(other, everything):
                    return None  # ``token in KEYS``, a value taken from the request or derived from the credential
                found += 1
                break
        return found

    def _bound(self, callee: VFunc, call: Call, derived: set[str], carried: set[str]) -> tuple[set[str], set[str]]:
        """The callee's parameters that receive the request (or what was taken from it), and the credential."""
        params = [p.name for p in callee.fact.params if p.kind in ("positional", "keyword")]
        if callee.fact.is_method and params and isinstance(call.func, Attr):
            params = params[1:]
        req: set[str] = set()
        cred: set[str] = set()
        pairs = [(params[i] if i < len(params) else "", a) for i, a in enumerate(call.args)] + list(call.kwargs)
        for name, arg in pairs:
            if not name:
                continue
            if _carries(arg, carried):
                cred.add(name)
            if _mentions(arg, derived | carried):
                req.add(name)
        return req, cred

    def _credential_read(self, e: Expr | None, env: Env) -> bool:
        """``request.cookies.get("session")``, ``request.headers.get(AUTH_HEADER)``: a credential read."""
        if not (isinstance(e, Call) and isinstance(e.func, Attr) and e.func.attr == "get" and e.args):
            return False
        key = self.interp.const(e.args[0], env)
        return (dotted(e.func.value) or "").rsplit(".", 1)[-1] in CREDENTIAL_SOURCES and isinstance(key, str) \
            and credential_name(key)

    def _lacks_credential(self, test: Expr, env: Env) -> bool:
        """Does ``test`` hold for every request that carries no credential: ``SESSION_COOKIE not in
        request.cookies``, ``not request.headers.get("Authorization")``, or an ``or`` with such a side
        (``if request.headers.get("Authorization") or SESSION not in request.cookies: return await
        call_next(request)``: a CSRF check that enforces only where the browser's cookie is the credential)?"""
        if isinstance(test, Not):
            return self._credential_read(test.operand, env)
        if isinstance(test, Compare) and test.op == "not in" and \
                (dotted(test.right) or "").rsplit(".", 1)[-1] in CREDENTIAL_SOURCES:
            key = self.interp.const(test.left, env)  # the name's value, or how it is built (``os.getenv(...)``)
            return (isinstance(key, str) and credential_name(key)) or \
                credential_name((dotted(test.left) or "").rsplit(".", 1)[-1])  # ``SESSION_COOKIE_NAME``
        if isinstance(test, BoolOp) and test.op == "or":
            return any(self._lacks_credential(v, env) for v in test.values)
        return False

    def _passes_anonymous(self, fn: VFunc, nxt: set[str]) -> bool:
        """Does a request without a credential get through: every way the middleware rejects (itself, or in
        a project function it calls) sits in a branch that runs only when a credential read from the request
        is there (``if token is not None:``, ``if token := request.cookies.get("session"):``), or after a
        ``return`` that passes a request without one on (``if not token: return await call_next(request)``),
        and the request is passed on outside any ``if`` (or by that ``return``)? Such a middleware rejects a
        bad credential (or swallows it), never a missing one."""
        fact = fn.fact
        env = fn.env.inner(fact)
        by_name = self.interp.functions_by_name()
        creds: set[str] = set()  # the names a credential read is assigned to
        for site in fact.calls:
            if site.assigned_to is None:
                continue
            target = by_name.get(self.auth.calls.safe_callee(fn, site.call) or "")
            if self._credential_read(site.call, env) or (
                    target is not None and self.auth.creds.credential_check(target, depth=0).reads):
                creds.add(site.assigned_to)
        calls: set[int] = set()  # what runs only when a credential is there
        raises: set[int] = set()
        passed_at: int | None = None  # the first ``return`` that passes a request without a credential on
        tested = False  # an ``if`` tests whether the request carries a credential
        for g in fact.guards:
            if g.test is None:
                continue
            test, negated = g.test, False
            while isinstance(test, Not):
                test, negated = test.operand, not negated
            read = self._credential_read(test, env)  # ``if token := request.cookies.get(...)``
            if present(False, g.test, creds) or (read and not negated):
                tested = True
                calls.update(g.body_calls)
                raises.update(g.body_raises)
            elif present(True, g.test, creds) or (read and negated) or self._lacks_credential(g.test, env):
                tested = True
                calls.update(g.orelse_calls)
                raises.update(g.orelse_raises)
                for r in fact.scope.returns:
                    if r.conds == ((False, g.test),) and isinstance(r.value, Call) and dotted(r.value.func) in nxt:
                        passed_at = min(passed_at or r.pos.line, r.pos.line)
        # a request without a credential must reach ``call_next``: unconditionally, or by the early return
        branched = {i for g in fact.guards for i in g.body_calls + g.orelse_calls}
        if not tested or (passed_at is None and not any(
                i not in branched and dotted(site.call.func) in nxt for i, site in enumerate(fact.calls))):
            return False

        def before_passing(pos_line: int) -> bool:
            return passed_at is None or pos_line < passed_at

        for i, r in enumerate(fact.raises):
            if i not in raises and before_passing(r.pos.line) and self.auth.creds.rejections(fn, [], [i]):
                return False
        for i, site in enumerate(fact.calls):
            if i in calls or not before_passing(site.pos.line):
                continue
            if self.auth.creds.rejections(fn, [i], []):
                return False
            target = by_name.get(self.auth.calls.safe_callee(fn, site.call) or "")
            if target is not None and target.fact is not fact and self.auth.creds.credential_check(target, depth=1).rejects:
                return False
        return True

    def _path_rules(self, fn: VFunc, nxt: set[str], spec: "_MwAuth", values: dict[str, object],
                    cls: VClass | None) -> None:
        """Literal path allowlists (or guard lists) a middleware tests ``request.url.path`` against."""
        env = Env(fn.env.module, fn.env.functions + (fn.fact,))
        fact = fn.fact
        path_names: set[str] = set()
        for _ in range(3):  # ``path = request.url.path``; ``p = path.rstrip("/")``
            for a in fact.scope.assigns:
                if a.target and "." not in a.target and _is_path_expr(a.value, path_names):
                    path_names.add(a.target)
        for g in fact.guards:
            for neg, atom in g.tests:
                parsed = self._path_test(atom, neg, path_names, env, fn, values, cls)
                if parsed is None:
                    continue
                positive, mode, lits, text = parsed
                action = self._branch_action(fn, g.body_calls, g.body_raises, nxt)
                if action is None:
                    action = self._branch_action(fn, g.orelse_calls, g.orelse_raises, nxt)
                    positive = not positive
                if action is None:
                    spec.unresolved.append(text)
                    spec.unresolved_guard = True
                    self.interp.note(f"path test `{text}` in middleware `{spec.name}`",
                              "neither branch passes the request on nor rejects it", fn.env.module, g.pos.line or fact.pos.line)
                    continue
                exempt = positive == (action == "pass")
                if lits is None:
                    spec.unresolved.append(text)
                    if not exempt:
                        spec.unresolved_guard = True
                    self.interp.note(f"path test `{text}` in middleware `{spec.name}`",
                              "not a literal: which paths it exempts is unknown", fn.env.module, g.pos.line or fact.pos.line)
                    continue
                target = (spec.exempt_exact, spec.exempt_prefixes) if exempt else (spec.protect_exact, spec.protect_prefixes)
                (target[0] if mode == "exact" else target[1]).update(lits)
        # ``is_public = request.url.path in PUBLIC`` tested later: the exemption is real but not modelled
        in_guards = {atom for g in fact.guards for _, atom in g.tests if isinstance(atom, CompareFact)}
        for c in fact.compares:
            if c in in_guards or c.op not in ("in", "not in", "==", "!="):
                continue
            if _is_path_expr(c.left, path_names) or (_is_path_expr(c.right, path_names) and c.op in ("==", "!=")):
                text = f"{render(c.left, 40)} {c.op} {render(c.right, 40)}"
                if any(text == u for u in spec.unresolved):
                    continue
                spec.unresolved.append(text)
                self.interp.note(f"path test `{text}` in middleware `{spec.name}`",
                          "not the condition of an `if`: the paths it exempts are not modelled", fn.env.module,
                          c.pos.line)

    def _checked_apart(self, fn: VFunc, depth: int, seen: set[str]) -> set[str]:
        """Literal fragments ``fn`` (or a project function it calls, two levels down) tests the request path
        for (``"/admin/" in request.url.path``, ``path.startswith("/admin")``) in an ``if`` whose branch
        calls or raises something: paths the check treats apart from the others."""
        seen.add(fn.qualname)
        env = self.interp.body_env(fn)
        out: set[str] = set()
        for g in fn.fact.guards:
            if not (g.body_calls or g.body_raises):
                continue
            for _, atom in g.tests:
                lit: Expr | None = None
                if isinstance(atom, CompareFact) and atom.op == "in" and _is_path_expr(atom.right, set()):
                    lit = atom.left
                elif isinstance(atom, Call) and isinstance(atom.func, Attr) and atom.func.attr == "startswith" \
                        and _is_path_expr(atom.func.value, set()) and atom.args:
                    lit = atom.args[0]
                v = self.interp.eval(lit, env) if lit is not None else None
                if isinstance(v, VConst) and isinstance(v.value, str) and v.value.strip("/"):
                    out.add(v.value)
        if depth < 2:
            for site in fn.fact.calls:
                callee = self.interp.functions_by_name().get(self.auth.calls.safe_callee(fn, site.call, env) or "")
                if callee is not None and callee.qualname not in seen:
                    out |= self._checked_apart(callee, depth + 1, seen)
        return out

    def _path_test(self, atom: "CompareFact | Expr", neg: bool, path_names: set[str], env: Env, fn: VFunc,
                   values: dict[str, object], cls: VClass | None
                   ) -> tuple[bool, str, tuple[str, ...] | None, str] | None:
        """(positive, "exact"|"prefix", literals or None, text) when ``atom`` tests the request path."""
        if isinstance(atom, CompareFact):
            if atom.op not in ("in", "not in", "==", "!="):
                return None
            if _is_path_expr(atom.left, path_names):
                other = atom.right
            elif _is_path_expr(atom.right, path_names) and atom.op in ("==", "!="):
                other = atom.left
            else:
                return None
            positive = (atom.op in ("in", "==")) != neg
            text = f"{render(atom.left, 40)} {atom.op} {render(atom.right, 40)}"
            return positive, "exact", self._str_literals(other, env, fn, values, cls), text
        if isinstance(atom, Call) and isinstance(atom.func, Attr) and atom.func.attr == "startswith" \
                and _is_path_expr(atom.func.value, path_names) and atom.args:
            return not neg, "prefix", self._str_literals(atom.args[0], env, fn, values, cls), render(atom, 60)
        return None

    def _str_literals(self, expr: Expr, env: Env, fn: VFunc, values: dict[str, object],
                      cls: VClass | None) -> tuple[str, ...] | None:
        v: Value | None = None
        d = dotted(expr)
        me = fn.fact.params[0].name if fn.fact.params else ""
        if cls is not None and d is not None and d.startswith(me + ".") and d.count(".") == 1:
            attr = d.split(".", 1)[1]
            v = self.interp.class_attr(cls, attr, instance=True)
            if isinstance(v, VUnknown):  # ``self.exempt = exempt`` in ``__init__``: the registration's keyword
                v = self._init_attr(cls, attr, values)
        if v is None:
            v = self.interp.eval(expr, env)
        return self.interp.literal_strs(v)

    def _init_attr(self, cls: VClass, attr: str, values: dict[str, object]) -> Value:
        init = self.interp.class_attr(cls, "__init__", instance=True)
        if not isinstance(init, VFunc) or not init.fact.params:
            return VUnknown("no __init__")
        me = init.fact.params[0].name
        ienv = Env(init.env.module, init.env.functions + (init.fact,))
        for a in init.fact.scope.assigns:
            if a.target != f"{me}.{attr}" or a.value is None:
                continue
            if isinstance(a.value, Name) and init.fact.param(a.value.id) is not None:
                p = init.fact.param(a.value.id)
                if a.value.id in values and values[a.value.id] is not None:
                    got = values[a.value.id]
                    return VConst(got) if isinstance(got, (str, tuple)) else VUnknown("not a literal")
                if p is not None and p.default is not None:
                    return self.interp.eval(p.default, init.env)
                return VUnknown(f"`{a.value.id}` is passed at registration")
            return self.interp.eval(a.value, ienv)
        return VUnknown(f"`{attr}` is not set in __init__")

    def _branch_action(self, fn: VFunc, calls: Sequence[int], raises: Sequence[int], nxt: set[str]) -> str | None:
        if not calls and not raises:
            return None
        if self.auth.creds.rejections(fn, calls, raises):
            return "reject"
        for i in calls:
            d = dotted(fn.fact.calls[i].call.func)
            if d in nxt:
                return "pass"
        return None
