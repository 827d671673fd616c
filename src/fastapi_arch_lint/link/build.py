"""Link the per-file facts of a whole project into one ``AppModel``.

This module needs no LibCST: it interprets the plain facts. It is a small,
bounded abstract interpreter over module and function scopes:

* names resolve through local scopes, module globals, imports (relative ones
  too, re-exports in ``__init__`` modules) and star imports;
* calls to project classes make instances (an allocation site is an object's
  identity, so a router built by a factory is one router however often the
  factory is called); calls to project functions evaluate their ``return``;
* ``FastAPI()`` and ``APIRouter()`` instances (and subclasses) become apps and
  routers; route decorators, ``add_api_route``, ``include_router``, ``mount`` and
  middleware registrations in any scope attach to them;
* paths join exactly as FastAPI joins them (``parent.prefix + include prefix +
  router.prefix + path``), dependencies accumulate app -> include -> router ->
  route -> parameters, and the dependency tree gives each route its effective
  auth.

Whatever cannot be evaluated becomes an ``Unresolved`` entry with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fastapi_arch_lint.link.answers import attach
from fastapi_arch_lint.link.auth import AuthFinder
from fastapi_arch_lint.link.callgraph import CallGraph
from fastapi_arch_lint.link.dependencies import Dependencies
from fastapi_arch_lint.link.interpreter import Interpreter
from fastapi_arch_lint.link.knowledge import (
    SAME_OBJECT_ATTRS,
    canonical,
)
from fastapi_arch_lint.link.middleware import MiddlewareAuth
from fastapi_arch_lint.link.registrations import Registrations
from fastapi_arch_lint.link.routes import RouteBuilder
from fastapi_arch_lint.link.schema import Schema
from fastapi_arch_lint.link.values import (
    Env,
    VClass,
    VConst,
    VExt,
    VFunc,
    VInst,
    VSeq,
)
from fastapi_arch_lint.model.app import (
    App,
    AppModel,
    Function,
    Loc,
    Middleware,
    Module,
    Router,
)
from fastapi_arch_lint.model.expr import (
    BinOp,
    Const,
    FStr,
    render,
)
from fastapi_arch_lint.model.facts import CallSite, ModuleFacts


class Linker:
    """The linker: one interpreter and the components that read FastAPI into it, composed.

    Each component holds the ones it asks: ``schema`` (models, tables) and ``calls`` (the call graph)
    ask the interpreter; ``deps`` (parameters, markers) asks ``schema`` too; ``auth`` (hand-written
    credential checks) asks ``deps`` and ``calls``; ``middleware`` asks ``auth``; ``regs`` (apps,
    routers, registrations) asks ``deps``; ``routes`` builds each route from all of them.
    """

    def __init__(self, modules: Sequence[ModuleFacts],
                 auth_names: Mapping[str, Sequence[str]] | None = None) -> None:
        self.interp = Interpreter(modules, canonical=canonical, same_object_attrs=SAME_OBJECT_ATTRS)
        self.schema = Schema(self.interp)
        self.deps = Dependencies(self.interp, self.schema)
        self.calls = CallGraph(self.interp)
        self.auth = AuthFinder(self.interp, self.deps, self.calls, auth_names)
        self.middleware = MiddlewareAuth(self.interp, self.auth)
        self.regs = Registrations(self.interp, self.deps)
        self.routes = RouteBuilder(self.interp, self.schema, self.deps, self.auth)

    # -- the whole model ---------------------------------------------------------
    def link(self) -> AppModel:
        self.regs.scan()
        apps: list[App] = []
        used_names: dict[str, int] = {}
        for key in sorted(self.regs.routers):
            info = self.regs.routers[key]
            if not info.is_app:
                continue
            module = key[0]
            name = self.regs.app_name(info)
            app_id = f"{module}:{name}"
            if app_id in used_names:
                used_names[app_id] += 1
                app_id = f"{app_id}#{used_names[app_id]}"
            else:
                used_names[app_id] = 1
            # a registration without a handler makes no route (a library's routes are ``builtin_routes``)
            every = self.regs.flatten(key)
            flat = [f for f in every if f.reg.handler is not None]
            # registration order: FastAPI (0.165 ``_IncludedRouter``) matches an app's route list in order,
            # an included router standing where its ``include_router()`` call is and trying its own
            # routes (decorators and includes, in call order) lazily. Sorting each route by where its
            # include calls, then its registration, run (``FlatRoute.order``: a call in a helper that
            # receives the app or router where the helper is called; stacked decorators from the ``def``
            # outwards) gives that depth-first order. Positions compare as (file, line): exact within one
            # function body of one file, arbitrary across files (``Route.order_key`` keeps them).
            # (Known before the routes are built, so each is built with its order.)
            orders = [0] * len(flat)
            for n, i in enumerate(sorted(range(len(flat)), key=lambda i: flat[i].order)):
                orders[i] = n
            routes = []
            for i, f in enumerate(flat):
                r = self.routes.build_route(app_id, f, orders[i])
                if r is not None:
                    routes.append(r)
            routes.sort(key=lambda r: (r.path, r.methods, r.kind, r.handler.path, r.handler.line))
            call = info.inst.call
            options: list[tuple[str, object]] = []
            middleware = list(info.middleware)
            if call is not None:
                env = info.inst.env or Env(module)
                for k, e in call.kwargs:
                    if k in ("debug", "docs_url", "redoc_url", "openapi_url", "title", "version", "root_path"):
                        options.append((k, self.interp.const(e, env)))
                mw = call.kwarg("middleware")
                if mw is not None:
                    mv = self.interp.eval(mw, env)
                    if isinstance(mv, VSeq):
                        for item in mv.items:
                            if isinstance(item, VInst) and item.call is not None and item.call.args:
                                cls = self.interp.eval(item.call.args[0], item.env or env)
                                cname = cls.qualname if isinstance(cls, (VExt, VClass)) else render(item.call.args[0])
                                middleware.append(Middleware(
                                    canonical(cname), "class", tuple((k, render(v)) for k, v in item.call.kwargs),
                                    Loc(self.interp.path_of(item.site[0]), item.site[1], item.site[2] or 1),
                                    tuple((k, self.interp.const(v, item.env or env)) for k, v in item.call.kwargs)))
            apps.append(App(
                id=app_id, name=name, loc=self.regs.app_loc(info), routes=tuple(routes), mounts=tuple(info.mounts),
                middleware=tuple(middleware), dependencies=tuple(self.deps.dep_label(v) for v, _, _ in info.deps),
                options=tuple(options), factory=info.factory, builtin_routes=self.regs.builtin_routes(info, every),
            ))
        apps = self.middleware.middleware_auth(apps)
        routers = [
            Router(f"{k[0]}:{k[1]}", i.name, i.inst.cls.qualname, i.prefix, i.tags,
                   tuple(self.deps.dep_label(v) for v, _, _ in i.deps), i.loc, i.is_app)
            for k, i in sorted(self.regs.routers.items())
        ]
        models, tables = self.schema.build_models()
        functions: dict[str, Function] = {}
        by_qualname = {fv.qualname: fv for fv, _ in self.interp.all_functions()}
        for fv, cls_name in self.interp.all_functions():
            env = self.interp.body_env(fv)  # once per function, not per call site
            calls = tuple((site, self.calls.safe_callee(fv, site.call, env)) for site in fv.fact.calls)
            functions[fv.qualname] = Function(fv.qualname, fv.env.module, self.interp.path_of(fv.env.module), fv.fact,
                                              calls, cls_name, self._ruled_out(calls, by_qualname, env))
        classes = {}
        class_bases = {}
        for cls, path in self.interp.all_classes():
            classes[cls.qualname] = (path, cls.fact)
            class_bases[cls.qualname] = self.interp.bases(cls)[1:]
        constants: dict[str, object] = {}
        for name in sorted(self.interp.modules):
            for a in self.interp.modules[name].scope.assigns:
                if a.target and "." not in a.target and isinstance(a.value, (Const, FStr, BinOp)):
                    v = self.interp.eval(a.value, Env(name))
                    if isinstance(v, VConst):
                        constants[f"{name}.{a.target}"] = v.value
        unresolved = sorted(self.interp.unresolved.values(), key=lambda u: (u.path, u.line, u.what))
        mods = tuple(Module(m.module, m.path, m) for m in sorted(self.interp.modules.values(), key=lambda m: m.path))
        model = AppModel(
            apps=tuple(sorted(apps, key=lambda a: (a.loc.path, a.loc.line))), routers=tuple(routers),
            models=tuple(models), tables=tuple(tables), unresolved=tuple(unresolved), modules=mods,
            functions=functions, classes=classes, class_bases=class_bases, constants=constants,
        )
        return attach(self.interp, model)  # module- and class-level calls, and the answers about values

    def _ruled_out(self, calls: tuple[tuple[CallSite, str | None], ...], by_qualname: dict[str, VFunc],
                   env: Env) -> tuple[tuple[int, tuple[int, ...], tuple[int, ...]], ...]:
        """For each call of a project function whose arguments (or the defaults it leaves) decide some of
        the callee's ``if`` tests: the callee's calls and raises in the branches that never run then."""
        out: list[tuple[int, tuple[int, ...], tuple[int, ...]]] = []
        for i, (site, target) in enumerate(calls):
            callee = by_qualname.get(target) if target else None
            if callee is None or not callee.fact.guards:
                continue
            try:
                off_calls, off_raises = self.calls.ruled_out(
                    callee.fact, self.calls.folded(callee.fact, self.calls.call_env(callee, site.call, env)))
            except RecursionError:
                continue
            if off_calls or off_raises:
                out.append((i, tuple(sorted(off_calls)), tuple(sorted(off_raises))))
        return tuple(out)


def link(modules: Sequence[ModuleFacts], auth_names: Mapping[str, Sequence[str]] | None = None) -> AppModel:
    return Linker(modules, auth_names=auth_names).link()

