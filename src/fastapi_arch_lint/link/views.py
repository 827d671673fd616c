"""Class-based views: classes whose methods are routes.

FastAPI registers a method decorated with ``@router.get(...)`` in a class body when the class body runs,
as a plain function: ``self`` is then a query parameter. A class-based-view decorator (``@cbv(router)`` of
``fastapi_utils``/``fastapi_restful``, or a project decorator doing the same) rewrites each such route so
that ``self`` is ``Depends(TheClass)``, whose parameters are the class's annotated attributes (inherited
ones too): an attribute ``user: User = Depends(current_user)`` is a dependency of every route of the
class, and its auth guards them. Extra arguments (``cbv(router, "/items")``) are URLs at which methods
named after HTTP methods are registered.

A project decorator is recognised by what it does, not by its name: it is called with a router, and the
functions it runs (its body, the functions defined in it and the project functions they call) replace a
signature (``__signature__``) and make a ``Depends(...)``. One that takes a router but shows no such
rewriting is reported as unresolved: its routes are registered, without the class's dependencies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi_arch_lint.link.dependencies import Dependencies
from fastapi_arch_lint.link.interpreter import Interpreter
from fastapi_arch_lint.link.knowledge import CBV_DECORATORS
from fastapi_arch_lint.link.routerclasses import RouterClasses
from fastapi_arch_lint.link.values import (
    Value,
    VAnnotated,
    VClass,
    VConst,
    VFunc,
    VGeneric,
    VInst,
    VModule,
    ext_name,
)
from fastapi_arch_lint.model.app import Loc
from fastapi_arch_lint.model.expr import (
    Call,
    Const,
    Name,
    render,
)
from fastapi_arch_lint.model.facts import FieldFact, FunctionFact

MAX_REACH = 40  # functions looked at to tell what a project class decorator does
MAX_REACH_DEPTH = 3
_CLASSVAR = ("typing.ClassVar",)


@dataclass(slots=True)
class View:
    """A class decorated as a class-based view on ``router``."""

    decorator: str  # the decorator as written, for messages
    line: int  # where it is
    router: Value  # what the decorator was given
    rewrites_self: bool  # known to turn ``self`` into ``Depends(cls)`` (else: unresolved)
    # which class attributes become parameters: "annotated" (``get_type_hints``, the libraries), "all"
    # (a project decorator reading the class's ``__dict__``), "" (not seen: annotated ones, unannotated noted)
    reads: str = "annotated"
    urls: tuple[str, ...] = ()  # methods named after HTTP methods are routes at these URLs
    deps: list[tuple[Value, Loc]] = field(default_factory=list)  # the class attributes' dependencies


class ClassViews:
    def __init__(self, interp: Interpreter, deps: Dependencies, classes: RouterClasses) -> None:
        self.interp = interp
        self.deps = deps
        self.classes = classes
        self._rewrites: dict[tuple[int, str], tuple[bool, bool]] = {}

    def view_of(self, cls: VClass, is_router: Callable[[Value], bool]) -> View | None:
        """The class-based-view decorator on ``cls``, if any: the first decorator called with a router
        (``is_router(value)`` tells) that the library provides or the project writes."""
        for d in cls.fact.decorators:
            expr = d.expr
            if not isinstance(expr, Call) or expr.arg(0, "router") is None:
                continue
            router = self.interp.eval(expr.arg(0, "router"), cls.env)
            if not is_router(router):
                continue
            func = self._callee(self.interp.eval(expr.func, cls.env), expr)
            urls: list[str] = []
            for a in expr.args[1:] if expr.kwarg("router") is None else expr.args:
                u = self.interp.eval(a, cls.env)
                if isinstance(u, VConst) and isinstance(u.value, str):
                    urls.append(u.value)
                else:
                    self.interp.note(f"URL `{render(a)}` of `@{render(expr.func)}(...)`", "not a constant",
                                     cls.env.module, d.pos.line)
            if ext_name(func) in CBV_DECORATORS:
                view = View(render(expr.func), d.pos.line, router, True, urls=tuple(urls))
            elif isinstance(func, VFunc):
                rewrites, registers, reads = self._what_it_does(func)
                view = View(render(expr.func), d.pos.line, router, rewrites, reads, tuple(urls) if registers else ())
                if rewrites and urls and not registers:
                    self.interp.note(f"URLs of `@{render(expr.func)}(...)` on `{cls.fact.name}`",
                                     "the decorator is not seen registering routes at them", cls.env.module, d.pos.line)
            else:
                continue
            if view.rewrites_self:
                view.deps = self.class_deps(cls, view.reads)
            return view
        return None

    def _callee(self, func: Value, expr: Call) -> Value:
        """``from .views import *`` in a package's ``__init__`` binds ``views`` (the function star-imported from
        the submodule ``views``) over the submodule: the interpreter answers the submodule; the function wins."""
        if isinstance(func, VModule) and isinstance(expr.func, Name) and func.name.rsplit(".", 1)[-1] == expr.func.id:
            inner = self.interp.module_attr(func.name, expr.func.id)
            if isinstance(inner, VFunc):
                return inner
        return func

    # -- the class's dependencies ---------------------------------------------------
    def class_deps(self, cls: VClass, reads: str = "annotated") -> list[tuple[Value, Loc]]:
        """The ``Depends``/``Security`` markers of the class's annotated attributes, inherited ones too
        (what ``typing.get_type_hints`` of the class gives, minus ``ClassVar`` and ``_private`` names); with
        ``reads`` "all", unannotated attributes holding a marker too; with "" they are noted."""
        chain = self.classes.mro(cls)
        if chain is None:
            self.interp.note(f"class-based view `{cls.fact.name}`", "its class hierarchy is not known: the "
                             "dependencies of inherited attributes are not applied", cls.env.module, cls.fact.pos.line)
            chain = [cls]
        annotated: dict[str, tuple[VClass, FieldFact]] = {}
        valued: dict[str, tuple[VClass, FieldFact]] = {}
        for c in chain:
            if not isinstance(c, VClass):
                continue
            for f in c.fact.fields:
                if (f.annotation is not None or reads != "annotated") and f.name not in annotated:
                    annotated[f.name] = (c, f)
                if f.value is not None and f.name not in valued:
                    valued[f.name] = (c, f)
        out: list[tuple[Value, Loc]] = []
        for name, (c, f) in annotated.items():
            if name.startswith("_"):
                continue
            if f.annotation is None:  # a project decorator that may read unannotated attributes
                got = self.deps.marker_of(self.interp.eval(f.value, c.env)) if f.value is not None else None
                if got is not None and got[0] in ("dependency", "security") and reads == "all":
                    out.append((got[1], Loc(self.interp.path_of(c.env.module), f.pos.line, f.pos.col)))
                elif got is not None and got[0] in ("dependency", "security"):
                    self.interp.note(f"attribute `{name}` of `{cls.fact.name}`", "not annotated: whether the class "
                                     "decorator makes it a dependency is not known", c.env.module, f.pos.line)
                continue
            ann = self.interp.annotation(f.annotation, c.env)
            if ext_name(ann) in _CLASSVAR or (isinstance(ann, VGeneric) and ext_name(ann.base) in _CLASSVAR):
                continue
            marker: VInst | None = None
            if isinstance(ann, VAnnotated):
                for m in ann.meta:
                    got = self.deps.marker_of(m)
                    if got is not None:
                        marker = got[1]
            where, fact = c, f
            if name in valued:
                vc, vf = valued[name]
                default = self.interp.eval(vf.value, vc.env)
                got = self.deps.marker_of(default)
                if got is not None:
                    marker, where, fact = got[1], vc, vf
            if marker is None:
                continue
            kind = self.deps.marker_of(marker)
            if kind is None or kind[0] not in ("dependency", "security"):
                continue
            loc = Loc(self.interp.path_of(where.env.module), fact.pos.line, fact.pos.col)
            if marker.call is not None and marker.call.arg(0, "dependency") is None:
                # ``x: T = Depends()``: FastAPI calls the annotation; the marker is made to name it
                ann_expr = f.annotation  # ``get_type_hints``: the nearest annotation
                if ann_expr is None or isinstance(ann_expr, Const) or isinstance(ann, VAnnotated):
                    self.interp.note(f"attribute `{name}` of `{cls.fact.name}`", "`Depends()` without a callable "
                                     "on this annotation is not followed", where.env.module, loc.line)
                    continue
                c_ = marker.call
                marker = VInst(marker.cls, Call(c_.func, (ann_expr,), c_.kwargs, c_.line, c_.col), c.env, marker.site)
            out.append((marker, loc))
        return out

    # -- what a project decorator does ---------------------------------------------------
    def _what_it_does(self, func: VFunc) -> tuple[bool, bool, str]:
        """(rewrites ``self`` into a dependency, registers methods by name at URLs, which attributes it reads:
        see ``View.reads``), from the functions it runs."""
        key = (id(func.fact), func.env.module)
        got = self._rewrites.get(key)
        if got is not None:
            return got
        signature = depends = registers = False
        hints = members = False
        seen: set[tuple[int, str]] = set()
        todo: list[tuple[VFunc, int]] = [(func, 0)]
        while todo and len(seen) < MAX_REACH:
            fn, depth = todo.pop()
            k = (id(fn.fact), fn.env.module)
            if k in seen:
                continue
            seen.add(k)
            fact = fn.fact
            env = self.interp.body_env(fn)
            if any(a == "__signature__" or a.endswith(".__signature__") for a in fact.attributes) \
                    or any(a.target.endswith("__signature__") for a in fact.scope.assigns):
                signature = True
            last = {n.rsplit(".", 1)[-1] for n in fact.names | fact.attributes}
            hints = hints or bool(last & {"get_type_hints", "__annotations__", "get_annotations"})
            members = members or bool(last & {"vars", "__dict__"})
            for site in fact.calls:
                call = site.call
                if any(isinstance(a, Const) and a.value == "__signature__" for a in call.args):
                    signature = True
                if render(call.func).rsplit(".", 1)[-1] in ("api_route", "add_api_route"):
                    registers = True
                target = self.interp.eval(call.func, env)
                if ext_name(target) in ("fastapi.Depends", "fastapi.Security"):
                    depends = True
                elif ext_name(target) in CBV_DECORATORS:  # a wrapper of the library's decorator
                    signature = depends = hints = True
                elif isinstance(target, VFunc) and depth < MAX_REACH_DEPTH:
                    todo.append((target, depth + 1))
            for inner in _nested(fact):
                todo.append((VFunc(inner, env), depth))
        got = (signature and depends, registers, "annotated" if hints else "all" if members else "")
        self._rewrites[key] = got
        return got


def _nested(fact: FunctionFact) -> list[FunctionFact]:
    return list(fact.scope.functions)
