"""Helpers shared by the auth rules: public-route globs, expression walking, principals."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator

from fastapi_arch_lint.analysis.libraries import jwt_decode_library
from fastapi_arch_lint.model.app import AppModel, Function, Handler, Route
from fastapi_arch_lint.model.expr import Attr, BoolOp, Call, Const, DictExpr, Expr, Name, Seq, Subscript, dotted, render, walk
from fastapi_arch_lint.model.facts import CompareFact
from fastapi_arch_lint.rules._util import matches_any, memo, raised_http_exceptions

# paths that are public by nature: issuing credentials, recovering them, probes
DEFAULT_PUBLIC_ROUTES = (
    "*/login", "*/login/*", "*/logout", "*/token", "*/token/refresh", "*/refresh", "*/signin", "*/sign-in",
    "*/signup", "*/sign-up", "*/register", "*/registration", "*/password-reset*", "*/reset-password*",
    "*/password-recovery*", "*/forgot-password*", "*/password/reset*", "*/password/forgot*",
    "*/verify-email*", "*/health", "*/healthz", "*/livez", "*/readyz", "*/ping",
    # signing out under its other spellings (an identity provider's back-channel logout too: it proves
    # itself with a signed logout token), and the OAuth token exchange (RFC 8693), a token endpoint
    "*/signout", "*/sign-out", "*-logout", "*/token/exchange",
)
# handler names that are public by nature (open registration at ``POST /users``, ...)
DEFAULT_PUBLIC_HANDLERS = (
    "login", "login_*", "*_login", "signin*", "sign_in*", "signup*", "sign_up*", "register", "register_user",
    "register_account", "*_signup", "logout", "forgot_password*", "reset_password*", "request_password_reset*",
    "signout", "sign_out", "*_logout", "ldap_auth", "ldap_login", "ldap_signin",
    # token revocation (RFC 7009): the token it revokes is the credential, as in signing out
    "revoke_token", "revoke_refresh_token",
)


def glob_match(value: str, patterns: Iterable[str]) -> bool:
    return matches_any(value, patterns, ignore_case=True)


def is_public(route: Route, path_globs: Iterable[str], handler_globs: Iterable[str] = ()) -> bool:
    path = route.path.rstrip("/") or "/"
    short = route.handler.qualname.rsplit(".", 1)[-1]
    return glob_match(path, path_globs) or glob_match(short, handler_globs)


def handler_name(route: Route) -> str:
    return route.handler.qualname.rsplit(".", 1)[-1]


def names_in(expr: Expr | str | None) -> set[str]:
    """Every name and dotted chain read by an expression (``current_user.id`` -> both)."""
    out: set[str] = set()
    if expr is None or isinstance(expr, str):
        return out
    for e in walk(expr):
        if isinstance(e, Name):
            out.add(e.id)
        elif isinstance(e, Attr):
            d = dotted(e)
            if d is not None:
                out.add(d)
    return out


def roots(names: Iterable[str]) -> set[str]:
    return {n.split(".", 1)[0] for n in names}


def call_args_names(call: Call) -> set[str]:
    out: set[str] = set()
    for a in call.args:
        out |= names_in(a)
    for _, v in call.kwargs:
        out |= names_in(v)
    return out


def params_receiving(call: Call, callee: Function, carries: Callable[[Expr], bool]) -> list[str]:
    """The parameters of the project function ``callee`` to which ``call`` passes an argument that ``carries``
    accepts: positional ones by place (after a method's ``self``/``cls``), keywords by name; in that order."""
    params = [p.name for p in callee.fact.params if p.kind in ("positional", "keyword")]
    if callee.fact.is_method and params and params[0] in ("self", "cls"):
        params = params[1:]
    out = [params[i] for i, a in enumerate(call.args) if i < len(params) and carries(a)]
    return out + [k for k, a in call.kwargs if k in params and carries(a) and k not in out]


def callees_receiving(app: AppModel, fn: Function, carries: Callable[[Expr], bool]
                      ) -> Iterator[tuple[Call, Function, list[str]]]:
    """Each call of ``fn`` to a project function that hands it a value ``carries`` accepts: the call, the
    callee and the callee's parameters that receive such a value (``params_receiving``)."""
    for site, target in fn.calls:
        callee = app.functions.get(target or "")
        if callee is not None and (bound := params_receiving(site.call, callee, carries)):
            yield site.call, callee, bound


def func_name(call: Call) -> str:
    """The last name of the called function: ``session.get`` -> ``get``."""
    f = call.func
    if isinstance(f, Attr):
        return f.attr
    if isinstance(f, Name):
        return f.id
    if isinstance(f, Call):
        return func_name(f)
    return ""


def short(qualname: str) -> str:
    return qualname.rsplit(".", 1)[-1]


def dependency_functions(app: AppModel, route: Route) -> Iterator[Function]:
    """The project functions among a route's dependencies (``__call__`` of dependency instances too)."""
    seen: set[str] = set()
    for d in route.dependencies:
        if d.name in seen:
            continue
        seen.add(d.name)
        fn = app.functions.get(d.name)
        if fn is not None:
            yield fn
            continue
        if d.kind in ("instance", "class"):
            # the ``__call__``/``__init__`` of any class of that name (the same qualname is the same name)
            yield from memo(app, _dunder_methods_by_class_name).get(short(d.name), ())


def _dunder_methods_by_class_name(app: AppModel) -> dict[str, list[Function]]:
    """``__call__`` and ``__init__`` methods by the short name of their class, in ``app.functions`` order."""
    out: dict[str, list[Function]] = {}
    for q, f in app.functions.items():
        if q.endswith(".__call__") or q.endswith(".__init__"):
            out.setdefault(short(q.rsplit(".", 1)[0]), []).append(f)
    return out


def reachable_functions(app: AppModel, start: Iterable[str], depth: int = 2) -> dict[str, Function]:
    """``start`` functions and the project functions they call, ``depth`` levels down."""
    out: dict[str, Function] = {}
    for q in start:
        fn = app.functions.get(q)
        if fn is None:
            continue
        out.setdefault(q, fn)
        for caller, _site, target, trail in app.callees(q, depth=depth):
            out.setdefault(caller.qualname, caller)
            if target and target in app.functions and len(trail) <= depth:
                out.setdefault(target, app.functions[target])
    return out


AUTH_DEP_RE = re.compile(r"current_(active_)?(user|account|principal|customer|member)|get_user\b|authenticat", re.I)


def principal_params(route: Route) -> list[str]:
    """Handler parameters that receive the authenticated principal (their dependency is on an auth chain)."""
    # a scheme's chain ends with the scheme (its parents return the principal); a hand-written auth
    # dependency returns it itself
    chain_names = {n for v in route.auth.via for n in (v.chain if v.kind == "dependency" else v.chain[:-1])}
    own = {p.name for p in route.handler.fact.params}
    out = []
    for p in route.params:
        if p.name not in own or p.source not in ("dependency", "security") or not p.dependency:
            continue
        if short(p.dependency) in chain_names or AUTH_DEP_RE.search(short(p.dependency)):
            out.append(p.name)
    # a decorator or middleware leaves the principal on the request: ``request.user``, ``request.state.user``
    if any(v.kind in ("decorator", "middleware") for v in route.auth.via):
        fact = route.handler.fact
        for p in route.params:
            if p.name in own and p.source in ("request", "websocket") and any(
                    PRINCIPAL_ATTR_RE.match(a[len(p.name) + 1:]) for a in fact.attributes if a.startswith(p.name + ".")):
                out.append(p.name)
    return out


PRINCIPAL_ATTR_RE = re.compile(r"^(user|auth|state\.\w+)(\.|$)")


CREDENTIAL_NAME_RE = re.compile(r"token|jwt|api[_-]?key|authorization|auth|session|ticket|credential|bearer|secret", re.I)
CREDENTIAL_SOURCES = ("query_params", "headers", "cookies")


def credential_readers(app: AppModel, route: Route) -> list[tuple[Function | None, str]]:
    """Dependencies of a route that read a credential themselves: ``(function, what they read)``.

    A dependency that reads ``x_token: Annotated[str, Header()]`` or ``request.headers["Authorization"]``
    *and* rejects without it (401/403) is authentication in the model (``AuthVia.kind == "dependency"``);
    on a route without auth, what remains here read a credential-like value but never reject.
    """
    own = {p.name for p in route.handler.fact.params}
    out: list[tuple[Function | None, str]] = []
    for p in route.params:
        if p.name in own or p.source not in ("header", "cookie", "query"):
            continue
        if CREDENTIAL_NAME_RE.search(p.alias or p.name):
            fn = next((f for f in dependency_functions(app, route) if f.fact.param(p.name) is not None), None)
            out.append((fn, f"the `{p.alias or p.name}` {p.source}"))
    for fn in dependency_functions(app, route):
        for base, key in fn.fact.subscripts:
            if base.rsplit(".", 1)[-1] in CREDENTIAL_SOURCES and CREDENTIAL_NAME_RE.search(key):
                out.append((fn, f"`{base}[{key!r}]`"))
        for site in fn.fact.calls:
            f = site.call.func
            if not (isinstance(f, Attr) and f.attr == "get"):
                continue
            base = dotted(f.value) or ""
            key = site.call.args[0] if site.call.args else None
            if base.rsplit(".", 1)[-1] in CREDENTIAL_SOURCES and isinstance(key, Const) and isinstance(key.value, str) \
                    and CREDENTIAL_NAME_RE.search(key.value):
                out.append((fn, f"`{base}.get({key.value!r})`"))
    return out


# a column naming the user a row belongs to (a key, not a display name: ``author`` alone is often a name)
OWNER_NAME_RE = re.compile(
    r"^(owner|user|author|creator|uploader|submitter|customer|buyer|seller|patient|requester|reporter)(_id|_uuid|_uid|id)$"
    r"|^(created_by|createdby|uploaded_by|owned_by)(_id|_user_id)?$|^owner_\w*id$", re.I)


# dependencies on the chain that check more than identity: roles, scopes, ownership, permissions
PRIVILEGE_RE = re.compile(
    r"admin|superuser|staff|manager|moderator|supervisor|role|permission|privilege|owner|owned|can_|acl|policy|authoriz",
    re.I,
)
PRIVILEGED_SCOPES = re.compile(r"admin|superuser|staff|root", re.I)


# roles every ordinary account holds: a check that admits one of them separates no privileged caller
ORDINARY_ROLES = re.compile(r"^(user|users|member|members|customer|customers|viewer|reader|guest|basic|standard|"
                            r"default|regular|normal|employee|student|client|author|subscriber)$", re.I)


def _role_lists(app: AppModel, route: Route) -> dict[str, list[tuple[str, ...]]]:
    """The role lists the route's own dependencies are built with, by the check's class or factory name:
    ``dependencies=[Depends(RoleChecker(["admin", "user"]))]``, ``role_checker = Depends(RoleChecker([...]))``
    named in the decorator, ``user = Depends(require_roles([Role.ADMIN, Role.USER]))`` as a parameter default.
    A list of anything but names and constants is left out (unknown)."""
    fn = app.function(route.handler.qualname)
    module = app.module(fn.module) if fn is not None else None
    assigns = {a.target: a.value for a in module.facts.scope.assigns if a.target and a.value is not None} \
        if module is not None else {}
    exprs: list[Expr] = []
    for d in route.handler.fact.decorators:
        if d.pos.line == route.registered.line and isinstance(d.expr, Call):
            deps = d.expr.kwarg("dependencies")
            if isinstance(deps, Seq):
                exprs.extend(deps.items)
    exprs.extend(p.default for p in route.handler.fact.params if p.default is not None)
    out: dict[str, list[tuple[str, ...]]] = {}
    for e in exprs:
        for _ in range(3):
            if isinstance(e, Name) and e.id in assigns:
                e = assigns[e.id]
            elif isinstance(e, Call) and dotted(e.func).rsplit(".", 1)[-1] in ("Depends", "Security") and e.args:
                e = e.args[0]
            else:
                break
        if not (isinstance(e, Call) and e.args and isinstance(e.args[0], Seq)):
            continue
        roles = tuple(x.value if isinstance(x, Const) and isinstance(x.value, str) else x.attr
                      if isinstance(x, Attr) else "" for x in e.args[0].items)
        if roles and all(roles):
            out.setdefault(dotted(e.func).rsplit(".", 1)[-1], []).append(roles)
    return out


def _admits_ordinary(app: AppModel, route: Route) -> frozenset[str]:
    """The role checks on the route that let an ordinary account through (``RoleChecker(["admin", "user"])``:
    every user holds the role ``user``): named for a role, they are no privilege check. Worked out once per
    registration (several rules ask ``privileged`` of every route)."""
    known = memo(app, _ordinary_by_registration)
    key = (route.handler.qualname, route.registered.path, route.registered.line)
    if key not in known:
        known[key] = frozenset(name for name, lists in _role_lists(app, route).items()
                               if all(any(ORDINARY_ROLES.match(r) for r in roles) for roles in lists))
    return known[key]


def _ordinary_by_registration(app: AppModel) -> dict[tuple[str, str, int], frozenset[str]]:
    return {}


def privileged(app: AppModel, route: Route) -> str | None:
    """Does something on the route's dependency chain check more than identity (an admin scope, a dependency
    named for a role, permission or ownership check)? What, as a name, or None. A role check built with a
    role every account holds (``RoleChecker(["admin", "user"])``) is none."""
    everyone = _admits_ordinary(app, route)
    for v in route.auth.via:
        for s in v.scopes:
            if PRIVILEGED_SCOPES.search(s):
                return f"the scope `{s}`"
    for d in route.dependencies:
        for s in d.scopes:
            if PRIVILEGED_SCOPES.search(s):
                return f"the scope `{s}`"
    for v in route.auth.via:
        if v.apart and PRIVILEGE_RE.search(v.apart.strip("/")):
            # ``if "/admin/" in request.url.path:`` then another credential: an admin gate in the middleware
            return f"`{v.name}`, which checks paths with `{v.apart}` apart"
        for n in (v.name, *v.chain):
            if PRIVILEGE_RE.search(n) and short(n).removesuffix("()") not in everyone:
                return f"`{n}`"  # ``admin_token_header``, ``require_admin``: an admin credential or check
    for d in route.dependencies:
        if d.kind == "scheme":
            continue
        local = short(d.name)
        fn = app.functions.get(d.name)
        if fn is not None and d.name.startswith(fn.module + "."):
            local = d.name[len(fn.module) + 1:]  # ``require_role.checker``: the factory names the check
        if PRIVILEGE_RE.search(local) and local.split(".", 1)[0].removesuffix("()") not in everyone:
            return f"`{local}`"
    return None


# a webhook that checks its provider's signature authenticates the caller by that signature
SIGNATURE_CHECK_RE = re.compile(
    r"^(compare_digest|construct_event|verify_signature|verify_webhook\w*|validate_signature|check_signature"
    r"|verify_\w*signature|validate_\w*signature|check_\w*signature|verify_hmac|validate_request"
    r"|verify_oauth2_token|verify_id_token|verify_firebase_token)$"  # an identity provider's signed ID token
)


def verifying_jwt_decode(call: Call, target: str | None) -> bool:
    """``jwt.decode(token, key, algorithms=["HS256"])`` (PyJWT, python-jose): a key is passed, and nothing in the
    call turns verification off (``verify=False``, ``options`` that are not a literal without
    ``verify_signature: False``, a ``"none"`` algorithm). The token decodes only if the key's holder signed it,
    and a bad one raises: the signed token authenticates the request that carries it (a password-reset
    link's token, a partner's signed request body)."""
    if jwt_decode_library(target) is None:
        return False
    key = call.arg(1, "key")
    if key is None or isinstance(key, Const) and not key.value:
        return False
    verify = call.kwarg("verify")
    if verify is not None and not (isinstance(verify, Const) and verify.value is True):
        return False
    options = call.arg(3, "options")
    if options is not None:
        if not isinstance(options, DictExpr):
            return False
        for k, v in zip(options.keys, options.values):
            if k is None or isinstance(k, Const) and k.value == "verify_signature" \
                    and not (isinstance(v, Const) and v.value is True):
                return False
    algorithms = call.arg(2, "algorithms")
    return not any(isinstance(x, Const) and isinstance(x.value, str) and x.value.lower() == "none"
                   for x in walk(algorithms)) if algorithms is not None else True


# how many calls down from the handler or a dependency a signature check is looked for: a verifier often
# dispatches to the provider's own check, which compares through a small helper (``_same(a, b)``)
SIGNATURE_DEPTH = 3


def verifies_signature(app: AppModel, route: Route, tokens: bool = False) -> bool:
    """The handler, or a dependency of the route, checks a signature (with ``tokens``, also a JWT it decodes
    with a key, ``verifying_jwt_decode``: the request is authenticated, though not necessarily as a user who
    owns objects): itself, or a few calls down, also through a module-level table of verifiers
    (``check = VERIFIERS.get(provider)`` then ``check(...)``)."""
    start = [route.handler.qualname, *(d.name for d in route.dependencies if d.kind == "function")]
    seen: set[str] = set()
    frontier = [q for q in dict.fromkeys(start) if q in app.functions]
    for _ in range(SIGNATURE_DEPTH + 1):
        nxt: list[str] = []
        for q in frontier:
            if q in seen:
                continue
            seen.add(q)
            fn = app.functions[q]
            for site, target in fn.calls:
                if SIGNATURE_CHECK_RE.match(func_name(site.call)) or tokens and verifying_jwt_decode(site.call, target):
                    return True
                if target in app.functions:
                    nxt.append(target)
                elif target is None:
                    nxt += dispatched(app, fn, site.call)
        frontier = nxt
    return False


# a path parameter that carries a secret: the URL itself is the credential (an incoming webhook's
# ``/hooks/{hook_id}/{token}``, a share link's ``/shared/{secret}``); ``token_id`` names an object
SECRET_PATH_PARAM_RE = re.compile(r"(?:^|_)(?:token|secret|signature|sig|hmac|api_?key|access_key|passphrase)$", re.I)
# how a capability URL refuses a wrong secret: 401/403, or 404 (as if nothing were there)
CAPABILITY_REJECT_RE = re.compile(r"^40[134]$|HTTP_40[134]_")
# a call that tests a value's presence or shape, not whether it is the right secret
_PRESENCE_CALLS = frozenset({"len", "bool", "str", "isinstance", "strip", "startswith", "endswith", "isalnum",
                             "isdigit", "match", "fullmatch"})
CAPABILITY_DEPTH = 2  # project functions below the handler the secret may be handed to


def capability_url(app: AppModel, route: Route) -> str | None:
    """The path parameter whose secret authenticates the caller (a capability URL): the handler, or a project
    function it hands the secret to (two calls down), passes it into a lookup whose empty result it rejects,
    or compares it, with a 401/403/404 (an incoming webhook's ``/hooks/{hook_id}/{token}`` looked up by both,
    ``if hook is None: raise HTTPException(401)``). An id alone names an object, and a 404 for an unknown
    one checks nobody's secret."""
    fn = app.function(route.handler.qualname)
    if fn is None:
        return None
    for p in route.params:
        if p.source == "path" and SECRET_PATH_PARAM_RE.search(p.name) and \
                _rejects_wrong_secret(app, fn, p.name, CAPABILITY_DEPTH, set()):
            return p.name
    return None


def _mentions_any(expr: Expr | None, names: set[str]) -> bool:
    return any(n.split(".", 1)[0] in names for n in names_in(expr))


def _rejects_wrong_secret(app: AppModel, fn: Function, secret: str, depth: int, seen: set[str]) -> bool:
    """Does ``fn`` reject (401/403/404) a request whose ``secret`` matches nothing: a comparison with the secret,
    or a test of what a lookup given the secret found (``row = find(id, secret)``, then ``result.first()``),
    decides an ``if`` whose branch raises; or a project function it hands the secret to does."""
    if fn.qualname in seen:
        return False
    seen.add(fn.qualname)
    fact = fn.fact
    refusing = {(line, col) for line, col, _, status in raised_http_exceptions(app, fn) if CAPABILITY_REJECT_RE.search(status)}
    raises = {i for i, r in enumerate(fact.raises) if (r.pos.line, r.pos.col) in refusing}
    found: set[str] = set()  # what lookups given the secret (and calls on their results) answered
    for _ in range(3):
        for site, _target in fn.calls:
            call = site.call
            if site.assigned_to and site.assigned_to not in found and (
                    _mentions_any(call.func, found) or any(_mentions_any(a, found | {secret})
                                                           for a in (*call.args, *(v for _, v in call.kwargs)))):
                found.add(site.assigned_to)
    for g in fact.guards:
        if not raises.intersection((*g.body_raises, *g.orelse_raises)):
            continue
        for _negated, atom in g.tests:
            if isinstance(atom, CompareFact):
                sides = (atom.left, atom.right)
                blank = any(isinstance(s, Const) and not s.value for s in sides)  # ``is None``, ``== ""``
                if _mentions_any(atom.left, found) or _mentions_any(atom.right, found) or (
                        not blank and (_mentions_any(atom.left, {secret}) or _mentions_any(atom.right, {secret}))):
                    return True
            elif _mentions_any(atom, found) or (isinstance(atom, Call) and func_name(atom) not in _PRESENCE_CALLS
                                                and _mentions_any(atom, {secret})):
                return True  # ``if not hook:``, ``if not is_valid(token, expected):``
    if depth <= 0:
        return False
    for _call, callee, bound in callees_receiving(app, fn, lambda a: isinstance(a, Name) and a.id == secret):
        if any(_rejects_wrong_secret(app, callee, b, depth - 1, seen) for b in bound):
            return True
    return False


def dispatched(app: AppModel, fn: Function, call: Call) -> list[str]:
    """The project functions ``call`` may run when it calls a local looked up in a module-level dict
    (``check = CHECKS.get(kind)`` or ``CHECKS[kind]``, then ``check(...)``): every function among the
    dict's values."""
    if not isinstance(call.func, Name):
        return []
    module = app.module(fn.module)
    if module is None:
        return []
    tables: set[str] = set()
    for a in fn.fact.scope.assigns:
        if a.target != call.func.id or a.value is None:
            continue
        v = a.value
        looked = v.func.value if isinstance(v, Call) and isinstance(v.func, Attr) and v.func.attr == "get" \
            else v.value if isinstance(v, Subscript) else None
        if isinstance(looked, Name):
            tables.add(looked.id)
    out: list[str] = []
    for a in module.facts.scope.assigns:
        if a.target in tables and isinstance(a.value, DictExpr):
            for v in a.value.values:
                q = f"{fn.module}.{v.id}" if isinstance(v, Name) else None
                if q in app.functions:
                    out.append(q)
    return out


def handler_credential_reads(route: Route) -> list[tuple[Function | Handler | None, str]]:
    """A credential or signature header (or cookie) the handler takes itself without rejecting a request
    that lacks a valid one (a webhook that computes the signature and only logs the comparison)."""
    own = {p.name for p in route.handler.fact.params}
    return [(route.handler, f"the `{p.alias or p.name}` {p.source}") for p in route.params
            if p.name in own and p.source in ("header", "cookie")
            and (CREDENTIAL_NAME_RE.search(p.alias or p.name) or "signature" in (p.alias or p.name).lower())]


def requires_auth(route: Route) -> bool:
    """A required way of authenticating reaches the route (optional auth lets anonymous callers through)."""
    return any(not v.optional for v in route.auth.via)


ADMIN_NAME_RE = re.compile(r"(?:^|_)(?:admin|admins|superuser|super_user|staff)(?:_(?!key)|$)", re.I)


def admins_only(route: Route) -> str | None:
    """Why only administrators can call ``route``: the model's ``privileged``, else an admin-named dependency."""
    if route.privileged:
        return route.privileged
    for d in route.dependencies:
        if d.kind != "scheme" and ADMIN_NAME_RE.search(d.name.rsplit(".", 1)[-1]):
            return f"`{d.name.rsplit('.', 1)[-1]}`"
    return None


# where a configured secret is read from: settings, configuration, the app's state, the environment
CONFIGURED_PARTS = frozenset({"settings", "config", "conf", "cfg", "state", "environ", "getenv", "env"})
CONSTANT_NAME_RE = re.compile(r"^_?[A-Z][A-Z0-9_]*$")


def _configured(fn: Function, e: Expr, _depth: int = 0) -> bool:
    """``e`` is a value the deployment configures, not one the request carries: read from settings, config,
    the app's state or the environment, an UPPER_CASE constant, or a local bound once to one of those."""
    if isinstance(e, Name):
        if CONSTANT_NAME_RE.match(e.id):
            return True
        binds = [a for a in fn.fact.scope.assigns if a.target == e.id]
        return _depth < 2 and len(binds) == 1 and binds[0].value is not None and _configured(fn, binds[0].value, _depth + 1)
    for x in walk(e):
        if isinstance(x, Name) and (x.id in CONFIGURED_PARTS or CONSTANT_NAME_RE.match(x.id)):
            return True
        if isinstance(x, Attr) and (x.attr in CONFIGURED_PARTS or CONSTANT_NAME_RE.match(x.attr)):
            return True
        if isinstance(x, Const) and isinstance(x.value, str) and CONSTANT_NAME_RE.match(x.value):
            return True  # ``getattr(app.state, "SERVICE_TOKEN")``
    return False


def shared_secret_gate(fn: Function) -> bool:
    """A dependency that admits the holder of one configured secret and yields no principal: it compares the
    credential with a configured value (``hmac.compare_digest(token, settings.SYNC_TOKEN)``, ``if key !=
    API_KEY: raise``), rejects, and returns nothing about who called (``True``, ``None``, the credential)."""
    params = {p.name for p in fn.fact.params}
    if not fn.fact.raises:
        return False
    for r in fn.fact.scope.returns:
        if r.value is not None and not isinstance(r.value, Const) and not (
                isinstance(r.value, Name) and r.value.id in params):
            return False
    pairs: list[tuple[Expr, Expr]] = []
    for site in fn.fact.calls:
        if func_name(site.call) == "compare_digest" and len(site.call.args) == 2:
            pairs.append((site.call.args[0], site.call.args[1]))
    for c in fn.fact.compares:
        if c.op in ("==", "!="):
            pairs.append((c.left, c.right))
    return any(_against_configured(fn, a, b) for a, b in pairs)


def _against_configured(fn: Function, a: Expr, b: Expr) -> bool:
    """One side of a comparison is a value the deployment configures and the other is not (what the caller
    sent): ``token != settings.SYNC_TOKEN``, ``compare_digest(key, API_KEY)``."""
    if isinstance(a, Const) or isinstance(b, Const):
        return False
    return _configured(fn, a) != _configured(fn, b)


# how a wrong shared secret is refused: 401 or 403
SECRET_REJECT_RE = re.compile(r"^40[13]$|HTTP_40[13]_")


def handler_secret_gate(app: AppModel, fn: Function) -> tuple[int, str] | None:
    """A handler that authenticates its caller itself against one secret the deployment configures: an ``if`` at
    the top of its body (under no other ``if``, in no ``except``, with no call made before it) that compares
    what the request sent with a configured value and rejects with 401/403 when they differ (``if password !=
    settings.ADMIN_PASSWORD: raise HTTPException(401)``, ``if not hmac.compare_digest(key, API_KEY): raise``).
    What runs after it is reached only by whoever holds that secret. ``(line of the rejection, the test)``, or
    None."""
    fact = fn.fact
    refusing = {(line, col) for line, col, _, status in raised_http_exceptions(app, fn) if SECRET_REJECT_RE.search(status)}
    rejects = {i for i, r in enumerate(fact.raises) if (r.pos.line, r.pos.col) in refusing}
    in_except = {i for e in fact.excepts for i in e.raises}
    # calls that do no work that can fail: a parameter's default (``Form(...)``), an exception raised, the comparison
    harmless = {(p.default.line, p.default.col) for p in fact.params if isinstance(p.default, Call)}
    harmless |= {(r.expr.line, r.expr.col) for r in fact.raises if isinstance(r.expr, Call)}
    for g in fact.guards:
        mine = rejects.intersection(g.body_raises) - in_except
        if not mine or any(mine & set((*o.body_raises, *o.orelse_raises)) for o in fact.guards if o is not g):
            continue  # not a rejection, or one under another condition
        if isinstance(g.test, BoolOp) and g.test.op == "and":
            continue  # ``if token and token != KEY:``: a request without the token gets through
        line = min(fact.raises[i].pos.line for i in mine)
        if any(site.pos.line < line and (site.call.line, site.call.col) not in harmless
               and func_name(site.call) != "compare_digest" for site in fact.calls):
            continue  # something ran before the check
        for negated, atom in g.tests:
            differs = isinstance(atom, CompareFact) and (atom.op == "!=") != negated and atom.op in ("!=", "==") \
                and _against_configured(fn, atom.left, atom.right)
            refused = negated and isinstance(atom, Call) and func_name(atom) == "compare_digest" \
                and len(atom.args) == 2 and _against_configured(fn, atom.args[0], atom.args[1])
            if differs or refused:
                shown = f"{render(atom.left)} {atom.op} {render(atom.right)}" if isinstance(atom, CompareFact) \
                    else f"not {render(atom)}"
                return line, shown
    return None


def shared_secret_only(app: AppModel, route: Route) -> bool:
    """Every way the route is authenticated is a shared-secret gate (or a scheme that only feeds one), or a
    middleware that compares the credential with one configured value and identifies nobody
    (``AuthVia.shared_secret``): the caller holds the deployment's token, and is not one user among others."""
    if not route.auth.via:
        return False
    rest = [v for v in route.auth.via if not (v.kind == "middleware" and v.shared_secret)]
    if not rest:
        return True
    gates = {f.qualname for f in dependency_functions(app, route) if shared_secret_gate(f)}
    if not gates:
        return False
    names = {short(q) for q in gates} | gates
    return all(v.name in names or (v.kind == "scheme" and names & set(v.chain)) for v in rest)


# a deployment switch that opens a route to anonymous callers on purpose: open sign-up (``new_accounts_allowed``,
# ``USERS_OPEN_REGISTRATION``, ``ENABLE_SIGNUP``), a guest or no-login mode (``NOLOGIN_MODE_ENABLED``, ``GUEST_MODE``)
_OPEN_SUBJECTS = frozenset({"signup", "signups", "registration", "registrations", "register", "nologin", "anonymous",
                            "anon", "guest", "guests"})
_OPEN_PAIRS = (("sign", "up"), ("sign", "ups"), ("new", "account"), ("new", "accounts"), ("new", "user"),
               ("new", "users"), ("no", "login"), ("account", "creation"), ("user", "creation"))
_SWITCH_WORDS = frozenset({"allow", "allowed", "allows", "enable", "enabled", "enables", "open", "opened", "permit",
                           "permitted", "disable", "disabled", "mode", "forbid", "forbidden", "closed", "on", "off"})
_WORD_RE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
OPEN_SWITCH_DEPTH = 2  # project calls below the handler searched for the switch's rejection


def _open_switch_name(name: str) -> bool:
    """``new_accounts_allowed``, ``NOLOGIN_MODE_ENABLED``, ``allowRegistration``: a name that says anonymous
    callers are let in (a sign-up, a guest mode) and that it is a switch (allowed, enabled, open, a mode)."""
    words = [w.lower() for w in _WORD_RE.findall(name)]
    pairs = set(zip(words, words[1:]))
    return bool(set(words) & _SWITCH_WORDS) and (bool(set(words) & _OPEN_SUBJECTS) or bool(pairs & set(_OPEN_PAIRS)))


def _switch_read(fn: Function, test: Expr) -> str | None:
    """The configured open-access switch a condition reads (``not settings.new_accounts_allowed``), as written."""
    for x in walk(test):
        name = x.attr if isinstance(x, Attr) else x.id if isinstance(x, Name) else None
        if name is not None and _open_switch_name(name) and _configured(fn, x):
            return dotted(x) or name
    return None


def open_by_switch(app: AppModel, route: Route) -> str | None:
    """The deployment switch that makes the route public on purpose: the handler, a dependency or a project
    function they call (``OPEN_SWITCH_DEPTH`` levels down) raises when a configured setting that opens the app to
    anonymous callers is off (``if not settings.new_accounts_allowed: raise ...``, ``if not
    config.NOLOGIN_MODE_ENABLED: raise HTTPException(503)``). The operator decides that anonymous callers may
    sign up or use the guest mode; no credential is expected. A condition on some other setting (a maintenance
    flag, a feature toggle) says nothing about who may call."""
    starts = [route.handler.qualname, *(f.qualname for f in dependency_functions(app, route))]
    for fn in reachable_functions(app, starts, depth=OPEN_SWITCH_DEPTH).values():
        for r in fn.fact.scope.raises:
            for _negated, test in r.conds:
                found = _switch_read(fn, test)
                if found is not None:
                    return found
    return None


# a flag the handler clears once it has run: ``first_install``, ``setup_done``
def one_time_setup(app: AppModel, route: Route) -> str | None:
    """A bootstrap route that closes itself: the handler (or a project function it calls, one level down)
    refuses when a configured flag says the setup is done (``if not settings.first_install: raise
    HTTPException(403)``) and assigns that flag itself (``settings.first_install = False``). Until it first
    runs, whoever reaches it does the setup (sets the administrator's password): a warning, not an open route."""
    for fn in reachable_functions(app, [route.handler.qualname], depth=1).values():
        # flags set to a constant: ``settings.first_install = False``
        set_at = [(a.target, a.pos.line) for a in fn.fact.scope.assigns
                  if isinstance(a.value, Const) and not a.augmented and a.target
                  and ("." in a.target or CONSTANT_NAME_RE.match(a.target))]
        if not set_at:
            continue
        for r in fn.fact.scope.raises:
            for _negated, test in r.conds:
                for x in walk(test):
                    d = dotted(x) if isinstance(x, (Attr, Name)) else None
                    if d is not None and _configured(fn, x) and any(t == d and line > r.pos.line for t, line in set_at):
                        return d
    return _first_admin_setup(app, route)


# a test that an administrator exists already (``users.has_admin()``), and the call that creates the first one
_ADMIN_EXISTS_RE = re.compile(r"^(has|any)_(admin|administrator|super_?user|owner)s?$"
                              r"|^(admin|administrator|super_?user|owner)s?_exists?$", re.I)
_CREATE_ADMIN_RE = re.compile(r"^(create|add|register|make)_(first_|initial_)?(admin|administrator|super_?user|owner)$",
                              re.I)


def _call_name(e: Expr) -> str:
    func = e.func if isinstance(e, Call) else None
    return func.attr if isinstance(func, Attr) else func.id if isinstance(func, Name) else ""


def _first_admin_setup(app: AppModel, route: Route) -> str | None:
    """The first-run route that creates the administrator: the handler refuses when a call says an administrator
    exists already (``if users.has_admin(): raise HTTPException(400)``) and then creates one itself
    (``users.create_admin(...)``, after that refusal): once it has run, it refuses; until then whoever reaches a
    fresh install first becomes the administrator."""
    fn = app.function(route.handler.qualname)
    if fn is None:
        return None
    creates = [site.pos.line for site in fn.fact.calls if _CREATE_ADMIN_RE.match(_call_name(site.call))]
    for r in fn.fact.scope.raises:
        for negated, test in r.conds:
            if not negated and isinstance(test, Call) and _ADMIN_EXISTS_RE.match(_call_name(test)) \
                    and any(line > r.pos.line for line in creates):
                return f"{dotted(test.func) or _call_name(test)}()"
    return None
