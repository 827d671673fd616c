"""Auth beyond security schemes: which dependencies, decorators and handlers authenticate a route.

A route is also authenticated by a dependency that checks credentials by hand, by a decorator on
its handler, or by a middleware (``middleware``) that rejects unauthenticated requests to its path.
What a credential check is, and how one is read, is ``credentials``'s; here ``AuthFinder`` assigns
auth to dependencies (hand-written checks, rejecting gates, privileged checks), decorators and
handlers. Names configured in ``auth-decorators``/``auth-dependencies`` count whatever their code
shows.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence

from fastapi_arch_lint.link.callgraph import CallGraph
from fastapi_arch_lint.link.credentials import (
    CredCheck,
    Credentials,
    about_the_request,
    absence_test,
    handler_credential_read,
    only_under,
    present,
)
from fastapi_arch_lint.link.dependencies import Dependencies
from fastapi_arch_lint.link.interpreter import Interpreter
from fastapi_arch_lint.link.knowledge import HTTP_METHODS
from fastapi_arch_lint.link.rejections import call_tail
from fastapi_arch_lint.link.signatures import Signatures
from fastapi_arch_lint.link.values import Env, Value, VClass, VConst, VExt, VFunc, VInst, VModule, VUnknown, short
from fastapi_arch_lint.model.app import AuthVia, Loc
from fastapi_arch_lint.model.expr import Attr, Call, Const, Expr, Name, Seq, dotted, render, walk
from fastapi_arch_lint.model.facts import CompareFact, FunctionFact


_REQUIRES = frozenset({"starlette.authentication.requires"})

_ROUTE_DECORATORS = frozenset(HTTP_METHODS) | {"api_route", "route", "websocket", "websocket_route"}

# an attribute or predicate that says the caller is privileged: ``user.is_superuser``, ``user.admin``,
# ``user.is_staff``, ``is_admin(user)``
_PRIVILEGE_RE = re.compile(r"^(is_|has_)?(super_?user|super_?admin|sys_?admin|admin|administrator|staff|root|trusted)"
                           r"(_user|_role|_client)?$",
                           re.I)
# a role, kind or group compared with a privileged value: ``user.role != Role.ADMIN``
_PRIVILEGED_VALUE_RE = re.compile(r"^(super_?user|super_?admin|sys_?admin|admin|administrator|staff|root)s?$", re.I)
_ROLE_ATTR_RE = re.compile(r"(^|_)(role|roles|type|kind|group|level|tier|rank|permission|access)$", re.I)


def _privileged_value(e: Expr) -> bool:
    """``Role.ADMIN``, ``UserRole.SUPERUSER``, ``"admin"``."""
    if isinstance(e, Attr):
        return bool(_PRIVILEGED_VALUE_RE.match(e.attr))
    return isinstance(e, Const) and isinstance(e.value, str) and bool(_PRIVILEGED_VALUE_RE.match(e.value))


def _role_of_caller(e: Expr) -> bool:
    """``user.role``, ``account.user_type``: a role-like attribute of something about the request."""
    return isinstance(e, Attr) and bool(_ROLE_ATTR_RE.search(e.attr)) and about_the_request(e)
# the name of a dependency whose code the model cannot read, when it says only privileged callers pass
_PRIVILEGED_NAME_RE = re.compile(
    r"^(a?get_)?(current_)?(active_)?(verified_)?(super_?user|super_?admin|admin(_user)?|staff(_user)?)$"
    r"|^(require|requires|ensure|check|verify)_(super_?user|admin|staff)\w*$|^(super_?user|admin|staff)_(required|only)$",
    re.I)


# a predicate asking whether the caller holds one of the roles it is given: ``user.has_roles(self.roles)``
_ROLE_PREDICATE_RE = re.compile(r"^(has|in|check|is_in)_(any_)?roles?$", re.I)
# back-office roles: a gate that lets through only an administrators' role and these
# (``Permissions(roles=["admin", "developer"])``) keeps every ordinary caller out
_BACK_OFFICE_RE = re.compile(r"^(developer|maintainer|operator)s?$", re.I)


def _staff_roles(roles: Sequence[str]) -> bool:
    """Roles that only staff hold: an administrators' role, and no role but those and back-office ones."""
    return any(_PRIVILEGED_VALUE_RE.match(r) for r in roles) and \
        all(_PRIVILEGED_VALUE_RE.match(r) or _BACK_OFFICE_RE.match(r) for r in roles)


def _role_gate(atom: object, self_strs: Mapping[str, tuple[str, ...]]) -> str | None:
    """``user.has_roles(self.roles)`` (the roles an instance dependency was built with,
    ``Permissions(roles=["admin"])``) or ``user.has_role("admin")``, asking about the caller, when every
    role it accepts is a staff one: its text, or None."""
    if not (isinstance(atom, Call) and _ROLE_PREDICATE_RE.match(call_tail(atom))
            and len(atom.args) + len(atom.kwargs) == 1 and not atom.starred):
        return None
    if isinstance(atom.func, Attr) and not about_the_request(atom.func.value):
        return None
    arg = atom.args[0] if atom.args else atom.kwargs[0][1]
    roles: tuple[str, ...] | None = None
    if isinstance(arg, Attr) and isinstance(arg.value, Name) and arg.value.id == "self":
        roles = self_strs.get(arg.attr)
    elif isinstance(arg, Const) and isinstance(arg.value, str):
        roles = (arg.value,)
    elif isinstance(arg, Seq) and arg.items and \
            all(isinstance(x, Const) and isinstance(x.value, str) for x in arg.items):
        roles = tuple(str(x.value) for x in arg.items if isinstance(x, Const))
    if not roles or not _staff_roles(roles):
        return None
    return f"{render(atom, 40)} ({', '.join(roles)})"


def _privilege_test(negated: bool, atom: object, self_strs: Mapping[str, tuple[str, ...]] | None = None) -> str | None:
    """Is a test atom true exactly when the caller is NOT privileged (``not user.is_superuser``,
    ``user.role != Role.ADMIN``, ``not is_admin(user)``, ``user.admin is False``,
    ``not user.has_roles(self.roles)`` with staff roles)? Its text, or None."""
    if isinstance(atom, CompareFact):
        sides = (atom.left, atom.right)
        consts = [x for x in sides if isinstance(x, Const) and x.value in (False, True)]
        if consts and atom.op in ("is", "==", "is not", "!="):
            other = atom.right if atom.left is consts[0] else atom.left
            falsy = consts[0].value is False
            want_false = (atom.op in ("is", "==")) == falsy
            if want_false != negated and isinstance(other, Attr) and _PRIVILEGE_RE.match(other.attr) \
                    and about_the_request(other):
                return render(other, 40)
            return None
        if negated:
            return None
        if atom.op in ("!=", "is not"):
            for a, b in (sides, sides[::-1]):
                # the caller's role against a privileged constant or enum member
                if _role_of_caller(a) and _privileged_value(b):
                    return f"{render(a, 40)} {atom.op} {render(b, 40)}"
        if atom.op == "not in" and _role_of_caller(atom.left):
            # every value allowed is a privileged one: ``role not in (Role.ADMIN, Role.SUPERUSER)``
            values = atom.right.items if isinstance(atom.right, Seq) else ()
            if values and all(_privileged_value(v) for v in values):
                return f"{render(atom.left, 40)} not in {render(atom.right, 60)}"
        return None
    if not negated:
        return None
    if isinstance(atom, Attr) and _PRIVILEGE_RE.match(atom.attr) and about_the_request(atom):
        return f"{render(atom, 40)}"
    # ``user.is_admin()``, ``is_superuser(user)``; ``is_admin(user, org)`` asks about one organization
    if isinstance(atom, Call) and _PRIVILEGE_RE.match(call_tail(atom)) and len(atom.args) + len(atom.kwargs) <= 1 and \
            not (isinstance(atom.func, Attr) and not about_the_request(atom.func.value)):
        return f"{render(atom, 40)}"
    return _role_gate(atom, self_strs or {})


def _mentions(atom: object, names: set[str]) -> bool:
    """Does a test atom (an expression or a comparison) read one of ``names``?"""
    exprs = (atom.left, atom.right) if isinstance(atom, CompareFact) else (atom,)
    return any(isinstance(e, Name) and e.id in names for x in exprs for e in walk(x))  # type: ignore[arg-type]


def _is_route_decorator(expr: Expr) -> bool:
    return isinstance(expr, Call) and isinstance(expr.func, Attr) and expr.func.attr in _ROUTE_DECORATORS



class AuthFinder:
    def __init__(self, interp: Interpreter, deps: Dependencies, calls: CallGraph,
                 auth_names: Mapping[str, Sequence[str]] | None = None) -> None:
        self.interp = interp
        self.deps = deps
        self.calls = calls
        # qualified names/globs configured as auth: {"decorators": [...], "dependencies": [...]}
        self.auth_names: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in (auth_names or {}).items()}
        self._dep_auth_cache: dict[tuple[object, ...], str | None] = {}  # also the privileged checks
        self.creds = Credentials(interp, deps, calls)
        self.rejecting = self.creds.rejecting
        self.signatures = Signatures(interp, deps)

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
        v = self.interp.eval(expr, env)
        if isinstance(v, (VFunc, VClass, VExt)):
            out.append(v.qualname)
        elif isinstance(v, VInst) and v.bound_name:
            out.append(f"{v.site[0]}.{v.bound_name}")
        d = dotted(expr)
        if d is not None:
            root, _, rest = d.partition(".")
            rv = self.interp.eval(Name(root), env)
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

    def dependency_auth(self, v: Value, fn: VFunc | None, name: str, kind: str, level: str,
                        chain: tuple[str, ...], path: str, line: int) -> AuthVia | None:
        """A non-scheme dependency that authenticates: configured by name, or checking credentials by hand."""
        names = [name]
        if isinstance(v, VInst):
            names.append(v.cls.qualname)
        elif isinstance(v, VUnknown) and v.binding:  # an object of a library the model cannot evaluate
            names, name = [v.binding], v.binding
            chain = chain[:-1] + (short(name),)
        pattern = self.configured("dependencies", names)
        if pattern is not None:
            return AuthVia("dependency", short(name), "configured dependency", level, chain, path, line,
                           evidence=f"configured in auth-dependencies ({pattern})")
        if fn is None:
            return None
        key = (fn.qualname, "dependency", self.calls.bindings_key(fn.env))
        if key not in self._dep_auth_cache:  # the same dependency is visited once per route using it
            evidence = None
            # a dependency that receives a security scheme directly is already counted through the scheme
            try:
                if not any(dep is not None and self.deps.is_scheme(dep) for _, dep, _ in self.deps.classify_params(fn, ())):
                    check = self.creds.credential_check(fn, params=True)
                    if not check.ok and (check.reads or check.rejects):  # half a check: look one call deeper
                        check = self.creds.credential_check(fn, params=True, depth=3)
                    evidence = check.evidence() if check.ok else None
            except RecursionError:
                evidence = None
            self._dep_auth_cache[key] = evidence
        evidence = self._dep_auth_cache[key]
        if evidence is None:
            return None
        return AuthVia("dependency", short(name), "hand-written check", level, chain, path, line, evidence=evidence)

    def rejecting_gate(self, fn: VFunc, name: str, level: str, chain: tuple[str, ...], path: str,
                       line: int, provided: set[str] | None = None) -> AuthVia | None:
        """A dependency that rejects (401/403, an auth exception) when what the dependencies below it provide
        is absent (``if credentials is None: raise ...``, ``if is_anonymous(subject): raise ...``), itself
        or in a project function it calls: it makes an optional credential, a principal, required. A
        rejection of a malformed credential only (``if token: check(token)``) is not enough."""
        # each function with its env (the call's arguments bound) and the parameters that hold what the
        # dependencies provide: the dependency's own (but flags with a literal default), then those a call
        # passes them to
        # ``provided`` given (a handler's parameters that optional auth fills): only a test of those counts
        only = provided is not None
        own = {p.name for p in fn.fact.params if not isinstance(p.default, Const)} - {"self", "cls"} \
            if provided is None else provided
        todo: list[tuple[VFunc, int, Env, set[str]]] = [(fn, 0, fn.env.inner(fn.fact), own)]
        seen: set[str] = set()
        by_name = self.interp.functions_by_name()
        while todo:
            f, level_, env, provided = todo.pop(0)
            if f.qualname in seen:
                continue
            seen.add(f.qualname)
            further: int | None = None
            # a branch the call's arguments rule out never runs; one they select is no further condition
            folded = self.calls.folded(f.fact, env)
            off_calls, off_raises = self.calls.ruled_out(f.fact, folded)
            for g in f.fact.guards:
                if not any(absence_test(neg, atom) and (not only or _mentions(atom, provided)) for neg, atom in g.tests):
                    continue
                r_idx, c_idx, rejected = self.rejecting.in_branch(f.fact, g, env, off_calls, off_raises)
                if rejected and not only_under(f.fact, g, r_idx, c_idx, folded):
                    further = g.pos.line or f.fact.pos.line  # unless a later rejection is certain (below)
                    break
                if rejected:
                    return AuthVia("dependency", short(name), "hand-written check", level, chain, path, line,
                                   evidence=f"{rejected[0]} when what the dependencies below it provide is absent")
            after = self._rejects_after_returns(f, env, provided)
            if isinstance(after, str):
                return AuthVia("dependency", short(name), "hand-written check", level, chain, path, line,
                               evidence=f"{after} when what the dependencies below it provide is absent")
            if after is not None and further is None:
                further = after
            if further is not None:
                # e.g. anonymous callers let through when the dependency was configured to allow them
                self.interp.note(f"auth of `{short(name)}`", f"`{f.fact.name}` rejects a missing caller only "
                                 "under a further condition", f.env.module, further)
                return None
            if level_ < 2:
                for i, site in enumerate(f.fact.calls):
                    target = by_name.get(self.calls.safe_callee(f, site.call) or "") or self._super_callee(f, site.call)
                    if target is not None and i not in off_calls:
                        tenv = self.calls.call_env(target, site.call, env)
                        passed = {b[1] for b in tenv.bound[len(target.env.bound):]
                                  if isinstance(b[2], Name) and b[2].id in provided}
                        todo.append((target, level_ + 1, tenv, passed))
        return None

    @staticmethod
    def _calls_in(conds: Sequence[tuple[bool, Expr]], env: Env) -> bool:
        """Do these conditions (or the arguments bound to the names they read) call something? The
        interpreter answers a call with one of its function's possible results (``return False`` of
        ``if value is None: return False``), which says nothing certain about the test."""
        bound = {name: arg for _, name, arg, _ in env.bound}
        for _, test in conds:
            for e in walk(test):
                if isinstance(e, Call) or (isinstance(e, Name) and e.id in bound
                                           and any(isinstance(x, Call) for x in walk(bound[e.id]))):
                    return True
        return False

    def _rejects_after_returns(self, f: VFunc, env: Env, params: set[str]) -> str | int | None:
        """A rejection that runs once the returns before it have let the present caller out:
        ``if user is not None: ...; return user`` then ``raise Unauthorized()`` at the top level of the
        body. What it answers; the line of a return that may also let a missing caller out (an ``if
        allow_anonymous: return guest`` whose test the call's arguments do not decide); or None.
        ``env`` binds the parameters to the caller's arguments, so a flag the call leaves at its default
        (``False``) decides its ``if``. ``params`` hold what the dependencies provide (the caller)."""
        returns = f.fact.scope.returns
        for r in f.fact.scope.raises:
            if r.conds:
                continue  # under an ``if``, in a loop or a handler: the guards above judge those
            what = self.rejecting.of_raise(r.expr, env)
            if not what:
                continue
            before = [x for x in returns if (x.pos.line, x.pos.col) < (r.pos.line, r.pos.col)]
            if not before or any(not x.conds for x in before):
                return None  # nothing lets a present caller out first (or the raise is never reached)
            if not any(any(present(neg, t, params) for neg, t in x.conds) for x in before):
                return None  # no return is about the caller being there
            for x in before:
                if any(present(neg, t, params) for neg, t in x.conds):
                    continue  # only a present caller leaves here
                if self._calls_in(x.conds, env) or self.interp.reached(x.conds, env) is not False:
                    return x.pos.line or f.fact.pos.line
            return what
        return None

    def privileged_check(self, v: Value, fn: VFunc | None, name: str) -> str | None:
        """Does this dependency reject (401/403) every caller who is not privileged (a superuser, an admin,
        staff)? What it checks, or None. What the code does decides: an ``if`` whose every test says the
        caller is not privileged (``not user.is_superuser``, ``user.role != Role.ADMIN``) and whose body
        rejects, under no other condition and after no ``return`` that could skip it, in the dependency or
        in a project function it always calls. A check of ownership (``item.owner_id != user.id``) is not
        one. Only when the code cannot be read (a library's dependency) does the name decide
        (``current_superuser``, ``require_admin``)."""
        if fn is None:
            names = [name]
            if isinstance(v, VUnknown) and v.binding:
                names.append(v.binding)
            for n in names:
                tail = short(n).rsplit(".", 1)[-1]
                if _PRIVILEGED_NAME_RE.match(tail):
                    return f"`{tail}` (by its name: its code cannot be read)"
            return None
        self_strs = self._instance_strs(v)
        key = (fn.qualname, "privileged", tuple(sorted(self_strs.items())))
        if key not in self._dep_auth_cache:
            try:
                self._dep_auth_cache[key] = self._privileged_code(fn, 0, set(), self_strs)
            except RecursionError:
                self._dep_auth_cache[key] = None
        return self._dep_auth_cache[key]

    def _instance_strs(self, v: Value) -> dict[str, tuple[str, ...]]:
        """For an instance used as a dependency (``Permissions(roles=["admin"])``): the literal strings its
        ``__init__`` stores on ``self`` from its arguments (``self.roles = roles``), by attribute."""
        if not isinstance(v, VInst) or not isinstance(v.cls, VClass) or v.call is None:
            return {}
        init = self.interp.class_attr(v.cls, "__init__", instance=True)
        if not isinstance(init, VFunc):
            return {}
        bound = {name: (expr, env) for _, name, expr, env in self.interp.bind(init, v.call, v.env or Env(v.site[0]))}
        out: dict[str, tuple[str, ...] | None] = {}
        for a in init.fact.scope.assigns:
            if not (a.target.startswith("self.") and a.target.count(".") == 1):
                continue
            attr = a.target[5:]
            strs = None
            if isinstance(a.value, Name) and a.value.id in bound and not a.augmented and attr not in out:
                expr, env = bound[a.value.id]
                strs = self.interp.literal_strs(self.interp.eval(expr, env))
            out[attr] = strs or None  # assigned twice, or not literal strings: not known
        return {k: x for k, x in out.items() if x}

    def _privileged_code(self, f: VFunc, level: int, seen: set[str],
                         self_strs: Mapping[str, tuple[str, ...]] | None = None) -> str | None:
        if f.qualname in seen:
            return None
        seen.add(f.qualname)
        fact = f.fact
        env = Env(f.env.module, f.env.functions + (fact,))
        for g in fact.guards:
            tests = [_privilege_test(neg, atom, self_strs if level == 0 else None) for neg, atom in g.tests]
            if not tests or not all(tests):
                continue
            r_idx, c_idx, rejected = self.rejecting.in_branch(fact, g, env)
            if not rejected or not only_under(fact, g, r_idx, c_idx):
                continue
            # where the rejection stands (an ``if``'s own position is not recorded)
            line = min([fact.raises[i].pos.line for i in r_idx] + [fact.calls[i].pos.line for i in c_idx])
            if any(r.pos.line and r.pos.line < line for r in fact.scope.returns):
                continue  # an earlier ``return`` may skip the check
            where = f"`{fact.name}`: " if level == 0 else f"`{fact.name}` (called): "
            return f"{where}{rejected[0]} unless {' / '.join(t for t in tests if t)}"
        if level >= 1:
            return None
        # a project function the dependency always calls (outside any ``if``) and before any ``return``
        branched = {i for g in fact.guards for i in g.body_calls + g.orelse_calls}
        first_return = min((r.pos.line for r in fact.scope.returns if r.pos.line), default=None)
        by_name = self.interp.functions_by_name()
        for i, site in enumerate(fact.calls):
            if i in branched or (first_return is not None and site.pos.line > first_return):
                continue
            target = by_name.get(self.calls.safe_callee(f, site.call) or "")
            if target is not None:
                found = self._privileged_code(target, level + 1, seen)
                if found:
                    return found
        return None

    def _super_callee(self, f: VFunc, call: Call) -> VFunc | None:
        """``super().name(...)`` in a method: the base classes' ``name``."""
        fn = call.func
        if not (f.cls is not None and isinstance(fn, Attr) and isinstance(fn.value, Call)
                and dotted(fn.value.func) == "super"):
            return None
        for b in f.cls.fact.bases:
            bv = self.interp.eval(b, f.cls.env)
            if isinstance(bv, VClass):
                m = self.interp.class_attr(bv, fn.attr, instance=True)
                if isinstance(m, VFunc):
                    return m
        return None

    def handler_auth(self, handler: VFunc, registered: Loc) -> AuthVia | None:
        """A handler that checks a credential itself: it declares a credential-named header or cookie parameter
        (or reads one from the request's headers or cookies) and rejects with 401/403 without
        a valid one, itself or in a project function it calls (``x_api_key: str = Header()`` handed to a
        project function that decodes it and raises 403). The principal a middleware leaves on the request
        (``request.state.user``) is not a credential the handler checks: that stays the middleware's."""
        key = (handler.qualname, "handler")
        if key not in self._dep_auth_cache:
            evidence = None
            try:
                check = self.creds.credential_check(handler, params=True)
            except RecursionError:
                check = None
            if check is not None and check.ok:
                reads = [r for r in check.reads if handler_credential_read(r)]
                if reads:
                    evidence = CredCheck(check.where, reads, check.verifies, check.rejects).evidence()
            self._dep_auth_cache[key] = evidence
        evidence = self._dep_auth_cache[key]
        if evidence is None:
            return None
        return AuthVia("handler", handler.fact.name, "hand-written check in the handler", "route",
                       (handler.fact.name,), registered.path, registered.line, evidence=evidence)

    def handler_asks_unread(self, handler: VFunc) -> str | None:
        """A handler that hands the request (its headers, a credential) to a component the analysis cannot read
        and asks it who is calling, itself or through project functions (and a worker thread) it calls:
        ``self.provider.authenticate(dict(headers))`` with a provider the configuration picks. That component
        may reject, so the route's auth is unknown, not absent. The call, or None."""
        try:
            check = self.creds.credential_check(handler, params=True)
        except RecursionError:
            return None
        return check.asks_unread[0] if check.asks_unread and not check.ok else None

    def decorator_auth(self, registered: Loc, handler: VFunc) -> list[AuthVia]:
        """Auth decorators that wrap the function FastAPI registered for this route (its route decorator
        stands at ``registered``)."""
        decos = handler.fact.decorators
        start = 0
        for i, d in enumerate(decos):
            if d.pos.line == registered.line and d.pos.col == registered.col:
                start = i + 1  # only decorators below the route decorator wrap what it registers
                break
        out: list[AuthVia] = []
        path = self.interp.path_of(handler.env.module)
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
            literal_args = tuple(a for e in expr.args for a in self.interp.str_list(e, env)) + tuple(
                v.value for v in (self.interp.eval(e, env) for e in expr.args) if isinstance(v, VConst) and isinstance(v.value, str))
        short = (names[0] if names else label).rsplit(".", 1)[-1]
        if pattern is not None:
            return AuthVia("decorator", short, "configured decorator", "route", (label,), path, line,
                           literal_args, evidence=f"configured in auth-decorators ({pattern})")
        tv = self.interp.eval(target, env)
        if isinstance(tv, VExt) and tv.qualname in _REQUIRES:
            if not isinstance(expr, Call):
                return None
            scopes = tuple(dict.fromkeys(literal_args))
            return AuthVia("decorator", "requires", "starlette requires", "route", (label,), path, line, scopes,
                           evidence=f"starlette.authentication.requires: 403 unless request.auth.scopes has "
                                    f"{', '.join(scopes) or 'the scopes'}")
        deco = self.interp.eval(expr, env)  # the decorator itself: a factory call evaluates to what it returns
        wrapper = self._wrapper_of(deco)
        if wrapper is None:
            return None
        check = self.creds.credential_check(wrapper)
        if not check.ok:
            return None
        where = tv if isinstance(tv, (VFunc, VClass)) else deco
        dpath, dline = path, line
        if isinstance(where, (VFunc, VClass)):
            dpath, dline = self.interp.path_of(where.env.module), where.fact.pos.line
        return AuthVia("decorator", short, "hand-written check", "route", (label, wrapper.fact.name), dpath, dline,
                       literal_args, evidence=check.evidence())

    def _wrapper_of(self, deco: Value) -> VFunc | None:
        """The function a decorator puts in place of the handler (its nested wrapper), if it has one."""
        if isinstance(deco, VClass):  # ``@LoginRequired``: the instance is called instead of the function
            m = self.interp.class_attr(deco, "__call__", instance=True)
            return m if isinstance(m, VFunc) else None
        if isinstance(deco, VInst) and isinstance(deco.cls, VClass):  # ``@Guard("admin")``: ``__call__(func)``
            m = self.interp.class_attr(deco.cls, "__call__", instance=True)
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
            v = self.interp.eval(e, env)
            if isinstance(v, VFunc) and any(v.fact is f for f in outer.scope.functions):
                return v
        return None
