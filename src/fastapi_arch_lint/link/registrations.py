"""Apps, routers and what is registered on them: routes, includes, mounts, middleware."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.link.blocks import Blocks, Variant, names_in, shown, substitute
from fastapi_arch_lint.link.callsites import CallSites, frame_of
from fastapi_arch_lint.link.dependencies import Dependencies
from fastapi_arch_lint.link.forwarders import Wrappers
from fastapi_arch_lint.link.instances import allocated_per_call
from fastapi_arch_lint.link.rejections import call_tail
from fastapi_arch_lint.link.interpreter import Interpreter
from fastapi_arch_lint.link.knowledge import (
    APP_CLASSES,
    DOCS_URLS,
    HTTP_METHODS,
    LIBRARY_ROUTERS,
    ROUTER_CLASSES,
    canonical,
)
from fastapi_arch_lint.link.registered import FlatRoute, Include, RouteReg, RouterInfo, RouterOptions
from fastapi_arch_lint.link.routerclasses import RouterClasses
from fastapi_arch_lint.link.views import ClassViews, View
from fastapi_arch_lint.link.values import (
    Env,
    Value,
    VClass,
    VConst,
    VExt,
    VFunc,
    VInst,
    VParam,
    VSeq,
    VUnknown,
    ext_name,
    is_self,
    str_items,
    why,
)
from fastapi_arch_lint.model.app import (
    BuiltinRoute,
    IncludeStep,
    Loc,
    Middleware,
    Mount,
    Spot,
)
from fastapi_arch_lint.model.expr import (
    Attr,
    Call,
    Const,
    Expr,
    Name,
    Opaque,
    render,
)
from fastapi_arch_lint.model.facts import ClassFact, FunctionFact, Scope
from fastapi_arch_lint.model.paths import is_test_path

# ---------------------------------------------------------------------------


_DECORATORS = frozenset(HTTP_METHODS) | {"api_route", "route", "websocket", "websocket_route", "middleware"}
_STATEMENTS = frozenset({"include_router", "add_api_route", "add_api_websocket_route", "mount", "add_middleware",
                         "add_route", "add_websocket_route"})


def _registers(call: Call) -> Expr | None:
    """The receiver of a call (a statement or assigned) that has the form of a registration
    (``router.include_router(...)``, ``router.get("/x")(handler)``), else None: loops and conditions
    around anything else are not worked out."""
    func = call.func
    if isinstance(func, Call):
        return func.func.value if isinstance(func.func, Attr) and func.func.attr in _DECORATORS else None
    return func.value if isinstance(func, Attr) and func.attr in _STATEMENTS else None


def _what(call: Call) -> str:
    """What a registration statement is about, in the wording of the linker's notes (``model/unresolved.py``)."""
    if isinstance(call.func, Call):
        return f"route decorator `{render(call.func.func)}(...)`"
    method = call.func.attr if isinstance(call.func, Attr) else ""
    if method == "include_router":
        return f"included router `{render(call.arg(0, 'router'))}`"
    if method in ("add_api_route", "add_route", "add_api_websocket_route", "add_websocket_route"):
        return f"endpoint of `{render(call.func)}`"
    return ""


def _decorates(expr: Expr) -> Expr | None:
    """The receiver of a decorator that has the form of a route decorator, else None."""
    if isinstance(expr, Call) and isinstance(expr.func, Attr) and expr.func.attr in _DECORATORS:
        return expr.func.value
    return None


class Registrations:
    def __init__(self, interp: Interpreter, deps: Dependencies) -> None:
        self.interp = interp
        self.deps = deps
        self.routers: dict[tuple[str, int, int], RouterInfo] = {}
        self.blocks = Blocks(interp)
        self._conditions: tuple[str, ...] = ()  # those of the statement being read (see ``scan``)
        self.classes = RouterClasses(interp)
        self.sites = CallSites(interp)
        self.blocks.rebind = self._rebind
        self.views = ClassViews(interp, deps, self.classes)
        self.wrappers = Wrappers(interp)
        self._inlining = 0

    def is_app_class(self, cls: VClass | VExt) -> bool:
        return any(b in APP_CLASSES for b in self.interp.bases(cls))

    def is_router_class(self, cls: VClass | VExt) -> bool:
        return any(b in ROUTER_CLASSES for b in self.interp.bases(cls))

    def router_of(self, v: Value) -> RouterInfo | None:
        if not isinstance(v, VInst):
            return None
        info = self.routers.get(v.site)
        if info is not None:
            return info
        is_app = self.is_app_class(v.cls)
        if not is_app and not self.is_router_class(v.cls):
            return self.library_router(v)
        module = v.site[0]
        path = self.interp.path_of(module)
        call = v.call
        loc = Loc(path, v.site[1], v.site[2] or 1)
        line = call.line if call is not None and call.line else v.site[1]
        own = v
        if v.env is not None and v.env.bound and not allocated_per_call(v):  # one site, many calls: no call's options
            own = VInst(v.cls, v.call, Env(v.env.module, v.env.functions), v.site, v.bound_name)
        opts = self.classes.options(own)
        what = f"`{render(call.func)}(...)`" if call is not None else "router"
        # options passed through a ``**spread`` of the instantiation itself are reported once, below; those
        # a project ``__init__`` may pass through one are unknown where they matter
        get = opts.get if opts.changed else opts.values.get
        prefix, prefix_ok = "", True
        pv = get("prefix") if not is_app else None  # ``FastAPI()`` takes no prefix
        if pv is not None:
            if isinstance(pv, VConst) and isinstance(pv.value, str):
                prefix = pv.value
            else:
                prefix_ok = False
                p = call.kwarg("prefix") if call is not None and not opts.changed else None
                self.interp.note(f"router prefix `{render(p)}`" if p is not None else f"prefix of {what}", why(pv),
                                 module, line)
        tags = self._strs(get("tags"))
        deps = self._deps(get("dependencies"), what, module, line, loc)
        include_in_schema = self._flag(get("include_in_schema"), True)
        deprecated = self._flag(get("deprecated"), False)
        if call is not None and call.starred and not opts.changed:
            self.interp.note(f"`{render(call.func)}(**...)` arguments", "passed with * or **: not all options are known", module, call.line)
        route_deps: list[tuple[Value, Expr, Loc]] = []
        rc = opts.values.get("route_class")
        if rc is not None and not is_app:
            extra, reason = self.classes.route_class_deps(rc)
            route_deps = [(d, Opaque("route_class"), loc) for d in extra]
            if reason:
                self.interp.note(f"dependencies of route class `{render(rc.fact.name) if isinstance(rc, VClass) else '?'}`",
                                 reason, module, line)
        factory = None
        if v.env and v.env.functions:
            factory = f"{module}.{v.env.functions[0].qualname}"
        info = RouterInfo(v, is_app, v.bound_name or render(call.func) if call else "router", loc, prefix,
                           deps, tags, include_in_schema, deprecated, factory=factory, route_deps=route_deps,
                           prefix_ok=prefix_ok)
        self.routers[v.site] = info
        if isinstance(v.cls, VClass):
            self._self_registrations(info, v.cls)
        return info

    # -- what a router class registers on itself ---------------------------------------
    def _router_here(self, recv: Value, env: Env) -> RouterInfo | None:
        """``router_of(recv)`` for a registration made in ``env``; None for one a test makes on an app or
        router the shipped code creates: at runtime the test registers on an instance of its own."""
        info = self.router_of(recv)
        if info is not None and is_test_path(self.interp.path_of(env.module)) \
                and not is_test_path(self.interp.path_of(info.inst.site[0])):
            return None
        return info

    def _self_registrations(self, info: RouterInfo, cls: VClass) -> None:
        """Routes and includes a router class's ``__init__`` (and the methods it calls on ``self``) registers
        on ``self``: ``self.add_api_route("/x", self.handler)``, ``@self.get("/x")`` over a nested function,
        ``self.include_router(...)``. Every instance of the class gets them."""
        chain = self.classes.mro(cls) or [cls]
        todo: list[tuple[VFunc, int]] = []
        for c in chain:
            if isinstance(c, VClass) and c.fact.method("__init__") is not None:
                todo.append((VFunc(c.fact.method("__init__"), Env(c.env.module, c.env.functions), c), 0))  # type: ignore[arg-type]
        seen: set[int] = set()
        path = self.interp.path_of
        while todo:
            fn, depth = todo.pop()
            if id(fn.fact) in seen or len(seen) > 30:
                continue
            seen.add(id(fn.fact))
            env = self.interp.body_env(fn)
            for sc in fn.fact.scope.calls:
                call, loc = sc.call, Loc(path(env.module), sc.pos.line, sc.pos.col)
                f = call.func
                if isinstance(f, Call) and _on_self(f.func) and f.func.attr in HTTP_METHODS + ("api_route", "websocket"):  # type: ignore[union-attr]
                    # ``self.get("/x")(self.handler)``
                    handler = self._self_value(call.args[0] if call.args else None, env, info.inst, cls)
                    if isinstance(handler, VFunc):
                        self._add_route(info, f.func.attr, f, handler, env, loc, registration="call",  # type: ignore[union-attr]
                                        order=(self._spot(env, loc),))
                    continue
                if not _on_self(f):
                    continue
                meth = f.attr  # type: ignore[union-attr]
                if meth in ("add_api_route", "add_api_websocket_route"):
                    endpoint = self._self_value(call.arg(1, "endpoint"), env, info.inst, cls)
                    if isinstance(endpoint, VFunc):
                        kind = "add_api_route" if meth == "add_api_route" else "websocket"
                        self._add_route(info, kind, call, endpoint, env, loc, registration=meth, order=(self._spot(env, loc),))
                    else:
                        self.interp.note(f"endpoint of `{render(f)}`", why(endpoint), env.module, loc.line)
                elif meth == "include_router":
                    child = self.router_of(self._self_value(call.arg(0, "router"), env, info.inst, cls))
                    pexpr = call.kwarg("prefix")
                    pv = self.interp.eval(pexpr, env) if pexpr is not None else VConst("")
                    prefix = pv.value if isinstance(pv, VConst) and isinstance(pv.value, str) else None
                    if child is None:
                        self.interp.note(f"included router `{render(call.arg(0, 'router'))}`", "not a router", env.module, loc.line)
                    else:
                        if prefix is None:
                            self.interp.note(f"include prefix `{render(pexpr)}`", why(pv), env.module, loc.line)
                        info.includes.append(Include(info.inst.site, child.inst.site, prefix, pexpr, call, env, loc,
                                                     order=(self._spot(env, loc),)))
                elif depth < 2:
                    m = self.interp.class_attr(cls, meth, instance=True, inst=info.inst)
                    if isinstance(m, VFunc):
                        todo.append((m, depth + 1))
            for inner in fn.fact.scope.functions:
                for d in inner.decorators:
                    e = d.expr
                    if isinstance(e, Call) and _on_self(e.func) and e.func.attr in HTTP_METHODS + (  # type: ignore[union-attr]
                            "api_route", "websocket"):
                        at = Loc(path(env.module), d.pos.line, d.pos.col)
                        self._add_route(info, e.func.attr, e, VFunc(inner, env), env, at,  # type: ignore[union-attr]
                                        order=(self._spot(env, at, inner),))

    def _self_value(self, expr: Expr | None, env: Env, inst: VInst, cls: VClass) -> Value:
        """``self`` is the router instance, ``self.x`` its class's attribute (a method: bound, no ``self``)."""
        if isinstance(expr, Name) and expr.id == "self":
            return inst
        if isinstance(expr, Attr) and isinstance(expr.value, Name) and expr.value.id == "self":
            return self.interp.class_attr(cls, expr.attr, instance=True, inst=inst)
        return self.interp.eval(expr, env)

    # -- options read from values (``routerclasses.Options``) ---------------------------
    @staticmethod
    def _strs(v: Value | None) -> tuple[str, ...]:
        return str_items(v)

    @staticmethod
    def _flag(v: Value | None, default: bool) -> bool:
        return v.value if isinstance(v, VConst) and isinstance(v.value, bool) else default

    def _deps(self, v: Value | None, what: str, module: str, line: int, loc: Loc) -> list[tuple[Value, Expr, Loc]]:
        if v is None or (isinstance(v, VConst) and v.value is None):
            return []
        if not isinstance(v, VSeq):
            self.interp.note(f"dependencies of {what}", why(v), module, line)
            # every route under this router or include runs what the list holds: its auth is unknown there
            return [(VUnknown(f"the dependencies of {shown(what)} ({why(v)})"), Opaque("?"), loc)]
        return [(item, Opaque("?"), loc) for item in v.items]

    def scan(self) -> None:
        """Read every registration; one under ``if`` or in ``for`` loops once per way it runs (``Blocks``)."""
        for scope, env in self.interp.all_scopes():
            path = self.interp.path_of(env.module)
            for i, f in enumerate(scope.functions):
                receivers = [r for d in f.decorators if (r := _decorates(d.expr)) is not None]
                if not receivers or not self._in_play(scope, "functions", i, env, receivers):
                    continue
                what = f"route decorator `@{render(receivers[0])}...`"
                for variant in self._variants(scope, "functions", i, env, [d.expr for d in f.decorators], what):
                    if variant.frames:  # the handler is defined in ``env``, its decorator evaluated in another
                        self.interp.note(f"decorators of `{f.name}`", "in a loop over another module's sequence",
                                         env.module, f.pos.line)
                        continue
                    for d in f.decorators:
                        self._decorator(substitute(d.expr, variant.subst), f, env, Loc(path, d.pos.line, d.pos.col))  # type: ignore[arg-type]
            for i, sc in enumerate(scope.calls):
                receiver = _registers(sc.call)
                if receiver is None:
                    if call_tail(sc.call) in self.wrappers.names():  # ``register(app, "/x", handler)``: a wrapper's call
                        for variant in self._variants(scope, "calls", i, env, [sc.call], ""):
                            self._wrapped(substitute(sc.call, variant.subst), variant.env(env),  # type: ignore[arg-type]
                                          Loc(path, sc.pos.line, sc.pos.col))
                    continue
                if self.wrappers.own(sc.call, env):
                    continue  # the wrapper's own registration: read at each of its calls
                # ``include_router`` says what it is whatever its receiver: a loop around it is always worked out
                if not (isinstance(sc.call.func, Attr) and sc.call.func.attr == "include_router") and not self._in_play(
                        scope, "calls", i, env, [receiver]):
                    continue
                # in the env of its statement: ``app = wrap(app)`` further down is not the app it registers on
                at = self.interp.at_statement(env, sc.pos.line)
                for variant in self._variants(scope, "calls", i, at, [sc.call], _what(sc.call)):
                    self._stmt_call(substitute(sc.call, variant.subst), variant.env(at), Loc(path, sc.pos.line, sc.pos.col))  # type: ignore[arg-type]
            for c in scope.classes:
                self._class_routes(c, env)
            for i, a in enumerate(scope.assigns):
                # bind names to routers created at module or function level
                if isinstance(a.value, Call):
                    v = self.interp.lookup(a.target, env) if "." not in a.target else None
                    if isinstance(v, VInst):
                        self.router_of(v)
                    receiver = _registers(a.value) if isinstance(a.value.func, Call) else None  # ``x = router.get("/x")(h)``
                    if receiver is not None and self._in_play(scope, "assigns", i, env, [receiver]):
                        for variant in self._variants(scope, "assigns", i, env, [a.value], _what(a.value)):
                            self._stmt_call(substitute(a.value, variant.subst), variant.env(env), Loc(path, a.pos.line, a.pos.col))  # type: ignore[arg-type]
        self._conditions = ()

        # routers created but bound in an unusual way are still found through registrations

    def _rebind(self, param: VParam, env: Env) -> list[Env] | None:
        """``env`` once per call of the function ``param`` belongs to (not its tests' calls), that call's
        arguments bound; None when it cannot be followed (the loop stays unresolved, and is noted)."""
        envs = self.sites.rebind(param, env)
        if not envs:
            return None
        return [e for e, spot in envs if not is_test_path(spot[0])] or None

    def _in_play(self, scope: Scope, kind: str, index: int, env: Env, receivers: list[Expr]) -> bool:
        """Whether a statement in a loop may register something: its receiver is a router or reads a
        loop target (every statement outside loops is read, as it costs nothing more)."""
        targets = self.blocks.loop_targets(scope, kind, index)
        if not targets:
            return True
        return any(names_in(r) & targets or isinstance(v := self.interp.eval(r, env), VParam) or self.router_of(v) is not None
                   for r in receivers)

    def _variants(self, scope: Scope, kind: str, index: int, env: Env, uses: list[Expr | None], what: str
                  ) -> Iterator[Variant]:
        """The ways a statement runs, with ``_conditions`` set to each one's while it is read."""
        for variant in self.blocks.variants(scope, kind, index, env, uses, what):
            self._conditions = variant.conditions
            yield variant
        self._conditions = ()

    def _decorator(self, expr: Expr, f: FunctionFact, env: Env, loc: Loc, handler: VFunc | None = None
                   ) -> RouterInfo | None:
        """Register what decorator ``expr`` of ``f`` registers; the router it registers on, if any."""
        if not (isinstance(expr, Call) and isinstance(expr.func, Attr)):
            return None
        method = expr.func.attr
        if method not in HTTP_METHODS and method not in ("api_route", "route", "websocket", "websocket_route", "middleware"):
            return None
        recv = self.interp.eval(expr.func.value, env)
        if isinstance(recv, VParam):  # a helper's parameter: what each call passes
            self.sites.at_each_call(recv, env, f"route decorator `@{render(expr.func)}`", loc,
                                    lambda e: self._decorator(expr, f, e, loc, handler))
            return None
        info = self._router_here(recv, env)
        if info is None:
            if isinstance(recv, VUnknown) and method in HTTP_METHODS and expr.args:
                self.interp.note(f"route decorator `@{render(expr.func)}`", recv.reason, env.module, loc.line)
            return None
        handler = handler or VFunc(f, env)
        if method == "middleware":
            info.middleware.append(Middleware(handler.qualname, "function", (("type", render(expr.args[0]) if expr.args else ""),), loc))
            return None
        self._add_route(info, method, expr, handler, env, loc, order=self.sites.via + (self._spot(env, loc, f),))
        return info

    # -- class-based views ---------------------------------------------------------
    def _class_routes(self, c: ClassFact, env: Env) -> None:
        """Routes registered by the methods of a class (at class creation), as a class-based view when the
        class is decorated as one: ``self`` is then a dependency, and the class's dependencies apply."""
        for inner in c.classes:
            self._class_routes(inner, env)
        if not any(d.decorators for d in c.methods) and not c.decorators:
            return
        cls = VClass(c, env)
        view = self.views.view_of(cls, lambda r: self.router_of(r) is not None) if c.decorators else None
        view_router = self.router_of(view.router) if view is not None else None
        path = self.interp.path_of(env.module)
        for m in c.methods:
            for d in m.decorators:
                before = len(view_router.routes) if view_router is not None else 0
                handler = VFunc(m, env, cls) if view is not None else VFunc(m, env)
                info = self._decorator(d.expr, m, env, Loc(path, d.pos.line, d.pos.col), handler)
                if info is None or view is None:
                    continue
                if info is not view_router:
                    # a route on another router: not rewritten by the view, ``self`` stays a parameter
                    reg = info.routes[-1]
                    reg.handler = VFunc(m, env)
                    continue
                for reg in view_router.routes[before:]:
                    reg.class_deps = tuple(view.deps)
                if not view.rewrites_self and len(view_router.routes) > before:
                    self.interp.note(f"class decorator `@{view.decorator}(...)` on `{c.name}`",
                                     "takes the router of its routes but is not seen turning `self` into a "
                                     "dependency: the class's dependencies are not applied to them", env.module,
                                     view.line)
        if view is not None and view_router is not None and view.urls:
            self._view_urls(view, view_router, cls, env, path)

    def _view_urls(self, view: View, info: RouterInfo, cls: VClass, env: Env, path: str) -> None:
        """``cbv(router, "/items")``: methods named after HTTP methods are routes at each URL."""
        for url in view.urls:
            for m in cls.fact.methods:
                if m.name not in HTTP_METHODS:
                    continue
                if any(r.handler is not None and r.handler.fact is m and r.path == url for r in info.routes):
                    continue
                call = Call(Attr(Name("router"), "api_route"), (Const(url),),
                            (("methods", Const((m.name.upper(),))),), m.pos.line, m.pos.col)
                before = len(info.routes)
                at = Loc(path, m.pos.line, m.pos.col)
                self._add_route(info, m.name, call, VFunc(m, env, cls), env, at, registration="cbv",
                                order=self.sites.via + (self._spot(env, at),))
                for reg in info.routes[before:]:
                    reg.class_deps = tuple(view.deps)

    def _spot(self, env: Env, loc: Loc, decorated: FunctionFact | None = None) -> Spot:
        """Where a registration at ``loc`` runs; a decorator of ``decorated`` where that function is defined,
        ranked from the ``def`` outwards (the decorator nearest it is applied, and registers, first)."""
        if decorated is None or not decorated.decorators:
            return (loc.path, loc.line, loc.col, 0, frame_of(env))
        first = decorated.decorators[0].pos
        below = sum(1 for d in decorated.decorators if (d.pos.line, d.pos.col) > (loc.line, loc.col))
        return (loc.path, first.line, first.col, below, frame_of(env))

    def _add_route(self, info: RouterInfo, method: str, call: Call, handler: VFunc | None, env: Env, loc: Loc,
                   registration: str | None = None, path_index: int = 0, *, order: tuple[Spot, ...]) -> None:
        path_expr = call.arg(path_index, "path")
        path: str | None = None
        if path_expr is not None:
            pv = self.interp.eval(path_expr, env)
            if isinstance(pv, VConst) and isinstance(pv.value, str):
                path = pv.value
            else:
                self.interp.note(f"route path `{render(path_expr)}`", why(pv), env.module, loc.line)
        if method in HTTP_METHODS:
            methods: tuple[str, ...] = (method.upper(),)
            kind = "http"
            reg = registration or "decorator"
        elif method in ("websocket", "websocket_route", "add_api_websocket_route", "add_websocket_route"):
            methods, kind, reg = (), "websocket", registration or "websocket"
        else:  # api_route, route, add_api_route, add_route
            mexpr = call.kwarg("methods")
            if mexpr is None and method in ("route", "add_route") and len(call.args) > 2 and path_index == 0:
                mexpr = call.args[2] if method == "add_route" else None
            if mexpr is None:
                methods = ("GET",)
            else:
                names = self.interp.str_list(mexpr, env)
                methods = tuple(sorted({m.upper() for m in names})) if names else ("GET",)
                if not names:
                    self.interp.note(f"methods `{render(mexpr)}`", "not a literal list", env.module, loc.line)
            kind = "http"
            reg = registration or method
        call_env = None if handler is not None and env == handler.env else env
        info.routes.append(RouteReg(info.inst.site, path, path_expr, methods, kind, call, handler, loc, reg,
                                    conditions=self._conditions, env=call_env, order=order))

    def _param_root(self, expr: Expr, env: Env, depth: int = 0) -> VParam | None:
        """The helper parameter an attribute chain starts from (``api._router``; also through a local bound to
        one: ``router = api._router``), when it is not a method's ``self``: evaluated again at each call of the
        helper, the chain may name the router the caller passes inside an object."""
        while isinstance(expr, Attr):
            expr = expr.value
        if not isinstance(expr, Name) or not env.functions or depth > 2:
            return None
        v = self.interp.eval(expr, env)
        if isinstance(v, VParam):
            return None if is_self(v) else v
        entries = self.interp.local_names(env.functions[-1]).get(expr.id)
        if entries and entries[-1][1] == "assign" and entries[-1][2].value is not None:  # type: ignore[union-attr]
            return self._param_root(entries[-1][2].value, env, depth + 1)  # type: ignore[union-attr]
        return None

    def _stmt_call(self, call: Call, env: Env, loc: Loc) -> None:
        if isinstance(call.func, Call):
            self._decorator_called(call, env, loc)
            return
        if not isinstance(call.func, Attr):
            return
        method = call.func.attr
        if method in self.wrappers.names() and self._wrapped(call, env, loc):
            return
        if method not in ("include_router", "add_api_route", "add_api_websocket_route", "mount", "add_middleware",
                          "add_route", "add_websocket_route", "api_route"):
            return
        recv = self.interp.eval(call.func.value, env)
        if isinstance(recv, VUnknown):  # ``api.router.add_api_route(...)``: an attribute of what a helper is given
            recv = self._param_root(call.func.value, env) or recv
        if isinstance(recv, VParam):  # a helper's parameter: what each call passes
            self.sites.at_each_call(recv, env, f"`{render(call.func)}(...)`", loc, lambda e: self._stmt_call(call, e, loc))
            return
        info = self._router_here(recv, env)
        if info is None:
            if isinstance(recv, VUnknown) and method == "include_router":
                self.interp.note(f"`{render(call.func)}(...)`", recv.reason, env.module, loc.line)
            return
        if method == "include_router":
            child_expr = call.arg(0, "router")
            child = self.interp.eval(child_expr, env)
            if isinstance(child, VParam):  # ``def create_app(router): app.include_router(router)``: what each call passes
                # placed where the helper is called, unless the app is its own (then it runs in the app's frame)
                own = isinstance(recv, VInst) and recv.env is not None and (recv.env.module, frame_of(recv.env)) == (
                    env.module, frame_of(env))
                self.sites.at_each_call(child, env, f"included router `{render(child_expr)}`", loc,
                                        lambda e: self._stmt_call(call, e, loc), places=not own)
                return
            child_info = self.router_of(child)
            if child_info is None:
                self.interp.note(f"included router `{render(child_expr)}`", why(child), env.module, loc.line)
                return
            pexpr = call.kwarg("prefix")
            prefix: str | None = ""
            if pexpr is not None:
                pv = self.interp.eval(pexpr, env)
                if isinstance(pv, VConst) and isinstance(pv.value, str):
                    prefix = pv.value
                else:
                    prefix = None
                    self.interp.note(f"include prefix `{render(pexpr)}`", why(pv), env.module, loc.line)
            info.includes.append(Include(info.inst.site, child_info.inst.site, prefix, pexpr, call, env, loc,
                                         child if isinstance(child, VInst) else None, self._conditions,
                                         self.sites.via + (self._spot(env, loc),)))
        elif method in ("add_api_route", "add_route"):
            endpoint = self.interp.eval(call.arg(1, "endpoint"), env)
            handler = endpoint if isinstance(endpoint, VFunc) else None
            if handler is None:
                self.interp.note(f"endpoint of `{render(call.func)}`", why(endpoint), env.module, loc.line)
                return
            self._add_route(info, "add_api_route" if method == "add_api_route" else "route", call, handler, env, loc,
                            registration=method, order=self.sites.via + (self._spot(env, loc),))
        elif method in ("add_api_websocket_route", "add_websocket_route"):
            endpoint = self.interp.eval(call.arg(1, "endpoint"), env)
            if isinstance(endpoint, VFunc):
                self._add_route(info, "websocket", call, endpoint, env, loc, registration=method,
                                order=self.sites.via + (self._spot(env, loc),))
        elif method == "mount":
            pexpr = call.arg(0, "path")
            pv = self.interp.eval(pexpr, env)
            target = self.interp.eval(call.arg(1, "app"), env)
            kind = "other"
            name = render(call.arg(1, "app"))
            if isinstance(target, VInst):
                if self.is_app_class(target.cls) or ext_name(target.cls) == "starlette.Starlette":
                    kind = "app"
                elif "StaticFiles" in (ext_name(target.cls) or ""):
                    kind = "static"
            path = pv.value if isinstance(pv, VConst) and isinstance(pv.value, str) else render(pexpr)
            sub = self.router_of(target) if kind == "app" else None
            sub_id = f"{sub.inst.site[0]}:{self.app_name(sub)}" if sub is not None and sub.is_app else ""
            info.mounts.append(Mount(path, name, kind, loc, sub_id))
        elif method == "add_middleware":
            cls = self.interp.eval(call.arg(0, "middleware_class"), env)
            name = cls.qualname if isinstance(cls, (VExt, VClass)) else render(call.arg(0, "middleware_class"))
            opts = tuple((k, render(v)) for k, v in call.kwargs)
            values = tuple((k, self.interp.const(v, env)) for k, v in call.kwargs)
            info.middleware.append(Middleware(canonical(name), "class", opts, loc, values))

    def _wrapped(self, call: Call, env: Env, loc: Loc) -> bool:
        """A call of a registration wrapper (``forwarders``) read as the registration it makes; False when
        ``call`` is not one."""
        found, made = self.wrappers.expand(call, env)
        if not found or self._inlining > 3:
            return False
        if made is None:
            self.interp.note(f"call of registration wrapper `{render(call.func)}`", "its arguments are not plain",
                             env.module, loc.line)
            return True
        self._inlining += 1
        try:
            self._stmt_call(made, env, loc)
        finally:
            self._inlining -= 1
        return True

    def _decorator_called(self, call: Call, env: Env, loc: Loc) -> None:
        """``router.post("/x")(handler)``: a route decorator applied by hand, as a statement or assigned."""
        deco = call.func
        if not (isinstance(deco, Call) and isinstance(deco.func, Attr)):
            return
        method = deco.func.attr
        if method not in HTTP_METHODS and method not in ("api_route", "route", "websocket", "websocket_route", "middleware"):
            return
        recv = self.interp.eval(deco.func.value, env)
        if isinstance(recv, VParam):  # a helper's parameter: what each call passes
            self.sites.at_each_call(recv, env, f"`{render(deco.func)}(...)`", loc, lambda e: self._decorator_called(call, e, loc))
            return
        if method == "middleware":  # ``app.middleware("http")(auth_middleware)``: as the decorator registers it
            info, fn = self.router_of(recv), self._handler_before(call.arg(0, "func"), env, loc.line)
            if info is not None and isinstance(fn, VFunc):
                kind = render(deco.args[0]) if deco.args else ""
                info.middleware.append(Middleware(fn.qualname, "function", (("type", kind),), loc))
            return
        info = self.router_of(recv)
        if info is None:
            if isinstance(recv, VUnknown) and method in HTTP_METHODS and deco.args:
                self.interp.note(f"route decorator `{render(deco.func)}(...)`", recv.reason, env.module, loc.line)
            return
        target = call.arg(0, "func")
        handler = self._handler_before(target, env, loc.line)
        if not isinstance(handler, VFunc) or len(call.args) + len(call.kwargs) != 1:
            self.interp.note(f"handler of `{render(deco.func)}(...)`", why(handler), env.module, loc.line)
            return
        self._add_route(info, method, deco, handler, env, loc, order=self.sites.via + (self._spot(env, loc),))

    def _handler_before(self, expr: Expr | None, env: Env, line: int) -> Value:
        """The value of ``expr`` just before ``line``: ``h = router.get("/")(h)`` registers the ``def h``
        above it, not the name's last binding (the assignment itself)."""
        if isinstance(expr, Name) and line > 1:
            if env.functions:
                return self.interp.lookup(expr.id, env, line - 1)
            facts = self.interp.modules.get(env.module)
            entries = self.interp.symtab(facts.scope).get(expr.id) if facts is not None else None
            before = [e for e in entries or () if e[0] < line]
            if before and before[-1][1] == "func" and len(before) < len(entries or ()):
                return VFunc(before[-1][2], env)  # type: ignore[arg-type]
        return self.interp.eval(expr, env)

    # -- routes the framework or a library registers itself ------------------------
    def library_provider(self, v: Value) -> str | None:
        if not isinstance(v, VInst):
            return None
        return next((b for b in self.interp.bases(v.cls) if b in LIBRARY_ROUTERS), None)

    def library_router(self, v: VInst) -> RouterInfo | None:
        """A library's router (``GraphQLRouter(schema, path="/graphql")``): a router whose routes the
        library registers itself at ``path``; they have no project handler (``builtin_routes``)."""
        provider = self.library_provider(v)
        if provider is None or v.call is None:
            return None
        module, call = v.site[0], v.call
        env = v.env or Env(module)
        loc = Loc(self.interp.path_of(module), v.site[1], v.site[2] or 1)
        prefix, prefix_ok = "", True
        if (p := call.kwarg("prefix")) is not None:
            pv = self.interp.eval(p, env)
            prefix_ok = isinstance(pv, VConst) and isinstance(pv.value, str)
            prefix = pv.value if prefix_ok else ""  # type: ignore[union-attr,assignment]
            if not prefix_ok:
                self.interp.note(f"router prefix `{render(p)}`", why(pv), module, call.line)
        info = RouterInfo(v, False, v.bound_name or render(call.func), loc, prefix,
                          self.deps.dep_list(call.kwarg("dependencies"), env, loc), self.interp.str_list(call.kwarg("tags"), env),
                          prefix_ok=prefix_ok)
        path_expr = call.arg(1, "path")
        path: str | None = ""
        if path_expr is not None:
            pv = self.interp.eval(path_expr, env)
            path = pv.value if isinstance(pv, VConst) and isinstance(pv.value, str) else None
            if path is None:
                self.interp.note(f"route path `{render(path_expr)}`", why(pv), module, call.line)
        for method, kind in LIBRARY_ROUTERS[provider]:
            info.routes.append(RouteReg(v.site, path, path_expr, (method,) if method else (), kind, call, None, loc,
                                        "library"))
        self.routers[v.site] = info
        return info

    def builtin_routes(self, info: RouterInfo, flat: list[FlatRoute]) -> tuple[BuiltinRoute, ...]:
        """What an app serves without a project handler: FastAPI's docs pages and library routes."""
        out = self.docs_routes(info)
        for f in flat:
            if f.reg.registration != "library":
                continue
            owner = self.routers[f.reg.router]
            out.append(BuiltinRoute(f.reg.methods, f.path, f.reg.kind, "library", self.library_provider(owner.inst) or "",
                                    owner.loc, f.chain, tuple(self.deps.dep_label(v) for v, _, _ in f.deps),
                                    not f.path_ok))
        return tuple(sorted(out, key=lambda r: (r.path, r.methods, r.kind)))

    def docs_routes(self, info: RouterInfo) -> list[BuiltinRoute]:
        """FastAPI's OpenAPI document and docs pages, where the app's constructor puts them (no docs
        page without the OpenAPI document; no OAuth2 redirect page without Swagger UI). A keyword that
        does not resolve (or ``**options``) makes its pages unknown: they are noted, not guessed."""
        call, module = info.inst.call, info.inst.site[0]
        env = info.inst.env or Env(module)
        urls: dict[str, str | None] = {}
        unknown: set[str] = set()
        for keyword, default, _ in DOCS_URLS:
            e = call.kwarg(keyword) if call is not None else None
            if e is None:
                if call is not None and call.starred:
                    unknown.add(keyword)  # ``FastAPI(**settings)``: already noted as such
                urls[keyword] = default
                continue
            v = self.interp.eval(e, env)
            if isinstance(v, VConst) and (v.value is None or isinstance(v.value, str)):
                urls[keyword] = v.value or None
            else:
                unknown.add(keyword)
                self.interp.note(f"docs route `{keyword}={render(e)}`", why(v), module, call.line if call else info.loc.line)
        needs = {"openapi_url": ("openapi_url",), "docs_url": ("openapi_url", "docs_url"),
                 "swagger_ui_oauth2_redirect_url": ("openapi_url", "docs_url", "swagger_ui_oauth2_redirect_url"),
                 "redoc_url": ("openapi_url", "redoc_url")}
        out = []
        for keyword, _, provider in DOCS_URLS:
            if any(k in unknown for k in needs[keyword]) or not all(urls[k] for k in needs[keyword]):
                continue
            out.append(BuiltinRoute(("GET", "HEAD"), urls[keyword] or "", "http", "docs", provider, info.loc))
        return out

    # -- include chains ----------------------------------------------------------
    def instance_options(self, v: VInst | None) -> "RouterOptions | None":
        """The options of the router one call of a factory makes, when that call's arguments decide
        them (``include_router(make_router("github"))``, the factory doing ``APIRouter(prefix=f"/{name}")``);
        None when they are the router's own (see ``router_of``)."""
        if v is None or v.env is None or not v.env.bound or v.call is None:
            return None
        opts = self.classes.options(v)  # the call's arguments through the class's ``__init__`` chain
        get = opts.get if opts.changed else opts.values.get
        prefix = ""
        pv = get("prefix")
        if pv is not None:
            if not (isinstance(pv, VConst) and isinstance(pv.value, str)):
                return None  # the router's own (unresolved) prefix stands, with its note
            prefix = pv.value
        loc = Loc(self.interp.path_of(v.site[0]), v.site[1], v.site[2] or 1)
        what = f"`{render(v.call.func)}(...)`"
        return RouterOptions(prefix, self._deps(get("dependencies"), what, v.site[0], v.call.line or v.site[1], loc),
                             self._strs(get("tags")), self._flag(get("include_in_schema"), True),
                             self._flag(get("deprecated"), False))

    def flatten(self, key: tuple[str, int, int], stack: tuple[tuple[str, int, int], ...] = (),
                made: "RouterOptions | None" = None) -> list[FlatRoute]:
        """The routes reachable from a router, with the prefixes, dependencies and tags above them
        (``made``: the router's options as the call that made it gives them, see ``instance_options``)."""
        info = self.routers[key]
        if key in stack:
            self.interp.note(f"router `{info.name}`", "includes itself (directly or through others)", key[0], key[1])
            return []
        out = []
        opts = made or RouterOptions(info.prefix, info.deps, info.tags, info.include_in_schema, info.deprecated)
        own_deps = [(v, "app" if info.is_app else "router", loc) for v, _, loc in opts.deps]
        route_deps = [(v, "route", loc) for v, _, loc in info.route_deps]
        for reg in info.routes:
            path_ok = reg.path is not None and (made is not None or info.prefix_ok)
            path = opts.prefix + (reg.path or "")
            class_deps = [(v, "param", loc) for v, loc in reg.class_deps]
            out.append(FlatRoute(reg, path, path_ok, own_deps + route_deps + class_deps, opts.tags, (),
                                 opts.include_in_schema, opts.deprecated, opts.prefix, reg.conditions, reg.order))
        for inc in info.includes:
            child = self.routers.get(inc.child)
            if child is None:
                continue
            kw_deps = self.deps.dep_list(inc.call.kwarg("dependencies"), inc.env, inc.loc)
            inc_tags = self.interp.str_list(inc.call.kwarg("tags"), inc.env)
            in_schema = self.interp.bool_kw(inc.call, "include_in_schema", inc.env, True)
            deprecated = self.interp.bool_kw(inc.call, "deprecated", inc.env, False)
            step = IncludeStep(
                parent=info.name, child=shown(render(inc.call.arg(0, "router"))) or child.name, prefix=inc.prefix if inc.prefix is not None else render(inc.prefix_expr),
                path=inc.loc.path, line=inc.loc.line,
                dependencies=tuple(self.deps.dep_label(v) for v, _, _ in kw_deps), tags=inc_tags,
                condition=" and ".join(inc.conditions),
            )
            inc_deps = [(v, "include", loc) for v, _, loc in kw_deps]
            for f in self.flatten(inc.child, stack + (key,), self.instance_options(inc.child_inst)):
                out.append(FlatRoute(
                    f.reg, opts.prefix + (inc.prefix or "") + f.path, f.path_ok and inc.prefix is not None,
                    own_deps + inc_deps + f.deps, opts.tags + inc_tags + f.tags, (step,) + f.chain,
                    opts.include_in_schema and in_schema and f.in_schema, opts.deprecated or deprecated or f.deprecated,
                    f.router_prefix, inc.conditions + f.conditions, inc.order + f.order,
                ))
        return out

    def app_name(self, info: RouterInfo) -> str:
        # prefer a module-level binding of the app (``app = create_app()``)
        for name in sorted(self.interp.modules):
            facts = self.interp.modules[name]
            for a in facts.scope.assigns:
                if "." in a.target or not isinstance(a.value, Call):
                    continue
                v = self.interp.lookup(a.target, Env(name))
                if isinstance(v, VInst) and v.site == info.inst.site:
                    info.loc = Loc(facts.path, a.pos.line, a.pos.col)
                    return a.target
        return info.inst.bound_name or "app"

    def app_loc(self, info: RouterInfo) -> Loc:
        return info.loc


def _on_self(e: Expr) -> bool:
    """``self.something``."""
    return isinstance(e, Attr) and isinstance(e.value, Name) and e.value.id == "self"
