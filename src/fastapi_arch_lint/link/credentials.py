"""Reading credential checks: what a function (and the project functions it calls) does with credentials.

What counts as a credential check: the function (or a project function it calls, two levels down)
reads a credential (a credential-named header/cookie/query parameter, ``request.headers[...]``,
``.cookies``, ``.session``, ``request.user``/``request.auth``/``request.state.user``) and rejects
(raises HTTPException/WebSocketException with 401/403/1008 or an auth-named exception, returns a
401/403 response, or redirects to a login page) under a condition; a JWT decode that verifies with a key
raises by itself on a missing or bad token, so it is both the check and the rejection. A call that asks a
component the analysis cannot read who is calling, handing it the request, is kept apart
(``CredCheck.asks_unread``): that component decides. The tests on a condition's atoms (is it about
something absent, present, about the request at all) live here too: ``auth`` and ``middleware`` both
read conditions with them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from fastapi_arch_lint.link.callgraph import CallGraph
from fastapi_arch_lint.link.dependencies import Dependencies
from fastapi_arch_lint.link.interpreter import Interpreter
from fastapi_arch_lint.link.knowledge import (
    JWT_HELPER_CLASSES,
    JWT_REQUIRED,
    JWT_VERIFYING_DECODERS,
    SPECIAL_TYPES,
    THREAD_RUNNERS,
)
from fastapi_arch_lint.link.rejections import Rejections, call_tail
from fastapi_arch_lint.link.values import Env, VClass, VConst, VExt, VFunc, VInst, VParam, ext_name
from fastapi_arch_lint.model.expr import Attr, BoolOp, Call, Compare, Const, DictExpr, Expr, Name, Not, Seq, dotted, render
from fastapi_arch_lint.model.facts import CallSite, CompareFact, FunctionFact

# header/cookie/query names and mapping keys that carry a credential
_CREDENTIAL_RE = re.compile(
    r"token|jwt|api[_-]?key|apikey|(admin|access|secret|client|private|master|service)[_-]?key|authori[sz]ation"
    r"|auth(?!or)|session|ticket|credential|bearer|secret|signature", re.I)

# anti-forgery and tracing tokens are compared and rejected on, but identify nobody
_NOT_CREDENTIAL_RE = re.compile(r"csrf|xsrf|idempot|request[_-]?id|trace|correlation|captcha", re.I)

CREDENTIAL_SOURCES = frozenset({"headers", "cookies", "query_params"})


def credential_name(name: str) -> bool:
    return bool(_CREDENTIAL_RE.search(name)) and not _NOT_CREDENTIAL_RE.search(name)


_REQUEST_NAMES = frozenset({"request", "req", "websocket", "ws", "conn", "connection"})

# attributes of a request that carry who is calling (set by authentication middleware or a session)
_PRINCIPAL_RE = re.compile(
    r"^(user|auth|session|state\.(user|current_user|principal|identity|account|auth|auth_\w+|subject|claims))(\.|$)")

# the principal an ambient request context holds, set by middleware that authenticated the request:
# ``ctx().user``, ``get_context().principal``, ``current_user_var.get()``
_AMBIENT_ATTR_RE = re.compile(r"^(user|current_user|principal|identity|caller|authenticated_user)$")
_AMBIENT_VAR_RE = re.compile(r"(?i)user|principal|identity|caller")

_VERIFY_CALL_RE = re.compile(
    r"verify|decode|validate|check|authenticat|compare_digest|lookup|find|get_user|load_user|current_user|introspect"
    r"|authori[sz]e|unsign|loads|is_valid|get_session|fetch|resolve|by_token|by_key", re.I)


# a call that asks another component (a plugin, a provider, a service) who is calling
_ASK_CALLER_RE = re.compile(
    r"^(a?(get|load|fetch|resolve|lookup|find|read)_?(current_)?(user|principal|identity|caller|account|subject)"
    r"(_from_\w+)?|current_(user|principal|identity|account)|a?authenticat\w*|verify\w*|identify\w*|whoami"
    r"|introspect\w*|validate_(token|credentials|session|request|auth\w*))$", re.I)




@dataclass(slots=True)
class CredCheck:
    """What a function (and the project functions it calls) does with credentials."""

    where: str
    reads: list[str] = field(default_factory=list)
    verifies: list[str] = field(default_factory=list)
    rejects: list[str] = field(default_factory=list)
    # calls that hand the request (its headers, a credential) to a component the analysis cannot read (a
    # provider the configuration chooses, an abstract interface) and ask it who is calling, with no
    # rejection seen around them: that component decides, so the auth is unknown, not absent
    asks_unread: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        # reads a credential, and rejects the request under some condition on it
        return bool(self.reads and self.rejects and self.verifies)

    def evidence(self) -> str:
        # ``request.state.user = ...`` is usually what the check *sets*: name the credential read first
        reads = [r for r in self.reads if ".state." not in r] or self.reads
        asked = [r for r in reads if r.startswith("asks ")]
        parts = [asked[0]] if asked else [f"reads {', '.join(reads[:2])}"]
        checks = [v for v in self.verifies if v != "a condition"]
        if checks and not asked:
            parts.append(f"checks with {', '.join(checks[:2])}")
        # ``raises X when there is none`` says more than ``raises X``
        rejects = [r for r in self.rejects if not any(o != r and o.startswith(r + " ") for o in self.rejects)]
        parts.append(", ".join(rejects[:2]))
        return "; ".join(parts)


_ANONYMOUS_CALL_RE = re.compile(r"anonymous|guest|unauthenticated|missing", re.I)
_PRESENT_CALL_RE = re.compile(r"authenticated|logged_in|signed_in|is_valid|has_(user|principal|credential)", re.I)


def absence_test(negated: bool, atom: object) -> bool:
    """Is a test atom true when something is absent: ``not x``, ``x is None``, ``is_anonymous(x)``,
    ``not user.is_authenticated``?"""
    if isinstance(atom, CompareFact):
        if not any(isinstance(x, Const) and x.value is None for x in (atom.left, atom.right)):
            return False
        other = atom.right if isinstance(atom.left, Const) else atom.left
        return (atom.op in ("is", "==")) != negated and about_the_request(other)
    if isinstance(atom, Call):
        name = call_tail(atom)
        return bool(_PRESENT_CALL_RE.search(name)) if negated else bool(_ANONYMOUS_CALL_RE.search(name))
    if isinstance(atom, Attr) and not negated:
        return bool(_ANONYMOUS_CALL_RE.search(atom.attr)) and about_the_request(atom)
    return negated and isinstance(atom, (Name, Attr)) and about_the_request(atom)


def about_the_request(atom: Expr) -> bool:
    """Is a tested name about this request (a parameter, a local), not configuration (``self.x``,
    ``settings.X``, ``DEBUG``)?"""
    root = (dotted(atom) or "").split(".", 1)[0]
    return bool(root) and root not in ("self", "cls", "settings", "config") and not root.isupper()


def only_under(fact: FunctionFact, guard: object, raises: Iterable[int], calls: Iterable[int],
                folded: Mapping[int, bool] | None = None) -> bool:
    """Are these raises and calls of ``guard``'s body under no further condition than absence tests (no
    other ``if`` around or inside the branch that decides whether they run)? An ``if`` whose test the
    call's arguments decide (``folded``; the caller has dropped what it rules out) is no further condition."""
    r, c = set(raises), set(calls)
    for i, g in enumerate(fact.guards):
        if g is guard or (folded and i in folded):
            continue
        holds = r & set(g.body_raises + g.orelse_raises) or c & set(g.body_calls + g.orelse_calls)
        if holds and not all(absence_test(neg, atom) for neg, atom in g.tests):
            return False
    return True


def present(negated: bool, test: Expr, params: set[str]) -> bool:
    """Does the condition ``test`` (``not test`` when ``negated``) hold only when the parameter it is
    about is there: ``user``, ``user is not None``, ``not (user is None)``, ``user and user.ok``?"""
    if isinstance(test, Not):
        return present(not negated, test.operand, params)
    if isinstance(test, Name):
        return not negated and test.id in params
    if isinstance(test, Compare) and test.op in ("is", "is not", "==", "!="):
        sides = (test.left, test.right)
        if any(isinstance(x, Const) and x.value is None for x in sides):
            other = test.right if isinstance(test.left, Const) else test.left
            return isinstance(other, Name) and other.id in params and (test.op in ("is not", "!=")) != negated
        return False
    if isinstance(test, BoolOp):
        # ``a and b`` holds only if each does; ``not (a or b)`` only if neither does
        if (test.op == "and") != negated:
            return any(present(negated, v, params) for v in test.values)
    return False


_READ_NAME_RE = re.compile(r"[`'\"]([^`'\"]+)[`'\"]")
_JWT_HELPER_READ = "the JWT through "  # a JWT helper's token read (``_jwt_helper_required``)
_SESSION_READ_RE = re.compile(r"^(request|req|websocket|ws|conn|connection)\.session(\.|$)")


def handler_credential_read(read: str) -> bool:
    """Does a read the handler makes (``CredCheck.reads``) take a credential from the request's headers or
    cookies? A query or path value (``credential_id``, ``session_id``) names an object far more often than
    it carries a credential, and a name ending in ``id`` identifies something: neither is the caller's
    proof of who it is. The request's session (``request.session``: Starlette's signed session cookie, which its
    middleware decodes and never rejects) is the login a handler checks itself."""
    if _SESSION_READ_RE.match(read) or read.startswith(_JWT_HELPER_READ):
        return True
    if not (read.endswith((" header", " cookie")) or ".headers" in read or ".cookies" in read):
        return False
    m = _READ_NAME_RE.search(read)
    return m is not None and not m.group(1).lower().replace("-", "_").endswith(("_id", "_ids"))


def _lets_through(fact: FunctionFact) -> bool:
    """May this function let a request without a valid credential through before a decode it calls (or makes)
    could raise: an ``except`` that returns or raises nothing (``except Exception: return None``; which
    ``try`` a call sits in is not recorded: any such clause counts), or a ``return`` when something is
    absent (``if not token: return None``)?"""
    return any(e.returns or not e.raises for e in fact.excepts) or any(
        any(_absent(neg, t) for neg, t in r.conds) for r in fact.scope.returns)


def _absent(negated: bool, test: Expr) -> bool:
    """Does the condition (``not test`` when ``negated``) hold when something is missing: ``not token``,
    ``token is None``, the ``else`` of ``if token:``, ``not token or expired``?"""
    if isinstance(test, Not):
        return _absent(not negated, test.operand)
    if isinstance(test, (Name, Attr)):
        return negated
    if isinstance(test, Compare) and test.op in ("is", "is not", "==", "!="):
        if any(isinstance(x, Const) and x.value is None for x in (test.left, test.right)):
            return (test.op in ("is", "==")) != negated
        return False
    if isinstance(test, BoolOp):
        return any(_absent(negated, v) for v in test.values)
    return False


def _abstract(fact: FunctionFact) -> bool:
    """An ``@abstractmethod``, or a body that does nothing but say it is not implemented: what runs is a
    subclass's, which the caller does not name."""
    if any((dotted(d.expr) or "").rsplit(".", 1)[-1] == "abstractmethod" for d in fact.decorators):
        return True
    return not fact.scope.returns and not fact.calls and all(
        (dotted(r.expr.func if isinstance(r.expr, Call) else r.expr) or "") == "NotImplementedError" for r in fact.raises)


class Credentials:
    """What functions do with credentials, each read with its parameters bound (see ``credential_check``)."""

    def __init__(self, interp: Interpreter, deps: Dependencies, calls: CallGraph) -> None:
        self.interp = interp
        self.deps = deps
        self.calls = calls
        self.rejecting = Rejections(interp)
        self._cred_cache: dict[tuple[object, ...], CredCheck] = {}

    def rejections(self, fn: VFunc, calls: Iterable[int] | None = None, raises: Iterable[int] | None = None,
                   helpers: bool = True, env: Env | None = None) -> list[str]:
        """How ``fn`` (optionally: only the given call and raise indexes) rejects a request."""
        env = env or Env(fn.env.module, fn.env.functions + (fn.fact,))
        fact = fn.fact
        out: list[str] = []
        r_idx = range(len(fact.raises)) if raises is None else raises
        for i in r_idx:
            d = self.rejecting.of_raise(fact.raises[i].expr, env)
            if d:
                out.append(d)
        c_idx = range(len(fact.calls)) if calls is None else calls
        for i in c_idx:
            site = fact.calls[i]
            d = self.rejecting.of_response(site.call, env)
            if d:
                out.append(d)
            elif helpers and calls is not None:  # ``return unauthorized()``: a helper that builds the rejection
                target = self.interp.functions_by_name().get(self.calls.safe_callee(fn, site.call) or "")
                if target is not None and target.fact is not fact and self.rejections(target, helpers=False):
                    out.append(f"{target.fact.name}()")
        return list(dict.fromkeys(out))

    def _request_names(self, fn: VFunc) -> set[str]:
        names = set(_REQUEST_NAMES)
        for p in fn.fact.params:
            if p.annotation is None:
                continue
            t = self.calls.param_type(VParam(fn, p.name))
            if t is not None and SPECIAL_TYPES.get(t) in ("request", "websocket"):
                names.add(p.name)
        return names

    def _asks_for_caller(self, fn: VFunc) -> tuple[str, str, str] | None:
        """(what it asks, the call, how it rejects) when ``fn`` asks another component who is calling,
        handing it the request or a credential (``user = provider.get_current_user(request)``), and
        rejects when the answer is empty (``if not user: raise ...``)."""
        fact = fn.fact
        given = self._request_names(fn) | {p.name for p in fact.params if credential_name(p.name)}
        env = Env(fn.env.module, fn.env.functions + (fn.fact,))
        by_name = self.interp.functions_by_name()
        for site in fact.calls:
            call = site.call
            name = call_tail(call)
            if not _ASK_CALLER_RE.match(name):
                continue
            args = list(call.args) + [v for _, v in call.kwargs]
            if not any((dotted(a) or "").split(".", 1)[0] in given for a in args):
                continue
            if by_name.get(self.calls.safe_callee(fn, call) or "") is not None:
                continue  # a project function: followed as a helper, judged by what it does
            result = site.assigned_to
            for g in fact.guards:
                if not any(self._tests_absent(neg, atom, result, call) for neg, atom in g.tests):
                    continue
                r_idx, c_idx, rejected = self.rejecting.in_branch(fact, g, env)
                if rejected and not only_under(fact, g, r_idx, c_idx):
                    self.interp.note(f"auth of `{fact.name}`", "it rejects a missing caller only under a further "
                                     "condition", fn.env.module, g.pos.line or fact.pos.line)
                    return None
                if rejected:
                    return f"asks `{render(call.func, 40)}({render(args[0], 30)})` for the caller", f"{name}()", \
                        f"{rejected[0]} when there is none"
        return None

    @staticmethod
    def _tests_absent(negated: bool, atom: object, result: str | None, call: Call) -> bool:
        """Is the test atom (``not user``, ``user is None``, ``not provider.verify(request)``) true when the
        component answered nothing?"""
        if isinstance(atom, CompareFact):
            sides = (atom.left, atom.right)
            if not any(isinstance(x, Const) and x.value is None for x in sides):
                return False
            if not any((isinstance(x, Name) and x.id == result) or x == call for x in sides):
                return False
            return (atom.op in ("is", "==")) != negated
        if not negated:
            return False
        return (isinstance(atom, Name) and atom.id == result) or atom == call

    def _key(self, e: Expr, env: Env) -> str | None:
        """The string a header/cookie/query key is: a literal, or a constant named by the module
        (``request.headers.get(AUTH_HEADER)`` where ``AUTH_HEADER = "Authorization"``)."""
        if isinstance(e, Const):
            k = e.value
        elif isinstance(e, (Name, Attr)):
            v = self.interp.eval(e, env)
            k = v.value if isinstance(v, VConst) else None
        else:
            return None
        k = k.decode("latin-1") if isinstance(k, bytes) else k
        return k if isinstance(k, str) else None

    def credential_check(self, fn: VFunc, *, params: bool = False, depth: int = 2,
                         principal_only: bool = False) -> "CredCheck":
        """Does ``fn`` (and the project functions it calls) read a credential and reject without it? Each
        function is read with its parameters bound (``fn``'s enclosing factory's, a callee's to the call's
        arguments), so a branch they rule out (``elif allow_executor:`` called with ``allow_executor=False``)
        is not read; a function whose body only returns a call (a factory's closure handing its flags to a
        shared function: ``return await _check(request=request, allow_executor=True)``) takes no level."""
        env0 = fn.env.inner(fn.fact)
        key = (fn.qualname, self.calls.bindings_key(env0), params, depth, principal_only)
        cached = self._cred_cache.get(key)
        if cached is not None:
            return cached
        check = CredCheck(fn.qualname)
        self._cred_cache[key] = check  # recursion guard
        # each function with its level, its env and whether a function on the way to it may let a request
        # without a valid credential through (``_lets_through``: then a decode that raises rejects nothing)
        queue: list[tuple[VFunc, int, Env, bool]] = [(fn, 0, env0, False)]
        decoded: list[str] = []  # the verifying decoders it reaches: the rejection when no other is seen
        seen: set[str] = set()
        by_name = self.interp.functions_by_name()
        while queue:
            f, level, fenv, lenient = queue.pop(0)
            if f.qualname in seen:
                continue
            seen.add(f.qualname)
            fact = f.fact
            off_calls, off_raises = self.calls.ruled_out(fact, self.calls.folded(fact, fenv))
            if params and f is fn:
                for param, dep, _ in self.deps.classify_params(f, ()):
                    if dep is None and param.source in ("header", "cookie", "query") \
                            and credential_name(param.alias or param.name):
                        check.reads.append(f"the `{param.alias or param.name}` {param.source}")
            if not principal_only:
                for base, k in fact.subscripts:
                    if base.rsplit(".", 1)[-1] in CREDENTIAL_SOURCES and credential_name(k):
                        check.reads.append(f"{base}[{k!r}]")
                for i, site in enumerate(fact.calls):
                    c = site.call
                    if i in off_calls:
                        continue
                    if isinstance(c.func, Attr) and c.func.attr == "get" and c.args:
                        base = dotted(c.func.value) or ""
                        if base.rsplit(".", 1)[-1] not in CREDENTIAL_SOURCES:
                            continue
                        k = self._key(c.args[0], fenv)
                        if k is not None and credential_name(k):
                            check.reads.append(f"{base}.get({k!r})")
            req = self._request_names(f)
            for a in sorted(fact.attributes):
                root, _, rest = a.partition(".")
                if root in req and _PRINCIPAL_RE.match(rest) and not (principal_only and rest.startswith("session")):
                    check.reads.append(a)
            for a in fact.scope.assigns:
                ambient = self._ambient_principal(a.value, fenv)
                if ambient is not None:
                    check.reads.append(ambient)
            for i, site in enumerate(fact.calls):
                helper = None if i in off_calls else self._jwt_helper_required(f, site.call, fenv)
                if helper is not None:
                    check.reads.append(f"{_JWT_HELPER_READ}`{helper}`")
                    check.verifies.append(f"{call_tail(site.call)}()")
                    check.rejects.append(f"`{helper}.{call_tail(site.call)}()` raises on a missing or bad token")
            for i, site in enumerate(fact.calls):
                name = call_tail(site.call)
                if i not in off_calls and _VERIFY_CALL_RE.search(name):
                    check.verifies.append(f"{name}()")
            if fact.compares or fact.truth_tests:
                check.verifies.append("a condition")
            lenient = lenient or _lets_through(fact)
            if not principal_only and not lenient:
                for i, site in enumerate(fact.calls):
                    decode = None if i in off_calls else self._verifying_decode(fact, i, fenv)
                    if decode is not None:
                        decoded.append(decode)
            check.asks_unread.extend(self._asks_unread(f, fenv, off_calls))
            asked = self._asks_for_caller(f)
            if asked is not None:
                check.reads.append(asked[0])
                check.verifies.append(asked[1])
                check.rejects.append(asked[2])
            check.rejects.extend(self.rejections(
                f, [i for i in range(len(fact.calls)) if i not in off_calls],
                [i for i in range(len(fact.raises)) if i not in off_raises], helpers=False, env=fenv))
            delegates = depth > 0 and self.calls.delegates(fact)
            if level < depth or delegates:
                for i, site in enumerate(fact.calls):
                    call = self._thread_run(f, site, fenv) or site.call
                    target = by_name.get(self.calls.safe_callee(f, call) or "")
                    if target is not None and target.qualname not in seen and i not in off_calls:
                        queue.append((target, level if delegates else level + 1,
                                      self.calls.call_env(target, call, fenv), lenient))
        if decoded and not check.rejects:
            check.verifies.extend(f"{d}()" for d in decoded)
            check.rejects.append(f"`{decoded[0]}` with a key raises on a missing or bad token")
        check.reads = list(dict.fromkeys(check.reads))
        check.verifies = list(dict.fromkeys(check.verifies))
        check.rejects = list(dict.fromkeys(check.rejects))
        check.asks_unread = list(dict.fromkeys(check.asks_unread))
        return check

    def _jwt_helper_required(self, f: VFunc, call: Call, env: Env) -> str | None:
        """``Authorize.jwt_required()`` on a parameter typed as a JWT helper class (``knowledge.JWT_HELPER_CLASSES``):
        the class's name, else None."""
        if not (isinstance(call.func, Attr) and call.func.attr in JWT_REQUIRED and isinstance(call.func.value, Name)):
            return None
        v = self.interp.eval(call.func.value, env)
        if not isinstance(v, VParam) or v.func.fact is not f.fact:
            return None
        t = self.calls.param_type(v)
        return t.rsplit(".", 1)[-1] if t in JWT_HELPER_CLASSES else None

    def _ambient_principal(self, e: Expr | None, env: Env) -> str | None:
        """The principal a request context holds, read without the request: ``ctx().user`` (an attribute of what a
        call with no arguments returns), ``current_user.get()`` (a ``ContextVar`` named for it). Middleware that
        authenticated the request put it there; a function that rejects when it is absent is the check."""
        if isinstance(e, Attr) and isinstance(e.value, Call) and not e.value.args and not e.value.kwargs \
                and _AMBIENT_ATTR_RE.match(e.attr):
            return f"{render(e, 40)} (the request context's principal)"
        if isinstance(e, Call) and isinstance(e.func, Attr) and e.func.attr == "get" and not e.args:
            var = self.interp.eval(e.func.value, env)
            if isinstance(var, VInst) and ext_name(var.cls) == "contextvars.ContextVar" \
                    and _AMBIENT_VAR_RE.search(render(e.func.value, 60)):
                return f"{render(e, 40)} (the request context's principal)"
        return None

    def _thread_run(self, f: VFunc, site: CallSite, env: Env) -> Call | None:
        """``to_thread.run_sync(self.check, *(headers, action))``: the call of ``self.check(headers, action)``
        it makes in a worker thread (a ``*`` spread of a literal tuple or list expanded), or None."""
        call = site.call
        if not call.args or not isinstance(call.func, (Name, Attr)):
            return None
        v = self.interp.eval(call.func, env)
        if not (isinstance(v, VExt) and v.qualname in THREAD_RUNNERS):
            return None
        args = list(call.args[1:])
        for star, e in site.spread:
            if star != "*" or not isinstance(e, Seq):
                return None
            args.extend(e.items)
        # anyio's ``run_sync`` hands its own keywords (``limiter=``) to nobody; the others pass theirs on
        kwargs = () if v.qualname.startswith("anyio.") else call.kwargs
        return Call(call.args[0], tuple(args), kwargs, call.line, call.col)

    def _carries_request(self, e: Expr, env: Env, hops: int = 4) -> bool:
        """Is ``e`` the request, its headers or cookies, or a credential: ``request.headers``,
        ``dict(headers)`` with ``headers`` a parameter a caller bound to ``request.headers``?"""
        if isinstance(e, Call) and dotted(e.func) in ("dict", "list") and len(e.args) == 1:
            e = e.args[0]
        d = dotted(e)
        if d is None:
            return False
        root, _, rest = d.partition(".")
        if root in _REQUEST_NAMES and rest in ("", "headers", "cookies", "scope"):
            return True
        if not rest and credential_name(root):
            return True
        if rest or hops <= 0:
            return False
        depth = len(env.functions) - 1
        for i, name, arg, aenv in env.bound:
            if i == depth and name == root:
                return self._carries_request(arg, aenv, hops - 1)
        return False

    def _asks_unread(self, f: VFunc, env: Env, off_calls: set[int]) -> list[str]:
        """The calls of ``f`` that hand the request (or its headers, a credential) to a component whose code
        the analysis cannot read (an object of unknown class, a library's, an abstract method) and ask it who is
        calling (``self.provider.authenticate(dict(headers))``): it may reject, and what it does is not seen."""
        out: list[str] = []
        by_name = self.interp.functions_by_name()
        for i, site in enumerate(f.fact.calls):
            call = site.call
            if i in off_calls:
                continue
            if isinstance(call.func, Name) and self._abstract_callable(call.func, f, env):
                # ``await auth_handler(request)``: an object the configuration picks, whose ``__call__`` is abstract
                if any(self._carries_request(a, env) for a in list(call.args) + [v for _, v in call.kwargs]):
                    out.append(f"`{render(call, 60)}`")
                continue
            if not isinstance(call.func, Attr) or not _ASK_CALLER_RE.match(call.func.attr):
                continue
            args = list(call.args) + [v for _, v in call.kwargs]
            if not any(self._carries_request(a, env) for a in args):
                continue
            target = by_name.get(self.calls.safe_callee(f, call) or "")
            if target is not None and not _abstract(target.fact):
                continue  # a project function: followed as a helper, judged by what it does
            out.append(f"`{render(call, 60)}`")
        return out

    def _abstract_callable(self, name: Name, f: VFunc, env: Env) -> bool:
        """Is ``name`` (a parameter annotated with, or an instance of, a project class) an object whose class's
        ``__call__`` is abstract: a subclass the caller does not name answers the call?"""
        v = self.interp.eval(name, env)
        cls = None
        if isinstance(v, VInst) and isinstance(v.cls, VClass):
            cls = v.cls
        elif isinstance(v, VParam) and v.func.fact is f.fact:
            p = f.fact.param(v.name)
            ann = self.interp.annotation(p.annotation, f.env) if p is not None and p.annotation is not None else None
            cls = ann if isinstance(ann, VClass) else None
        if cls is None:
            return False
        call = self.interp.class_attr(cls, "__call__", True)
        return isinstance(call, VFunc) and _abstract(call.fact)

    def _verifying_decode(self, fact: FunctionFact, i: int, env: Env) -> str | None:
        """The decoder, when call ``i`` of ``fact`` decodes a JWT verifying its signature with a key
        (``jwt.decode(token, key, algorithms=[...])``): it raises by itself on a missing, bad or expired
        token, so it is both the check and the rejection. Not under an ``if`` of its function (``if token:``
        lets a request without one through); not with verification off (``options={"verify_signature":
        False}``, ``verify=False``, options that cannot be read) or without a key (none, ``None``, ``""``)."""
        call = fact.calls[i].call
        v = self.interp.eval(call.func, env)
        if not (isinstance(v, VExt) and v.qualname in JWT_VERIFYING_DECODERS):
            return None
        if any(i in g.body_calls or i in g.orelse_calls for g in fact.guards):
            return None
        key = call.args[1] if len(call.args) > 1 else call.kwarg("key")
        if key is None or call.starred:
            return None
        kv = self.interp.eval(key, env)
        if (isinstance(key, Const) and not key.value) or (isinstance(kv, VConst) and not kv.value):
            return None
        verify = call.kwarg("verify")
        if verify is not None and not (isinstance(verify, Const) and verify.value is True):
            return None
        options = call.kwarg("options")
        if options is not None:
            if not isinstance(options, DictExpr) or None in options.keys:
                return None
            for k, val in zip(options.keys, options.values):
                if isinstance(k, Const) and str(k.value).startswith("verify") and not (
                        isinstance(val, Const) and val.value is True):
                    return None
        return v.qualname

    def reads_credential(self, fn: VFunc) -> bool:
        """Does ``fn`` (or a project function it calls) read a credential or the caller's principal?"""
        try:
            return bool(self.credential_check(fn, params=True).reads)
        except RecursionError:
            return False
