"""The principal flow: where a route's caller (user, tenant, organization, API client) comes from and
where it goes.

A route receives its principal from an auth dependency (a handler parameter on the auth chain), from
the request a decorator or middleware authenticated (``request.user``, ``request.state.user``), or,
in a class-based view, through ``self``. This module follows the names that hold the principal (and
the names assigned from them: ``org_id = user.org_id``) through the handler and, with the arguments
bound to the parameters at each call site, through the project functions it calls (services,
repositories), several calls down, and records each place the principal is *used*:

- ``scope``: it filters a lookup (an argument of a query or load call: ``where(Order.owner_id ==
  user.id)``, ``filter_by(org_id=user.org_id)``, ``get(..., owner=user)``) or a lookup goes through it
  (``user.orders.filter(...)``);
- ``reject``: an ``if`` that tests it rejects in a branch (raises, returns early, or calls a project
  function that raises): ``if order.owner_id != user.id: raise HTTPException(404)``;
- ``role``: the same, on a role or permission (``user.is_superuser``, ``user.role``, ``can(user, ...)``);
- ``opaque``: it reaches code this analysis cannot see into (an unresolved call, a library call other
  than logging, a service instance built with it, a class-based view's ``self``);
- ``noop``: it is only compared without consequence (``if user.id != order.owner_id: pass``, a log line
  under the ``if``), logged, or stored (``Order(owner_id=user.id)``, ``order.updated_by = user.id``).

A route whose principal has a use other than ``noop`` is treated as checked: precision first, so what
cannot be seen counts as a check. Identity checks (``if user is None``, ``if not user.is_active``) are
authentication, not authorization, and are not uses. A pure function of the model; computed once per
function and set of principal names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from fastapi_arch_lint.analysis.memo import memo
from fastapi_arch_lint.model.app import AppModel, Function, Route
from fastapi_arch_lint.model.expr import (
    Attr,
    Call,
    Compare,
    Const,
    Expr,
    Name,
    Subscript,
    children,
    dotted,
    render,
)
from fastapi_arch_lint.model.facts import CompareFact, FunctionFact, Pos
from fastapi_arch_lint.rules.auth._common import AUTH_DEP_RE, dependency_functions, principal_params, short

# an ``Annotated`` alias of the caller (``CurrentUser``, ``AuthSubject``), and a name that holds it
AUTH_ALIAS_RE = re.compile(r"^(Current(Active)?(User|Account|Principal|Member|Customer)|Auth(User|Subject|Context)"
                           r"|Principal)$")
PRINCIPAL_NAME_RE = re.compile(r"^(current_)?(user|principal|account|member|caller|auth_subject)$")
# a call that answers the caller: ``get_current_org(...)``, ``authenticate_request(...)``
PRINCIPAL_CALL_RE = re.compile(r"(^|_)current_(active_)?(user|org|organization|tenant|workspace|team|account|principal)$"
                               r"|^authenticate\w*$")
CHECKING = ("scope", "reject", "role", "opaque")
DEPTH = 4  # calls followed below the handler
# attributes whose test is authentication (is there a usable caller?), not authorization
IDENTITY_ATTR_RE = re.compile(
    r"^(is_active|active|disabled|is_disabled|is_verified|verified|email_verified|is_anonymous|is_authenticated"
    r"|banned|is_banned|deleted|is_deleted|locked|is_locked|expired|is_expired)$")
ROLE_RE = re.compile(r"admin|superuser|staff|role|permission|privilege|scope|is_owner|can_|has_perm|access|grant|"
                     r"policy|authori[sz]", re.I)
# library calls that only log, format or measure a value
BENIGN_CALLS = frozenset({
    "debug", "info", "warning", "warn", "error", "exception", "critical", "log", "print", "str", "repr", "int",
    "float", "len", "format", "isinstance", "bool", "hash", "id", "type", "jsonable_encoder", "dumps", "append",
    "add_task", "HTTPException", "set_attribute", "set_tag", "capture_message", "bind", "incr", "inc", "observe",
    "labels",
})
REJECT_CALL_RE = re.compile(r"^(abort|deny|forbid\w*|reject\w*|raise_\w+|\w*unauthori[sz]ed|\w*not_found\w*|"
                            r"permission_denied|fail\w*)$", re.I)
QUERY_CALLS = frozenset({"where", "filter", "filter_by", "get", "query", "select", "join", "having", "find",
                         "find_one", "get_one", "get_or_404", "one", "first", "scalar", "scalars", "execute", "exec"})


@dataclass(frozen=True, slots=True)
class Use:
    """One place the principal is used."""

    kind: str  # "scope" | "reject" | "role" | "opaque" | "noop"
    function: str  # qualname of the function where it is used
    path: str
    line: int
    what: str  # a short description: "`where(Order.owner_id == user.id)`"
    trail: tuple[str, ...] = ()  # the calls from the route's handler (or dependency) down to ``function``

    def describe(self) -> str:
        via = f" in `{short(self.function)}`" if len(self.trail) > 1 else ""
        return f"{self.what}{via}"


@dataclass(frozen=True, slots=True)
class Source:
    """Where the principal comes from."""

    name: str  # the name holding it in the handler: ``current_user``, ``request.state.user``, ``self``
    how: str  # "dependency `get_current_user`", "the request a middleware authenticated", "a class-based view"


@dataclass(frozen=True, slots=True)
class Flow:
    """A route's principal: where it comes from and where it goes."""

    sources: tuple[Source, ...]
    uses: tuple[Use, ...]

    @property
    def checked(self) -> bool:
        """Some use scopes, checks or may check (reaches code out of sight)."""
        return any(u.kind in CHECKING for u in self.uses)

    def of(self, *kinds: str) -> list[Use]:
        return [u for u in self.uses if u.kind in kinds]


# -- sources ----------------------------------------------------------------------------------


def route_sources(app: AppModel, route: Route) -> list[Source]:
    """The names holding the principal in a route's handler."""
    out: list[Source] = []
    fact = route.handler.fact
    by_name = {p.name: p for p in route.params}
    for name in principal_params(route):
        p = by_name.get(name)
        if p is None or p.source not in ("request", "websocket"):
            out.append(Source(name, f"dependency `{short(p.dependency)}`" if p is not None and p.dependency
                              else "an auth dependency"))
    # ``current_org = await get_current_org(x_api_key, authorization)``: the handler asks for the caller itself
    chain = {short(n) for v in route.auth.via for n in (*v.chain, v.name)}
    for site in fact.calls:
        called = _func_name(site.call)
        if site.assigned_to and (called in chain or AUTH_DEP_RE.search(called) or PRINCIPAL_CALL_RE.search(called)):
            out.append(Source(site.assigned_to, f"`{called}(...)` in the handler"))
    if any(v.kind in ("decorator", "middleware") for v in route.auth.via):
        # what the decorator or middleware left on the request, read here or wherever the request goes
        own = {p.name for p in fact.params}
        for p in route.params:
            if p.name in own and p.source in ("request", "websocket"):
                out += [Source(f"{p.name}.{attr}", "the request its auth decorator or middleware authenticated")
                        for attr in ("user", "auth", "state")]
    if fact.is_method and fact.params and fact.params[0].name == "self" and "self" in fact.names and route.auth.via:
        members = view_members(app, route)
        if members is None:
            out.append(Source("self", "a class-based view whose class is not resolved"))
        else:
            out += [Source(f"self.{m}", how) for m, how in members.items()]
    return out


def _class_chain(app: AppModel, cls: str) -> list:
    """The class facts of ``cls`` and its project bases, the class first."""
    out = []
    for q in (cls, *app.class_bases.get(cls, ())):
        entry = app.classes.get(q)
        if entry is not None:
            out.append(entry[1])
    return out


def view_members(app: AppModel, route: Route) -> dict[str, str] | None:
    """In a class-based view, the attributes of ``self`` that hold the principal: those a dependency on
    the auth chain fills (``user: CurrentUser``, ``user = Depends(get_current_user)``), and the
    properties and attributes computed from them (``group_id`` returning ``self.user.group_id``, a
    ``repos`` property building repositories with ``group_id=self.group_id``), through the class's
    project bases. None when the class is not resolved."""
    cls = route.handler.qualname.rsplit(".", 1)[0]
    chain = _class_chain(app, cls)
    if not chain:
        return None
    auth_names = {short(n) for v in route.auth.via for n in v.chain} | {short(v.name) for v in route.auth.via}
    out: dict[str, str] = {}
    for c in chain:
        for f in c.fields:
            text = " ".join(render(e, 200) for e in (f.annotation, f.value) if e is not None)
            words = set(re.findall(r"\w+", text))
            dep = next((w for w in words if w in auth_names or AUTH_DEP_RE.search(w) or AUTH_ALIAS_RE.search(w)), None)
            if dep is None and PRINCIPAL_NAME_RE.match(f.name) and f.annotation is not None and f.value is None:
                dep = render(f.annotation, 40)  # ``user: CurrentUser``: an alias this view's name reads as the caller
            if dep is not None and f.name not in out:
                out[f.name] = f"a class-based view's attribute (`{dep}`)"
    methods = [m for c in chain for m in c.methods]
    for _ in range(5):
        held = frozenset(f"self.{m}" for m in out)
        grown = False
        for m in methods:
            derived = _derived(m, held)
            # ``self._repos = Repositories(self.session, group_id=self.group_id)``, in any method
            for a in m.scope.assigns:
                attr = a.target[5:]
                if a.target.startswith("self.") and "." not in attr and attr not in out and _reads(a.value, derived):
                    out[attr] = f"computed from the caller (`self.{attr}`)"
                    grown = True
            if m.name in out or m.name == "__init__" or len([p for p in m.params if p.kind != "var_keyword"]) > 1:
                continue  # properties and argument-less helpers only
            if any(_reads(r.value, derived) for r in m.scope.returns):
                out[m.name] = f"computed from the caller (`{m.name}`)"
                grown = True
        if not grown:
            break
    return out


def dependency_principal_params(app: AppModel, route: Route, fn: Function) -> list[str]:
    """The parameters of a dependency function ``fn`` that receive the principal: those whose
    ``Depends`` names a dependency on the route's auth chain (or an auth-named one)."""
    chain = {short(n) for v in route.auth.via for n in v.chain} | {short(v.name) for v in route.auth.via}
    kids = {short(d.name) for d in route.dependencies if d.parent == fn.qualname}
    auth_kids = {k for k in kids if k in chain or AUTH_DEP_RE.search(k)}
    if not auth_kids:
        return []
    out = []
    for p in fn.fact.params:
        text = " ".join(render(e, 200) for e in (p.annotation, p.default) if e is not None)
        if any(re.search(rf"\b{re.escape(k)}\b", text) for k in auth_kids) or AUTH_DEP_RE.search(text) or \
                re.search(r"(^|_)(user|principal|caller|subject|account|member|identity)$", p.name, re.I):
            out.append(p.name)
    return out


# -- the flow through one function --------------------------------------------------------------


def _matches(name: str, principal: frozenset[str]) -> str | None:
    """The principal name ``name`` reads (itself or an attribute of it), else None."""
    for p in principal:
        if name == p or name.startswith(p + "."):
            return p
    return None


def _reads(expr: Expr | None, principal: frozenset[str], into_calls: bool = True) -> set[str]:
    """The names and chains of ``expr`` that read the principal, or hold it (``request`` when
    ``request.state.user`` does); without looking inside nested calls' arguments when ``into_calls``
    is false (those calls are call sites of their own)."""
    out: set[str] = set()
    stack: list[Expr] = [expr] if expr is not None else []
    while stack:
        e = stack.pop()
        if isinstance(e, (Name, Attr)):
            d = dotted(e)
            if d is not None:
                if _matches(d, principal) or any(p.startswith(d + ".") for p in principal):
                    out.add(d)
                continue
            if isinstance(e, Attr):
                stack.append(e.value)
            continue
        if isinstance(e, Call):
            stack.append(e.func)  # ``user.orders.all()`` reads the principal
            if into_calls:
                stack.extend([*e.args, *(v for _, v in e.kwargs)])
            continue
        stack.extend(children(e))
    return out


def _identity_only(names: Iterable[str], held: frozenset[str]) -> bool:
    """Every name is a principal as received (``user``) or an identity attribute of one
    (``user.is_active``): a test of authentication. A name derived in the body (``is_owner = ...``)
    is not."""
    for n in names:
        p = _matches(n, held)
        if p is None:
            if any(q.startswith(n + ".") for q in held):
                continue  # ``request``, holding ``request.state.user``
            return False
        rest = n[len(p) + 1:] if n != p else ""
        if rest and not IDENTITY_ATTR_RE.match(rest.rsplit(".", 1)[-1]):
            return False
    return True


def _atom_names(atom: CompareFact | Expr, names: frozenset[str], held: frozenset[str]) -> tuple[set[str], bool]:
    """The principal names an ``if`` operand reads, and whether it only tests identity (``user is None``,
    ``not user``, ``user.is_active``)."""
    if isinstance(atom, CompareFact):
        found = _reads(atom.left, names) | _reads(atom.right, names)
        with_const = isinstance(atom.left, Const) or isinstance(atom.right, Const)
        return found, with_const and _identity_only(found, held)
    found = _reads(atom, names)
    if isinstance(atom, Call):
        return found, False  # ``if not can_edit(user, doc)``: a check by a function
    return found, _identity_only(found, held)


def _derived(fact: FunctionFact, principal: frozenset[str]) -> frozenset[str]:
    """The principal names and the local names assigned from them (``org_id = user.org_id``,
    ``is_owner = doc.owner_id == user.id``), to a fixpoint."""
    names = set(principal)
    for _ in range(3):
        grown = False
        frozen = frozenset(names)
        for a in fact.scope.assigns:
            if a.target and "." not in a.target and a.target not in names and _reads(a.value, frozen):
                names.add(a.target)
                grown = True
        for site in fact.calls:
            t = site.assigned_to
            if t and t not in names and _reads(site.call, frozen):
                names.add(t)
                grown = True
        if not grown:
            break
    return frozenset(names)


def _bind(site_call: Call, callee: Function, principal: frozenset[str]) -> tuple[frozenset[str], bool]:
    """The callee's parameter names (and chains) that receive the principal at this call, and whether
    the principal goes through ``*args``/``**kwargs`` (its parameter is unknown)."""
    params = list(callee.fact.params)
    if params and params[0].name in ("self", "cls") and (callee.fact.is_method or isinstance(site_call.func, Attr)):
        params = params[1:]
    positional = [p for p in params if p.kind == "positional"]
    var_pos = next((p for p in params if p.kind == "var_positional"), None)
    var_kw = next((p for p in params if p.kind == "var_keyword"), None)
    by_name = {p.name: p for p in params}
    out: set[str] = set()
    unknown = False

    def carry(arg: Expr, param: str) -> None:
        for n in _reads(arg, principal, into_calls=False):
            p = _matches(n, principal)
            if p is not None:
                # ``user`` -> ``param``; ``user.org_id`` -> ``param``; ``request`` (holding
                # ``request.state.user``) -> ``param.state.user``
                out.add(param)
            else:
                out.update(param + q[len(n):] for q in principal if q.startswith(n + "."))

    for i, arg in enumerate(site_call.args):
        if i < len(positional):
            carry(arg, positional[i].name)
        elif var_pos is not None:
            carry(arg, var_pos.name)
        elif _reads(arg, principal, into_calls=False):
            unknown = True
    for key, arg in site_call.kwargs:
        if key in by_name:
            carry(arg, key)
        elif var_kw is not None:
            carry(arg, var_kw.name)
        elif _reads(arg, principal, into_calls=False):
            unknown = True
    return frozenset(out), unknown


def _uses_in(app: AppModel, fn: Function, principal: frozenset[str], depth: int,
             trail: tuple[str, ...], seen: set[tuple[str, frozenset[str]]]) -> list[Use]:
    key = (fn.qualname, principal)
    if key in seen or not principal:
        return []
    seen.add(key)
    fact = fn.fact
    if not any(n.split(".", 1)[0] in fact.names for n in principal):
        return []
    names = _derived(fact, principal)
    out: list[Use] = []

    def use(kind: str, line: int, what: str, where: Function = fn, t: tuple[str, ...] = trail) -> None:
        out.append(Use(kind, where.qualname, where.path, line, what, t))

    # ``if`` statements that test the principal, and what their branches do
    returns_under: list[tuple[Pos, set[str]]] = []
    for r in fact.scope.returns:
        for _neg, test in r.conds:
            tested = _reads(test, names)
            if tested:
                returns_under.append((r.pos, tested))
    for g in fact.guards:
        tested: set[str] = set()
        only_identity = True
        call_atom = False
        for _neg, atom in g.tests:
            n, identity = _atom_names(atom, names, principal)
            if n:
                tested |= n
                only_identity = only_identity and identity
                call_atom = call_atom or isinstance(atom, Call)
        if not tested or only_identity:
            continue
        text = _guard_text(g.tests)
        rejects = bool(g.body_raises or g.orelse_raises) or any(
            r_pos.line >= g.pos.line and t & tested for r_pos, t in returns_under)
        if not rejects:
            for i in (*g.body_calls, *g.orelse_calls):
                site, target = fn.calls[i] if i < len(fn.calls) else (fact.calls[i], None)
                callee = app.functions.get(target or "")
                if callee is not None and callee.fact.raises or REJECT_CALL_RE.match(_func_name(site.call)):
                    rejects = True
                    break
        role = call_atom or any(ROLE_RE.search(n) for n in tested)
        line = g.pos.line or next((fact.raises[i].pos.line for i in (*g.body_raises, *g.orelse_raises)
                                   if i < len(fact.raises)), 0) or next(
            (fact.calls[i].pos.line for i in (*g.body_calls, *g.orelse_calls) if i < len(fact.calls)), fact.pos.line)
        if rejects:
            use("role" if role else "reject", line, f"`if {text}` rejects")
        else:
            use("noop", line, f"`if {text}` neither raises nor returns")

    # calls the principal goes into
    for site, target in fn.calls:
        call = site.call
        name = _func_name(call)
        receiver = _reads(call.func, names)
        args = set()
        for a in (*call.args, *(v for _, v in call.kwargs)):
            args |= _reads(a, names, into_calls=False)
        spread = any(_reads(e, names, into_calls=False) for _, e in site.spread)
        callee = app.functions.get(target or "")
        own_method = callee is not None and isinstance(call.func, Attr) and dotted(call.func.value) == "self"
        if own_method:  # ``self.helper(...)``: the same instance, holding the same caller
            args |= {n for n in names if n.startswith("self.")}
        if not args and not receiver and not spread:
            continue
        shown = render(call, 70)
        if target and target in app.classes and callee is None:
            if any(t.qualname == target for t in app.tables) or app.model(target) is not None:
                use("noop", site.pos.line, f"stored in `{shown}`")
            else:
                use("opaque", site.pos.line, f"handed to `{short(target)}(...)`, whose instance this analysis does "
                                             "not follow")
            continue
        if callee is not None and not receiver:
            bound, unknown = _bind(call, callee, names)
            if own_method:
                bound |= {n for n in names if n.startswith("self.")}
            if unknown or spread:
                use("opaque", site.pos.line, f"handed to `{shown}` through `*args`/`**kwargs`")
                continue
            if depth <= 0:
                use("opaque", site.pos.line, f"handed to `{shown}`, deeper than followed")
                continue
            if not bound:
                continue
            inner = _uses_in(app, callee, bound, depth - 1, trail + (callee.qualname,), seen)
            out.extend(inner)
            if not inner and not own_method:
                use("noop", site.pos.line, f"handed to `{short(callee.qualname)}`, which never uses it")
            continue
        if receiver and not args:
            if name in BENIGN_CALLS or name in ("dict", "model_dump", "json", "model_dump_json", "copy"):
                continue
            use("scope" if callee is None else "opaque", site.pos.line, f"`{shown}` goes through it")
            continue
        if name in BENIGN_CALLS:
            use("noop", site.pos.line, f"only logged or formatted in `{shown}`")
            continue
        if callee is not None:  # a method of the principal's own class
            use("opaque", site.pos.line, f"`{shown}`")
            continue
        use("scope" if name in QUERY_CALLS else "opaque", site.pos.line, f"`{shown}`")
    return out


def _func_name(call: Call) -> str:
    f = call.func
    if isinstance(f, Attr):
        return f.attr
    if isinstance(f, Name):
        return f.id
    if isinstance(f, (Call, Subscript)):
        return _func_name(f) if isinstance(f, Call) else ""
    return ""


def _guard_text(tests: tuple[tuple[bool, CompareFact | Expr], ...]) -> str:
    parts = []
    for neg, atom in tests:
        t = render(Compare(atom.op, atom.left, atom.right), 50) if isinstance(atom, CompareFact) else render(atom, 50)
        parts.append(f"not {t}" if neg else t)
    text = " ... ".join(parts)
    return text if len(text) <= 80 else text[:77] + "..."


# -- the route's flow -------------------------------------------------------------------------------


def function_uses(app: AppModel, fn: Function, principal: Iterable[str], depth: int = DEPTH) -> list[Use]:
    """Where the principal held by ``principal`` (names or chains of ``fn``'s body) goes, ``depth`` calls down."""
    cache: dict = memo(app, _cache)
    key = (fn.qualname, frozenset(principal), depth)
    if key not in cache:
        cache[key] = tuple(_uses_in(app, fn, frozenset(principal), depth, (fn.qualname,), set()))
    return list(cache[key])


def _cache(app: AppModel) -> dict:
    return {}


def route_flow(app: AppModel, route: Route, depth: int = DEPTH) -> Flow:
    """Where a route's principal comes from and where it flows: in the handler and what it calls, and in
    the route's dependencies that receive the principal from the auth chain (role and permission checks
    only there: an auth dependency's own ``if not user.is_active`` is authentication)."""
    sources = route_sources(app, route)
    uses: list[Use] = []
    handler = app.functions.get(route.handler.qualname)
    if handler is not None and sources:
        # a class-based view's ``self`` holds the caller and what was built from it (its repositories,
        # services): a call through ``self`` is a use out of sight
        uses += function_uses(app, handler, {s.name for s in sources}, depth)
    for dep in dependency_functions(app, route):
        params = dependency_principal_params(app, route, dep)
        if params:
            # role and permission checks only: an auth dependency's own work (decoding a token, loading the
            # account, ``if not user.is_active``) is authentication
            uses += [u for u in function_uses(app, dep, params, depth) if u.kind == "role"]
    return Flow(tuple(sources), tuple(uses))


# -- path parameters held to the caller --------------------------------------------------------------


def held_to_caller(app: AppModel, route: Route) -> frozenset[str]:
    """The path parameters the handler rejects unless they name the caller: a ``raise`` under no other
    condition than ``user_id != user.id`` (``is not``, or ``==`` in its ``else``), before any return,
    where one side is the parameter and the other the principal or an attribute of it. Such a route
    answers for the caller alone (``/users/{user_id}/password`` that refuses every other id); an
    exception for some callers (``and not user.is_superuser``) is another condition, and does not count."""
    fact = route.handler.fact
    held = {s.name for s in route_sources(app, route)}
    if not held:
        return frozenset()
    params = set(route.path_params)
    first_return = min((r.pos.line for r in fact.scope.returns), default=None)
    out: set[str] = set()
    for r in fact.scope.raises:
        if len(r.conds) != 1 or first_return is not None and r.pos.line > first_return:
            continue
        negated, test = r.conds[0]
        if not isinstance(test, Compare) or (test.op in ("!=", "is not")) == negated or \
                test.op not in ("!=", "is not", "==", "is"):
            continue
        for mine, theirs in ((test.left, test.right), (test.right, test.left)):
            name = dotted(_unconverted(mine))
            chain = dotted(_unconverted(theirs))
            if name in params and chain is not None and _matches(chain, frozenset(held)) is not None:
                out.add(name)
    return frozenset(out)


def _unconverted(e: Expr) -> Expr:
    """``str(user.id)``, ``UUID(user_id)``: the value converted."""
    if isinstance(e, Call) and isinstance(e.func, Name) and e.func.id in ("str", "int", "UUID") \
            and len(e.args) == 1 and not e.kwargs:
        return e.args[0]
    return e
