"""Shared helpers of the JWT, secrets and hardening rules (FAL501-FAL519).

Pure functions of the model: every call in the project (function bodies from the
linked call graph, module and class bodies resolved through their imports), a
small constant evaluator that follows local, module, imported and settings-field
bindings, and the name heuristics for secrets.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from fastapi_arch_lint.model.app import AppModel, Function, Module
from fastapi_arch_lint.model.expr import (
    Attr,
    BinOp,
    Call,
    Const,
    DictExpr,
    Expr,
    FStr,
    Name,
    Seq,
    Subscript,
    dotted,
    walk,
)
from fastapi_arch_lint.model.facts import ClassFact, FunctionFact, ImportFact, Scope
from fastapi_arch_lint.rules._util import memo

# ---------------------------------------------------------------------------
# paths


@lru_cache(maxsize=16384)  # asked for every function, call and assignment: a project has far fewer paths
def is_test_path(path: str) -> bool:
    """Test code (``tests/``, ``test_*.py``, ``*_test.py``, ``conftest.py``) is not shipped."""
    parts = path.replace("\\", "/").split("/")
    name = parts[-1]
    if name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py":
        return True
    return any(p in ("tests", "test") for p in parts[:-1])


# ---------------------------------------------------------------------------
# walking expressions


def identifiers(expr: Expr | None) -> Iterator[str]:
    """Names, attribute names and string subscript keys read in ``expr``."""
    for e in walk(expr):
        if isinstance(e, Name):
            yield e.id
        elif isinstance(e, Attr):
            yield e.attr
        elif isinstance(e, Subscript):
            for i in e.items:
                if isinstance(i, Const) and isinstance(i.value, str):
                    yield i.value


def last_identifier(expr: Expr | None) -> str | None:
    """The name that labels a value: ``x`` of ``a.b.x``, ``"key"`` of ``d["key"]``."""
    if isinstance(expr, Name):
        return expr.id
    if isinstance(expr, Attr):
        return expr.attr
    if isinstance(expr, Subscript) and len(expr.items) == 1:
        i = expr.items[0]
        if isinstance(i, Const) and isinstance(i.value, str):
            return i.value
    return None


# ---------------------------------------------------------------------------
# constant evaluation


class _Unknown:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


@dataclass(frozen=True, slots=True)
class ModuleRef:
    name: str


@dataclass(frozen=True, slots=True)
class ClassRef:
    module: str
    fact: ClassFact

    @property
    def qualname(self) -> str:
        return f"{self.module}.{self.fact.qualname}"


@dataclass(frozen=True, slots=True)
class InstanceRef:
    cls: ClassRef


@dataclass(frozen=True, slots=True)
class FuncRef:
    module: str
    fact: FunctionFact


@dataclass(frozen=True, slots=True)
class ExtRef:
    """An external (not analysed) object by its dotted name; ``x()`` instances end in ``()``."""

    name: str


MAX_DEPTH = 12


class Resolver:
    """Evaluates expressions to Python constants where the code makes them constant."""

    def __init__(self, app: AppModel) -> None:
        self.app = app
        self.modules: dict[str, Module] = {m.name: m for m in app.modules}
        # each scope's bindings by name, made when the scope is first asked (see ``_in_scope``)
        self._bindings: dict[tuple[int, int], dict[str, list[tuple[int, bool, str, object]]]] = {}

    @staticmethod
    def shared(app: AppModel) -> Resolver:
        """The model's resolver: it only caches what is a function of the model, so the rules share one."""
        return memo(app, Resolver)

    # -- imports -----------------------------------------------------------
    def absolute(self, module: str, imp: ImportFact) -> str:
        if imp.level == 0:
            return imp.module
        m = self.modules.get(module)
        parts = module.split(".")
        if not (m is not None and m.facts.is_package):
            parts = parts[:-1]
        if imp.level > 1:
            parts = parts[: len(parts) - (imp.level - 1)]
        base = ".".join(parts)
        if imp.module:
            return f"{base}.{imp.module}" if base else imp.module
        return base

    def _import(self, module: str, imp: ImportFact, depth: int) -> object:
        target = self.absolute(module, imp)
        if imp.name is None:
            return ModuleRef(target) if target in self.modules else ExtRef(target)
        sub = f"{target}.{imp.name}"
        if sub in self.modules:
            return ModuleRef(sub)
        if target in self.modules:
            return self.module_attr(target, imp.name, depth + 1)
        return ExtRef(sub)

    # -- names -------------------------------------------------------------
    def module_attr(self, module: str, name: str, depth: int = 0) -> object:
        m = self.modules.get(module)
        if m is None or depth > MAX_DEPTH:
            return UNKNOWN
        return self._in_scope(m.facts.scope, m.facts.imports, module, name, None, 0, depth)

    def _in_scope(self, scope: Scope, imports: tuple[ImportFact, ...], module: str, name: str,
                  fn: Function | None, line: int, depth: int) -> object:
        # the binding closest before ``line`` wins (any binding when ``line`` is 0); at the same
        # line the later kind in the order assignments, imports, classes, functions wins
        key = (id(scope), id(imports))
        bindings = self._bindings.get(key)
        if bindings is None:
            bindings = self._bindings[key] = _scope_bindings(scope, imports)
        best: tuple[int, str, object] | None = None
        for at, before_line_only, kind, obj in bindings.get(name, ()):
            if before_line_only and line and at > line:
                continue
            if best is None or at >= best[0]:
                best = (at, kind, obj)
        if best is None:
            return UNKNOWN
        _, kind, obj = best
        if kind == "assign":
            return self.value(obj.value, module, fn, obj.pos.line, depth + 1)
        if kind == "import":
            return self._import(module, obj, depth)
        if kind == "class":
            return ClassRef(module, obj)
        return FuncRef(module, obj)

    def lookup(self, name: str, module: str, fn: Function | None, line: int, depth: int) -> object:
        if fn is not None:
            scope = fn.fact.scope
            if any(a.target == name for a in scope.assigns) or any(i.local == name for i in scope.imports):
                return self._in_scope(scope, scope.imports, module, name, fn, line, depth)
            if fn.fact.param(name) is not None:
                return UNKNOWN
        return self.module_attr(module, name, depth)

    # -- classes -----------------------------------------------------------
    def class_default(self, cls: ClassRef, name: str, depth: int, _seen: frozenset[str] = frozenset()) -> object:
        if cls.qualname in _seen or depth > MAX_DEPTH:
            return UNKNOWN
        f = cls.fact.field(name)
        if f is not None:
            if f.value is None:
                return UNKNOWN
            inner = field_default(f.value)
            if inner is None:
                return UNKNOWN
            return self.value(inner, cls.module, None, 0, depth + 1)
        for b in cls.fact.bases:
            bv = self.value(b, cls.module, None, 0, depth + 1)
            if isinstance(bv, ClassRef):
                v = self.class_default(bv, name, depth + 1, _seen | {cls.qualname})
                if v is not UNKNOWN:
                    return v
        return UNKNOWN

    # -- expressions -------------------------------------------------------
    def value(self, expr: Expr | None, module: str, fn: Function | None = None, line: int = 0,
              depth: int = 0) -> object:
        if expr is None or depth > MAX_DEPTH:
            return UNKNOWN
        d = depth + 1
        if isinstance(expr, Const):
            return expr.value
        if isinstance(expr, Seq):
            return tuple(self.value(i, module, fn, line, d) for i in expr.items)
        if isinstance(expr, DictExpr):
            out: dict[object, object] = {}
            for k, v in zip(expr.keys, expr.values):
                if not isinstance(k, Const):
                    return UNKNOWN
                out[k.value] = self.value(v, module, fn, line, d)
            return out
        if isinstance(expr, Name):
            return self.lookup(expr.id, module, fn, line or expr.line, d)
        if isinstance(expr, Attr):
            base = self.value(expr.value, module, fn, line, d)
            if isinstance(base, ModuleRef):
                return self.module_attr(base.name, expr.attr, d)
            if isinstance(base, InstanceRef):
                return self.class_default(base.cls, expr.attr, d)
            if isinstance(base, ClassRef):
                return self.class_default(base, expr.attr, d)
            if isinstance(base, ExtRef):
                return ExtRef(f"{base.name}.{expr.attr}")
            return UNKNOWN
        if isinstance(expr, Call):
            func = self.value(expr.func, module, fn, line, d)
            if func is UNKNOWN and isinstance(expr.func, Name) and expr.func.id == "dict" and not expr.args:
                if expr.starred:
                    return UNKNOWN
                return {k: self.value(v, module, fn, line, d) for k, v in expr.kwargs}
            if isinstance(func, ClassRef):
                return InstanceRef(func)
            if isinstance(func, ExtRef):
                if func.name in ("functools.lru_cache", "functools.cache") and expr.args:
                    return self.value(expr.args[0], module, fn, line, d)
                return ExtRef(func.name + "()")
            if isinstance(func, FuncRef):
                inner = self.app.functions.get(f"{func.module}.{func.fact.qualname}")
                for ret in reversed(func.fact.scope.returns):
                    v = self.value(ret.value, func.module, inner, ret.pos.line, d)
                    if v is not UNKNOWN:
                        return v
            return UNKNOWN
        if isinstance(expr, BinOp) and expr.op == "+":
            left = self.value(expr.left, module, fn, line, d)
            right = self.value(expr.right, module, fn, line, d)
            if isinstance(left, str) and isinstance(right, str):
                return left + right
            if isinstance(left, tuple) and isinstance(right, tuple):
                return left + right
            return UNKNOWN
        if isinstance(expr, FStr):
            parts = []
            for p in expr.parts:
                if isinstance(p, str):
                    parts.append(p)
                    continue
                v = self.value(p, module, fn, line, d)
                if isinstance(v, (str, int, float)) and not isinstance(v, bool):
                    parts.append(str(v))
                else:
                    return UNKNOWN
            return "".join(parts)
        return UNKNOWN

    def target(self, func: Expr, module: str) -> str | None:
        """The dotted name a module-level call resolves to (the call graph only covers functions)."""
        v = self.value(func, module)
        if isinstance(v, ExtRef):
            return v.name
        if isinstance(v, ClassRef):
            return v.qualname
        if isinstance(v, FuncRef):
            return f"{v.module}.{v.fact.qualname}"
        return None


def _scope_bindings(scope: Scope, imports: tuple[ImportFact, ...]) -> dict[str, list[tuple[int, bool, str, object]]]:
    """``name -> [(line, only if before the asked line, kind, fact)]`` in the order ``_in_scope`` weighs them."""
    out: dict[str, list[tuple[int, bool, str, object]]] = {}
    for a in scope.assigns:
        if a.value is not None and not a.augmented:
            out.setdefault(a.target, []).append((a.pos.line, True, "assign", a))
    for imp in imports:
        out.setdefault(imp.local, []).append((imp.line, True, "import", imp))
    for c in scope.classes:
        out.setdefault(c.name, []).append((c.pos.line, False, "class", c))
    for f in scope.functions:
        out.setdefault(f.name, []).append((f.pos.line, False, "func", f))
    return out


def field_default(value: Expr) -> Expr | None:
    """The default of a class-level field: ``= x``, ``= Field("x")``, ``= Field(default="x")``.

    None when there is none (``Field(...)``, ``Field(default_factory=...)``).
    """
    if isinstance(value, Call) and isinstance(value.func, (Name, Attr)) and (dotted(value.func) or "").endswith("Field"):
        d = value.arg(0, "default")
        if d is None or (isinstance(d, Const) and d.value is Ellipsis):
            return None
        return d
    return value


# ---------------------------------------------------------------------------
# every call in the project


@dataclass(frozen=True, slots=True)
class CodeCall:
    """A call anywhere in the project with what it resolves to."""

    call: Call
    target: str | None
    module: str
    path: str
    line: int
    col: int
    function: Function | None  # None for module and class bodies


def iter_calls(app: AppModel, wanted: Callable[[Call, str | None], bool] | None = None) -> Iterator[CodeCall]:
    """Calls in every project function (the linked call graph) and in module and class bodies.

    Test code is never judged by the hardening rules, so its calls are not yielded. ``wanted``
    (given the call and its target) skips a call before anything is built for it: each rule
    looks for a few targets among tens of thousands of calls. About ten rules walk the calls:
    what they share (the call sites outside test code, indexed by target) is computed once per
    model; the ``CodeCall``s of function bodies are made on the way, so that the model does not
    keep one per call of the project alive."""
    for site in memo(app, _call_sites)[0]:
        if wanted is None or wanted(site[1].call, site[2]):
            yield _code_call(site)


def iter_calls_to(app: AppModel, wanted_target: Callable[[str | None], bool]) -> Iterator[CodeCall]:
    """``iter_calls`` for a rule that picks calls by their target alone: the same calls in the
    same order, with ``wanted_target`` asked once per distinct target (a few thousand) instead
    of once per call (tens of thousands, for each of the rules that look for a few targets)."""
    sites, by_target = memo(app, _call_sites)
    for i in sorted(i for target, at in by_target.items() if wanted_target(target) for i in at):
        yield _code_call(sites[i])


_Site = tuple  # (function, call site, target), or (None, CodeCall, target) for a module- or class-level call


def _call_sites(app: AppModel) -> tuple[list[_Site], dict[str | None, list[int]]]:
    """Every call the hardening rules judge, in order (functions outside test code, then module
    and class bodies), and the positions of each target's calls in that list."""
    sites: list[_Site] = []
    by_target: dict[str | None, list[int]] = {}
    for fn in memo(app, _shipped_functions):
        for site, target in fn.calls:
            by_target.setdefault(target, []).append(len(sites))
            sites.append((fn, site, target))
    for cc in memo(app, _module_calls):
        by_target.setdefault(cc.target, []).append(len(sites))
        sites.append((None, cc, cc.target))
    return sites, by_target


def _code_call(site: _Site) -> CodeCall:
    fn, call_site, target = site
    if fn is None:
        return call_site
    return CodeCall(call_site.call, target, fn.module, fn.path, call_site.pos.line, call_site.pos.col, fn)


def _shipped_functions(app: AppModel) -> tuple[Function, ...]:
    return tuple(fn for fn in app.functions.values() if not is_test_path(fn.path))


def _module_calls(app: AppModel) -> tuple[CodeCall, ...]:
    """Calls in module and class bodies, resolved with a ``Resolver`` (the call graph covers functions only)."""
    out: list[CodeCall] = []
    resolver = Resolver.shared(app)
    for mod in app.modules:
        if is_test_path(mod.path):
            continue
        scope = mod.facts.scope
        roots: list[tuple[Expr, int, int]] = []
        for a in scope.assigns:
            if a.value is not None:
                roots.append((a.value, a.pos.line, a.pos.col))
        for sc in scope.calls:
            roots.append((sc.call, sc.pos.line, sc.pos.col))
        for c in _classes(scope.classes):
            for f in c.fields:
                if f.value is not None:
                    roots.append((f.value, f.pos.line, f.pos.col))
        seen: set[tuple[int, int, str]] = set()
        for root, line, col in roots:
            for e in walk(root):
                if not isinstance(e, Call):
                    continue
                ln, cl = (e.line, e.col) if e.line else (line, col)
                key = (ln, cl, repr(e.func))
                if key in seen:
                    continue
                seen.add(key)
                out.append(CodeCall(e, resolver.target(e.func, mod.name), mod.name, mod.path, ln, cl, None))
    return tuple(out)


def _classes(classes: tuple[ClassFact, ...]) -> Iterator[ClassFact]:
    for c in classes:
        yield c
        yield from _classes(c.classes)


def iter_scopes(app: AppModel) -> Iterator[tuple[Module, Scope, Function | None]]:
    """Every module scope and every function scope, with its module."""
    by_name = {m.name: m for m in app.modules}
    for m in app.modules:
        yield m, m.facts.scope, None
    for fn in app.functions.values():
        m = by_name.get(fn.module)
        if m is not None:
            yield m, fn.fact.scope, fn


# ---------------------------------------------------------------------------
# names


def words(identifier: str) -> list[str]:
    """``X-API-Key`` -> [x, api, key]; ``jwtSecret`` -> [jwt, secret]; ``SECRET_KEY`` -> [secret, key]."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", identifier)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


# a word that alone makes a name secret
SECRET_WORDS = frozenset({
    "secret", "password", "passwd", "passphrase", "pwd", "token", "apikey", "credential", "credentials",
})
# ``<qualifier>_key``: which keys are secrets (``sort_key``, ``primary_key``, ``cache_key`` are not)
SECRET_KEY_QUALIFIERS = frozenset({
    "secret", "api", "private", "signing", "sign", "encryption", "encrypt", "hmac", "jwt", "access", "auth",
    "master", "app", "webhook", "fernet", "aes", "crypto", "license", "stripe",
})
# a last word that makes the name something other than the secret itself
NOT_SECRET_LAST = frozenset({
    "url", "uri", "path", "file", "filename", "dir", "name", "names", "header", "headers", "field", "type",
    "types", "algorithm", "algorithms", "alg", "prefix", "suffix", "env", "var", "length", "len", "expire",
    "expires", "expiry", "expiration", "ttl", "lifetime", "minutes", "seconds", "hours", "days", "min", "max",
    "scheme", "schemes", "endpoint", "location", "id", "ids", "count", "limit", "size", "format", "pattern",
    "regex", "policy", "rounds", "iterations", "cost", "version", "kind", "label", "hint", "schema",
    "required", "enabled", "mode", "param", "parameter", "query", "cookie", "model", "class",
    "attr", "attribute", "column", "table", "hash", "hashed", "salt", "digest", "reset", "route", "router",
    "method", "methods", "example", "description", "title", "help", "message", "msg", "error", "text",
    "template", "strength", "validator", "manager", "service", "issuer", "audience",
    "scope", "scopes", "provider", "backend", "store", "storage", "generator", "factory", "cls",
})
# a value under one of these words is derived from a secret, not the secret itself
DERIVED_WORDS = frozenset({"hash", "hashed", "encrypted", "masked", "redacted", "public", "pub"})


@lru_cache(maxsize=4096)  # asked for every assignment, parameter, field and keyword in the project
def is_secret_name(identifier: str) -> bool:
    """A name that holds a credential: ``SECRET_KEY``, ``jwt_secret``, ``db_password``, ``API_KEY``..."""
    ws = words(identifier)
    if not ws:
        return False
    last = ws[-1]
    if last in NOT_SECRET_LAST or DERIVED_WORDS.intersection(ws):
        return False
    if last in SECRET_WORDS:
        return True
    if last == "key" and len(ws) > 1 and ws[-2] in SECRET_KEY_QUALIFIERS:
        return True
    # ``SECRET_KEY_V2``, ``DB_PASSWORD_2``: a trailing version or index
    if len(ws) > 1 and (last.isdigit() or re.fullmatch(r"v\d+", last)):
        return is_secret_name("_".join(ws[:-1]))
    return False


# comparing these is comparing a credential (or its digest / signature)
COMPARE_WORDS = frozenset({
    "secret", "password", "passwd", "pwd", "token", "apikey", "signature", "sig", "digest", "hmac", "otp",
    "passcode",
})


def is_compared_secret(identifier: str) -> bool:
    ws = words(identifier)
    if not ws:
        return False
    last = ws[-1]
    if last in COMPARE_WORDS:
        return True
    if last == "key" and len(ws) > 1 and ws[-2] in SECRET_KEY_QUALIFIERS:
        return True
    # ``password_hash``, ``hashed_token``... compared to a freshly computed one
    if last in ("hash", "hashed", "hmac") and any(w in ("password", "token", "secret", "key", "apikey") for w in ws[:-1]):
        return True
    return False


PASSWORD_RE = re.compile(r"pass(?:word|wd|phrase)|pwd", re.I)

DSN_RE = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.\-]*)://(?P<user>[^:/@\s]*):(?P<password>[^@/\s]+)@", re.I)


def dsn_password(value: str) -> str | None:
    """The inline password of a connection URL (``postgresql://user:pw@host/db``), placeholders excepted."""
    m = DSN_RE.match(value.strip())
    if m is None:
        return None
    pw = m.group("password")
    if re.fullmatch(r"\$\{?\w+\}?|\{\w*\}|%s|%\(\w+\)s|\*+|<[^>]*>|x+", pw, re.I):
        return None
    return m.group("scheme")


def describe_literal(value: str) -> str:
    """A description of a secret literal that does not give the secret away."""
    n = len(value)
    article = "an" if str(n).startswith("8") or n in (11, 18) else "a"
    return f"{article} {n}-character string literal"


def is_reference_value(name: str, value: str) -> bool:
    """The literal names a secret rather than being one: empty, the variable's own name, ``${VAR}``."""
    v = value.strip()
    if not v:
        return True
    if re.fullmatch(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", v):
        return True
    # a file holding the secret: ``GOOGLE_APPLICATION_CREDENTIALS = "keys/service-account.json"``
    if re.fullmatch(r"[\w./~-]+\.(?:json|pem|key|crt|cer|p12|pfx|txt|env|ya?ml|ini|toml)", v):
        return True
    # the name itself, as a cookie, header or env var name: ``CSRF_TOKEN = "csrftoken"``
    return re.sub(r"[^a-z0-9]", "", v.lower()) == re.sub(r"[^a-z0-9]", "", name.lower())


# ---------------------------------------------------------------------------
# libraries


@lru_cache(maxsize=4096)  # asked for every call in the project by several rules
def jwt_decode_library(target: str | None) -> str | None:
    """``pyjwt`` or ``python-jose`` when ``target`` decodes (and verifies) a JWT."""
    if not target:
        return None
    if target in ("jose.jwt.decode", "jose.jwt.api_jwt.decode"):
        return "python-jose"
    if re.fullmatch(r"jwt\.(?:api_jwt\.|api_jws\.)?(?:(?:PyJWT|PyJWS)(?:\(\))?\.)?decode(?:_complete)?", target):
        return "PyJWT"
    return None


@lru_cache(maxsize=4096)  # asked for every call in the project by several rules
def jwt_encode_library(target: str | None) -> str | None:
    if not target:
        return None
    if target in ("jose.jwt.encode", "jose.jwt.api_jwt.encode"):
        return "python-jose"
    if re.fullmatch(r"jwt\.(?:api_jwt\.)?(?:PyJWT(?:\(\))?\.)?encode", target):
        return "PyJWT"
    return None


def short_target(target: str) -> str:
    """``jwt.decode``, ``httpx.Client().get`` as the reader would write it."""
    for prefix in ("jose.jwt.", "jwt.api_jwt.", "jwt.api_jws."):
        if target.startswith(prefix):
            return "jwt." + target[len(prefix):]
    return target


def dict_value(expr: Expr | None, resolver: Resolver, module: str, fn: Function | None, line: int) -> object:
    """A dict literal, ``dict(k=v)`` or a name bound to one, as a Python dict (UNKNOWN otherwise)."""
    v = resolver.value(expr, module, fn, line)
    return v if isinstance(v, dict) else UNKNOWN


def where_label(fn: Function | None, module: str) -> str:
    return f"`{fn.fact.qualname}`" if fn is not None else f"module `{module}`"


# ---------------------------------------------------------------------------
# outbound HTTP clients

HTTP_VERBS = r"(?:get|post|put|patch|delete|head|options|request)"
# ``requests.get``, ``requests.Session().get``, a ``session: requests.Session`` parameter's ``.get``
REQUESTS_CALL_RE = re.compile(
    rf"requests\.(?:api\.)?{HTTP_VERBS}"
    rf"|requests\.(?:sessions\.)?(?:Session|session)(?:\(\))?\.{HTTP_VERBS}"
)
HTTPX_FUNC_RE = re.compile(rf"httpx\.(?:{HTTP_VERBS}|stream)")
HTTPX_CLIENT_RE = re.compile(r"httpx\.(?:_client\.)?(?:Client|AsyncClient|HTTPTransport|AsyncHTTPTransport)")
HTTPX_METHOD_RE = re.compile(rf"httpx\.(?:_client\.)?(?:Client|AsyncClient)(?:\(\))?\.(?:{HTTP_VERBS}|stream|send)")
AIOHTTP_RE = re.compile(rf"aiohttp\.(?:request|TCPConnector|ClientSession(?:\(\))?\.(?:{HTTP_VERBS}|ws_connect))")


@lru_cache(maxsize=4096)  # asked for every call in the project by several rules
def http_client_kind(target: str | None) -> str | None:
    """``requests``, ``httpx``, ``aiohttp`` or ``urllib`` when ``target`` makes (or configures) outbound HTTP."""
    if not target:
        return None
    if REQUESTS_CALL_RE.fullmatch(target):
        return "requests"
    if HTTPX_FUNC_RE.fullmatch(target) or HTTPX_CLIENT_RE.fullmatch(target) or HTTPX_METHOD_RE.fullmatch(target):
        return "httpx"
    if AIOHTTP_RE.fullmatch(target):
        return "aiohttp"
    if target in ("urllib.request.urlopen",):
        return "urllib"
    return None


def call_label(target: str) -> str:
    """``httpx.AsyncClient().get`` -> ``httpx.AsyncClient.get`` for messages."""
    return target.replace("()", "")
