"""Where the project calls its own functions, and what a function's parameters are at each call.

A registration inside a helper that receives the app or router as a parameter
(``def add_routers(app): app.include_router(api)``, called by the app factory) has no receiver of
its own: it registers on whatever each caller passes. ``CallSites.rebind`` gives, for a parameter
read in a function's body, one env per call of that function in the project, the call's arguments
bound to the parameters, so the registration can be worked out once per call. While it is, ``via``
holds where the calls that led there run (``Spot``s, outermost first): the registration takes its place
in its router's list where the helper is called, not where the helper is defined.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi_arch_lint.link.interpreter import Interpreter
from fastapi_arch_lint.link.values import Env, VClass, VFunc, VParam, is_self
from fastapi_arch_lint.model.app import Loc, Spot
from fastapi_arch_lint.model.expr import Attr, Call, Name
from fastapi_arch_lint.model.paths import is_test_path

MAX_SITES = 250  # calls of one function followed (also in all through helpers); beyond it the registration is noted
# helpers followed through helpers: ``lifespan(app)`` -> ``init_routers(app)`` -> ``app.include_router(...)``
MAX_DEPTH = 3
# the app classes whose ``lifespan=`` FastAPI/Starlette call with the app itself at startup
LIFESPAN_APPS = frozenset({"FastAPI", "Starlette"})
STARTUP = "<startup>"  # the frame of a call the framework makes at startup (``lifespan``), after every import
AFTER_IMPORT = 1 << 30  # its line, so that what it registers sorts after what the module registers


def frame_of(env: Env) -> str:
    """The function body a statement of ``env`` runs in (its qualified name and line), "" at module level
    (a class body runs where the class statement is)."""
    if not env.functions:
        return ""
    f = env.functions[-1]
    return f"{f.qualname}@{f.pos.line}"


def _tail(call: Call) -> str:
    f = call.func
    return f.attr if isinstance(f, Attr) else f.id if isinstance(f, Name) else ""


class CallSites:
    def __init__(self, interp: Interpreter) -> None:
        self.interp = interp
        self._by_name: dict[str, list[tuple[Call, Env]]] | None = None
        self._rebinding = 0  # helpers whose calls a registration is being worked out at, nested
        self._startup: set[int] = set()  # ids of the calls the framework makes at startup (``lifespan``)
        # while a registration in a helper is worked out at one of its calls: where that call (and the
        # calls of helpers that passed the app or router on to it) runs, outermost first
        self.via: tuple[Spot, ...] = ()

    def _index(self) -> dict[str, list[tuple[Call, Env]]]:
        """Every call made as a statement or assigned, in every scope, by the name it calls."""
        if self._by_name is None:
            index: dict[str, list[tuple[Call, Env]]] = {}
            for scope, env in self.interp.all_scopes():
                # each call in the env of its statement: a name bound twice in the scope (``router = APIRouter()``
                # in both branches of an ``if``) is the binding made before the call, as the running code sees it
                for sc in scope.calls:
                    index.setdefault(_tail(sc.call), []).append((sc.call, self.interp.at_statement(env, sc.pos.line)))
                for a in scope.assigns:
                    if isinstance(a.value, Call):
                        index.setdefault(_tail(a.value), []).append((a.value, self.interp.at_statement(env, a.pos.line)))
                        self._lifespan_call(a.target, a.value, env, index, self._startup)
            self._by_name = index
        return self._by_name

    @staticmethod
    def _lifespan_call(target: str, call: Call, env: Env, index: dict[str, list[tuple[Call, Env]]],
                       startup: set[int]) -> None:
        """``app = FastAPI(lifespan=lifespan)``: at startup the framework calls ``lifespan(app)``, so a
        registration in the lifespan (``init_routers(app)``) is made on this app. Recorded as that call."""
        span = call.kwarg("lifespan")
        if not target or span is None or _tail(call) not in LIFESPAN_APPS or not isinstance(span, (Name, Attr)):
            return
        name = span.attr if isinstance(span, Attr) else span.id
        made = Call(span, (Name(target),), (), call.line, call.col)
        startup.add(id(made))
        index.setdefault(name, []).append((made, env))

    def calls_of(self, fn: VFunc) -> list[tuple[Call, Env]]:
        """The calls of ``fn`` in the project (a statement or an assignment), with the env each is in; for a
        method, also its calls through ``self`` in the methods of its class, its bases and its subclasses,
        and for an ``__init__`` the calls of the classes it makes instances of."""
        out = []
        for call, env in self._index().get(fn.fact.name, ()):
            target = self.interp.eval(call.func, env)
            if isinstance(target, VFunc) and target.fact is fn.fact or self._self_call(fn, call, env):
                out.append((call, env))
        owner = self.interp.project.owner(fn.fact) if fn.fact.name == "__init__" else None
        for cls in [owner, *self.interp.subclasses(owner)] if owner is not None else ():
            for call, env in self._index().get(cls.fact.name, ()):  # ``Resource(router)`` runs its ``__init__``
                made = self.interp.eval(call.func, env)
                init = self.interp.class_attr(made, "__init__", True) if isinstance(made, VClass) else None
                if isinstance(init, VFunc) and init.fact is fn.fact and (call, env) not in out:
                    out.append((call, env))
        return out

    def _self_call(self, fn: VFunc, call: Call, env: Env) -> bool:
        """Whether ``call`` is ``self.name(...)`` in a method of a class whose instances this calls ``fn``
        on: the caller's own class finds ``fn`` by attribute lookup, or ``fn``'s class subclasses the
        caller's and finds it first (an override that an inherited method calls)."""
        f = call.func
        if not (isinstance(f, Attr) and isinstance(f.value, Name) and env.functions and fn.fact.is_method):
            return False
        caller = env.functions[-1]
        if not (caller.is_method and caller.params and caller.params[0].name == f.value.id != "cls"):
            return False
        mine, theirs = self.interp.project.owner(caller), self.interp.project.owner(fn.fact)
        if mine is None or theirs is None:
            return False
        for cls in (mine, theirs) if mine.qualname in self.interp.bases(theirs) else (mine,):
            found = self.interp.class_attr(cls, f.attr, True)
            if isinstance(found, VFunc) and found.fact is fn.fact:
                return True
        return False

    def spot(self, call: Call, env: Env) -> Spot:
        """Where ``call``, made in ``env``, runs (a ``lifespan`` call: at startup, after the imports)."""
        if id(call) in self._startup:
            return (self.interp.path_of(env.module), AFTER_IMPORT, 0, 0, STARTUP)
        return (self.interp.path_of(env.module), call.line, call.col, 0, frame_of(env))

    def rebind(self, param: VParam, env: Env) -> list[tuple[Env, Spot]] | None:
        """``env`` once per call of the function ``param`` belongs to, that call's arguments bound, with
        where the call runs; None when the function is not one of ``env``'s or is called too often to follow."""
        fact = param.func.fact
        index = next((i for i, f in enumerate(env.functions) if f is fact), None)
        if index is None:
            return None
        fn = VFunc(fact, env.outer(index), param.func.cls)
        sites = self.calls_of(fn)
        if len(sites) > MAX_SITES:
            return None
        return [(Env(env.module, env.functions, env.bound + self.interp.bind(fn, call, site_env)), self.spot(call, site_env))
                for call, site_env in sites]

    def _through_helpers(self, param: VParam, env: Env, depth: int) -> list[tuple[Env, tuple[Spot, ...]]] | None:
        """``rebind``, and where a call passes on its own caller's parameter (``startup(app)`` inside
        ``lifespan(app)``), that caller's calls in turn, up to ``MAX_DEPTH`` helpers: each env binds
        ``param`` to an argument whose own parameters are bound, down to the value the outermost call passes;
        with where the calls run, outermost first."""
        envs = self.rebind(param, env)
        if envs is None:
            return None
        out: list[tuple[Env, tuple[Spot, ...]]] = []
        for e, spot in envs:
            fresh = e.bound[len(env.bound):]  # what ``rebind`` added for this call
            entry = next((b for b in fresh if b[1] == param.name), None)
            outer = self.interp.eval(entry[2], entry[3]) if entry is not None else None
            if not isinstance(outer, VParam) or outer.func.fact is param.func.fact or is_self(outer):
                # a method's ``self`` (``register_all(self)``) is the instance: its attributes are known there
                out.append((e, (spot,)))
                continue
            if depth >= MAX_DEPTH:
                continue
            for env2, via in self._through_helpers(outer, entry[3], depth + 1) or ():
                kept = tuple(b for b in e.bound if b is not entry)
                out.append((Env(e.module, e.functions, kept + ((entry[0], entry[1], entry[2], env2),)), via + (spot,)))
            if len(out) > MAX_SITES:
                return None  # the calls multiply through the helpers: too many to follow
        return out

    def at_each_call(self, param: VParam, env: Env, what: str, loc: Loc, register: Callable[[Env], object],
                     places: bool = True) -> None:
        """Work a registration on a helper's parameter out once per call of the helper, its arguments bound
        (through up to ``MAX_DEPTH`` helpers that pass it on from their own parameters; deeper, a helper never
        called or one called too often is noted). ``places``: the parameter is what it registers on, so it
        runs where the helper is called (``via``); not so for what it registers (``app.include_router(router)``
        on an app of its own)."""
        fact = param.func.fact
        if fact.is_method and fact.params and fact.params[0].name == param.name:
            return  # ``self.include_router(...)``: what a router class registers on itself (registrations)
        reason = ""
        envs = self._through_helpers(param, env, 1) if not self._rebinding else []
        if self._rebinding:
            reason = f"registers on parameter `{param.name}`, which its callers pass on from their own parameters"
        elif envs is None:
            reason = f"registers on parameter `{param.name}` of `{fact.name}`, called too often to follow"
        elif not envs:
            if is_test_path(self.interp.path_of(env.module)):
                return  # a test registering on its fixture's app: pytest calls it
            reason = f"registers on parameter `{param.name}` of `{fact.name}`, and no call of it was found"
        if reason:
            self.interp.note(what, reason, env.module, loc.line)
            return
        self._rebinding += 1
        try:
            for e, via in envs or ():
                self.via = via if places else ()
                register(e)
        finally:
            self._rebinding -= 1
            self.via = ()
