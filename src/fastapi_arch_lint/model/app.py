"""The linked whole-app model: what rules and reporters read.

Frozen dataclasses built by ``link`` from the per-file facts. Rules take
an ``AppModel`` and never see LibCST. Locations are ``(path, line, col)`` with
paths as shown to the user (relative to the working directory when possible).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from fastapi_arch_lint.model._init import fast_inits
from fastapi_arch_lint.model.expr import Call, Expr
from fastapi_arch_lint.model.facts import CallSite, ClassFact, FunctionFact, ModuleFacts


@dataclass(frozen=True, slots=True)
class Loc:
    path: str
    line: int
    col: int = 1


# Where a call that registers runs, for the order FastAPI tries routes in: (file, line, column, rank,
# frame). ``rank`` orders the route decorators of one function: Python applies them from the ``def``
# outwards, so the one nearest the ``def`` (rank 0) registers first; line and column are then those of
# the function's first decorator, the same for all. ``frame`` is the function body the call runs in
# (``qualname@line``, "" at module level, ``"<startup>"`` for what a ``lifespan`` registers when the
# app starts): two spots are in a known order only in the same frame of the same file.
Spot = tuple[str, int, int, int, str]


@dataclass(frozen=True, slots=True)
class Unresolved:
    """Something the model could not evaluate statically, with the reason."""

    what: str
    reason: str
    path: str
    line: int


@dataclass(frozen=True, slots=True)
class AuthVia:
    """One way a route is authenticated, and how it reaches the route."""

    kind: str  # "scheme" | "dependency" | "decorator" | "handler" | "middleware"
    name: str  # the scheme instance, dependency, decorator or middleware
    scheme: str  # the scheme class (``OAuth2PasswordBearer``) or the mechanism
    level: str  # "route" | "param" | "router" | "include" | "app"
    chain: tuple[str, ...]  # dependency names from the route down to ``name``
    path: str
    line: int
    scopes: tuple[str, ...] = ()
    optional: bool = False  # ``auto_error=False``: a missing credential is not rejected by the scheme
    # why a non-scheme way counts as auth: "reads request.headers['Authorization']; raises 401",
    # "configured in auth-decorators", "exempts /health, /login" (middleware)
    evidence: str = ""
    # a middleware's check of its own for this route's path (``if "/admin/" in request.url.path:`` then
    # another credential): the path fragment tested; who may call is then not "any authenticated user"
    apart: str = ""
    # a middleware that compares the credential with one value the deployment configures (a password or
    # token given to its constructor or read from settings) and identifies nobody: every caller holds the
    # same secret, so there are no users to tell apart
    shared_secret: bool = False

    def describe(self) -> str:
        through = " -> ".join(self.chain) if self.chain else self.name
        return f"{self.scheme} via {through} ({self.level})"


@dataclass(frozen=True, slots=True)
class Auth:
    """A route's effective authentication.

    ``required`` is true when any way of authenticating reaches the route: a security scheme in its
    dependency tree (what FastAPI puts in OpenAPI), a dependency that checks credentials by hand, a
    decorator on the handler, or a middleware that rejects unauthenticated requests to its path.
    ``via`` says which, one entry per way (``AuthVia.kind``).
    """

    required: bool
    via: tuple[AuthVia, ...] = ()

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.kind for v in self.via))

    @property
    def scheme(self) -> bool:
        """A security scheme reaches the route: what OpenAPI (and FastAPI's runtime table) can see."""
        return any(v.kind == "scheme" for v in self.via)


@dataclass(frozen=True, slots=True)
class DependencyUse:
    """A dependency as one route uses it (the tree is flattened, parents first)."""

    name: str  # qualified name of the callable (or scheme instance)
    kind: str  # "function" | "class" | "instance" | "scheme" | "unknown"
    level: str  # where it was attached: "route" | "param" | "router" | "include" | "app" | "sub"
    path: str
    line: int
    depth: int = 0
    security: bool = False  # ``Security(...)`` or a security scheme
    scopes: tuple[str, ...] = ()
    parent: str = ""
    is_async: bool | None = None
    use_cache: bool = True


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    source: str  # path | query | header | cookie | body | form | file | dependency | security | request | websocket | response | background | security_scopes | other
    annotation: str
    type_names: tuple[str, ...]  # qualified names of the types in the annotation
    required: bool
    default: str
    constraints: tuple[tuple[str, object], ...] = ()
    line: int = 0
    alias: str = ""
    dependency: str = ""  # for dependency/security params: the callable's qualified name

    def constraint(self, key: str) -> object | None:
        for k, v in self.constraints:
            if k == key:
                return v
        return None


@dataclass(frozen=True, slots=True)
class IncludeStep:
    """``parent.include_router(child, prefix=...)`` on one route's way to its app."""

    parent: str
    child: str
    prefix: str
    path: str
    line: int
    dependencies: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    # the ``if`` condition(s) the include_router() call runs under ("" when unconditional)
    condition: str = ""


@dataclass(frozen=True, slots=True)
class Handler:
    qualname: str  # module-qualified: ``app.routers.users.read_user``
    module: str
    path: str
    line: int
    col: int
    is_async: bool
    fact: FunctionFact


@dataclass(frozen=True, slots=True)
class Route:
    app: str  # the app's id
    methods: tuple[str, ...]
    path: str
    kind: str  # "http" | "websocket"
    handler: Handler
    router: str  # id of the router the route was registered on
    registered: Loc  # the decorator or add_api_route call
    status_code: int | None
    status_code_explicit: bool
    response_model: str | None
    response_model_types: tuple[str, ...]
    response_model_source: str | None  # "decorator" | "annotation" | None
    request_models: tuple[str, ...]
    tags: tuple[str, ...]
    dependencies: tuple[DependencyUse, ...]
    auth: Auth
    params: tuple[Param, ...]
    include_chain: tuple[IncludeStep, ...]
    include_in_schema: bool = True
    deprecated: bool = False
    registration: str = "decorator"  # "decorator" | "api_route" | "add_api_route" | "route" | "websocket"
    path_unresolved: bool = False
    response_class: str | None = None
    router_prefix: str = ""  # prefix contributed by the registering router itself
    # position in the app's matching order (0 = tried first): FastAPI/Starlette try routes in the
    # order they were registered, an included router in the place of its include_router() call
    order: int = 0
    # what ``order`` is worked out from: where each call that puts the route in its app's route list runs,
    # outermost first: each include_router() call, then the registration, each preceded by the calls of
    # the helpers it is made in when they receive the app or router (``def add_routers(app):
    # app.include_router(api)`` runs where ``add_routers(app)`` is called)
    order_key: tuple[Spot, ...] = ()
    # the conditions the route is registered under, along its include chain, joined with " and "
    # ("" when it always is): ``if settings.ENV == "local": app.include_router(...)``; certain
    # conditions (literals, ``TYPE_CHECKING``, module-level constants) are folded instead
    conditional: str = ""
    # only privileged callers (superusers, admins, staff) get through: a dependency in the route's tree
    # rejects (401/403) every other caller; what checks it and where ("`get_admin`: raises
    # HTTPException(403) unless current_user.is_admin (router: get_admin)"), None when nothing does
    privileged: str | None = None

    @property
    def file(self) -> str:
        return self.handler.path

    @property
    def line(self) -> int:
        return self.handler.line

    @property
    def path_params(self) -> tuple[str, ...]:
        import re

        return tuple(m.split(":")[0] for m in re.findall(r"{([^}]+)}", self.path))

    def display(self) -> str:
        methods = ",".join(self.methods) if self.methods else "WS"
        return f"{methods} {self.path}"


@dataclass(frozen=True, slots=True)
class BuiltinRoute:
    """A route served by the framework or a library, not by a project function: FastAPI's OpenAPI
    document and docs pages (``source`` "docs"; ``openapi_url``, ``docs_url``, ``redoc_url`` and
    ``swagger_ui_oauth2_redirect_url`` move them, ``None`` removes them), the endpoints a library's
    router registers itself (``source`` "library": strawberry's ``GraphQLRouter`` serves GET and
    POST and a websocket at its path). Rules do not lint them (``App.routes`` does not hold them);
    ``inspect`` lists them."""

    methods: tuple[str, ...]  # as served: Starlette adds HEAD to a plain GET route (the docs pages)
    path: str
    kind: str  # "http" | "websocket"
    source: str  # "docs" | "library"
    provider: str  # what serves it: "fastapi.FastAPI.openapi", "strawberry.fastapi.GraphQLRouter"...
    loc: Loc  # where the app or the library's router is created
    include_chain: tuple[IncludeStep, ...] = ()
    dependencies: tuple[str, ...] = ()  # from the app, includes and the router, as labels
    path_unresolved: bool = False


@dataclass(frozen=True, slots=True)
class Mount:
    path: str
    target: str
    kind: str  # "app" | "static" | "other"
    loc: Loc
    app: str = ""  # the mounted app's id (``App.id``) when it is a project FastAPI app


@dataclass(frozen=True, slots=True)
class Middleware:
    name: str  # class or function qualified name
    kind: str  # "class" | "function"
    options: tuple[tuple[str, str], ...]
    loc: Loc
    values: tuple[tuple[str, object], ...] = ()  # statically resolved option values


@dataclass(frozen=True, slots=True)
class Router:
    id: str
    name: str
    cls: str
    prefix: str
    tags: tuple[str, ...]
    dependencies: tuple[str, ...]
    loc: Loc
    is_app: bool = False


@dataclass(frozen=True, slots=True)
class App:
    id: str
    name: str
    loc: Loc
    routes: tuple[Route, ...]
    mounts: tuple[Mount, ...]
    middleware: tuple[Middleware, ...]
    dependencies: tuple[str, ...]
    options: tuple[tuple[str, object], ...] = ()  # resolved constructor keywords (debug=True, ...)
    factory: str | None = None  # the factory function that builds it, if any
    builtin_routes: tuple[BuiltinRoute, ...] = ()  # served by FastAPI itself or a library (not linted)


@dataclass(frozen=True, slots=True)
class ModelField:
    name: str
    annotation: str
    type_names: tuple[str, ...]
    required: bool
    default: str
    constraints: tuple[tuple[str, object], ...]
    line: int
    col: int = 1
    optional: bool = False  # the annotation admits None

    def constraint(self, key: str) -> object | None:
        for k, v in self.constraints:
            if k == key:
                return v
        return None


@dataclass(frozen=True, slots=True)
class PydanticModel:
    qualname: str
    name: str
    kind: str  # "model" | "settings" | "sqlmodel"
    path: str
    line: int
    bases: tuple[str, ...]
    fields: tuple[ModelField, ...]  # own and inherited, inherited first
    config: tuple[tuple[str, object], ...] = ()
    validators: tuple[str, ...] = ()

    def field(self, name: str) -> ModelField | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str
    nullable: bool | None
    unique: bool
    index: bool
    primary_key: bool
    foreign_key: str | None
    line: int
    col: int = 1
    # ``ForeignKey(..., ondelete="CASCADE")`` (also from a ``ForeignKeyConstraint`` in ``__table_args__``), upper-cased
    ondelete: str | None = None


@dataclass(frozen=True, slots=True)
class Relationship:
    """A ``relationship()`` / SQLModel ``Relationship()`` attribute of a mapped class."""

    name: str
    # the target class as written (``"Order"``, ``Order``, ``"app.models.Order"``), from the first argument
    # or the annotation (``Mapped[list["Order"]]``); "" when unknown
    target: str
    # True: a collection; False: ``uselist=False`` or a scalar annotation; None: not said
    uselist: bool | None
    back_populates: str | None
    backref: str | None
    # the text of ``foreign_keys=`` / ``primaryjoin=``, and the table named by ``secondary=``
    foreign_keys: str = ""
    primaryjoin: str = ""
    secondary: str | None = None
    line: int = 0
    # the text of ``remote_side=``: on a self-referential relationship it names the column on the "one"
    # side (``remote_side=[id]``: many-to-one, loaded by the primary key)
    remote_side: str = ""


@dataclass(frozen=True, slots=True)
class Table:
    qualname: str
    name: str
    tablename: str | None
    kind: str  # "sqlalchemy" | "sqlmodel"
    path: str
    line: int
    columns: tuple[Column, ...]
    # column-name groups covered by unique constraints / indexes in __table_args__
    unique_groups: tuple[tuple[str, ...], ...] = ()
    index_groups: tuple[tuple[str, ...], ...] = ()
    primary_key_groups: tuple[tuple[str, ...], ...] = ()
    # the table's indexes and constraints are not all visible (``__table_args__`` built by a function
    # or returned by a ``declared_attr`` the linker cannot read): rules about missing ones stay quiet
    constraints_unknown: bool = False
    # some class in the hierarchy is unresolved or outside the project (not a declarative base): what
    # it declares (a primary key) is not visible
    open_bases: bool = False
    relationships: tuple[Relationship, ...] = ()
    # the column group of each ``ForeignKeyConstraint([...], [...])`` in the class's own ``__table_args__``
    # (a composite key has two columns or more): each column also carries a target in ``Column.foreign_key``
    foreign_key_groups: tuple[tuple[str, ...], ...] = ()

    def column(self, name: str) -> Column | None:
        for c in self.columns:
            if c.name == name:
                return c
        return None


@dataclass(frozen=True, slots=True)
class Function:
    """A project function or method, with its resolved calls (the call graph)."""

    qualname: str
    module: str
    path: str
    fact: FunctionFact
    # (call site, resolved target) — a project qualname, an external dotted name, or None
    calls: tuple[tuple[CallSite, str | None], ...]
    class_name: str | None = None
    # for a call (index into ``calls``) of a project function whose arguments decide some of the callee's
    # ``if`` tests (``install(..., validate=False)`` and ``if validate: check(...)``): the callee's calls and
    # raises (indexes into its ``fact.calls`` and ``fact.raises``) in the branches that never run then
    ruled_out: tuple[tuple[int, tuple[int, ...], tuple[int, ...]], ...] = ()

    def rules_out(self, index: int) -> tuple[frozenset[int], frozenset[int]]:
        """The callee's calls and raises that the call at ``index`` never lets run."""
        for i, calls, raises in self.ruled_out:
            if i == index:
                return frozenset(calls), frozenset(raises)
        return frozenset(), frozenset()


@dataclass(frozen=True, slots=True)
class Module:
    name: str
    path: str
    facts: ModuleFacts


@dataclass(frozen=True, slots=True)
class ModuleCall:
    """A call made in a module body or a class body (``Function.calls`` holds the calls made in
    functions), with the dotted name it resolves to: a project function or class, or an external
    name (``passlib.context.CryptContext``; an instance's method as ``httpx.Client().get``)."""

    call: Call
    target: str | None
    module: str
    path: str
    line: int
    col: int


class _Unknown:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"


# what ``Values.value`` answers when the code does not make an expression a constant
UNKNOWN: object = _Unknown()


class Values(Protocol):
    """The linker's answers about expressions, for the rules (``AppModel.values``).

    ``module`` is the module the expression is in; ``fn`` the function whose body it is in (None
    for module and class bodies); ``line`` the line it is evaluated at (0: the end of the scope).
    """

    def value(self, expr: Expr | None, module: str, fn: Function | None = None, line: int = 0) -> object:
        """The Python constant ``expr`` evaluates to (str, int, float, bool, None, bytes, tuples for
        sequences, dicts for dict literals and ``dict(k=v)``), else ``UNKNOWN`` (inside a tuple or a
        dict too: an item that is not a constant is ``UNKNOWN``)."""
        ...

    def module_calls(self) -> tuple[ModuleCall, ...]:
        """The calls made in module and class bodies, resolved (``Function.calls`` holds those of
        function bodies)."""
        ...

    def target(self, func: Expr, module: str) -> str | None:
        """The dotted name ``func`` names in ``module``'s global scope, as in ``ModuleCall.target``."""
        ...

    def instance_of(self, expr: Expr | None, module: str, fn: Function | None = None, line: int = 0) -> str | None:
        """The class ``expr`` is an instance of (``x = FastAPI()``: ``fastapi.FastAPI``), else None."""
        ...


@dataclass(frozen=True, slots=True)
class AppModel:
    apps: tuple[App, ...]
    routers: tuple[Router, ...]
    models: tuple[PydanticModel, ...]
    tables: tuple[Table, ...]
    unresolved: tuple[Unresolved, ...]
    modules: tuple[Module, ...]
    functions: dict[str, Function] = field(default_factory=dict)
    classes: dict[str, tuple[str, ClassFact]] = field(default_factory=dict)  # qualname -> (path, fact)
    # external or project base-class names of each project class, transitively
    class_bases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # module-level string/number constants that resolved: {module.NAME: value}
    constants: dict[str, object] = field(default_factory=dict)
    # the linker's answers, asked by the rules: constant values, what a name is an instance of, the
    # resolved calls of module and class bodies (the call graph, ``Function.calls``, covers
    # functions); not part of the model's value: not compared, not shown
    values: Values | None = field(default=None, repr=False, compare=False)
    # derived data that several rules need (indexes, every resolved call site...), computed once per
    # model by ``rules._util.memo`` instead of once per rule; not part of the model's value: not a
    # constructor argument, not compared, not shown
    derived: dict[object, object] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def routes(self) -> tuple[Route, ...]:
        return tuple(r for a in self.apps for r in a.routes)

    def iter_routes(self) -> Iterator[Route]:
        for a in self.apps:
            yield from a.routes

    def model(self, qualname: str) -> PydanticModel | None:
        for m in self.models:
            if m.qualname == qualname:
                return m
        return None

    def model_named(self, name: str) -> PydanticModel | None:
        for m in self.models:
            if m.qualname == name or m.name == name:
                return m
        return None

    def function(self, qualname: str) -> Function | None:
        return self.functions.get(qualname)

    def module(self, name: str) -> Module | None:
        by_name = self.derived.get(AppModel.module)
        if by_name is None:  # the first module of each name, as a scan in order would find it
            by_name = {}
            for m in self.modules:
                by_name.setdefault(m.name, m)
            self.derived[AppModel.module] = by_name
        return by_name.get(name)  # type: ignore[attr-defined]

    def is_subclass(self, qualname: str, base: str) -> bool:
        return base in self.class_bases.get(qualname, ())

    def callees(self, qualname: str, depth: int = 3) -> Iterator[tuple[Function, CallSite, str | None, tuple[str, ...]]]:
        """Calls made by ``qualname`` and, up to ``depth`` levels, by the project functions it calls.

        Yields ``(function making the call, call site, target, path of qualnames)``.
        """
        seen: set[str] = set()
        stack: list[tuple[str, tuple[str, ...]]] = [(qualname, (qualname,))]
        while stack:
            name, trail = stack.pop(0)
            if name in seen:
                continue
            seen.add(name)
            fn = self.functions.get(name)
            if fn is None:
                continue
            for site, target in fn.calls:
                yield fn, site, target, trail
                if target and target in self.functions and len(trail) <= depth and target not in seen:
                    stack.append((target, trail + (target,)))


# built by the hundred thousand per run: constructors that set the slots directly (see _init.py)
fast_inits(globals())
