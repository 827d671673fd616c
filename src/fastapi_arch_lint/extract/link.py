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

import fnmatch
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from fastapi_arch_lint.model.app import (
    App,
    AppModel,
    Auth,
    AuthVia,
    Column,
    DependencyUse,
    Function,
    Handler,
    IncludeStep,
    Loc,
    Middleware,
    ModelField,
    Module,
    Mount,
    Param,
    PydanticModel,
    Route,
    Router,
    Table,
    Unresolved,
)
from fastapi_arch_lint.model.expr import (
    Attr,
    BinOp,
    Call,
    Const,
    DictExpr,
    Expr,
    FStr,
    Name,
    Opaque,
    Seq,
    Subscript,
    dotted,
    render,
)
from fastapi_arch_lint.model.facts import (
    AssignFact,
    ClassFact,
    CompareFact,
    FunctionFact,
    ImportFact,
    ModuleFacts,
    Scope,
)

_T = TypeVar("_T")
_ABSENT: Any = object()  # a ``dict.get`` default that no stored value is

MAX_EVAL_DEPTH = 24
MAX_DEP_DEPTH = 12

HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")

# canonical names for the many import paths of the same FastAPI/Starlette object
_CANONICAL_PREFIXES: tuple[tuple[str, str], ...] = (
    ("fastapi.applications.", "fastapi."),
    ("fastapi.routing.", "fastapi."),
    ("fastapi.param_functions.", "fastapi."),
    ("fastapi.params.", "fastapi."),
    ("fastapi.security.oauth2.", "fastapi.security."),
    ("fastapi.security.http.", "fastapi.security."),
    ("fastapi.security.api_key.", "fastapi.security."),
    ("fastapi.security.open_id_connect_url.", "fastapi.security."),
    ("fastapi.security.base.", "fastapi.security."),
    ("fastapi.requests.", "fastapi."),
    ("fastapi.websockets.", "fastapi."),
    ("fastapi.background.", "fastapi."),
    ("fastapi.datastructures.", "fastapi."),
    ("fastapi.exceptions.", "fastapi."),
    ("starlette.requests.", "fastapi."),
    ("starlette.websockets.", "fastapi."),
    ("starlette.background.", "fastapi."),
    ("starlette.datastructures.", "fastapi."),
    ("starlette.responses.", "fastapi.responses."),
    ("starlette.status.", "fastapi.status."),
    ("starlette.staticfiles.", "fastapi.staticfiles."),
    ("starlette.exceptions.HTTPException", "fastapi.HTTPException"),
    ("starlette.middleware.cors.", "fastapi.middleware.cors."),
    ("starlette.middleware.trustedhost.", "fastapi.middleware.trustedhost."),
    ("starlette.middleware.gzip.", "fastapi.middleware.gzip."),
    ("starlette.middleware.httpsredirect.", "fastapi.middleware.httpsredirect."),
    ("starlette.applications.Starlette", "starlette.Starlette"),
    ("typing_extensions.", "typing."),
    ("sqlmodel.main.", "sqlmodel."),
    ("pydantic.main.", "pydantic."),
    ("pydantic.fields.", "pydantic."),
    ("pydantic_settings.main.", "pydantic_settings."),
    ("sqlalchemy.orm.decl_api.", "sqlalchemy.orm."),
    ("sqlalchemy.sql.schema.", "sqlalchemy."),
    ("sqlalchemy.schema.", "sqlalchemy."),
)

SECURITY_SCHEMES = frozenset(
    "fastapi.security." + n
    for n in (
        "OAuth2PasswordBearer", "OAuth2AuthorizationCodeBearer", "OAuth2", "HTTPBearer", "HTTPBasic",
        "HTTPDigest", "HTTPBase", "APIKeyHeader", "APIKeyQuery", "APIKeyCookie", "OpenIdConnect",
        "SecurityBase", "APIKeyBase",
    )
)
APP_CLASSES = frozenset({"fastapi.FastAPI"})
ROUTER_CLASSES = frozenset({"fastapi.APIRouter"})
PARAM_MARKERS = {
    "fastapi.Depends": "dependency", "fastapi.Security": "security", "fastapi.Query": "query",
    "fastapi.Path": "path", "fastapi.Body": "body", "fastapi.Header": "header", "fastapi.Cookie": "cookie",
    "fastapi.Form": "form", "fastapi.File": "file",
}
SPECIAL_TYPES = {
    "fastapi.Request": "request", "fastapi.WebSocket": "websocket", "fastapi.HTTPConnection": "request",
    "starlette.requests.HTTPConnection": "request", "fastapi.Response": "response",
    "fastapi.responses.Response": "response", "fastapi.BackgroundTasks": "background",
    "fastapi.security.SecurityScopes": "security_scopes", "fastapi.UploadFile": "file",
}
MODEL_BASES = {
    "pydantic.BaseModel": "model", "pydantic_settings.BaseSettings": "settings",
    "pydantic.BaseSettings": "settings", "sqlmodel.SQLModel": "sqlmodel", "pydantic.RootModel": "model",
}
SQLA_BASES = frozenset({"sqlalchemy.orm.DeclarativeBase", "sqlalchemy.orm.DeclarativeBaseNoMeta",
                        "sqlalchemy.ext.declarative.declarative_base()", "sqlalchemy.orm.declarative_base()",
                        "sqlalchemy.orm.registry().generate_base()", "sqlalchemy.orm.as_declarative()"})
SCALAR_TYPES = frozenset(
    "builtins." + n for n in ("int", "str", "float", "bool", "bytes", "complex")
) | frozenset({"uuid.UUID", "datetime.datetime", "datetime.date", "datetime.time", "datetime.timedelta",
               "decimal.Decimal", "enum.Enum", "pydantic.EmailStr", "pydantic.HttpUrl", "pydantic.AnyUrl",
               "pydantic.SecretStr"})
BUILTINS = frozenset({
    "int", "str", "float", "bool", "bytes", "dict", "list", "tuple", "set", "frozenset", "object", "type",
    "len", "open", "print", "range", "super", "isinstance", "getattr", "setattr", "hasattr", "sorted",
    "enumerate", "zip", "map", "filter", "min", "max", "sum", "any", "all", "repr", "iter", "next",
    "Exception", "ValueError", "KeyError", "RuntimeError", "TypeError", "PermissionError", "eval", "exec",
    "compile", "__import__", "input", "vars", "id", "hash", "format", "abs", "round", "complex",
})


# constrained-type calls and ``Annotated`` metadata whose keywords are field constraints
_CON_TYPES = {"pydantic.constr": "builtins.str", "pydantic.conbytes": "builtins.bytes", "pydantic.conlist": "builtins.list",
              "pydantic.conset": "builtins.set", "pydantic.types.constr": "builtins.str", "pydantic.types.conlist": "builtins.list"}
_CON_MARKERS = frozenset({"pydantic.StringConstraints", "pydantic.types.StringConstraints"})


# the prefixes grouped by their first dotted component (every prefix has a dot), in table order, so
# that ``canonical`` of a project name, the common case, is one dict lookup instead of 35 ``startswith``
_CANONICAL_BY_ROOT: dict[str, tuple[tuple[str, str], ...]] = {}
for _old, _new in _CANONICAL_PREFIXES:
    _root = _old.partition(".")[0]
    _CANONICAL_BY_ROOT[_root] = _CANONICAL_BY_ROOT.get(_root, ()) + ((_old, _new),)
del _old, _new, _root


def canonical(qualname: str) -> str:
    for old, new in _CANONICAL_BY_ROOT.get(qualname.partition(".")[0], ()):
        if qualname.startswith(old):
            return new + qualname[len(old):]
    return qualname


# ---------------------------------------------------------------------------
# values of the abstract interpreter
#
# Values are immutable and compare and hash by content, but are not declared ``frozen``: a frozen
# dataclass's ``__init__`` sets each field through ``object.__setattr__``, and making values was
# about a sixth of linking. ``unsafe_hash`` gives the same equality and hash with plain
# assignments in ``__init__``; nothing assigns to a value after it is made.


@dataclass(slots=True, unsafe_hash=True)
class Env:
    """Where an expression is evaluated: a module and the enclosing function scopes."""

    module: str
    functions: tuple[FunctionFact, ...] = ()  # outermost first


@dataclass(slots=True, unsafe_hash=True)
class VModule:
    name: str


@dataclass(slots=True, unsafe_hash=True)
class VFunc:
    fact: FunctionFact
    env: Env  # the env the function is defined in
    cls: "VClass | None" = None

    @property
    def qualname(self) -> str:
        return f"{self.env.module}.{self.fact.qualname}"


@dataclass(slots=True, unsafe_hash=True)
class VClass:
    fact: ClassFact
    env: Env

    @property
    def qualname(self) -> str:
        return f"{self.env.module}.{self.fact.qualname}"


@dataclass(slots=True, unsafe_hash=True)
class VExt:
    qualname: str


@dataclass(slots=True, unsafe_hash=True)
class VInst:
    cls: "VClass | VExt"
    call: Call | None
    env: Env | None
    site: tuple[str, int, int]  # module, line, col of the constructor call
    bound_name: str = ""


@dataclass(slots=True, unsafe_hash=True)
class VConst:
    value: object


@dataclass(slots=True, unsafe_hash=True)
class VSeq:
    items: tuple["Value", ...]


@dataclass(slots=True, unsafe_hash=True)
class VAnnotated:
    base: "Value"
    meta: tuple["Value", ...]


@dataclass(slots=True, unsafe_hash=True)
class VGeneric:
    base: "Value"
    items: tuple["Value", ...]


@dataclass(slots=True, unsafe_hash=True)
class VParam:
    """A function parameter (no value statically); its annotation is kept."""

    func: VFunc
    name: str


@dataclass(slots=True, unsafe_hash=True)
class VUnknown:
    reason: str
    # the module-level name the unknown value is bound to (``current_active_user = users.current_user()``),
    # so configured auth names can still match it
    binding: str = ""


Value = VModule | VFunc | VClass | VExt | VInst | VConst | VSeq | VAnnotated | VGeneric | VParam | VUnknown


# the value of each builtin name, shared (values are immutable): every ``len(...)`` looks one up
_BUILTIN_VALUES = {n: VExt(f"builtins.{n}") for n in BUILTINS}


def _ext_name(v: "Value") -> str | None:
    return v.qualname if isinstance(v, VExt) else None


# ---------------------------------------------------------------------------


@dataclass(slots=True)
class _RouteReg:
    router: tuple[str, int, int]
    path: str | None
    path_expr: Expr | None
    methods: tuple[str, ...]
    kind: str
    call: Call
    handler: VFunc | None
    loc: Loc
    registration: str


@dataclass(slots=True)
class _Include:
    parent: tuple[str, int, int]
    child: tuple[str, int, int]
    prefix: str | None
    prefix_expr: Expr | None
    call: Call
    env: Env
    loc: Loc


@dataclass(slots=True)
class _RouterInfo:
    inst: VInst
    is_app: bool
    name: str
    loc: Loc
    prefix: str
    deps: list[tuple[Value, Expr, Loc]] = field(default_factory=list)
    tags: tuple[str, ...] = ()
    include_in_schema: bool = True
    deprecated: bool = False
    routes: list[_RouteReg] = field(default_factory=list)
    includes: list[_Include] = field(default_factory=list)
    mounts: list[Mount] = field(default_factory=list)
    middleware: list[Middleware] = field(default_factory=list)
    factory: str | None = None


# ---------------------------------------------------------------------------
# auth beyond security schemes: what the linker looks for


_REJECT_CODES = frozenset({401, 403, 1008})  # 1008: websocket policy violation
# header/cookie/query names and mapping keys that carry a credential
_CREDENTIAL_RE = re.compile(
    r"token|jwt|api[_-]?key|apikey|(admin|access|secret|client|private|master|service)[_-]?key|authori[sz]ation"
    r"|auth(?!or)|session|ticket|credential|bearer|secret|signature", re.I)
# anti-forgery and tracing tokens are compared and rejected on, but identify nobody
_NOT_CREDENTIAL_RE = re.compile(r"csrf|xsrf|idempot|request[_-]?id|trace|correlation|captcha", re.I)
_CREDENTIAL_SOURCES = frozenset({"headers", "cookies", "query_params"})


def _credential_name(name: str) -> bool:
    return bool(_CREDENTIAL_RE.search(name)) and not _NOT_CREDENTIAL_RE.search(name)

_REQUEST_NAMES = frozenset({"request", "req", "websocket", "ws", "conn", "connection"})
# attributes of a request that carry who is calling (set by authentication middleware or a session)
_PRINCIPAL_RE = re.compile(
    r"^(user|auth|session|state\.(user|current_user|principal|identity|account|auth|claims))(\.|$)")
_VERIFY_CALL_RE = re.compile(
    r"verify|decode|validate|check|authenticat|compare_digest|lookup|find|get_user|load_user|current_user|introspect"
    r"|authori[sz]e|unsign|loads|is_valid|get_session|fetch|resolve|by_token|by_key", re.I)
_REJECT_EXC_RE = re.compile(
    r"unauthori[sz]ed|forbidden|notauthenticated|authenticationerror|autherror|authenticationfailed|permissiondenied"
    r"|invalidtoken|invalidcredentials|accessdenied|credentialsexception|notallowed", re.I)
_LOGIN_URL_RE = re.compile(r"login|signin|sign-in|/auth", re.I)
_REQUIRES = frozenset({"starlette.authentication.requires"})
_AUTHENTICATION_MIDDLEWARE = "starlette.middleware.authentication.AuthenticationMiddleware"
_LEVEL_ORDER = {"app": 0, "include": 1, "router": 2, "route": 3, "param": 4}
_ROUTE_DECORATORS = frozenset(HTTP_METHODS) | {"api_route", "route", "websocket", "websocket_route"}


@dataclass(slots=True)
class _CredCheck:
    """What a function (and the project functions it calls) does with credentials."""

    where: str
    reads: list[str] = field(default_factory=list)
    verifies: list[str] = field(default_factory=list)
    rejects: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        # reads a credential, and rejects the request under some condition on it
        return bool(self.reads and self.rejects and self.verifies)

    def evidence(self) -> str:
        # ``request.state.user = ...`` is usually what the check *sets*: name the credential read first
        reads = [r for r in self.reads if ".state." not in r] or self.reads
        parts = [f"reads {', '.join(reads[:2])}"]
        checks = [v for v in self.verifies if v != "a condition"]
        if checks:
            parts.append(f"checks with {', '.join(checks[:2])}")
        parts.append(", ".join(self.rejects[:2]))
        return "; ".join(parts)


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

    def covers(self, path: str) -> bool:
        if self.unresolved_guard:
            return False
        if self.protect_exact or self.protect_prefixes:
            return path in self.protect_exact or any(path.startswith(p) for p in self.protect_prefixes)
        return not (path in self.exempt_exact or any(path.startswith(p) for p in self.exempt_prefixes))


def _is_route_decorator(expr: Expr) -> bool:
    return isinstance(expr, Call) and isinstance(expr.func, Attr) and expr.func.attr in _ROUTE_DECORATORS


def _call_tail(call: Call) -> str:
    f = call.func
    return f.attr if isinstance(f, Attr) else f.id if isinstance(f, Name) else ""


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


class Linker:
    def __init__(self, modules: Sequence[ModuleFacts],
                 auth_names: Mapping[str, Sequence[str]] | None = None) -> None:
        # qualified names/globs configured as auth: {"decorators": [...], "dependencies": [...]}
        self.auth_names: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in (auth_names or {}).items()}
        self._cred_cache: dict[tuple[str, bool, int, bool], _CredCheck] = {}
        self._dep_auth_cache: dict[tuple[str, str], str | None] = {}
        self._func_index: dict[str, VFunc] | None = None
        self._class_index: dict[str, VClass] | None = None
        self.modules: dict[str, ModuleFacts] = {}
        for m in modules:
            self.modules.setdefault(m.module, m)
        self.unresolved: dict[tuple[str, int, str], Unresolved] = {}
        self._symtab_cache: dict[int, dict[str, list[tuple[int, str, object]]]] = {}
        self._locals_cache: dict[int, dict[str, list[tuple[int, str, object]] | None]] = {}
        # Values that stand for one thing are made once and shared (values are immutable). A function
        # fact is identified by its id and module: the functions enclosing it follow from where it is.
        self._params: dict[tuple[int, str, str], VParam] = {}
        self._module_envs: dict[str, Env] = {}
        self._all_functions: list[tuple[VFunc, str | None]] | None = None
        self._eval_stack: set[tuple[int, str]] = set()
        self._depth = 0
        # memos of pure lookups (see ``_memoized``): key -> (result, evaluation depth it needs)
        self._attr_memo: dict[tuple[str, str], tuple[Value, int]] = {}
        self._params_memo: dict[tuple[object, ...], tuple[list[tuple[Param, Value | None, VInst | None]], int]] = {}
        self._fields_memo: dict[tuple[int, str], tuple[list[ModelField], int]] = {}
        self._param_type_memo: dict[tuple[int, str], tuple[str | None, int]] = {}
        self._body_envs: dict[tuple[int, str], Env] = {}
        self._max_depth = 0  # the deepest ``_depth`` an ``eval`` started at, for the memos
        # set when a guard (depth limit, recursion, cycle) changed a result: such results depend on
        # what is being evaluated around them and are not memoized
        self._guarded = False
        self._bases_cache: dict[str, tuple[str, ...]] = {}
        self._bases_open: set[str] = set()  # ``bases`` computations in progress (cycle guard)
        self.routers: dict[tuple[str, int, int], _RouterInfo] = {}
        self._package_prefixes: set[str] | None = None

    # -- reporting -----------------------------------------------------------
    def path_of(self, module: str) -> str:
        m = self.modules.get(module)
        return m.path if m else module

    def note(self, what: str, reason: str, module: str, line: int) -> None:
        key = (module, line, what)
        if key not in self.unresolved:
            self.unresolved[key] = Unresolved(what, reason, self.path_of(module), line)

    # -- imports -------------------------------------------------------------
    def absolute(self, module: str, imp: ImportFact) -> str:
        if imp.level == 0:
            return imp.module
        facts = self.modules.get(module)
        parts = module.split(".")
        if not (facts and facts.is_package):
            parts = parts[:-1]
        if imp.level > 1:
            parts = parts[: len(parts) - (imp.level - 1)] if imp.level - 1 <= len(parts) else []
        base = ".".join(parts)
        if imp.module:
            return f"{base}.{imp.module}" if base else imp.module
        return base

    def resolve_import(self, module: str, imp: ImportFact) -> Value:
        target = self.absolute(module, imp)
        if imp.name is None:
            if target in self.modules or self._is_package_dir(target):
                return VModule(target)
            return VExt(canonical(target))
        if target in self.modules:
            key = (id(imp), target)
            if key in self._eval_stack:  # ``from . import items`` inside the package itself
                self._guarded = True
                v: Value = VUnknown(f"`{imp.name}` imports itself")
            else:
                self._eval_stack.add(key)
                try:
                    v = self.module_attr(target, imp.name)
                finally:
                    self._eval_stack.discard(key)
            if not isinstance(v, VUnknown):
                return v
            sub = f"{target}.{imp.name}"
            if sub in self.modules or self._is_package_dir(sub):
                return VModule(sub)
            return v
        sub = f"{target}.{imp.name}"
        if sub in self.modules or self._is_package_dir(sub):
            return VModule(sub)
        if self._is_package_dir(target):
            return VUnknown(f"`{imp.name}` not found in package `{target}`")
        return VExt(canonical(f"{target}.{imp.name}"))

    def _is_package_dir(self, name: str) -> bool:
        """Whether ``name`` is a package (regular or namespace) of the analyzed modules."""
        prefixes = self._package_prefixes
        if prefixes is None:
            prefixes = {m.rsplit(".", k)[0] for m in self.modules for k in range(1, m.count(".") + 1)}
            self._package_prefixes = prefixes
        return name in prefixes

    # -- symbol tables -------------------------------------------------------
    def symtab(self, scope: Scope) -> dict[str, list[tuple[int, str, object]]]:
        key = id(scope)
        tab = self._symtab_cache.get(key)
        if tab is not None:
            return tab
        tab = {}
        for a in scope.assigns:
            if a.target and "." not in a.target and not a.augmented:
                tab.setdefault(a.target, []).append((a.pos.line, "assign", a))
        for f in scope.functions:
            tab.setdefault(f.name, []).append((f.pos.line, "func", f))
        for c in scope.classes:
            tab.setdefault(c.name, []).append((c.pos.line, "class", c))
        for i in scope.imports:
            if i.local != "*":
                tab.setdefault(i.local, []).append((i.line, "import", i))
        for entries in tab.values():
            if len(entries) > 1:
                entries.sort(key=lambda e: e[0])
        self._symtab_cache[key] = tab
        return tab

    def _memoized(self, memo: dict[Any, tuple[Any, int]], key: object, compute: Callable[..., _T], *args: Any) -> _T:
        """``compute(*args)``, remembered in ``memo`` under ``key`` when that is safe.

        Large projects resolve the same names (``APIRouter``, ``get_db``, ``settings``) and the same
        dependency signatures thousands of times through the same import chains. What the
        interpreter computes is a pure function of the facts, except where a guard cut evaluation
        short: the depth limit (which depends on how deep the caller already is) and the recursion
        and cycle guards (which depend on what is being evaluated around the call). So a result is
        remembered only when no guard fired while computing it (``_guarded``), together with how
        many levels of evaluation it needed beyond the caller's (from ``_max_depth``), and it is
        reused only by a caller shallow enough that the computation would not have hit the depth
        limit there either. A reused result is therefore the one computing it again would give.
        Nothing is remembered when ``compute`` raises (a RecursionError). Callers must not mutate
        what they get back.
        """
        depth = self._depth
        hit = memo.get(key)
        if hit is not None and depth + hit[1] <= MAX_EVAL_DEPTH:
            if depth + hit[1] > self._max_depth:
                self._max_depth = depth + hit[1]
            return hit[0]
        outer_max, outer_guarded = self._max_depth, self._guarded
        self._max_depth, self._guarded = depth, False
        try:
            result = compute(*args)
            if not self._guarded:
                memo[key] = (result, self._max_depth - depth)
            return result
        finally:
            self._max_depth = max(outer_max, self._max_depth)
            self._guarded = outer_guarded or self._guarded

    def local_names(self, fn: FunctionFact) -> dict[str, list[tuple[int, str, object]] | None]:
        """What ``lookup`` needs of a function in one table: its symbol table, and None for a parameter
        the body does not rebind (a name bound in the body wins over the parameter)."""
        tab = self._locals_cache.get(id(fn))
        if tab is None:
            tab = dict.fromkeys(p.name for p in fn.params)
            tab.update(self.symtab(fn.scope))
            self._locals_cache[id(fn)] = tab
        return tab

    def module_attr(self, module: str, name: str, _seen: frozenset[str] = frozenset()) -> Value:
        """The value of ``module.name`` (memoized: every use of an imported or global name lands here)."""
        if _seen:  # a star import being followed: its cycle guard depends on the path taken
            return self._module_attr(module, name, _seen)
        # the hit path of ``_memoized``, inlined: this is the interpreter's hottest call
        hit = self._attr_memo.get((module, name))
        if hit is not None:
            reach = self._depth + hit[1]
            if reach <= MAX_EVAL_DEPTH:
                if reach > self._max_depth:
                    self._max_depth = reach
                return hit[0]
        return self._memoized(self._attr_memo, (module, name), self._module_attr, module, name, _seen)

    def _module_attr(self, module: str, name: str, _seen: frozenset[str]) -> Value:
        facts = self.modules.get(module)
        if facts is None:
            return VUnknown(f"module `{module}` is not part of the analyzed code")
        tab = self.symtab(facts.scope)
        entries = tab.get(name)
        if entries:
            env = self._module_envs.get(module)
            if env is None:
                env = self._module_envs[module] = Env(module)
            return self._from_entry(entries[-1], env)
        sub = f"{module}.{name}"
        if sub in self.modules or self._is_package_dir(sub):
            return VModule(sub)
        for imp in facts.imports:
            if imp.local == "*" and module in _seen:
                self._guarded = True
            elif imp.local == "*":
                target = self.absolute(module, imp)
                if target in self.modules:
                    v = self.module_attr(target, name, _seen | {module})
                    if not isinstance(v, VUnknown):
                        return v
        return VUnknown(f"`{name}` is not defined in `{module}`")

    def _from_entry(self, entry: tuple[int, str, object], env: Env) -> Value:
        _, kind, obj = entry
        if kind == "assign":
            a: AssignFact = obj  # type: ignore[assignment]
            key = (id(a), env.module)
            if key in self._eval_stack:
                self._guarded = True
                return VUnknown("recursive definition")
            self._eval_stack.add(key)
            try:
                if a.value is None:
                    return VUnknown("declared without a value")
                v = self.eval(a.value, env)
                if isinstance(v, VInst) and not v.bound_name:
                    v = VInst(v.cls, v.call, v.env, v.site, a.target)
                elif isinstance(v, VUnknown) and not v.binding and not env.functions:
                    v = VUnknown(v.reason, f"{env.module}.{a.target}")
                return v
            finally:
                self._eval_stack.discard(key)
        if kind == "func":
            return VFunc(obj, env)  # type: ignore[arg-type]
        if kind == "class":
            return VClass(obj, env)  # type: ignore[arg-type]
        if kind == "import":
            return self.resolve_import(env.module, obj)  # type: ignore[arg-type]
        return VUnknown("unknown symbol kind")

    def lookup(self, name: str, env: Env, line: int = 0) -> Value:
        functions = env.functions
        innermost = len(functions) - 1
        for depth in range(innermost, -1, -1):
            fn = functions[depth]
            tab = self._locals_cache.get(id(fn))
            if tab is None:
                tab = self.local_names(fn)
            entries = tab.get(name, _ABSENT)
            if entries is _ABSENT:
                continue
            if entries is None:
                key = (id(fn), env.module, name)
                param = self._params.get(key)
                if param is None:
                    param = self._params[key] = VParam(VFunc(fn, Env(env.module, functions[:depth])), name)
                return param
            chosen = entries[-1]
            if line and len(entries) > 1:  # the last binding before the line (a single one is chosen anyway)
                before = [e for e in entries if e[0] <= line]
                if before:
                    chosen = before[-1]
            return self._from_entry(chosen, env if depth == innermost else Env(env.module, functions[: depth + 1]))
        v = self.module_attr(env.module, name)
        if type(v) is VUnknown and name in BUILTINS:
            return _BUILTIN_VALUES[name]
        return v

    # -- evaluation ----------------------------------------------------------
    def eval(self, expr: Expr | None, env: Env) -> Value:
        if expr is None:
            return VUnknown("missing")
        depth = self._depth
        if depth > MAX_EVAL_DEPTH:
            self._guarded = True
            return VUnknown("evaluation too deep")
        if depth > self._max_depth:
            self._max_depth = depth
        # the two commonest kinds first, without the frames of ``_eval`` (and, for a module-level name
        # whose value is remembered, of ``lookup`` and ``module_attr``: the hit path of both, inlined)
        kind = type(expr)
        if kind is Name:
            if not env.functions:
                hit = self._attr_memo.get((env.module, expr.id))
                if hit is not None:
                    reach = depth + 1 + hit[1]  # ``module_attr`` runs one level down
                    if reach <= MAX_EVAL_DEPTH:
                        if reach > self._max_depth:
                            self._max_depth = reach
                        v = hit[0]
                        if type(v) is VUnknown and expr.id in BUILTINS:
                            return _BUILTIN_VALUES[expr.id]
                        return v
            self._depth = depth + 1
            try:
                return self.lookup(expr.id, env, expr.line)
            finally:
                self._depth = depth
        if kind is Const:
            return VConst(expr.value)
        self._depth = depth + 1
        try:
            return self._eval(expr, env)
        finally:
            self._depth = depth

    def _eval(self, expr: Expr, env: Env) -> Value:
        # the expression kinds in order of frequency (names and constants are handled by ``eval``)
        if isinstance(expr, Call):
            return self.call(expr, env)
        if isinstance(expr, Attr):
            return self.attr(self.eval(expr.value, env), expr.attr)
        if isinstance(expr, Seq):
            return VSeq(tuple(self.eval(i, env) for i in expr.items))
        if isinstance(expr, FStr):
            out = []
            for part in expr.parts:
                if isinstance(part, str):
                    out.append(part)
                    continue
                v = self.eval(part, env)
                if isinstance(v, VConst) and isinstance(v.value, (str, int, float)) and not isinstance(v.value, bool):
                    out.append(str(v.value))
                else:
                    return VUnknown(f"f-string part `{render(part)}` is not a constant")
            return VConst("".join(out))
        if isinstance(expr, BinOp):
            left = self.eval(expr.left, env)
            right = self.eval(expr.right, env)
            if expr.op == "+" and isinstance(left, VConst) and isinstance(right, VConst):
                if isinstance(left.value, str) and isinstance(right.value, str):
                    return VConst(left.value + right.value)
                if isinstance(left.value, (list, tuple)) and isinstance(right.value, (list, tuple)):
                    return VConst(tuple(left.value) + tuple(right.value))
            if expr.op == "+" and isinstance(left, VSeq) and isinstance(right, VSeq):
                return VSeq(left.items + right.items)
            if expr.op == "|":
                return VGeneric(VExt("typing.Union"), (left, right))
            return VUnknown(f"`{render(expr)}` is computed at runtime")
        if isinstance(expr, Subscript):
            base = self.eval(expr.value, env)
            items = expr.items
            if len(items) == 1 and isinstance(items[0], Seq) and items[0].kind == "tuple":
                items = items[0].items
            if _ext_name(base) == "typing.Annotated" and items:
                return VAnnotated(self.annotation(items[0], env), tuple(self.eval(i, env) for i in items[1:]))
            return VGeneric(base, tuple(self.annotation(i, env) for i in items))
        if isinstance(expr, DictExpr):
            return VUnknown("dict")
        if isinstance(expr, Opaque):
            return VUnknown(f"`{expr.code}` is not modelled")
        return VUnknown("unsupported expression")

    def annotation(self, expr: Expr | None, env: Env) -> Value:
        """Evaluate a type annotation; string annotations are evaluated as names."""
        if isinstance(expr, Const) and isinstance(expr.value, str):
            text = expr.value.strip()
            if re.fullmatch(r"[A-Za-z_][\w.]*", text):
                parts = text.split(".")
                node: Expr = Name(parts[0])
                for p in parts[1:]:
                    node = Attr(node, p)
                return self.eval(node, env)
            return VUnknown(f"string annotation `{text}`")
        return self.eval(expr, env)

    def attr(self, base: Value, name: str) -> Value:
        if isinstance(base, VModule):
            return self.module_attr(base.name, name)
        if isinstance(base, VExt):
            return VExt(canonical(f"{base.qualname}.{name}"))
        if isinstance(base, VClass):
            return self.class_attr(base, name, instance=False)
        if isinstance(base, VInst):
            if isinstance(base.cls, VClass):
                return self.class_attr(base.cls, name, instance=True, inst=base)
            if name == "router" and self.is_app_class(base.cls):
                return base  # ``app.router.include_router`` is the app's own router
            return VUnknown(f"attribute `{name}` of a `{base.cls.qualname}` instance")
        if isinstance(base, VParam):
            return VUnknown(f"attribute of parameter `{base.name}`")
        return VUnknown(f"attribute `{name}`")

    def class_attr(self, cls: VClass, name: str, instance: bool, inst: VInst | None = None,
                   _seen: frozenset[str] = frozenset()) -> Value:
        if cls.qualname in _seen:
            self._guarded = True
            return VUnknown("cyclic class hierarchy")
        f = cls.fact.field(name)
        if f is not None:
            if f.value is None:
                return VUnknown(f"`{cls.fact.name}.{name}` has no default")
            v = self.eval(f.value, cls.env)
            if isinstance(v, VInst) and _ext_name(v.cls) in ("pydantic.Field", "sqlmodel.Field") and v.call:
                default = v.call.arg(0, "default")
                return self.eval(default, cls.env) if default is not None else VUnknown("Field without default")
            return v
        m = cls.fact.method(name)
        if m is not None:
            return VFunc(m, Env(cls.env.module, cls.env.functions), cls)
        for c in cls.fact.classes:
            if c.name == name:
                return VClass(c, cls.env)
        for b in cls.fact.bases:
            bv = self.eval(b, cls.env)
            if isinstance(bv, VClass):
                v = self.class_attr(bv, name, instance, inst, _seen | {cls.qualname})
                if not isinstance(v, VUnknown):
                    return v
            elif isinstance(bv, VExt):
                return VUnknown(f"attribute `{name}` inherited from `{bv.qualname}`") if instance else VExt(f"{bv.qualname}.{name}")
        return VUnknown(f"`{cls.fact.name}` has no attribute `{name}`")

    def call(self, expr: Call, env: Env) -> Value:
        func = self.eval(expr.func, env)
        site = (env.module, expr.line, expr.col)
        if isinstance(func, VClass):
            return VInst(func, expr, env, site)
        if isinstance(func, VExt):
            q = func.qualname
            if q in ("functools.lru_cache", "functools.cache") and expr.args:
                return self.eval(expr.args[0], env)
            return VInst(func, expr, env, site)
        if isinstance(func, VFunc):
            return self.call_function(func, expr)
        if isinstance(func, VInst) and isinstance(func.cls, VClass):
            m = self.class_attr(func.cls, "__call__", instance=True)
            if isinstance(m, VFunc):
                return self.call_function(m, expr)
        if isinstance(func, VInst) and isinstance(func.cls, VExt):
            # e.g. ``declarative_base()`` result, ``registry().generate_base()``
            return VInst(VExt(func.cls.qualname + "()"), expr, env, site)
        if isinstance(func, VUnknown):
            return VUnknown(func.reason)
        return VUnknown(f"call of `{render(expr.func)}`")

    def call_function(self, func: VFunc, expr: Call | None) -> Value:
        key = (id(func.fact), "call")
        if key in self._eval_stack:
            self._guarded = True
            return VUnknown("recursive call")
        self._eval_stack.add(key)
        try:
            inner = Env(func.env.module, func.env.functions + (func.fact,))
            for ret in reversed(func.fact.scope.returns):
                if ret.value is None:
                    continue
                v = self.eval(ret.value, inner)
                if not isinstance(v, VUnknown):
                    return v
            # a factory whose return type is known
            if func.fact.returns is not None:
                t = self.annotation(func.fact.returns, func.env)
                if isinstance(t, (VClass, VExt)):
                    return VInst(t, expr, func.env, (func.env.module, func.fact.pos.line, func.fact.pos.col))
            return VUnknown(f"the result of `{func.fact.name}()`")
        finally:
            self._eval_stack.discard(key)

    # -- class hierarchy -----------------------------------------------------
    def bases(self, cls: VClass | VExt) -> tuple[str, ...]:
        """Qualified names of all bases, transitively, the class itself first."""
        if isinstance(cls, VExt):
            return (cls.qualname,)
        q = cls.qualname
        cached = self._bases_cache.get(q)
        if cached is not None:
            if q in self._bases_open:  # a cyclic hierarchy: this is the cycle guard's partial answer
                self._guarded = True
            return cached
        self._bases_cache[q] = (q,)  # cycle guard
        self._bases_open.add(q)
        out = [q]
        for b in cls.fact.bases:
            bv = self.eval(b, cls.env)
            if isinstance(bv, VGeneric):
                bv = bv.base
            if isinstance(bv, (VClass, VExt)):
                for n in self.bases(bv):
                    if n not in out:
                        out.append(n)
            elif isinstance(bv, VInst) and isinstance(bv.cls, VExt):
                out.append(bv.cls.qualname + "()")
        result = tuple(out)
        self._bases_cache[q] = result
        self._bases_open.discard(q)
        return result

    def is_app_class(self, cls: VClass | VExt) -> bool:
        return any(b in APP_CLASSES for b in self.bases(cls))

    def is_router_class(self, cls: VClass | VExt) -> bool:
        return any(b in ROUTER_CLASSES for b in self.bases(cls))

    def is_scheme(self, v: Value) -> bool:
        return isinstance(v, VInst) and any(b in SECURITY_SCHEMES for b in self.bases(v.cls))

    def scheme_class(self, v: VInst) -> str:
        for b in self.bases(v.cls):
            if b in SECURITY_SCHEMES:
                return b.rsplit(".", 1)[-1] if isinstance(v.cls, VExt) else f"{v.cls.fact.name}({b.rsplit('.', 1)[-1]})"
        return "scheme"

    # -- scanning registrations ------------------------------------------------
    def all_scopes(self) -> Iterator[tuple[Scope, Env]]:
        """Every module, function and method scope, with the env its statements run in."""
        for name in sorted(self.modules):
            facts = self.modules[name]
            env = Env(name)
            yield facts.scope, env
            yield from self._function_scopes(facts.scope.functions, env)
            for c in facts.scope.classes:
                yield from self._class_scopes(c, env)

    def _function_scopes(self, functions: Iterable[FunctionFact], env: Env) -> Iterator[tuple[Scope, Env]]:
        for f in functions:
            inner = Env(env.module, env.functions + (f,))
            yield f.scope, inner
            yield from self._function_scopes(f.scope.functions, inner)
            for c in f.scope.classes:
                yield from self._class_scopes(c, inner)

    def _class_scopes(self, c: ClassFact, env: Env) -> Iterator[tuple[Scope, Env]]:
        yield from self._function_scopes(c.methods, env)
        for inner in c.classes:
            yield from self._class_scopes(inner, env)

    def router_of(self, v: Value) -> _RouterInfo | None:
        if not isinstance(v, VInst):
            return None
        info = self.routers.get(v.site)
        if info is not None:
            return info
        is_app = self.is_app_class(v.cls)
        if not is_app and not self.is_router_class(v.cls):
            return None
        module = v.site[0]
        path = self.path_of(module)
        call = v.call
        env = v.env or Env(module)
        prefix = ""
        tags: tuple[str, ...] = ()
        deps: list[tuple[Value, Expr, Loc]] = []
        include_in_schema = True
        deprecated = False
        loc = Loc(path, v.site[1], v.site[2] or 1)
        if call is not None:
            p = call.kwarg("prefix")
            if p is not None:
                pv = self.eval(p, env)
                if isinstance(pv, VConst) and isinstance(pv.value, str):
                    prefix = pv.value
                else:
                    self.note(f"router prefix `{render(p)}`", _why(pv), module, call.line)
            tags = self.str_list(call.kwarg("tags"), env)
            deps = self.dep_list(call.kwarg("dependencies"), env, loc)
            include_in_schema = self.bool_kw(call, "include_in_schema", env, True)
            deprecated = self.bool_kw(call, "deprecated", env, False)
            if call.starred:
                self.note(f"`{render(call.func)}(**...)` arguments", "passed with * or **: not all options are known", module, call.line)
        if isinstance(v.cls, VClass) and not is_app:
            init = v.cls.fact.method("__init__")
            if init is not None:
                self.note(f"router class `{v.cls.fact.name}`", "defines __init__: its prefix and dependencies may differ", module, v.site[1])
        factory = None
        if v.env and v.env.functions:
            factory = f"{module}.{v.env.functions[0].qualname}"
        info = _RouterInfo(v, is_app, v.bound_name or render(call.func) if call else "router", loc, prefix,
                           deps, tags, include_in_schema, deprecated, factory=factory)
        self.routers[v.site] = info
        return info

    def scan(self) -> None:
        for scope, env in self.all_scopes():
            for f in scope.functions:
                for d in f.decorators:
                    self._decorator(d.expr, f, env, Loc(self.path_of(env.module), d.pos.line, d.pos.col))
            for sc in scope.calls:
                self._stmt_call(sc.call, env, Loc(self.path_of(env.module), sc.pos.line, sc.pos.col))
            for a in scope.assigns:
                # bind names to routers created at module or function level
                if isinstance(a.value, Call):
                    v = self.lookup(a.target, env) if "." not in a.target else None
                    if isinstance(v, VInst):
                        self.router_of(v)
        # routers created but bound in an unusual way are still found through registrations

    def _decorator(self, expr: Expr, f: FunctionFact, env: Env, loc: Loc) -> None:
        if not (isinstance(expr, Call) and isinstance(expr.func, Attr)):
            return
        method = expr.func.attr
        if method not in HTTP_METHODS and method not in ("api_route", "route", "websocket", "websocket_route", "middleware"):
            return
        recv = self.eval(expr.func.value, env)
        info = self.router_of(recv)
        if info is None:
            if isinstance(recv, VUnknown) and method in HTTP_METHODS and expr.args:
                self.note(f"route decorator `@{render(expr.func)}`", recv.reason, env.module, loc.line)
            return
        handler = VFunc(f, env)
        if method == "middleware":
            info.middleware.append(Middleware(handler.qualname, "function", (("type", render(expr.args[0]) if expr.args else ""),), loc))
            return
        self._add_route(info, method, expr, handler, env, loc)

    def _add_route(self, info: _RouterInfo, method: str, call: Call, handler: VFunc | None, env: Env, loc: Loc,
                   registration: str | None = None, path_index: int = 0) -> None:
        path_expr = call.arg(path_index, "path")
        path: str | None = None
        if path_expr is not None:
            pv = self.eval(path_expr, env)
            if isinstance(pv, VConst) and isinstance(pv.value, str):
                path = pv.value
            else:
                self.note(f"route path `{render(path_expr)}`", _why(pv), env.module, loc.line)
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
                names = self.str_list(mexpr, env)
                methods = tuple(sorted({m.upper() for m in names})) if names else ("GET",)
                if not names:
                    self.note(f"methods `{render(mexpr)}`", "not a literal list", env.module, loc.line)
            kind = "http"
            reg = registration or method
        info.routes.append(_RouteReg(info.inst.site, path, path_expr, methods, kind, call, handler, loc, reg))

    def _stmt_call(self, call: Call, env: Env, loc: Loc) -> None:
        if not isinstance(call.func, Attr):
            return
        method = call.func.attr
        if method not in ("include_router", "add_api_route", "add_api_websocket_route", "mount", "add_middleware",
                          "add_route", "add_websocket_route", "api_route"):
            return
        recv = self.eval(call.func.value, env)
        info = self.router_of(recv)
        if info is None:
            if isinstance(recv, VUnknown) and method == "include_router":
                self.note(f"`{render(call.func)}(...)`", recv.reason, env.module, loc.line)
            return
        if method == "include_router":
            child_expr = call.arg(0, "router")
            child = self.eval(child_expr, env)
            child_info = self.router_of(child)
            if child_info is None:
                self.note(f"included router `{render(child_expr)}`", _why(child), env.module, loc.line)
                return
            pexpr = call.kwarg("prefix")
            prefix: str | None = ""
            if pexpr is not None:
                pv = self.eval(pexpr, env)
                if isinstance(pv, VConst) and isinstance(pv.value, str):
                    prefix = pv.value
                else:
                    prefix = None
                    self.note(f"include prefix `{render(pexpr)}`", _why(pv), env.module, loc.line)
            info.includes.append(_Include(info.inst.site, child_info.inst.site, prefix, pexpr, call, env, loc))
        elif method in ("add_api_route", "add_route"):
            endpoint = self.eval(call.arg(1, "endpoint"), env)
            handler = endpoint if isinstance(endpoint, VFunc) else None
            if handler is None:
                self.note(f"endpoint of `{render(call.func)}`", _why(endpoint), env.module, loc.line)
                return
            self._add_route(info, "add_api_route" if method == "add_api_route" else "route", call, handler, env, loc,
                            registration=method)
        elif method in ("add_api_websocket_route", "add_websocket_route"):
            endpoint = self.eval(call.arg(1, "endpoint"), env)
            if isinstance(endpoint, VFunc):
                self._add_route(info, "websocket", call, endpoint, env, loc, registration=method)
        elif method == "mount":
            pexpr = call.arg(0, "path")
            pv = self.eval(pexpr, env)
            target = self.eval(call.arg(1, "app"), env)
            kind = "other"
            name = render(call.arg(1, "app"))
            if isinstance(target, VInst):
                if self.is_app_class(target.cls) or _ext_name(target.cls) == "starlette.Starlette":
                    kind = "app"
                elif "StaticFiles" in (_ext_name(target.cls) or ""):
                    kind = "static"
            path = pv.value if isinstance(pv, VConst) and isinstance(pv.value, str) else render(pexpr)
            sub = self.router_of(target) if kind == "app" else None
            sub_id = f"{sub.inst.site[0]}:{self._app_name(sub)}" if sub is not None and sub.is_app else ""
            info.mounts.append(Mount(path, name, kind, loc, sub_id))
        elif method == "add_middleware":
            cls = self.eval(call.arg(0, "middleware_class"), env)
            name = cls.qualname if isinstance(cls, (VExt, VClass)) else render(call.arg(0, "middleware_class"))
            opts = tuple((k, render(v)) for k, v in call.kwargs)
            values = tuple((k, self.const(v, env)) for k, v in call.kwargs)
            info.middleware.append(Middleware(canonical(name), "class", opts, loc, values))

    # -- literal helpers -----------------------------------------------------
    def const(self, expr: Expr | None, env: Env) -> object:
        v = self.eval(expr, env)
        return _to_py(v)

    def str_list(self, expr: Expr | None, env: Env) -> tuple[str, ...]:
        if expr is None:
            return ()
        v = self.eval(expr, env)
        out = []
        items = v.items if isinstance(v, VSeq) else (v.value if isinstance(v, VConst) and isinstance(v.value, tuple) else ())
        for i in items:
            if isinstance(i, VConst) and isinstance(i.value, str):
                out.append(i.value)
            elif isinstance(i, str):
                out.append(i)
            elif isinstance(i, VInst) and isinstance(i.cls, VClass):  # Enum members
                out.append(i.cls.fact.name)
        return tuple(out)

    def bool_kw(self, call: Call, name: str, env: Env, default: bool) -> bool:
        e = call.kwarg(name)
        if e is None:
            return default
        v = self.eval(e, env)
        if isinstance(v, VConst) and isinstance(v.value, bool):
            return v.value
        return default

    def dep_list(self, expr: Expr | None, env: Env, loc: Loc) -> list[tuple[Value, Expr, Loc]]:
        if expr is None:
            return []
        v = self.eval(expr, env)
        if not isinstance(v, VSeq):
            self.note(f"dependencies `{render(expr)}`", _why(v), env.module, loc.line)
            return []
        items = expr.items if isinstance(expr, Seq) else tuple(Opaque("?") for _ in v.items)
        return [(item, e, loc) for item, e in zip(v.items, items)]

    # -- dependencies and auth -----------------------------------------------
    def marker_of(self, v: Value) -> tuple[str, VInst] | None:
        if isinstance(v, VInst) and isinstance(v.cls, VExt) and v.cls.qualname in PARAM_MARKERS:
            return PARAM_MARKERS[v.cls.qualname], v
        return None

    def dependency_target(self, marker: VInst, annotation: Value | None) -> Value:
        call = marker.call
        dep_expr = call.arg(0, "dependency") if call else None
        if dep_expr is None:
            base = annotation
            if isinstance(base, VAnnotated):
                base = base.base
            return base if base is not None else VUnknown("Depends() without a dependency")
        return self.eval(dep_expr, marker.env or Env(marker.site[0]))

    def dep_label(self, v: Value) -> str:
        """The name of what a ``dependencies=[Depends(x)]`` entry runs (``x``), for display."""
        m = self.marker_of(v)
        if m is not None and m[0] in ("dependency", "security"):
            return self.dep_name(self.dependency_target(m[1], None))[0]
        return self.dep_name(v)[0]

    def dep_name(self, v: Value) -> tuple[str, str]:
        """(qualified name, kind) of a dependency callable."""
        if isinstance(v, VFunc):
            return v.qualname, "function"
        if isinstance(v, VClass):
            return v.qualname, "class"
        if isinstance(v, VInst):
            if self.is_scheme(v):
                return (f"{v.site[0]}.{v.bound_name}" if v.bound_name else self.scheme_class(v)), "scheme"
            cls = v.cls.qualname
            return (f"{v.site[0]}.{v.bound_name}" if v.bound_name else f"{cls}()"), "instance"
        if isinstance(v, VExt):
            return v.qualname, "function"
        return (v.reason if isinstance(v, VUnknown) else "?"), "unknown"

    def callable_params(self, v: Value) -> tuple[VFunc | None, bool]:
        """The function whose parameters FastAPI inspects for a dependency callable."""
        if isinstance(v, VFunc):
            return v, v.fact.is_async
        if isinstance(v, VClass):
            init = self.class_attr(v, "__init__", instance=False)
            if isinstance(init, VFunc):
                return init, False
            return None, False
        if isinstance(v, VInst) and isinstance(v.cls, VClass):
            m = self.class_attr(v.cls, "__call__", instance=True)
            if isinstance(m, VFunc):
                return m, m.fact.is_async
        return None, False

    def classify_params(self, fn: VFunc, path_params: Iterable[str], is_websocket: bool = False
                        ) -> list[tuple[Param, Value | None, VInst | None]]:
        """Each parameter: (Param, dependency callable or None, marker).

        Memoized: a dependency is classified again for every route that uses it. A function is
        identified by its fact and its module (the enclosing functions follow from where the fact
        is); the result is a new list each time. Only the path parameters that are parameters of ``fn``
        change the result, so only they are in the key: a shared dependency (``get_db``) is classified
        once, not once per set of path parameters of the routes using it.
        """
        path_set = frozenset(path_params).intersection([p.name for p in fn.fact.params])
        key = (id(fn.fact), fn.env.module, fn.cls is not None, path_set)
        return list(self._memoized(self._params_memo, key, self._classify_params, fn, path_set))

    def _classify_params(self, fn: VFunc, path_set: frozenset[str]) -> list[tuple[Param, Value | None, VInst | None]]:
        out = []
        env = fn.env
        params = fn.fact.params
        if fn.cls is not None and params and params[0].name in ("self", "cls"):
            params = params[1:]
        for p in params:
            if p.kind in ("var_positional", "var_keyword"):
                continue
            ann = self.annotation(p.annotation, env) if p.annotation is not None else None
            ann = self._unwrap_alias(ann)
            default = self.eval(p.default, env) if p.default is not None else None
            marker: tuple[str, VInst] | None = None
            base = ann
            if isinstance(ann, VAnnotated):
                base = ann.base
                for m in ann.meta:
                    marker = self.marker_of(m) or marker
            # whether the marker is the default (``x: int = Query(3)``), not ``Annotated`` metadata; a
            # flag, not ``marker[1] is default``: memoized values are shared, equal objects may be one
            from_default = False
            if marker is None and default is not None:
                marker = self.marker_of(default)
                from_default = marker is not None
            type_names = tuple(self.type_names(base))
            source = "query"
            dep: Value | None = None
            constraints: tuple[tuple[str, object], ...] = ()
            required = p.default is None
            default_text = render(p.default) if p.default is not None else ""
            alias = ""
            if marker is not None:
                source = marker[0]
                minst = marker[1]
                if source in ("dependency", "security"):
                    dep = self.dependency_target(minst, base)
                else:
                    constraints = self.marker_constraints(minst)
                    mcall = minst.call
                    if mcall is not None:
                        d = mcall.arg(0, "default") if from_default else mcall.kwarg("default")
                        if d is not None:
                            dv = self.eval(d, minst.env or env)
                            required = isinstance(dv, VConst) and dv.value is Ellipsis
                            default_text = render(d)
                        elif mcall.kwarg("default_factory") is not None:
                            required = False
                        elif from_default:
                            required = True
                        a = mcall.kwarg("alias")
                        if a is not None:
                            av = self.eval(a, minst.env or env)
                            alias = av.value if isinstance(av, VConst) and isinstance(av.value, str) else ""
            else:
                special = next((SPECIAL_TYPES[t] for t in type_names if t in SPECIAL_TYPES), None)
                if special:
                    source = special
                elif p.name in path_set:
                    source = "path"
                elif self.is_body_type(base):
                    source = "body"
            if source == "path":
                required = True
            param = Param(
                name=p.name, source=source, annotation=render(p.annotation) if p.annotation is not None else "",
                type_names=type_names, required=required, default=default_text, constraints=constraints,
                line=p.pos.line, alias=alias, dependency=self.dep_name(dep)[0] if dep is not None else "",
            )
            out.append((param, dep, marker[1] if marker else None))
        return out

    def _unwrap_alias(self, v: Value | None) -> Value | None:
        # ``X = Annotated[...]`` aliases evaluate to VAnnotated already; TypeAliasType too
        if isinstance(v, VInst) and _ext_name(v.cls) == "typing.TypeAliasType" and v.call and len(v.call.args) > 1:
            return self.eval(v.call.args[1], v.env or Env(v.site[0]))
        return v

    def marker_constraints(self, m: VInst) -> tuple[tuple[str, object], ...]:
        out = []
        if m.call is None:
            return ()
        for k, e in m.call.kwargs:
            if k in ("gt", "ge", "lt", "le", "max_length", "min_length", "pattern", "regex", "max_items", "min_items",
                     "multiple_of", "include_in_schema", "deprecated", "alias", "convert_underscores"):
                out.append((k, self.const(e, m.env or Env(m.site[0]))))
        return tuple(out)

    def type_names(self, v: Value | None, _depth: int = 0) -> list[str]:
        if v is None or _depth > 6:
            return []
        if isinstance(v, VClass):
            return [v.qualname]
        if isinstance(v, VExt):
            return [v.qualname]
        if isinstance(v, VGeneric):
            out = self.type_names(v.base, _depth + 1)
            for i in v.items:
                out.extend(self.type_names(i, _depth + 1))
            return out
        if isinstance(v, VAnnotated):
            return self.type_names(v.base, _depth + 1)
        if isinstance(v, VConst) and v.value is None:
            return ["builtins.None"]
        return []

    def is_model_class(self, v: Value) -> bool:
        return isinstance(v, VClass) and any(b in MODEL_BASES for b in self.bases(v))

    def is_body_type(self, v: Value | None, _depth: int = 0) -> bool:
        if v is None or _depth > 5:
            return False
        if self.is_model_class(v):
            return True
        if isinstance(v, VExt) and v.qualname in ("builtins.dict", "typing.Dict", "typing.Any"):
            return v.qualname != "typing.Any"
        if isinstance(v, VGeneric):
            base = _ext_name(v.base)
            if base in ("builtins.dict", "typing.Dict"):
                return True
            if base in ("typing.Optional", "typing.Union"):
                return any(self.is_body_type(i, _depth + 1) for i in v.items)
            return any(self.is_model_class(i) for i in v.items)
        if isinstance(v, VAnnotated):
            return self.is_body_type(v.base, _depth + 1)
        return False

    def model_names(self, v: Value | None, _depth: int = 0) -> list[str]:
        if v is None or _depth > 6:
            return []
        if self.is_model_class(v):
            return [v.qualname]  # type: ignore[union-attr]
        if isinstance(v, VGeneric):
            out = []
            for i in v.items:
                out.extend(self.model_names(i, _depth + 1))
            return out
        if isinstance(v, VAnnotated):
            return self.model_names(v.base, _depth + 1)
        return []

    def walk_dependencies(
        self,
        roots: Sequence[tuple[Value, str, Loc, tuple[str, ...], bool]],
        path_params: Iterable[str],
    ) -> tuple[list[DependencyUse], list[AuthVia], list[Param]]:
        """Flatten the dependency tree under ``roots`` = (callable, level, loc, scopes, is_security)."""
        uses: list[DependencyUse] = []
        vias: list[AuthVia] = []
        sub_params: list[Param] = []
        # FastAPI keys a sub-dependency by callable *and* scopes: ``Security(dep, scopes=[...])`` next to a
        # plain ``Depends(dep)`` is a second dependant, so the scopes must not be dropped as a duplicate
        seen_pairs: set[tuple[str, str, tuple[str, ...]]] = set()

        def visit(v: Value, level: str, loc: Loc, scopes: tuple[str, ...], security: bool,
                  chain: tuple[str, ...], depth: int, parent: str) -> None:
            name, kind = self.dep_name(v)
            if depth > MAX_DEP_DEPTH or (parent, name, scopes) in seen_pairs or name in chain:
                return
            seen_pairs.add((parent, name, scopes))
            fn, is_async = self.callable_params(v)
            path = loc.path
            line = loc.line
            if isinstance(v, VFunc):
                path, line = self.path_of(v.env.module), v.fact.pos.line
            elif isinstance(v, VClass):
                path, line = self.path_of(v.env.module), v.fact.pos.line
            elif isinstance(v, VInst):
                path, line = self.path_of(v.site[0]), v.site[1]
            uses.append(DependencyUse(name, kind, level, path, line, depth, security or kind == "scheme", scopes,
                                      parent, is_async if fn else None))
            new_chain = chain + (_short(name),)
            if kind == "scheme" and isinstance(v, VInst):
                optional = False
                if v.call is not None:
                    ae = v.call.kwarg("auto_error")
                    if ae is not None:
                        av = self.eval(ae, v.env or Env(v.site[0]))
                        optional = isinstance(av, VConst) and av.value is False
                vias.append(AuthVia("scheme", _short(name), self.scheme_class(v), level, new_chain, path, line,
                                    scopes, optional))
                return
            hand = self.dependency_auth(v, fn, name, kind, level, new_chain, path, line)
            if hand is not None:  # a dependency that checks credentials by hand (or is configured as auth)
                vias.append(hand)
            if fn is None:
                return
            for param, dep, marker in self.classify_params(fn, path_params):
                if dep is not None:
                    sc: tuple[str, ...] = ()
                    is_sec = param.source == "security"
                    if is_sec and marker is not None and marker.call is not None:
                        sc = self.str_list(marker.call.kwarg("scopes"), marker.env or Env(marker.site[0]))
                    visit(dep, level, loc, scopes + sc, security or is_sec, new_chain, depth + 1, name)
                else:
                    sub_params.append(param)

        for v, level, loc, scopes, security in roots:
            visit(v, level, loc, scopes, security, (), 0, "")
        return uses, vias, sub_params

    # -- auth beyond security schemes ----------------------------------------------
    # A route is also authenticated by a dependency that checks credentials by hand, by a decorator
    # on its handler, or by a middleware that rejects unauthenticated requests to its path. What
    # counts as a credential check: the function (or a project function it calls, two levels down)
    # reads a credential (a credential-named header/cookie/query parameter, ``request.headers[...]``,
    # ``.cookies``, ``.session``, ``request.user``/``request.auth``/``request.state.user``) and
    # rejects (raises HTTPException/WebSocketException with 401/403/1008 or an auth-named exception,
    # returns a 401/403 response, or redirects to a login page) under a condition. Names configured in
    # ``auth-decorators``/``auth-dependencies`` count whatever their code shows.

    def _functions_by_name(self) -> dict[str, VFunc]:
        if self._func_index is None:
            self._func_index = {}
            for fv, _ in self.all_functions():
                self._func_index.setdefault(fv.qualname, fv)
        return self._func_index

    def _classes_by_name(self) -> dict[str, VClass]:
        if self._class_index is None:
            self._class_index = {}
            for cls, _ in self.all_classes():
                self._class_index.setdefault(cls.qualname, cls)
        return self._class_index

    def configured(self, key: str, names: Iterable[str]) -> str | None:
        """The ``auth-<key>`` pattern (a qualified name or glob) matching one of ``names``."""
        patterns = self.auth_names.get(key, ())
        for n in names:
            for p in patterns:
                if n and fnmatch.fnmatchcase(n, p):
                    return p
        return None

    def _symbol_names(self, expr: Expr, env: Env) -> list[str]:
        """Names a decorator or callable goes by, for matching configured names."""
        out: list[str] = []
        v = self.eval(expr, env)
        if isinstance(v, (VFunc, VClass, VExt)):
            out.append(v.qualname)
        elif isinstance(v, VInst) and v.bound_name:
            out.append(f"{v.site[0]}.{v.bound_name}")
        d = dotted(expr)
        if d is not None:
            root, _, rest = d.partition(".")
            rv = self.eval(Name(root), env)
            if rest:
                if isinstance(rv, VInst) and rv.bound_name:
                    out.append(f"{rv.site[0]}.{rv.bound_name}.{rest}")
                elif isinstance(rv, VModule):
                    out.append(f"{rv.name}.{rest}")
                elif isinstance(rv, (VExt, VClass)):
                    out.append(f"{rv.qualname}.{rest}")
            out.append(f"{env.module}.{d}")
            out.append(d)
        return list(dict.fromkeys(out))

    def _status_code(self, expr: Expr | None, env: Env) -> int | None:
        if expr is None:
            return None
        v = self.eval(expr, env)
        code = _status_value(v)
        if code is None and isinstance(v, VExt):
            tail = v.qualname.rsplit(".", 1)[-1].upper()
            code = {"UNAUTHORIZED": 401, "FORBIDDEN": 403}.get(tail)
        return code

    def _reject_raise(self, expr: Expr | None, env: Env) -> str | None:
        if expr is None:
            return None
        call = expr if isinstance(expr, Call) else None
        cenv = env
        cls = self.eval(expr.func, env) if call is not None else self.eval(expr, env)
        if isinstance(cls, VInst):  # ``raise credentials_exception`` bound to ``HTTPException(401)``
            call, cenv, cls = cls.call, cls.env or env, cls.cls
        if not isinstance(cls, (VClass, VExt)):
            name = (dotted(call.func if call is not None else expr) or "").rsplit(".", 1)[-1]
            return f"raises {name}" if name and _REJECT_EXC_RE.search(name) else None
        short = cls.qualname.rsplit(".", 1)[-1]
        if call is not None and any(b.rsplit(".", 1)[-1] in ("HTTPException", "WebSocketException")
                                    for b in self.bases(cls)):
            code = self._status_code(call.arg(0, "code" if "WebSocket" in short else "status_code"), cenv)
            if code in _REJECT_CODES:
                return f"raises {short}({code})"
            return None
        return f"raises {short}" if _REJECT_EXC_RE.search(short) else None

    def _reject_response(self, call: Call, env: Env) -> str | None:
        f = call.func
        tail = f.attr if isinstance(f, Attr) else f.id if isinstance(f, Name) else ""
        if not tail.endswith("Response") and tail not in ("HTTPException", "WebSocketException"):
            return None  # cheap filter before evaluating
        cls = self.eval(f, env)
        if not isinstance(cls, (VClass, VExt)):
            return None
        short = cls.qualname.rsplit(".", 1)[-1]
        if not short.endswith("Response"):
            return None
        if "Redirect" in short:
            url = self.eval(call.arg(0, "url"), env)
            if isinstance(url, VConst) and isinstance(url.value, str) and _LOGIN_URL_RE.search(url.value):
                return f"redirects to {url.value}"
            return None
        code = self._status_code(call.arg(1, "status_code") if short != "Response" else call.kwarg("status_code"), env)
        return f"returns {short}({code})" if code in _REJECT_CODES else None

    def rejections(self, fn: VFunc, calls: Iterable[int] | None = None, raises: Iterable[int] | None = None,
                   helpers: bool = True) -> list[str]:
        """How ``fn`` (optionally: only the given call and raise indexes) rejects a request."""
        env = Env(fn.env.module, fn.env.functions + (fn.fact,))
        fact = fn.fact
        out: list[str] = []
        r_idx = range(len(fact.raises)) if raises is None else raises
        for i in r_idx:
            d = self._reject_raise(fact.raises[i].expr, env)
            if d:
                out.append(d)
        c_idx = range(len(fact.calls)) if calls is None else calls
        for i in c_idx:
            site = fact.calls[i]
            d = self._reject_response(site.call, env)
            if d:
                out.append(d)
            elif helpers and calls is not None:  # ``return unauthorized()``: a helper that builds the rejection
                target = self._functions_by_name().get(self._safe_callee(fn, site.call) or "")
                if target is not None and target.fact is not fact and self.rejections(target, helpers=False):
                    out.append(f"{target.fact.name}()")
        return list(dict.fromkeys(out))

    def _request_names(self, fn: VFunc) -> set[str]:
        names = set(_REQUEST_NAMES)
        for p in fn.fact.params:
            if p.annotation is None:
                continue
            t = self._param_type(VParam(fn, p.name))
            if t is not None and SPECIAL_TYPES.get(t) in ("request", "websocket"):
                names.add(p.name)
        return names

    def credential_check(self, fn: VFunc, *, params: bool = False, depth: int = 2,
                         principal_only: bool = False) -> "_CredCheck":
        """Does ``fn`` (and the project functions it calls) read a credential and reject without it?"""
        key = (fn.qualname, params, depth, principal_only)
        cached = self._cred_cache.get(key)
        if cached is not None:
            return cached
        check = _CredCheck(fn.qualname)
        self._cred_cache[key] = check  # recursion guard
        queue: list[tuple[VFunc, int]] = [(fn, 0)]
        seen: set[str] = set()
        by_name = self._functions_by_name()
        while queue:
            f, level = queue.pop(0)
            if f.qualname in seen:
                continue
            seen.add(f.qualname)
            fact = f.fact
            if params and f is fn:
                for param, dep, _ in self.classify_params(f, ()):
                    if dep is None and param.source in ("header", "cookie", "query") \
                            and _credential_name(param.alias or param.name):
                        check.reads.append(f"the `{param.alias or param.name}` {param.source}")
            if not principal_only:
                for base, k in fact.subscripts:
                    if base.rsplit(".", 1)[-1] in _CREDENTIAL_SOURCES and _credential_name(k):
                        check.reads.append(f"{base}[{k!r}]")
                for site in fact.calls:
                    c = site.call
                    if isinstance(c.func, Attr) and c.func.attr == "get" and c.args and isinstance(c.args[0], Const):
                        base = dotted(c.func.value) or ""
                        k = c.args[0].value
                        k = k.decode("latin-1") if isinstance(k, bytes) else k
                        if base.rsplit(".", 1)[-1] in _CREDENTIAL_SOURCES and isinstance(k, str) and _credential_name(k):
                            check.reads.append(f"{base}.get({k!r})")
            req = self._request_names(f)
            for a in sorted(fact.attributes):
                root, _, rest = a.partition(".")
                if root in req and _PRINCIPAL_RE.match(rest) and not (principal_only and rest.startswith("session")):
                    check.reads.append(a)
            for site in fact.calls:
                name = _call_tail(site.call)
                if _VERIFY_CALL_RE.search(name):
                    check.verifies.append(f"{name}()")
            if fact.compares or fact.truth_tests:
                check.verifies.append("a condition")
            check.rejects.extend(self.rejections(f, helpers=False))
            if level < depth:
                for site in fact.calls:
                    target = by_name.get(self._safe_callee(f, site.call) or "")
                    if target is not None and target.qualname not in seen:
                        queue.append((target, level + 1))
        check.reads = list(dict.fromkeys(check.reads))
        check.verifies = list(dict.fromkeys(check.verifies))
        check.rejects = list(dict.fromkeys(check.rejects))
        return check

    def dependency_auth(self, v: Value, fn: VFunc | None, name: str, kind: str, level: str,
                        chain: tuple[str, ...], path: str, line: int) -> AuthVia | None:
        """A non-scheme dependency that authenticates: configured by name, or checking credentials by hand."""
        names = [name]
        if isinstance(v, VInst):
            names.append(v.cls.qualname)
        elif isinstance(v, VUnknown) and v.binding:  # an object of a library the model cannot evaluate
            names, name = [v.binding], v.binding
            chain = chain[:-1] + (_short(name),)
        pattern = self.configured("dependencies", names)
        if pattern is not None:
            return AuthVia("dependency", _short(name), "configured dependency", level, chain, path, line,
                           evidence=f"configured in auth-dependencies ({pattern})")
        if fn is None:
            return None
        key = (fn.qualname, "dependency")
        if key not in self._dep_auth_cache:  # the same dependency is visited once per route using it
            evidence = None
            # a dependency that receives a security scheme directly is already counted through the scheme
            try:
                if not any(dep is not None and self.is_scheme(dep) for _, dep, _ in self.classify_params(fn, ())):
                    check = self.credential_check(fn, params=True)
                    evidence = check.evidence() if check.ok else None
            except RecursionError:
                evidence = None
            self._dep_auth_cache[key] = evidence
        evidence = self._dep_auth_cache[key]
        if evidence is None:
            return None
        return AuthVia("dependency", _short(name), "hand-written check", level, chain, path, line, evidence=evidence)

    def decorator_auth(self, reg: _RouteReg, handler: VFunc) -> list[AuthVia]:
        """Auth decorators that wrap the function FastAPI registered for this route."""
        decos = handler.fact.decorators
        start = 0
        for i, d in enumerate(decos):
            if d.pos.line == reg.loc.line and d.pos.col == reg.loc.col:
                start = i + 1  # only decorators below the route decorator wrap what it registers
                break
        out: list[AuthVia] = []
        path = self.path_of(handler.env.module)
        for d in decos[start:]:
            if _is_route_decorator(d.expr):
                continue
            try:
                via = self._auth_decorator(d.expr, handler.env, path, d.pos.line)
            except RecursionError:  # a pathological decorator chain: not auth, never a crash
                via = None
            if via is not None:
                out.append(via)
        return out

    def _auth_decorator(self, expr: Expr, env: Env, path: str, line: int) -> AuthVia | None:
        label = render(expr, 60)
        target = expr.func if isinstance(expr, Call) else expr
        names = self._symbol_names(target, env)
        pattern = self.configured("decorators", names)
        literal_args: tuple[str, ...] = ()
        if isinstance(expr, Call):
            literal_args = tuple(a for e in expr.args for a in self.str_list(e, env)) + tuple(
                v.value for v in (self.eval(e, env) for e in expr.args) if isinstance(v, VConst) and isinstance(v.value, str))
        short = (names[0] if names else label).rsplit(".", 1)[-1]
        if pattern is not None:
            return AuthVia("decorator", short, "configured decorator", "route", (label,), path, line,
                           literal_args, evidence=f"configured in auth-decorators ({pattern})")
        tv = self.eval(target, env)
        if isinstance(tv, VExt) and tv.qualname in _REQUIRES:
            if not isinstance(expr, Call):
                return None
            scopes = tuple(dict.fromkeys(literal_args))
            return AuthVia("decorator", "requires", "starlette requires", "route", (label,), path, line, scopes,
                           evidence=f"starlette.authentication.requires: 403 unless request.auth.scopes has "
                                    f"{', '.join(scopes) or 'the scopes'}")
        deco = self.eval(expr, env)  # the decorator itself: a factory call evaluates to what it returns
        wrapper = self._wrapper_of(deco)
        if wrapper is None:
            return None
        check = self.credential_check(wrapper)
        if not check.ok:
            return None
        where = tv if isinstance(tv, (VFunc, VClass)) else deco
        dpath, dline = path, line
        if isinstance(where, (VFunc, VClass)):
            dpath, dline = self.path_of(where.env.module), where.fact.pos.line
        return AuthVia("decorator", short, "hand-written check", "route", (label, wrapper.fact.name), dpath, dline,
                       literal_args, evidence=check.evidence())

    def _wrapper_of(self, deco: Value) -> VFunc | None:
        """The function a decorator puts in place of the handler (its nested wrapper), if it has one."""
        if isinstance(deco, VClass):  # ``@LoginRequired``: the instance is called instead of the function
            m = self.class_attr(deco, "__call__", instance=True)
            return m if isinstance(m, VFunc) else None
        if isinstance(deco, VInst) and isinstance(deco.cls, VClass):  # ``@Guard("admin")``: ``__call__(func)``
            m = self.class_attr(deco.cls, "__call__", instance=True)
            deco = m if isinstance(m, VFunc) else deco
        if not isinstance(deco, VFunc):
            return None
        inner_env = Env(deco.env.module, deco.env.functions + (deco.fact,))
        for ret in deco.fact.scope.returns:
            w = self._nested_func(ret.value, inner_env, deco.fact)
            if w is not None:
                return w
        return None

    def _nested_func(self, expr: Expr | None, env: Env, outer: FunctionFact) -> VFunc | None:
        if expr is None:
            return None
        candidates = [expr]
        if isinstance(expr, Call):  # ``functools.update_wrapper(wrapper, func)``, ``wraps(func)(wrapper)``
            candidates.extend(expr.args)
        for e in candidates:
            v = self.eval(e, env)
            if isinstance(v, VFunc) and any(v.fact is f for f in outer.scope.functions):
                return v
        return None

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
                handler = self._functions_by_name().get(route.handler.qualname)
                if handler is None:
                    continue
                check = self.credential_check(handler, depth=0, principal_only=True)
                if not check.ok:
                    continue
                vias.append(AuthVia(
                    "middleware", spec.name, spec.scheme, "route", (spec.name, *spec.chain, _short(handler.qualname)),
                    spec.path, spec.line, evidence=f"{spec.evidence}; the handler {check.evidence()}"))
            elif route.kind == "http" and spec.covers(full):
                mounted = f"; reaches the app mounted at {prefix}" if prefix else ""
                vias.append(AuthVia("middleware", spec.name, spec.scheme, "app", (spec.name, *spec.chain),
                                    spec.path, spec.line, evidence=spec.evidence + mounted))
        if len(vias) == len(route.auth.via):
            return route
        vias.sort(key=lambda v: (_LEVEL_ORDER.get(v.level, 5), v.chain))
        return replace(route, auth=Auth(required=True, via=tuple(vias)))

    def _middleware_spec(self, m: Middleware) -> "_MwAuth | None":
        module = self._module_at(m.loc.path)
        if m.kind == "function":
            fn = self._functions_by_name().get(m.name)
            if fn is None:
                return None
            nxt = {fn.fact.params[1].name} if len(fn.fact.params) > 1 else {"call_next"}
            return self._custom_middleware(_short(m.name), fn, nxt, m, m.loc.path, m.loc.line)
        cls = self._classes_by_name().get(m.name)
        bases = self.bases(cls) if cls is not None else (m.name,)
        if _AUTHENTICATION_MIDDLEWARE in bases:
            backend = dict(m.options).get("backend", "")
            bname = re.sub(r"\(.*", "", backend).rsplit(".", 1)[-1] or "backend"
            return _MwAuth("authentication", _short(m.name), f"AuthenticationMiddleware({bname})", (bname,),
                           m.loc.path, m.loc.line,
                           evidence=f"{_short(m.name)}(backend={backend or '?'}) sets request.user")
        if cls is not None:
            for meth, nxt_index in (("dispatch", 2), ("__call__", None)):
                f = self.class_attr(cls, meth, instance=True)
                if isinstance(f, VFunc) and f.env.module in self.modules and f.cls is not None \
                        and f.cls.qualname in self._classes_by_name():
                    params = f.fact.params
                    nxt = {params[nxt_index].name} if nxt_index is not None and len(params) > nxt_index \
                        else {"call_next", "self.app", "app"}
                    return self._custom_middleware(_short(m.name), f, nxt, m, self.path_of(f.env.module),
                                                   f.fact.pos.line, cls=cls)
            return None
        if m.name.endswith("BaseHTTPMiddleware") and module is not None:
            text = dict(m.options).get("dispatch", "")
            if re.fullmatch(r"[A-Za-z_][\w.]*", text or ""):
                node: Expr = Name(text.split(".")[0])
                for part in text.split(".")[1:]:
                    node = Attr(node, part)
                fn = self.eval(node, Env(module))
                if isinstance(fn, VFunc):
                    nxt = {fn.fact.params[1].name} if len(fn.fact.params) > 1 else {"call_next"}
                    return self._custom_middleware(_short(fn.qualname), fn, nxt, m,
                                                   self.path_of(fn.env.module), fn.fact.pos.line)
        return None

    def _module_at(self, path: str) -> str | None:
        for name, facts in self.modules.items():
            if facts.path == path:
                return name
        return None

    def _custom_middleware(self, name: str, fn: VFunc, nxt: set[str], m: Middleware, path: str, line: int,
                           cls: VClass | None = None) -> "_MwAuth | None":
        check = self.credential_check(fn)
        if not check.ok:
            return None
        spec = _MwAuth("custom", name, "hand-written check", (fn.fact.name,) if fn.fact.name != name else (), path, line)
        self._path_rules(fn, nxt, spec, dict(m.values), cls)
        parts = [check.evidence()]
        if spec.protect_exact or spec.protect_prefixes:
            parts.append("only guards " + ", ".join(sorted(spec.protect_exact) + [p + "*" for p in sorted(spec.protect_prefixes)]))
        if spec.exempt_exact or spec.exempt_prefixes:
            parts.append("exempts " + ", ".join(sorted(spec.exempt_exact) + [p + "*" for p in sorted(spec.exempt_prefixes)]))
        if spec.unresolved:
            parts.append("path tests not resolved: " + ", ".join(spec.unresolved))
        spec.evidence = "; ".join(parts)
        return spec

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
                    self.note(f"path test `{text}` in middleware `{spec.name}`",
                              "neither branch passes the request on nor rejects it", fn.env.module, g.pos.line or fact.pos.line)
                    continue
                exempt = positive == (action == "pass")
                if lits is None:
                    spec.unresolved.append(text)
                    if not exempt:
                        spec.unresolved_guard = True
                    self.note(f"path test `{text}` in middleware `{spec.name}`",
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
                self.note(f"path test `{text}` in middleware `{spec.name}`",
                          "not the condition of an `if`: the paths it exempts are not modelled", fn.env.module,
                          c.pos.line)

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
            v = self.class_attr(cls, attr, instance=True)
            if isinstance(v, VUnknown):  # ``self.exempt = exempt`` in ``__init__``: the registration's keyword
                v = self._init_attr(cls, attr, values)
        if v is None:
            v = self.eval(expr, env)
        return self.literal_strs(v)

    def literal_strs(self, v: Value, _depth: int = 0) -> tuple[str, ...] | None:
        """The strings of a literal str/tuple/list/set/frozenset value, or None if any is not literal."""
        if _depth > 4:
            return None
        if isinstance(v, VConst):
            if isinstance(v.value, str):
                return (v.value,)
            if isinstance(v.value, (tuple, list, set, frozenset)) and all(isinstance(i, str) for i in v.value):
                return tuple(v.value)
            return None
        if isinstance(v, VSeq):
            out: list[str] = []
            for item in v.items:
                got = self.literal_strs(item, _depth + 1)
                if got is None:
                    return None
                out.extend(got)
            return tuple(out)
        if isinstance(v, VInst) and isinstance(v.cls, VExt) and v.cls.qualname in (
                "builtins.frozenset", "builtins.set", "builtins.tuple", "builtins.list") and v.call is not None:
            if not v.call.args:
                return ()
            return self.literal_strs(self.eval(v.call.args[0], v.env or Env(v.site[0])), _depth + 1)
        return None

    def _init_attr(self, cls: VClass, attr: str, values: dict[str, object]) -> Value:
        init = self.class_attr(cls, "__init__", instance=True)
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
                    return self.eval(p.default, init.env)
                return VUnknown(f"`{a.value.id}` is passed at registration")
            return self.eval(a.value, ienv)
        return VUnknown(f"`{attr}` is not set in __init__")

    def _branch_action(self, fn: VFunc, calls: Sequence[int], raises: Sequence[int], nxt: set[str]) -> str | None:
        if not calls and not raises:
            return None
        if self.rejections(fn, calls, raises):
            return "reject"
        for i in calls:
            d = dotted(fn.fact.calls[i].call.func)
            if d in nxt:
                return "pass"
        return None

    # -- routes ------------------------------------------------------------------
    def flatten(self, key: tuple[str, int, int], stack: tuple[tuple[str, int, int], ...] = ()
                ) -> list[tuple[_RouteReg, str, bool, list[tuple[Value, str, Loc]], tuple[str, ...], tuple[IncludeStep, ...], bool, bool, str]]:
        """Routes reachable from a router: (reg, path, path_ok, deps, tags, chain, in_schema, deprecated, router_prefix)."""
        info = self.routers[key]
        if key in stack:
            self.note(f"router `{info.name}`", "includes itself (directly or through others)", key[0], key[1])
            return []
        out = []
        own_deps = [(v, "app" if info.is_app else "router", loc) for v, _, loc in info.deps]
        for reg in info.routes:
            path_ok = reg.path is not None
            path = info.prefix + (reg.path or "")
            out.append((reg, path, path_ok, list(own_deps), info.tags, (), info.include_in_schema, info.deprecated, info.prefix))
        for inc in info.includes:
            child = self.routers.get(inc.child)
            if child is None:
                continue
            kw_deps = self.dep_list(inc.call.kwarg("dependencies"), inc.env, inc.loc)
            inc_tags = self.str_list(inc.call.kwarg("tags"), inc.env)
            in_schema = self.bool_kw(inc.call, "include_in_schema", inc.env, True)
            deprecated = self.bool_kw(inc.call, "deprecated", inc.env, False)
            step = IncludeStep(
                parent=info.name, child=render(inc.call.arg(0, "router")) or child.name, prefix=inc.prefix if inc.prefix is not None else render(inc.prefix_expr),
                path=inc.loc.path, line=inc.loc.line,
                dependencies=tuple(self.dep_label(v) for v, _, _ in kw_deps), tags=inc_tags,
            )
            inc_deps = [(v, "include", loc) for v, _, loc in kw_deps]
            for reg, path, ok, deps, tags, chain, schema, depr, rprefix in self.flatten(inc.child, stack + (key,)):
                out.append((
                    reg, info.prefix + (inc.prefix or "") + path, ok and inc.prefix is not None,
                    own_deps + inc_deps + deps, info.tags + inc_tags + tags, (step,) + chain,
                    info.include_in_schema and in_schema and schema, info.deprecated or deprecated or depr, rprefix,
                ))
        return out

    def build_route(self, app_id: str, reg: _RouteReg, path: str, path_ok: bool,
                    deps: list[tuple[Value, str, Loc]], tags: tuple[str, ...], chain: tuple[IncludeStep, ...],
                    in_schema: bool, deprecated: bool, router_prefix: str, order: int = 0) -> Route | None:
        handler_v = reg.handler
        if handler_v is None:
            return None
        env = handler_v.env
        call = reg.call
        fact = handler_v.fact
        handler = Handler(handler_v.qualname, env.module, self.path_of(env.module), fact.pos.line, fact.pos.col,
                          fact.is_async, fact)
        path_params = tuple(m.split(":")[0] for m in re.findall(r"{([^}]+)}", path))
        roots: list[tuple[Value, str, Loc, tuple[str, ...], bool]] = []
        for v, level, loc in deps:
            m = self.marker_of(v)
            if m is not None and m[0] in ("dependency", "security"):
                target = self.dependency_target(m[1], None)
                sc = self.str_list(m[1].call.kwarg("scopes"), m[1].env or env) if m[1].call else ()
                roots.append((target, level, loc, sc, m[0] == "security"))
            else:
                self.note("dependency in `dependencies=`", _why(v) if isinstance(v, VUnknown) else "not a Depends(...)", env.module, loc.line)
        for v, _, loc in self.dep_list(call.kwarg("dependencies"), env, reg.loc):
            m = self.marker_of(v)
            if m is not None and m[0] in ("dependency", "security"):
                target = self.dependency_target(m[1], None)
                sc = self.str_list(m[1].call.kwarg("scopes"), m[1].env or env) if m[1].call else ()
                roots.append((target, "route", loc, sc, m[0] == "security"))
        params = self.classify_params(handler_v, path_params, reg.kind == "websocket")
        plain_params: list[Param] = []
        request_models: list[str] = []
        for param, dep, marker in params:
            if dep is not None:
                sc = ()
                if param.source == "security" and marker is not None and marker.call is not None:
                    sc = self.str_list(marker.call.kwarg("scopes"), marker.env or env)
                roots.append((dep, "param", Loc(handler.path, param.line), sc, param.source == "security"))
            plain_params.append(param)
        uses, vias, sub_params = self.walk_dependencies(roots, path_params)
        vias.extend(self.decorator_auth(reg, handler_v))
        for param, _, _ in params:
            if param.source in ("body", "form"):
                p_ann = self.annotation(self._param_expr(fact, param.name), env)
                request_models.extend(self.model_names(self._unwrap_alias(p_ann)))
        # status code
        status_code: int | None = 200 if reg.kind == "http" else None
        explicit = False
        sc_expr = call.kwarg("status_code")
        if sc_expr is not None:
            scv = self.eval(sc_expr, env)
            code = _status_value(scv)
            if code is not None:
                status_code, explicit = code, True
            else:
                status_code = None
                self.note(f"status code `{render(sc_expr)}`", _why(scv), env.module, reg.loc.line)
        # response model
        response_model = None
        rm_types: tuple[str, ...] = ()
        rm_source = None
        rm_expr = call.kwarg("response_model")
        if rm_expr is not None:
            rmv = self.annotation(rm_expr, env)
            if not (isinstance(rmv, VConst) and rmv.value is None):
                response_model, rm_source = render(rm_expr), "decorator"
                rm_types = tuple(self.type_names(rmv))
        elif fact.returns is not None and reg.kind == "http":
            rv = self.annotation(fact.returns, env)
            names = self.type_names(rv)
            if names and not any(n.startswith("fastapi.responses.") or n == "fastapi.Response" for n in names) \
                    and names != ["builtins.None"]:
                response_model, rm_source = render(fact.returns), "annotation"
                rm_types = tuple(names)
        rc = call.kwarg("response_class")
        response_class = None
        if rc is not None:
            rcv = self.eval(rc, env)
            response_class = rcv.qualname if isinstance(rcv, (VExt, VClass)) else render(rc)
        route_tags = tags + self.str_list(call.kwarg("tags"), env)
        in_schema = in_schema and self.bool_kw(call, "include_in_schema", env, True)
        deprecated = deprecated or self.bool_kw(call, "deprecated", env, False)
        if not path_ok:
            self.note(f"full path of `{handler.qualname}`", "a prefix or path could not be resolved", env.module, reg.loc.line)
        vias.sort(key=lambda a: ({"app": 0, "include": 1, "router": 2, "route": 3, "param": 4}.get(a.level, 5), a.chain))
        # any security scheme in the tree (what OpenAPI shows), a hand-written auth dependency or an auth
        # decorator makes the route authenticated (middleware is added by ``middleware_auth``);
        # ``AuthVia.optional`` says when the scheme itself lets a missing credential through
        auth = Auth(required=bool(vias), via=tuple(vias))
        return Route(
            app=app_id, methods=reg.methods, path=path, kind=reg.kind, handler=handler,
            router=f"{reg.router[0]}:{reg.router[1]}", registered=reg.loc, status_code=status_code,
            status_code_explicit=explicit, response_model=response_model, response_model_types=rm_types,
            response_model_source=rm_source, request_models=tuple(dict.fromkeys(request_models)),
            tags=tuple(dict.fromkeys(route_tags)), dependencies=tuple(uses), auth=auth,
            params=tuple(plain_params) + tuple(sub_params), include_chain=chain, include_in_schema=in_schema,
            deprecated=deprecated, registration=reg.registration, path_unresolved=not path_ok,
            response_class=response_class, router_prefix=router_prefix, order=order,
        )

    @staticmethod
    def _param_expr(fact: FunctionFact, name: str) -> Expr | None:
        p = fact.param(name)
        return p.annotation if p else None

    # -- models and tables -------------------------------------------------------
    def all_classes(self) -> Iterator[tuple[VClass, str]]:
        for name in sorted(self.modules):
            facts = self.modules[name]
            env = Env(name)
            for c in facts.scope.classes:
                yield from self._classes(c, env)

    def _classes(self, c: ClassFact, env: Env) -> Iterator[tuple[VClass, str]]:
        yield VClass(c, env), self.path_of(env.module)
        for inner in c.classes:
            yield from self._classes(inner, env)

    def build_models(self) -> tuple[list[PydanticModel], list[Table]]:
        models: list[PydanticModel] = []
        tables: list[Table] = []
        for cls, path in self.all_classes():
            bases = self.bases(cls)
            kind = next((MODEL_BASES[b] for b in bases if b in MODEL_BASES), None)
            is_table_kw = any(k == "table" and isinstance(v, Const) and v.value is True for k, v in cls.fact.keywords)
            if kind == "sqlmodel" and is_table_kw:
                tables.append(self.table(cls, path, "sqlmodel"))
                continue
            if kind is not None:
                models.append(self.pyd_model(cls, path, kind, bases))
                continue
            if self.is_sqla_model(cls, bases):
                tables.append(self.table(cls, path, "sqlalchemy"))
        return models, tables

    def is_sqla_model(self, cls: VClass, bases: tuple[str, ...]) -> bool:
        if cls.fact.field("__abstract__") is not None:
            f = cls.fact.field("__abstract__")
            if f and isinstance(f.value, Const) and f.value.value is True:
                return False
        declarative = any(b in SQLA_BASES or b.endswith("declarative_base()") for b in bases[1:])
        if not declarative:
            return False
        # the declarative base itself (class Base(DeclarativeBase)) is not a table
        return cls.fact.field("__tablename__") is not None or cls.fact.field("__table__") is not None or any(
            self._is_column_field(f.annotation, f.value) for f in cls.fact.fields
        )

    @staticmethod
    def _is_column_field(annotation: Expr | None, value: Expr | None) -> bool:
        if isinstance(value, Call):
            fn = value.func
            name = fn.attr if isinstance(fn, Attr) else fn.id if isinstance(fn, Name) else ""
            if name in ("mapped_column", "Column", "column_property"):
                return True
        if isinstance(annotation, Subscript):
            base = annotation.value
            name = base.attr if isinstance(base, Attr) else base.id if isinstance(base, Name) else ""
            if name == "Mapped":
                return True
        return False

    def model_fields(self, cls: VClass, _seen: frozenset[str] = frozenset()) -> list[ModelField]:
        """The fields of a model class, inherited ones first (memoized: subclasses share their bases')."""
        if cls.qualname in _seen:
            self._guarded = True
            return []
        return self._memoized(self._fields_memo, (id(cls.fact), cls.env.module), self._model_fields, cls, _seen)

    def _model_fields(self, cls: VClass, _seen: frozenset[str]) -> list[ModelField]:
        fields: dict[str, ModelField] = {}
        for b in cls.fact.bases:
            bv = self.eval(b, cls.env)
            if isinstance(bv, VClass) and self.is_model_class(bv):
                for f in self.model_fields(bv, _seen | {cls.qualname}):
                    fields[f.name] = f
        for f in cls.fact.fields:
            if f.annotation is None or f.name.startswith("_") or f.name == "model_config":
                continue
            ann_v = self.annotation(f.annotation, cls.env)
            if isinstance(ann_v, VGeneric) and _ext_name(ann_v.base) == "typing.ClassVar":
                continue
            base = ann_v.base if isinstance(ann_v, VAnnotated) else ann_v
            constraints: list[tuple[str, object]] = []
            required = f.value is None
            default = render(f.value) if f.value is not None else ""
            field_calls: list[VInst] = []
            if isinstance(ann_v, VAnnotated):
                field_calls.extend(m for m in ann_v.meta if isinstance(m, VInst) and _ext_name(m.cls) in ("pydantic.Field", "sqlmodel.Field"))
            # ``StringConstraints(max_length=)`` metadata (also inside ``X | None``) and ``constr()``/``conlist()`` types
            union = isinstance(ann_v, VGeneric) and _ext_name(ann_v.base) in ("typing.Optional", "typing.Union")
            for part in [ann_v, *(ann_v.items if union else ())]:  # type: ignore[union-attr]
                if isinstance(part, VAnnotated):
                    field_calls.extend(m for m in part.meta if isinstance(m, VInst) and (
                        _ext_name(m.cls) in _CON_MARKERS or (part is not ann_v and _ext_name(m.cls) in ("pydantic.Field", "sqlmodel.Field"))))
                elif isinstance(part, VInst) and _ext_name(part.cls) in _CON_TYPES:
                    field_calls.append(part)
            if f.value is not None:
                vv = self.eval(f.value, cls.env)
                if isinstance(vv, VInst) and _ext_name(vv.cls) in ("pydantic.Field", "sqlmodel.Field"):
                    field_calls.append(vv)
                    d = vv.call.arg(0, "default") if vv.call else None
                    required = d is None and (vv.call is None or vv.call.kwarg("default_factory") is None)
                    if d is not None:
                        dv = self.eval(d, cls.env)
                        required = isinstance(dv, VConst) and dv.value is Ellipsis
                        default = render(d)
            for fc in field_calls:
                if fc.call is None:
                    continue
                for k, e in fc.call.kwargs:
                    if k in ("default", "default_factory"):
                        continue
                    constraints.append((k, self.const(e, cls.env)))
            names = self.type_names(base)
            if not names and isinstance(base, VInst) and _ext_name(base.cls) in _CON_TYPES:
                names = [_CON_TYPES[_ext_name(base.cls) or ""]]
            optional = "builtins.None" in names or "typing.Optional" in names
            fields[f.name] = ModelField(f.name, render(f.annotation), tuple(names), required, default,
                                        tuple(constraints), f.pos.line, f.pos.col, optional)
        return list(fields.values())

    def pyd_model(self, cls: VClass, path: str, kind: str, bases: tuple[str, ...]) -> PydanticModel:
        config: list[tuple[str, object]] = []
        mc = cls.fact.field("model_config")
        if mc is not None and isinstance(mc.value, Call):
            for k, e in mc.value.kwargs:
                config.append((k, self.const(e, cls.env)))
        for inner in cls.fact.classes:
            if inner.name == "Config":
                for f in inner.fields:
                    config.append((f.name, self.const(f.value, cls.env)))
        validators = tuple(
            m.name for m in cls.fact.methods
            if any(isinstance(d.expr, (Call, Name, Attr)) and "validator" in render(d.expr) for d in m.decorators)
        )
        return PydanticModel(cls.qualname, cls.fact.name, kind, path, cls.fact.pos.line, bases[1:],
                             tuple(self.model_fields(cls)), tuple(config), validators)

    def table(self, cls: VClass, path: str, kind: str) -> Table:
        tn = cls.fact.field("__tablename__")
        tablename = None
        if tn is not None:
            v = self.const(tn.value, cls.env)
            tablename = v if isinstance(v, str) else None
        columns: list[Column] = []
        seen: set[str] = set()
        # inherited columns from mixins / abstract bases first
        for b in cls.fact.bases:
            bv = self.eval(b, cls.env)
            if isinstance(bv, VClass):
                for f in bv.fact.fields:
                    col = self.column(f.name, f.annotation, f.value, f.pos.line, f.pos.col, bv.env, kind)
                    if col and col.name not in seen:
                        columns.append(col)
                        seen.add(col.name)
        for f in cls.fact.fields:
            col = self.column(f.name, f.annotation, f.value, f.pos.line, f.pos.col, cls.env, kind)
            if col is not None:
                columns = [c for c in columns if c.name != col.name] + [col]
                seen.add(col.name)
        uniques, indexes, pks = self.table_args(cls)
        return Table(cls.qualname, cls.fact.name, tablename, kind, path, cls.fact.pos.line, tuple(columns),
                     tuple(uniques), tuple(indexes), tuple(pks))

    def table_args(self, cls: VClass) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]], list[tuple[str, ...]]]:
        uniques: list[tuple[str, ...]] = []
        indexes: list[tuple[str, ...]] = []
        pks: list[tuple[str, ...]] = []
        ta = cls.fact.field("__table_args__")
        if ta is None or not isinstance(ta.value, Seq):
            return uniques, indexes, pks
        for item in ta.value.items:
            if not isinstance(item, Call):
                continue
            fname = item.func.attr if isinstance(item.func, Attr) else item.func.id if isinstance(item.func, Name) else ""
            cols = tuple(a.value for a in item.args if isinstance(a, Const) and isinstance(a.value, str))
            if fname == "UniqueConstraint":
                uniques.append(cols)
            elif fname == "Index":
                cols = tuple(a.value for a in item.args[1:] if isinstance(a, Const) and isinstance(a.value, str))
                u = item.kwarg("unique")
                (uniques if isinstance(u, Const) and u.value is True else indexes).append(cols)
                if not (isinstance(u, Const) and u.value is True):
                    pass
            elif fname == "PrimaryKeyConstraint":
                pks.append(cols)
        return uniques, indexes, pks

    def column(self, name: str, annotation: Expr | None, value: Expr | None, line: int, col: int, env: Env,
               kind: str) -> Column | None:
        if name.startswith("__") or name == "model_config":
            return None
        call = value if isinstance(value, Call) else None
        fname = ""
        if call is not None:
            fname = call.func.attr if isinstance(call.func, Attr) else call.func.id if isinstance(call.func, Name) else ""
        is_mapped = isinstance(annotation, Subscript) and render(annotation.value).split(".")[-1] == "Mapped"
        if kind == "sqlalchemy":
            if fname not in ("mapped_column", "Column") and not is_mapped:
                return None
            if fname == "relationship":
                return None
        else:  # sqlmodel
            if annotation is None:
                return None
            if fname == "Relationship":
                return None
            ann_text = render(annotation)
            if "ClassVar" in ann_text:
                return None
        type_text = ""
        fk = None
        pk = unique = index = False
        nullable: bool | None = None
        if call is not None and fname in ("mapped_column", "Column"):
            for a in call.args:
                if isinstance(a, Call):
                    fn = render(a.func).split(".")[-1]
                    if fn == "ForeignKey" and a.args:
                        fkv = self.const(a.args[0], env)
                        fk = fkv if isinstance(fkv, str) else render(a.args[0])
                    elif not type_text:
                        type_text = render(a)
                elif isinstance(a, (Name, Attr)) and not type_text:
                    type_text = render(a)
                elif isinstance(a, Const) and isinstance(a.value, str) and fname == "Column" and not type_text:
                    pass
        if call is not None:
            for k, e in call.kwargs:
                v = self.const(e, env)
                if k == "primary_key":
                    pk = v is True
                elif k == "unique":
                    unique = v is True
                elif k == "index":
                    index = v is True
                elif k == "nullable":
                    nullable = v if isinstance(v, bool) else None
                elif k == "foreign_key":
                    fk = v if isinstance(v, str) else render(e)
                elif k == "sa_type" and not type_text:
                    type_text = render(e)
                elif k == "sa_column" and isinstance(e, Call):
                    inner = self.column(name, None, e, line, col, env, "sqlalchemy")
                    if inner is not None:
                        return inner
        if is_mapped and isinstance(annotation, Subscript) and annotation.items:
            inner_ann = render(annotation.items[0])
            if not type_text:
                type_text = inner_ann
            if nullable is None:
                nullable = "Optional" in inner_ann or "None" in inner_ann
        elif kind == "sqlmodel" and annotation is not None:
            ann = render(annotation)
            if not type_text:
                type_text = ann
            if nullable is None:
                nullable = "Optional" in ann or "None" in ann
        return Column(name, type_text, nullable, unique, index, pk, fk, line, col)

    # -- call graph ----------------------------------------------------------
    def all_functions(self) -> list[tuple[VFunc, str | None]]:
        """Every function and method with its class's qualified name (made once: two passes use it)."""
        if self._all_functions is None:
            self._all_functions = list(self._iter_functions())
        return self._all_functions

    def _iter_functions(self) -> Iterator[tuple[VFunc, str | None]]:
        for name in sorted(self.modules):
            facts = self.modules[name]
            env = Env(name)
            yield from self._funcs(facts.scope.functions, env, None)
            for c in facts.scope.classes:
                yield from self._class_funcs(c, env)

    def _funcs(self, functions: Iterable[FunctionFact], env: Env, cls: VClass | None) -> Iterator[tuple[VFunc, str | None]]:
        for f in functions:
            v = VFunc(f, env, cls)
            yield v, cls.qualname if cls else None
            inner = Env(env.module, env.functions + (f,))
            yield from self._funcs(f.scope.functions, inner, None)
            for c in f.scope.classes:
                yield from self._class_funcs(c, inner)

    def _class_funcs(self, c: ClassFact, env: Env) -> Iterator[tuple[VFunc, str | None]]:
        cls = VClass(c, env)
        yield from self._funcs(c.methods, env, cls)
        for inner in c.classes:
            yield from self._class_funcs(inner, env)

    def callee(self, fn: VFunc, call: Call, env: Env | None = None) -> str | None:
        """The qualified name a call resolves to: a project function or an external dotted name.
        ``env`` is ``fn``'s body env when the caller has it (``_body_env(fn)``)."""
        if env is None:
            env = self._body_env(fn)
        func = call.func
        if isinstance(func, Attr) and fn.cls is not None:
            via_self = self._self_callee(fn, func)
            if via_self is not None:
                return via_self
        if isinstance(func, Attr):
            recv = self.eval(func.value, env)
            if isinstance(recv, VParam):
                t = self._param_type(recv)
                if t is not None:
                    return f"{t}.{func.attr}"
                return None
            if isinstance(recv, VInst):
                cls = recv.cls
                if isinstance(cls, VClass):
                    m = self.class_attr(cls, func.attr, instance=True)
                    if isinstance(m, VFunc):
                        return m.qualname
                    return f"{cls.qualname}.{func.attr}"
                return f"{cls.qualname}().{func.attr}"
            if isinstance(recv, VUnknown):
                # ``self.repo.method()`` and the like: unknown receiver
                return None
        v = self.eval(func, env)
        if isinstance(v, VFunc):
            return v.qualname
        if isinstance(v, VClass):
            return v.qualname
        if isinstance(v, VExt):
            return v.qualname
        return None

    def _self_callee(self, fn: VFunc, func: Attr) -> str | None:
        """``self.method()`` and ``self.attr.method()`` in a method, resolved through its class.

        ``self.attr``'s type comes from a class-level annotation or from what a method assigns to it
        (``self._repo = repo`` with ``repo: ProjectRepository``, ``self.session: Session = ...``,
        ``self.repo = UserRepository(db)``), so service -> repository -> session chains link up.
        """
        params = fn.fact.params
        if fn.cls is None or not params or params[0].name not in ("self", "cls"):
            return None
        me = params[0].name
        recv = func.value
        if isinstance(recv, Name) and recv.id == me:
            m = self.class_attr(fn.cls, func.attr, instance=True)
            return m.qualname if isinstance(m, VFunc) else None
        if isinstance(recv, Attr) and isinstance(recv.value, Name) and recv.value.id == me:
            t = self._instance_attr_type(fn.cls, recv.attr)
            if isinstance(t, VClass):
                m = self.class_attr(t, func.attr, instance=True)
                return m.qualname if isinstance(m, VFunc) else f"{t.qualname}.{func.attr}"
            if isinstance(t, VExt):
                return f"{t.qualname}.{func.attr}"
        return None

    def _instance_attr_type(self, cls: VClass, attr: str, _seen: frozenset[str] = frozenset()) -> Value | None:
        if cls.qualname in _seen:
            return None
        f = cls.fact.field(attr)
        if f is not None and f.annotation is not None:
            return self._plain_type(self.annotation(f.annotation, cls.env))
        outer = Env(cls.env.module, cls.env.functions)
        for m in cls.fact.methods:
            if not m.params:
                continue
            menv = Env(cls.env.module, cls.env.functions + (m,))
            for a in m.scope.assigns:
                if a.target != f"{m.params[0].name}.{attr}":
                    continue
                if a.annotation is not None:
                    return self._plain_type(self.annotation(a.annotation, menv))
                if isinstance(a.value, Name):
                    p = m.param(a.value.id)
                    if p is not None and p.annotation is not None:
                        return self._plain_type(self.annotation(p.annotation, outer))
                if isinstance(a.value, Call):
                    v = self.eval(a.value, menv)
                    if isinstance(v, VInst) and isinstance(v.cls, VClass):
                        return v.cls
        for b in cls.fact.bases:
            bv = self.eval(b, cls.env)
            if isinstance(bv, VClass):
                t = self._instance_attr_type(bv, attr, _seen | {cls.qualname})
                if t is not None:
                    return t
        return None

    def _plain_type(self, t: Value | None) -> Value | None:
        """``X``, ``X | None``, ``Optional[X]``, ``Annotated[X, ...]`` -> ``X`` (a class), else None."""
        t = self._unwrap_alias(t)
        if isinstance(t, VAnnotated):
            t = t.base
        if isinstance(t, VGeneric) and _ext_name(t.base) in ("typing.Optional", "typing.Union"):
            t = next((i for i in t.items if not (isinstance(i, VConst) and i.value is None)), t)
        return t if isinstance(t, (VClass, VExt)) else None

    def _param_type(self, p: VParam) -> str | None:
        """The qualified name of a parameter's annotated type (memoized: one per call made on it)."""
        return self._memoized(self._param_type_memo, (id(p.func.fact), p.func.env.module, p.name),
                              self._param_type_of, p)

    def _param_type_of(self, p: VParam) -> str | None:
        pf = p.func.fact.param(p.name)
        if pf is None or pf.annotation is None:
            return None
        t = self._unwrap_alias(self.annotation(pf.annotation, p.func.env))
        if isinstance(t, VAnnotated):
            t = t.base
        if isinstance(t, VGeneric) and _ext_name(t.base) in ("typing.Optional", "typing.Union"):
            t = next((i for i in t.items if not (isinstance(i, VConst) and i.value is None)), t)
        if isinstance(t, (VClass, VExt)):
            return t.qualname
        return None

    # -- the whole model ---------------------------------------------------------
    def link(self) -> AppModel:
        self.scan()
        apps: list[App] = []
        used_names: dict[str, int] = {}
        for key in sorted(self.routers):
            info = self.routers[key]
            if not info.is_app:
                continue
            module = key[0]
            name = self._app_name(info)
            app_id = f"{module}:{name}"
            if app_id in used_names:
                used_names[app_id] += 1
                app_id = f"{app_id}#{used_names[app_id]}"
            else:
                used_names[app_id] = 1
            # a registration without a handler makes no route
            flat = [entry for entry in self.flatten(key) if entry[0].handler is not None]
            # registration order: FastAPI (0.165 ``_IncludedRouter``) matches an app's route list in order,
            # an included router standing where its ``include_router()`` call is and trying its own
            # routes (decorators and includes, in call order) lazily. Sorting each route by the source
            # positions of its include calls, then of its registration, gives that depth-first order.
            # Positions compare as (file, line): exact within one file, arbitrary across files.
            # (Known before the routes are built, so each is built with its order.)
            reg_keys = [_registration_key(chain, reg.loc) for reg, _, _, _, _, chain, _, _, _ in flat]
            orders = [0] * len(flat)
            for n, i in enumerate(sorted(range(len(flat)), key=reg_keys.__getitem__)):
                orders[i] = n
            routes = []
            for i, (reg, path, ok, deps, tags, chain, schema, depr, rprefix) in enumerate(flat):
                r = self.build_route(app_id, reg, path, ok, deps, tags, chain, schema, depr, rprefix, orders[i])
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
                        options.append((k, self.const(e, env)))
                mw = call.kwarg("middleware")
                if mw is not None:
                    mv = self.eval(mw, env)
                    if isinstance(mv, VSeq):
                        for item in mv.items:
                            if isinstance(item, VInst) and item.call is not None and item.call.args:
                                cls = self.eval(item.call.args[0], item.env or env)
                                cname = cls.qualname if isinstance(cls, (VExt, VClass)) else render(item.call.args[0])
                                middleware.append(Middleware(
                                    canonical(cname), "class", tuple((k, render(v)) for k, v in item.call.kwargs),
                                    Loc(self.path_of(item.site[0]), item.site[1], item.site[2] or 1),
                                    tuple((k, self.const(v, item.env or env)) for k, v in item.call.kwargs)))
            apps.append(App(
                id=app_id, name=name, loc=self._app_loc(info), routes=tuple(routes), mounts=tuple(info.mounts),
                middleware=tuple(middleware), dependencies=tuple(self.dep_label(v) for v, _, _ in info.deps),
                options=tuple(options), factory=info.factory,
            ))
        apps = self.middleware_auth(apps)
        routers = [
            Router(f"{k[0]}:{k[1]}", i.name, i.inst.cls.qualname, i.prefix, i.tags,
                   tuple(self.dep_label(v) for v, _, _ in i.deps), i.loc, i.is_app)
            for k, i in sorted(self.routers.items())
        ]
        models, tables = self.build_models()
        functions: dict[str, Function] = {}
        for fv, cls_name in self.all_functions():
            env = self._body_env(fv)  # once per function, not per call site
            calls = tuple((site, self._safe_callee(fv, site.call, env)) for site in fv.fact.calls)
            functions[fv.qualname] = Function(fv.qualname, fv.env.module, self.path_of(fv.env.module), fv.fact, calls, cls_name)
        classes = {}
        class_bases = {}
        for cls, path in self.all_classes():
            classes[cls.qualname] = (path, cls.fact)
            class_bases[cls.qualname] = self.bases(cls)[1:]
        constants: dict[str, object] = {}
        for name in sorted(self.modules):
            for a in self.modules[name].scope.assigns:
                if a.target and "." not in a.target and isinstance(a.value, (Const, FStr, BinOp)):
                    v = self.eval(a.value, Env(name))
                    if isinstance(v, VConst):
                        constants[f"{name}.{a.target}"] = v.value
        unresolved = sorted(self.unresolved.values(), key=lambda u: (u.path, u.line, u.what))
        mods = tuple(Module(m.module, m.path, m) for m in sorted(self.modules.values(), key=lambda m: m.path))
        model = AppModel(
            apps=tuple(sorted(apps, key=lambda a: (a.loc.path, a.loc.line))), routers=tuple(routers),
            models=tuple(models), tables=tuple(tables), unresolved=tuple(unresolved), modules=mods,
            functions=functions, classes=classes, class_bases=class_bases, constants=constants,
        )
        from fastapi_arch_lint.extract.link_answers import attach  # it imports this module

        return attach(self, model)  # module- and class-level calls, and the answers about values

    def _safe_callee(self, fv: VFunc, call: Call, env: Env | None = None) -> str | None:
        try:
            return self.callee(fv, call, env)
        except RecursionError:
            return None

    def _body_env(self, fn: VFunc) -> Env:
        """The env ``fn``'s body runs in (one object per function: call sites share it)."""
        key = (id(fn.fact), fn.env.module)
        env = self._body_envs.get(key)
        if env is None:
            env = self._body_envs[key] = Env(fn.env.module, fn.env.functions + (fn.fact,))
        return env

    def _app_name(self, info: _RouterInfo) -> str:
        # prefer a module-level binding of the app (``app = create_app()``)
        for name in sorted(self.modules):
            facts = self.modules[name]
            for a in facts.scope.assigns:
                if "." in a.target or not isinstance(a.value, Call):
                    continue
                v = self.lookup(a.target, Env(name))
                if isinstance(v, VInst) and v.site == info.inst.site:
                    info.loc = Loc(facts.path, a.pos.line, a.pos.col)
                    return a.target
        return info.inst.bound_name or "app"

    def _app_loc(self, info: _RouterInfo) -> Loc:
        return info.loc


def _registration_key(chain: tuple[IncludeStep, ...], registered: Loc) -> tuple[tuple[str, int, int], ...]:
    """Where a route stands in its app's matching order: its include calls, then its registration."""
    steps = tuple((s.path, s.line, 0) for s in chain)
    return steps + ((registered.path, registered.line, registered.col),)


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _why(v: Value) -> str:
    if isinstance(v, VUnknown):
        return v.reason
    if isinstance(v, VParam):
        return f"comes from parameter `{v.name}`"
    return "not a constant"


def _status_value(v: Value) -> int | None:
    if isinstance(v, VConst) and isinstance(v.value, int) and not isinstance(v.value, bool):
        return v.value
    if isinstance(v, VExt):
        m = re.search(r"(?:^|\.)(?:HTTP|WS)_(\d{3,4})(?:_|$)", v.qualname)
        if m:
            return int(m.group(1))
    if isinstance(v, VInst) and isinstance(v.cls, VExt) and "HTTPStatus" in v.cls.qualname:
        return None
    return None


def _to_py(v: Value) -> object:
    if isinstance(v, VConst):
        return v.value
    if isinstance(v, VSeq):
        return tuple(_to_py(i) for i in v.items)
    if isinstance(v, VExt):
        return v.qualname
    if isinstance(v, VInst):
        return f"{v.cls.qualname}(...)"
    return None


def link(modules: Sequence[ModuleFacts], auth_names: Mapping[str, Sequence[str]] | None = None) -> AppModel:
    return Linker(modules, auth_names=auth_names).link()
